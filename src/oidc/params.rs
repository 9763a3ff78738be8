//! OAuth parameters from a query string or a form body (RFC 6749 §3.1: each at most once; an
//! empty value is the same as none).

use actix_web::HttpRequest;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::web;
use futures_util::StreamExt;

use super::error::{OAuthError, OAuthResult};

/// Form bodies at the OAuth endpoints are a few hundred bytes; more is refused.
const MAX_BODY: usize = 64 * 1024;

#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(raw: &[u8]) -> Params {
        Params(
            url::form_urlencoded::parse(raw)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub fn from_query(req: &HttpRequest) -> Params {
        Params::parse(req.query_string().as_bytes())
    }

    /// A form body (`application/x-www-form-urlencoded` only), at most 64 KiB.
    pub async fn from_form(req: &HttpRequest, mut payload: web::Payload) -> OAuthResult<Params> {
        let form = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk =
                chunk.map_err(|_| OAuthError::invalid_request("the body could not be read"))?;
            if body.len() + chunk.len() > MAX_BODY {
                return Err(OAuthError::payload_too_large());
            }
            body.extend_from_slice(&chunk);
        }
        if !form && !body.is_empty() {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        Ok(Params::parse(&body))
    }

    /// The parameter's value; empty counts as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// The first parameter sent more than once, if any.
    pub fn repeated(&self) -> Option<&str> {
        self.0.iter().enumerate().find_map(|(i, (k, _))| {
            self.0[..i]
                .iter()
                .any(|(earlier, _)| earlier == k)
                .then_some(k.as_str())
        })
    }

    /// Whether `name` came more than once.
    pub fn is_repeated(&self, name: &str) -> bool {
        self.0.iter().filter(|(k, _)| k == name).count() > 1
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_are_absent_and_repeats_are_found() {
        let p = Params::parse(b"a=1&b=&c=x%20y&a=2");
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some("x y"));
        assert_eq!(p.repeated(), Some("a"));
        assert!(p.is_repeated("a") && !p.is_repeated("c"));
        assert_eq!(Params::parse(b"a=1&b=2").repeated(), None);
    }
}
