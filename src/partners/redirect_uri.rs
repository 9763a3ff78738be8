//! The redirect URIs an OpenID Connect partner registers (PROTOCOLS §2, "Exact URLs"). An
//! authorization request's `redirect_uri` must be byte-equal to one of them, with no
//! normalisation at request time; so only a URL the strict callback parser writes back
//! unchanged can be registered, and string equality is then URL equality.

use std::net::IpAddr;

use url::{Host, Url};

use super::callback::{RuleError, parse_strict};
use crate::http::redirect::Location;

/// Why a redirect URI cannot be registered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RedirectUriError {
    #[error("{0}")]
    Url(#[from] RuleError),
    #[error("must not contain `*`: redirect URIs are exact")]
    Wildcard,
    #[error("must be https, or http on a loopback host (localhost, 127.0.0.0/8, [::1])")]
    NotHttpsOrLoopback,
    #[error("must be written as `{0}`: redirect URIs are compared byte for byte")]
    NotCanonical(String),
}

/// A registered redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(String);

impl RedirectUri {
    pub fn parse(raw: &str) -> Result<Self, RedirectUriError> {
        if raw.contains('*') {
            return Err(RedirectUriError::Wildcard);
        }
        let url = parse_strict(raw)?;
        if url.scheme() == "http" && !on_loopback(&url) {
            return Err(RedirectUriError::NotHttpsOrLoopback);
        }
        if url.as_str() != raw {
            return Err(RedirectUriError::NotCanonical(url.as_str().to_owned()));
        }
        Ok(RedirectUri(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether an authorization request's `redirect_uri` names this one: byte equality only.
    pub fn is(&self, presented: &str) -> bool {
        self.0 == presented
    }
}

/// A URI a request presented that is byte-equal to one its partner registered: the only
/// kind an OpenID Connect redirect is built from.
#[derive(Debug, Clone)]
pub struct RegisteredUri(Url);

impl RegisteredUri {
    /// `presented`, when it is one of `registered` byte for byte.
    pub(super) fn find(registered: &[String], presented: &str) -> Option<RegisteredUri> {
        registered
            .iter()
            .any(|r| r == presented)
            .then(|| Url::parse(presented).ok().map(RegisteredUri))
            .flatten()
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The URI with `params` added to its query (its own query kept).
    pub fn location_with(&self, params: &[(&str, &str)]) -> Location {
        let mut url = self.0.clone();
        if !params.is_empty() {
            let mut query = url.query_pairs_mut();
            for (name, value) in params {
                query.append_pair(name, value);
            }
        }
        Location::registered_callback(&url)
    }
}

fn on_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(name)) => name == "localhost",
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_and_http_on_loopback_are_registered_as_written() {
        for uri in [
            "https://app.example/oidc/callback",
            "https://app.example:8443/cb?tenant=a&x=1",
            "http://localhost:8080/cb",
            "http://127.0.0.1/cb",
            "http://127.9.9.9:1/cb",
            "http://[::1]:3000/cb",
        ] {
            let parsed = RedirectUri::parse(uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
            assert!(parsed.is(uri), "{uri}");
        }
    }

    #[test]
    fn a_uri_that_is_not_exact_or_not_safe_is_refused_with_its_reason() {
        use RedirectUriError::*;
        for (uri, why) in [
            ("http://app.example/cb", NotHttpsOrLoopback),
            ("http://localhost.evil.example/cb", NotHttpsOrLoopback),
            ("http://10.0.0.1/cb", NotHttpsOrLoopback),
            ("https://app.example/*", Wildcard),
            ("https://*.app.example/cb", Wildcard),
            (
                "https://app.example/cb#frag",
                Url(RuleError::HasQueryOrFragment),
            ),
            (
                "https://user:pw@app.example/cb",
                Url(RuleError::HasUserInfo),
            ),
            ("javascript:alert(1)", Url(RuleError::NotAbsoluteHttpUrl)),
            (
                "https://app.example",
                NotCanonical("https://app.example/".into()),
            ),
            (
                "HTTPS://App.Example/cb",
                NotCanonical("https://app.example/cb".into()),
            ),
            (
                "https://app.example:443/cb",
                NotCanonical("https://app.example/cb".into()),
            ),
            (
                "https://app.example/a/../cb",
                NotCanonical("https://app.example/cb".into()),
            ),
        ] {
            assert_eq!(RedirectUri::parse(uri), Err(why), "{uri}");
        }
        let long = format!("https://app.example/{}", "a".repeat(2048));
        assert_eq!(RedirectUri::parse(&long), Err(Url(RuleError::TooLong)));
    }

    #[test]
    fn only_the_registered_bytes_match() {
        let uri = RedirectUri::parse("https://app.example/cb?x=1").unwrap();
        assert!(uri.is("https://app.example/cb?x=1"));
        for other in [
            "https://app.example/cb?x=1&",
            "https://app.example/cb?x=%31",
            "https://APP.example/cb?x=1",
            "https://app.example/cb",
            "https://app.example/cb/?x=1",
        ] {
            assert!(!uri.is(other), "{other}");
        }
    }
}
