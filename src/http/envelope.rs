//! The response envelope every JSON API answer is wrapped in.

use std::borrow::Cow;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, HeaderValue};
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
    crate::i18n::shared_text(current_lang(), "ok")
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

/// [`ok`] for a `data` the caller writes as JSON itself, with [`crate::json`] for its text.
/// Only for the busiest answer (the token check), where serde's general machinery costs more
/// than the rest of the response; each such writer is tested to equal its `Serialize`.
pub fn ok_written(data: impl FnOnce(&mut Vec<u8>)) -> HttpResponse {
    let mut body = Vec::with_capacity(256);
    body.extend_from_slice(b"{\"code\":200,\"message\":");
    crate::json::string(&mut body, &ok_message());
    body.extend_from_slice(b",\"data\":");
    data(&mut body);
    body.extend_from_slice(b",\"total\":0}");
    // A static header value: `ContentType::json()` would copy the text into a new one.
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, HeaderValue::from_static("application/json")))
        .body(body)
}
