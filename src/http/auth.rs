//! Where a token may come from: `Authorization: Bearer`, a `token` header, or a `token`
//! parameter, in that order of precedence. The headers are read here; `crate::auth` adds the
//! parameter and decides what the token may do.

use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;

/// The token of the `Authorization: Bearer` or `token` header, in that order.
pub fn token_in_headers(req: &HttpRequest) -> Option<String> {
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
            return Some(value.trim().to_owned());
        }
    }
    header("token").filter(|t| !t.is_empty()).map(str::to_owned)
}
