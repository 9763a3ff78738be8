//! Gatehouse: a single sign-on identity provider.
#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]
// The store's Redis connection (one of a single server, a cluster or a Sentinel master)
// nests deep in the async handlers' futures; the release build's layout queries need more
// depth than the default 128.
#![recursion_limit = "256"]

/// `Display` through the type's `as_str()`: one spelling for settings, JSON, the database and
/// logs. Defined before the modules so every one of them can use it.
macro_rules! display_as_str {
    ($($type:ty),+ $(,)?) => {$(
        impl std::fmt::Display for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )+};
}

pub mod accounts;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod blocking;
pub mod captcha;
pub mod cas;
pub mod cli;
pub mod codes;
pub mod config;
pub mod datadir;
pub mod db;
pub mod domain;
pub mod error;
pub mod flow;
pub mod health;
pub mod http;
pub mod i18n;
pub mod json;
pub mod keys;
pub mod mail;
pub mod multiterminal;
pub mod observe;
pub mod oidc;
pub mod openapi;
pub mod pages;
pub mod partners;
pub mod sessions;
pub mod startup;
pub mod state;
pub mod store;
pub mod tokens;

pub use config::Settings;
pub use startup::Application;
