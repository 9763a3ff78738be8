//! Operators' JSON API under `/admin/api/` (admin token required).

pub mod clients;
pub mod sms;
pub mod users;

use actix_web::HttpRequest;

use crate::accounts::{UserRow, load_self};
use crate::error::{ApiError, ApiResult};
use crate::http::input::Input;
use crate::sessions;
use crate::state::AppState;
use crate::tokens::routes::require_token;

/// The operator behind the request's token, or 401/403.
pub async fn require_admin(
    state: &AppState,
    req: &HttpRequest,
    input: &Input,
) -> ApiResult<UserRow> {
    let token = require_token(req, input).await?;
    let claims = sessions::authenticate(state, &token).await?;
    let user = load_self(state, &claims.sub).await?;
    if !user.is_admin() {
        return Err(ApiError::Forbidden);
    }
    Ok(user)
}

/// `page` (from 1) and `limit` (1..100) as the user list takes them.
pub fn page_params(page: Option<&str>, limit: Option<&str>) -> ApiResult<(i64, i64)> {
    let parse = |raw: Option<&str>, name: &str, default: i64| -> ApiResult<i64> {
        match raw {
            None => Ok(default),
            Some(v) => v
                .parse::<i64>()
                .map_err(|_| ApiError::field(name, "must be an integer")),
        }
    };
    let page = parse(page, "page", 1)?;
    let limit = parse(limit, "limit", 20)?;
    if !(1..=1_000_000).contains(&page) {
        return Err(ApiError::field("page", "must be 1 or more"));
    }
    if !(1..=100).contains(&limit) {
        return Err(ApiError::field("limit", "must be 1 to 100"));
    }
    Ok((page, limit))
}
