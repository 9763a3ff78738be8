//! OAuth parameters from a query string or a form body (RFC 6749 §3.1: each at most once; an
//! empty value is the same as none).

use actix_web::HttpRequest;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::web;
use futures_util::StreamExt;

use super::error::{OAuthError, OAuthResult};

/// Form bodies at the OAuth endpoints are a few hundred bytes; more is refused.
const MAX_BODY: usize = 64 * 1024;

/// One form-url-encoded name or value (`+` is a space, `%XX` a byte, invalid UTF-8 replaced).
pub fn form_decode(raw: &[u8]) -> String {
    if !raw.iter().any(|&b| b == b'%' || b == b'+')
        && let Ok(text) = std::str::from_utf8(raw)
    {
        return text.to_owned();
    }
    let spaced: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_encoding::percent_decode(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// What `url::form_urlencoded::parse` reads, without its per-byte decoding of names and
    /// values that have nothing to decode: a token sent for introspection is most of the body.
    pub fn parse(raw: &[u8]) -> Params {
        Params(
            raw.split(|&b| b == b'&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| match pair.iter().position(|&b| b == b'=') {
                    Some(i) => (form_decode(&pair[..i]), form_decode(&pair[i + 1..])),
                    None => (form_decode(pair), String::new()),
                })
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

    #[test]
    fn reads_every_body_as_form_urlencoded_does() {
        let bodies: [&[u8]; 12] = [
            b"",
            b"&&a=1&&",
            b"a",
            b"=v",
            b"a==b=c",
            b"x+y=1+2%2B3",
            b"t=%zz%4",
            b"t=%FF%FE",
            b"t=\xff\xfe",
            b"t=caf\xc3\xa9&u=%C3%A9",
            b"a=%00b",
            b"k%3D1=v%26w",
        ];
        for body in bodies {
            let ours = Params::parse(body).0;
            let theirs: Vec<(String, String)> = url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            assert_eq!(ours, theirs, "{}", String::from_utf8_lossy(body));
        }
    }
}
