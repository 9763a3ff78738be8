//! The response envelope every JSON API answer is wrapped in.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::lang::current_lang;

/// `{"code", "message", "data", "total"}`; `code` equals the HTTP status.
#[derive(Debug, Serialize, ToSchema)]
pub struct Envelope<T: Serialize> {
    pub code: u16,
    pub message: String,
    pub data: T,
    pub total: u64,
}

fn ok_message() -> String {
    crate::i18n::text(current_lang(), "ok")
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
    message: String,
    data: T,
    total: u64,
) -> HttpResponse {
    HttpResponse::build(status).json(Envelope {
        code: status.as_u16(),
        message,
        data,
        total,
    })
}
