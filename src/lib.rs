//! Gatehouse: a single sign-on identity provider.
#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod accounts;
pub mod admin;
pub mod auth;
pub mod blocking;
pub mod captcha;
pub mod cli;
pub mod codes;
pub mod config;
pub mod datadir;
pub mod db;
pub mod domain;
pub mod error;
pub mod health;
pub mod http;
pub mod i18n;
pub mod keys;
pub mod mail;
pub mod multiterminal;
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
