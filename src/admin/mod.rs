//! Operators' JSON API under `/admin/api/` (admin token required).

pub mod audit;
pub mod clients;
pub mod keys;
pub mod sms;
pub mod users;

use crate::error::{ApiError, ApiResult};

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
