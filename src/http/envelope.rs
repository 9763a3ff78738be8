//! The response envelope every JSON API answer is wrapped in.

use std::borrow::Cow;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::lang::current_lang;

/// `{"code", "message", "data", "total"}`; `code` equals the HTTP status.
#[derive(Debug, Serialize, ToSchema)]
pub struct Envelope<T: Serialize> {
    pub code: u16,
    #[schema(value_type = String)]
    pub message: Cow<'static, str>,
    pub data: T,
    pub total: u64,
}

fn ok_message() -> Cow<'static, str> {
    let lang = current_lang();
    match crate::i18n::hot(lang, "ok") {
        Some(text) => Cow::Borrowed(text),
        None => Cow::Owned(crate::i18n::text(lang, "ok")),
    }
}

pub fn ok<T: Serialize>(data: T) -> HttpResponse {
    with_status(StatusCode::OK, ok_message(), data, 0)
}

pub fn created<T: Serialize>(data: T) -> HttpResponse {
    with_status(StatusCode::CREATED, ok_message(), data, 0)
}

pub fn list<T: Serialize>(data: T, total: u64) -> HttpResponse {
    with_status(StatusCode::OK, ok_message(), data, total)
}

pub fn with_status<T: Serialize>(
    status: StatusCode,
    message: impl Into<Cow<'static, str>>,
    data: T,
    total: u64,
) -> HttpResponse {
    HttpResponse::build(status).json(Envelope {
        code: status.as_u16(),
        message: message.into(),
        data,
        total,
    })
}

/// [`ok`] for a `data` the caller writes as JSON itself, with [`json_string`] for its text.
/// Only for the busiest answer (the token check), where serde's general machinery costs more
/// than the rest of the response; each such writer is tested to equal its `Serialize`.
pub fn ok_written(data: impl FnOnce(&mut Vec<u8>)) -> HttpResponse {
    let mut body = Vec::with_capacity(256);
    body.extend_from_slice(b"{\"code\":200,\"message\":");
    json_string(&mut body, &ok_message());
    body.extend_from_slice(b",\"data\":");
    data(&mut body);
    body.extend_from_slice(b",\"total\":0}");
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(body)
}

/// A JSON string, as serde_json writes it: text with nothing to escape (ids, names) is copied
/// as it is.
pub fn json_string(out: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing into a Vec cannot fail, and a &str always serializes.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_string_is_written_as_serde_json_writes_it() {
        for s in [
            "",
            "plain-id_123",
            "quote\"",
            "back\\slash",
            "tab\t",
            "nul\0",
            "\u{7f}",
            "ünï 日本 😀",
            "\u{1f}",
        ] {
            let mut ours = Vec::new();
            json_string(&mut ours, s);
            assert_eq!(ours, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
    }
}
