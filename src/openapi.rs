//! The OpenAPI document. Paths come from the handlers themselves: routes are registered through
//! `utoipa_actix_web`, which only accepts handlers carrying `#[utoipa::path]`, so a route
//! cannot be added without being documented.

use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// The envelope every JSON answer is wrapped in.
#[derive(Serialize, ToSchema)]
pub struct EnvelopeOf<T> {
    /// Equals the HTTP status.
    pub code: u16,
    /// Human-readable; Simplified Chinese unless `Accept-Language` prefers English.
    pub message: String,
    pub data: T,
    /// Total matching rows for list endpoints, else 0.
    pub total: u64,
}

/// A success whose `data` is `null`.
#[derive(Serialize, ToSchema)]
pub struct EnvelopeNull {
    pub code: u16,
    pub message: String,
    #[schema(value_type = Option<String>)]
    pub data: Option<()>,
    pub total: u64,
}

/// A success whose `data` is a string (a token).
#[derive(Serialize, ToSchema)]
pub struct EnvelopeString {
    pub code: u16,
    pub message: String,
    pub data: String,
    pub total: u64,
}

/// Why a request failed.
#[derive(Serialize, ToSchema)]
pub struct ErrorData {
    /// Stable, machine-readable reason, e.g. `invalid_params`, `token_revoked`.
    pub error: String,
    /// For `invalid_params`: parameter name to problem.
    #[schema(value_type = Option<Object>)]
    pub fields: Option<serde_json::Value>,
    /// For `rate_limited`: seconds to wait (also in `Retry-After`).
    pub retry_after: Option<u64>,
}

/// A failure.
#[derive(Serialize, ToSchema)]
pub struct ErrorEnvelope {
    pub code: u16,
    pub message: String,
    pub data: ErrorData,
    pub total: u64,
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "client_basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gatehouse",
        description = "Single sign-on identity provider. Every JSON answer is an envelope \
            `{code, message, data, total}`; write requests take JSON or urlencoded forms; a token \
            may come as `Authorization: Bearer`, a `token` header or a `token` parameter."
    ),
    components(schemas(ErrorEnvelope, ErrorData, EnvelopeNull, EnvelopeString)),
    modifiers(&Security),
    tags(
        (name = "accounts", description = "Sign-up, sign-in, passwords, profiles"),
        (name = "codes", description = "Verification codes"),
        (name = "captcha", description = "Image captchas"),
        (name = "tokens", description = "Token checks and keys"),
        (name = "health", description = "Liveness and readiness"),
        (name = "multi-terminal", description = "Apps and mini-programs: word-info passwords, WeChat login, refresh"),
        (name = "admin", description = "Operators: partner systems, users, single-logout deliveries"),
    )
)]
pub struct ApiDoc;
