//! The one error type of the HTTP API.
//!
//! Policy: every failure a handler can meet becomes an [`ApiError`] whose `reason()` is one of
//! the contract's stable reason strings and whose status follows from the reason alone. Backing
//! service failures (database, key-value store, upstreams) become `unavailable`; anything we did
//! not foresee becomes `internal` and is logged with its cause, never shown to the caller.
//! The envelope is written in exactly one place: the `ResponseError` impl below.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::http::envelope::Envelope;
use crate::http::lang::{Lang, current_lang};

#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("invalid parameters")]
    InvalidParams(BTreeMap<String, String>),
    #[error("captcha invalid")]
    CaptchaInvalid,
    #[error("verification code invalid")]
    VerifyCodeInvalid,
    #[error("credentials invalid")]
    CredentialsInvalid,
    #[error("account exists")]
    AccountExists,
    #[error("account not found")]
    AccountNotFound,
    #[error("account disabled")]
    AccountDisabled,
    #[error("password too weak")]
    PasswordWeak(&'static str),
    #[error("token missing")]
    TokenMissing,
    #[error("token invalid")]
    TokenInvalid,
    #[error("token expired")]
    TokenExpired,
    #[error("token revoked")]
    TokenRevoked,
    #[error("token issued for a partner")]
    TokenAudience,
    #[error("refresh window passed")]
    RefreshWindowPassed,
    #[error("callback not registered")]
    CallbackNotRegistered,
    #[error("client authentication failed")]
    ClientAuthFailed,
    #[error("wechat code invalid")]
    WechatCodeInvalid,
    #[error("word-info invalid")]
    WordInfoInvalid,
    #[error("rate limited")]
    RateLimited { retry_after: u64 },
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Our own capacity is used up for now (a full work queue): 503 with `Retry-After`.
    #[error("busy: {what}")]
    Busy {
        what: &'static str,
        retry_after: u64,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// One invalid parameter.
    pub fn field(name: &str, problem: &str) -> Self {
        let mut fields = BTreeMap::new();
        fields.insert(name.to_owned(), problem.to_owned());
        ApiError::InvalidParams(fields)
    }

    pub fn reason(&self) -> &'static str {
        match self {
            ApiError::InvalidParams(_) => "invalid_params",
            ApiError::CaptchaInvalid => "captcha_invalid",
            ApiError::VerifyCodeInvalid => "verify_code_invalid",
            ApiError::CredentialsInvalid => "credentials_invalid",
            ApiError::AccountExists => "account_exists",
            ApiError::AccountNotFound => "account_not_found",
            ApiError::AccountDisabled => "account_disabled",
            ApiError::PasswordWeak(_) => "password_weak",
            ApiError::TokenMissing => "token_missing",
            ApiError::TokenInvalid => "token_invalid",
            ApiError::TokenExpired => "token_expired",
            ApiError::TokenRevoked => "token_revoked",
            ApiError::TokenAudience => "token_audience",
            ApiError::RefreshWindowPassed => "refresh_window_passed",
            ApiError::CallbackNotRegistered => "callback_not_registered",
            ApiError::ClientAuthFailed => "client_auth_failed",
            ApiError::WechatCodeInvalid => "wechat_code_invalid",
            ApiError::WordInfoInvalid => "word_info_invalid",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::Conflict(_) => "conflict",
            ApiError::Unavailable(_) | ApiError::Busy { .. } => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    fn message(&self, lang: Lang) -> String {
        let key = format!("error-{}", self.reason().replace('_', "-"));
        match self {
            ApiError::Conflict(what) => {
                crate::i18n::text_with(lang, &key, &[("what", (*what).into())])
            }
            _ => crate::i18n::text(lang, &key),
        }
    }

    fn data(&self) -> serde_json::Value {
        let mut data = json!({ "error": self.reason() });
        match self {
            ApiError::InvalidParams(fields) => data["fields"] = json!(fields),
            ApiError::RateLimited { retry_after } | ApiError::Busy { retry_after, .. } => {
                data["retry_after"] = json!(retry_after)
            }
            ApiError::PasswordWeak(why) => data["fields"] = json!({ "pwd": why }),
            _ => {}
        }
        data
    }
}

/// The status every answer with `reason` is sent with; `None` for a string that is no reason
/// of the contract. The answers and the OpenAPI document's lists of refusals
/// (`openapi::responses`) both read it, so they cannot disagree.
pub fn status_of(reason: &str) -> Option<StatusCode> {
    Some(match reason {
        "invalid_params"
        | "captcha_invalid"
        | "verify_code_invalid"
        | "password_weak"
        | "word_info_invalid"
        | "callback_not_registered" => StatusCode::BAD_REQUEST,
        "credentials_invalid"
        | "token_missing"
        | "token_invalid"
        | "token_expired"
        | "token_revoked"
        | "refresh_window_passed"
        | "wechat_code_invalid"
        | "client_auth_failed" => StatusCode::UNAUTHORIZED,
        "forbidden" | "account_disabled" | "token_audience" => StatusCode::FORBIDDEN,
        "not_found" | "account_not_found" => StatusCode::NOT_FOUND,
        "method_not_allowed" => StatusCode::METHOD_NOT_ALLOWED,
        "account_exists" | "conflict" => StatusCode::CONFLICT,
        "payload_too_large" => StatusCode::PAYLOAD_TOO_LARGE,
        "rate_limited" => StatusCode::TOO_MANY_REQUESTS,
        "unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        "internal" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => return None,
    })
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        status_of(self.reason()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Internal(cause) => tracing::error!(%cause, "internal error"),
            ApiError::Unavailable(cause) => tracing::warn!(%cause, "backing service unavailable"),
            ApiError::Busy { what, .. } => tracing::warn!(queue = what, "work queue full"),
            _ => {}
        }
        let status = self.status_code();
        let mut builder = HttpResponse::build(status);
        if let ApiError::RateLimited { retry_after } | ApiError::Busy { retry_after, .. } = self {
            builder.insert_header(("Retry-After", retry_after.to_string()));
        }
        builder.json(Envelope {
            code: status.as_u16(),
            message: self.message(current_lang()).into(),
            data: self.data(),
            total: 0,
        })
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match err {
            Error::NotFound => ApiError::NotFound,
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                ApiError::Conflict("duplicate")
            }
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                ApiError::Unavailable(info.message().to_owned())
            }
            // SQLite's writer lock still taken after busy_timeout, or PostgreSQL's
            // statement_timeout: the database is overloaded, not the request wrong.
            Error::DatabaseError(_, info)
                if info.message().contains("database is locked")
                    || info
                        .message()
                        .contains("canceling statement due to statement timeout") =>
            {
                ApiError::Unavailable(info.message().to_owned())
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// What a JSON route answers: an envelope, or an error that becomes one.
pub type Answer = ApiResult<HttpResponse>;

#[cfg(test)]
mod tests {
    use super::*;

    /// The contract's reason table: each error, and the status it must be sent with.
    #[test]
    fn every_error_is_sent_with_the_status_its_reason_has_in_the_contract() {
        let table = [
            (ApiError::InvalidParams(BTreeMap::new()), 400),
            (ApiError::CaptchaInvalid, 400),
            (ApiError::VerifyCodeInvalid, 400),
            (ApiError::PasswordWeak("short"), 400),
            (ApiError::WordInfoInvalid, 400),
            (ApiError::CallbackNotRegistered, 400),
            (ApiError::CredentialsInvalid, 401),
            (ApiError::TokenMissing, 401),
            (ApiError::TokenInvalid, 401),
            (ApiError::TokenExpired, 401),
            (ApiError::TokenRevoked, 401),
            (ApiError::RefreshWindowPassed, 401),
            (ApiError::WechatCodeInvalid, 401),
            (ApiError::ClientAuthFailed, 401),
            (ApiError::Forbidden, 403),
            (ApiError::AccountDisabled, 403),
            (ApiError::TokenAudience, 403),
            (ApiError::NotFound, 404),
            (ApiError::AccountNotFound, 404),
            (ApiError::MethodNotAllowed, 405),
            (ApiError::AccountExists, 409),
            (ApiError::Conflict("username"), 409),
            (ApiError::PayloadTooLarge, 413),
            (ApiError::RateLimited { retry_after: 1 }, 429),
            (ApiError::Unavailable("db".into()), 503),
            (
                ApiError::Busy {
                    what: "bcrypt",
                    retry_after: 1,
                },
                503,
            ),
            (ApiError::Internal("bug".into()), 500),
        ];
        for (error, status) in table {
            assert_eq!(error.status_code().as_u16(), status, "{}", error.reason());
            assert_eq!(error.error_response().status().as_u16(), status);
        }
        assert_eq!(status_of("no_such_reason"), None);
    }
}
