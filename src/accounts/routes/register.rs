use actix_web::{HttpRequest, HttpResponse, patch, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::accounts::{UserView, registration};
use crate::auth::FirstParty;
use crate::domain::{Expect, Number};
use crate::error::ApiResult;
use crate::http::client_ip::client_ip;
use crate::http::envelope;
use crate::http::input::{Input, Required};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct SignupRequest {
    #[schema(schema_with = crate::openapi::fields::number, required = true)]
    pub number: Option<String>,
    #[schema(schema_with = crate::openapi::fields::new_password, required = true)]
    pub pwd: Option<String>,
    /// A code sent with purpose `signup` (or none); a wrong one is 400 `verify_code_invalid`.
    #[schema(schema_with = crate::openapi::fields::code, required = true)]
    pub verify_code: Option<String>,
    #[schema(schema_with = crate::openapi::fields::username_opt)]
    pub username: Option<String>,
}

/// Creates an account after proving the number with a code.
#[utoipa::path(
    tag = "accounts",
    request_body(content((SignupRequest = "application/json"), (SignupRequest = "application/x-www-form-urlencoded"))),
    responses(
        (status = 201, description = "The new user", body = inline(crate::openapi::EnvelopeOf<UserView>)),
        (status = 400, description = "invalid_params, verify_code_invalid, password_weak", body = crate::openapi::ErrorEnvelope),
        (status = 409, description = "account_exists, conflict (username taken)", body = crate::openapi::ErrorEnvelope),
        (status = 503, description = "unavailable: a backing service is down, or password hashing is queued up (Retry-After)", body = crate::openapi::ErrorEnvelope),
        crate::openapi::responses::TooLarge,
    )
)]
#[post("/users/signup")]
pub async fn signup(state: web::Data<AppState>, input: Input) -> ApiResult<HttpResponse> {
    let p: SignupRequest = input.parse()?;
    let mut required = Required::default();
    let number = required.take("number", p.number);
    let pwd = required.take("pwd", p.pwd);
    let code = required.take("verify_code", p.verify_code);
    required.finish()?;
    let number = Number::from_field("number", &number, Expect::PhoneOrEmail)?;
    let created =
        registration::create_account(&state, number, &pwd, Some(&code), p.username.as_deref())
            .await?;
    Ok(envelope::created(UserView::from(&created)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    #[schema(schema_with = crate::openapi::fields::token_opt)]
    pub token: Option<String>,
    /// The current password (a wrong one is 401 `credentials_invalid` and counts towards the
    /// account's lockout).
    #[schema(schema_with = crate::openapi::fields::password, required = true)]
    pub old_pwd: Option<String>,
    #[schema(schema_with = crate::openapi::fields::new_password, required = true)]
    pub new_pwd: Option<String>,
}

/// Changes the password; every other session of the account ends.
#[utoipa::path(
    tag = "accounts",
    request_body(content((ChangePasswordRequest = "application/json"), (ChangePasswordRequest = "application/x-www-form-urlencoded"))),
    security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    responses(
        (status = 200, description = "Changed", body = crate::openapi::EnvelopeNull),
        (status = 400, description = "invalid_params, password_weak", body = crate::openapi::ErrorEnvelope),
        (status = 401, description = "token_missing, token_invalid, token_expired, token_revoked, credentials_invalid (old password wrong)", body = crate::openapi::ErrorEnvelope),
        (status = 403, description = "token_audience: a partner's token", body = crate::openapi::ErrorEnvelope),
        (status = 429, description = "rate_limited: the account is locked after repeated wrong passwords", body = crate::openapi::ErrorEnvelope),
        (status = 503, description = "unavailable: a backing service is down, or password checks are queued up (Retry-After)", body = crate::openapi::ErrorEnvelope),
        crate::openapi::responses::TooLarge,
    )
)]
#[patch("/users/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: FirstParty,
    input: Input,
) -> ApiResult<HttpResponse> {
    let p: ChangePasswordRequest = input.parse()?;
    let mut required = Required::default();
    let old = required.take("old_pwd", p.old_pwd);
    let new = required.take("new_pwd", p.new_pwd);
    required.finish()?;
    let ip = client_ip(&req, &state.proxies);
    registration::change_password(&state, &caller.sub, &caller.sid, &old, &new, ip).await?;
    Ok(envelope::ok(()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetPasswordRequest {
    #[schema(schema_with = crate::openapi::fields::number, required = true)]
    pub number: Option<String>,
    #[schema(schema_with = crate::openapi::fields::new_password, required = true)]
    pub pwd: Option<String>,
    /// A code sent with purpose `reset_password` (or none).
    #[schema(schema_with = crate::openapi::fields::code, required = true)]
    pub verify_code: Option<String>,
}

/// Sets a new password with a code sent to the number; every session of the account ends.
#[utoipa::path(
    tag = "accounts",
    request_body(content((ResetPasswordRequest = "application/json"), (ResetPasswordRequest = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Reset", body = crate::openapi::EnvelopeNull),
        (status = 400, description = "invalid_params, verify_code_invalid, password_weak", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "account_not_found", body = crate::openapi::ErrorEnvelope),
        (status = 503, description = "unavailable: a backing service is down, or password hashing is queued up (Retry-After)", body = crate::openapi::ErrorEnvelope),
        crate::openapi::responses::TooLarge,
    )
)]
#[patch("/users/verify_code_password")]
pub async fn reset_password(state: web::Data<AppState>, input: Input) -> ApiResult<HttpResponse> {
    let p: ResetPasswordRequest = input.parse()?;
    let mut required = Required::default();
    let number = required.take("number", p.number);
    let pwd = required.take("pwd", p.pwd);
    let code = required.take("verify_code", p.verify_code);
    required.finish()?;
    let number = Number::from_field("number", &number, Expect::PhoneOrEmail)?;
    registration::reset_password(&state, number, &pwd, &code).await?;
    Ok(envelope::ok(()))
}
