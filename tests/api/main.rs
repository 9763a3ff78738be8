//! One integration-test binary (each extra file in tests/ would be another slow link).

mod helpers;

mod accounts_flow;
mod apache;
mod audience;
mod audit;
mod bad_input;
mod browser;
mod cas;
mod cli;
mod cluster;
mod codes_and_captcha;
mod email;
mod embedded_default;
mod hardening;
mod keys;
mod limits;
mod metrics;
mod multiterminal;
mod oidc;
mod pages;
mod partners;
mod profile;
mod redis_topologies;
mod signin;
mod single_logout;
mod sms;
mod tls;
mod users_list;
