//! HTTP plumbing shared by every route: envelope, input parsing, language, client address,
//! authentication and the middleware that ties them together.

pub mod auth;
pub mod client_ip;
pub mod envelope;
pub mod head_deadline;
pub mod input;
pub mod lang;
pub mod middleware;
pub mod redirect;
