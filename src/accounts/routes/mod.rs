//! HTTP handlers of the seed-000 account routes.

pub mod list;
pub mod profile;
pub mod register;
pub mod signin;

use actix_web::HttpRequest;
use actix_web::http::header::USER_AGENT;

use crate::error::{ApiError, ApiResult};

use crate::domain::Terminal;

/// The terminal from the `terminal` header or parameter; `pc` when absent. A header that is
/// not even text (bytes outside visible ASCII) is a wrong terminal, not a missing one.
pub fn terminal(req: &HttpRequest, param: Option<&str>) -> ApiResult<String> {
    let bad = || ApiError::field("terminal", "one of management, pc, mobile, app, wechat");
    let header = req
        .headers()
        .get("terminal")
        .map(|v| v.to_str().map_err(|_| bad()))
        .transpose()?
        .filter(|v| !v.is_empty());
    let raw = header.or(param).unwrap_or("pc");
    raw.parse::<Terminal>()
        .map(|t| t.as_str().to_owned())
        .map_err(|_| bad())
}

pub fn user_agent(req: &HttpRequest) -> String {
    req.headers()
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(256)
        .collect()
}
