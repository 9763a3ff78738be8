//! The OAuth error answer (RFC 6749 §5.2, RFC 6750 §3): `{"error", "error_description"}` in
//! English, never the contract's envelope (PROTOCOLS §1 "Error formats").

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, PRAGMA, WWW_AUTHENTICATE};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::error::ApiError;

#[derive(Debug, Clone, thiserror::Error)]
#[error("{error}: {description}")]
pub struct OAuthError {
    pub error: &'static str,
    pub description: String,
    pub status: StatusCode,
    /// `WWW-Authenticate` to send with a 401 or 403.
    pub challenge: Option<String>,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            error,
            description: description.into(),
            status,
            challenge: None,
        }
    }

    pub fn invalid_request(why: impl Into<String>) -> Self {
        OAuthError::new(StatusCode::BAD_REQUEST, "invalid_request", why)
    }

    pub fn invalid_grant(why: impl Into<String>) -> Self {
        OAuthError::new(StatusCode::BAD_REQUEST, "invalid_grant", why)
    }

    pub fn invalid_scope(why: impl Into<String>) -> Self {
        OAuthError::new(StatusCode::BAD_REQUEST, "invalid_scope", why)
    }

    pub fn unsupported_grant_type() -> Self {
        OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be authorization_code or refresh_token",
        )
    }

    /// 401 `invalid_client`; `basic` when the client tried HTTP Basic (RFC 6749 §5.2).
    pub fn invalid_client(basic: bool) -> Self {
        OAuthError {
            challenge: basic.then(|| "Basic realm=\"gatehouse\"".to_owned()),
            ..OAuthError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication failed",
            )
        }
    }

    /// 401 at a protected resource (RFC 6750 §3): `error=` only when a token was sent.
    pub fn invalid_token(sent: bool) -> Self {
        let challenge = match sent {
            true => "Bearer error=\"invalid_token\"".to_owned(),
            false => "Bearer".to_owned(),
        };
        OAuthError {
            challenge: Some(challenge),
            ..OAuthError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the access token is missing, invalid, expired or revoked",
            )
        }
    }

    pub fn insufficient_scope() -> Self {
        OAuthError {
            challenge: Some("Bearer error=\"insufficient_scope\", scope=\"openid\"".to_owned()),
            ..OAuthError::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                "the access token was not granted the openid scope",
            )
        }
    }

    pub fn payload_too_large() -> Self {
        OAuthError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "the request body is too large",
        )
    }
}

/// A backing service down is `temporarily_unavailable` (503); what the caller sent wrong has
/// already been answered as its own OAuth error before any `ApiError` is met.
impl From<ApiError> for OAuthError {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                OAuthError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "internal error",
                )
            }
            ApiError::Unavailable(_) | ApiError::Busy { .. } => {
                tracing::warn!(%err, "backing service unavailable");
                OAuthError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "a backing service is unavailable, try again later",
                )
            }
            ApiError::PayloadTooLarge => OAuthError::payload_too_large(),
            ApiError::TokenMissing
            | ApiError::TokenInvalid
            | ApiError::TokenExpired
            | ApiError::TokenRevoked
            | ApiError::TokenAudience => OAuthError::invalid_grant("the grant is no longer valid"),
            ApiError::ClientAuthFailed => OAuthError::invalid_client(false),
            other => OAuthError::invalid_request(other.to_string()),
        }
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        res.insert_header((CACHE_CONTROL, "no-store"))
            .insert_header((PRAGMA, "no-cache"));
        if let Some(challenge) = &self.challenge {
            res.insert_header((WWW_AUTHENTICATE, challenge.as_str()));
        }
        res.json(json!({ "error": self.error, "error_description": self.description }))
    }
}

pub type OAuthResult<T> = Result<T, OAuthError>;
