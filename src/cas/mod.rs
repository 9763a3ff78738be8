//! The CAS 3.0 server (PROTOCOLS §4): service tickets issued to a browser session for a
//! registered CAS service, validated once by that service's back end, answered in CAS's own
//! XML, JSON or text. The browser endpoints (`/cas/login`, `/cas/logout`) are `pages::cas`.

pub mod response;
pub mod routes;
pub mod tickets;
pub mod validate;

pub use tickets::Grant;
pub use validate::{Failure, Success, validate};

/// A CAS boolean parameter (`renew`, `gateway`): set unless absent, empty or `false`.
pub fn flag(raw: Option<&str>) -> bool {
    raw.is_some_and(|v| !v.eq_ignore_ascii_case("false"))
}
