//! Where a token may come from: `Authorization: Bearer`, a `token` header, or a `token`
//! parameter, in that order of precedence. The headers are read here; `crate::auth` adds the
//! parameter and decides what the token may do.

use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The token of the `Authorization: Bearer` or `token` header, in that order, as it lies in
/// the request.
pub fn token_in_headers(req: &HttpRequest) -> Option<&str> {
    // UTF-8 validation is vectorised where `HeaderValue::to_str` walks byte by byte, and a
    // token's characters are ASCII either way.
    let header = |name| {
        req.headers()
            .get(name)
            .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
            .map(str::trim)
    };
    if let Some(auth) = header(AUTHORIZATION.as_str()) {
        let mut parts = auth.splitn(2, ' ');
        if let (Some(scheme), Some(value)) = (parts.next(), parts.next())
            && scheme.eq_ignore_ascii_case("bearer")
            && !value.trim().is_empty()
        {
            return Some(value.trim());
        }
    }
    header("token").filter(|t| !t.is_empty())
}

/// Basic credentials that came and cannot be read.
#[derive(Debug, PartialEq, Eq)]
pub struct UnreadableBasic;

/// The id and secret of `Authorization: Basic`, as sent (base64 undone, nothing else).
/// `Ok(None)` when no Basic credentials came.
pub fn basic_in_headers(req: &HttpRequest) -> Result<Option<(String, String)>, UnreadableBasic> {
    let Some(value) = req.headers().get(AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.as_bytes().trim_ascii();
    // The scheme is looked at before anything else: a bearer token (the hot path) is not
    // read through.
    if !value
        .get(..6)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"basic "))
    {
        return Ok(None);
    }
    let encoded = std::str::from_utf8(&value[6..]).map_err(|_| UnreadableBasic)?;
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| UnreadableBasic)?;
    let text = String::from_utf8(decoded).map_err(|_| UnreadableBasic)?;
    let (id, secret) = text.split_once(':').ok_or(UnreadableBasic)?;
    Ok(Some((id.to_owned(), secret.to_owned())))
}
