use actix_web::{HttpRequest, patch, post};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::accounts::{UserRow, UserView, registration};
use crate::auth::FirstParty;
use crate::domain::{Expect, Number};
use crate::error::{Answer, ApiResult};
use crate::http::client_ip::client_ip;
use crate::http::envelope;
use crate::http::input::Input;
use crate::openapi::responses::refusals;
use crate::openapi::{EnvelopeNull, EnvelopeOf};
use crate::state::{AppState, Shared};

#[derive(Debug, Deserialize, ToSchema)]
pub struct SignupRequest {
    #[schema(schema_with = crate::openapi::fields::number)]
    pub number: String,
    #[schema(schema_with = crate::openapi::fields::new_password)]
    pub pwd: String,
    /// A code sent with purpose `signup` (or none); a wrong one is 400 `verify_code_invalid`.
    #[schema(schema_with = crate::openapi::fields::code)]
    pub verify_code: String,
    #[schema(schema_with = crate::openapi::fields::username_opt)]
    pub username: Option<String>,
}

impl SignupRequest {
    /// Creates the account (the JSON route and the sign-up page both end here).
    pub async fn perform(&self, state: &AppState) -> ApiResult<UserRow> {
        let number = Number::from_field("number", &self.number, Expect::PhoneOrEmail)?;
        let code = Some(self.verify_code.as_str());
        let username = self.username.as_deref();
        registration::create_account(state, number, &self.pwd, code, username).await
    }
}

refusals!(SignupRefusals: [TOO_LARGE]
    "invalid_params", "verify_code_invalid", "password_weak", "account_exists",
    "conflict" = "username taken",
    "unavailable" = "a backing service is down, or password hashing is queued up (Retry-After)");

/// Creates an account after proving the number with a code.
#[utoipa::path(
    tag = "accounts", request_body = SignupRequest,
    responses(
        (status = 201, description = "The new user", body = inline(EnvelopeOf<UserView>)),
        SignupRefusals,
    )
)]
#[post("/users/signup")]
pub async fn signup(state: Shared, input: Input) -> Answer {
    let created = input.parse::<SignupRequest>()?.perform(&state).await?;
    Ok(envelope::created(UserView::from(&created)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    #[schema(schema_with = crate::openapi::fields::token_opt)]
    pub token: Option<String>,
    /// The current password (a wrong one is 401 `credentials_invalid` and counts towards the
    /// account's lockout).
    #[schema(schema_with = crate::openapi::fields::password)]
    pub old_pwd: String,
    #[schema(schema_with = crate::openapi::fields::new_password)]
    pub new_pwd: String,
}

refusals!(ChangePasswordRefusals: [SIGNED_IN, FIRST_PARTY, PASSWORD_CHECK, TOO_LARGE]
    "invalid_params", "password_weak", "credentials_invalid" = "the old password is wrong");

/// Changes the password; every other session of the account ends.
#[utoipa::path(
    tag = "accounts", request_body = ChangePasswordRequest,
    security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    responses((status = 200, description = "Changed", body = EnvelopeNull), ChangePasswordRefusals)
)]
#[patch("/users/password")]
pub async fn change_password(
    state: Shared,
    req: HttpRequest,
    caller: FirstParty,
    input: Input,
) -> Answer {
    let p: ChangePasswordRequest = input.parse()?;
    let ip = client_ip(&req, &state.proxies);
    let (old, new) = (&p.old_pwd, &p.new_pwd);
    registration::change_password(&state, &caller.sub, &caller.sid, old, new, ip).await?;
    Ok(envelope::ok(()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetPasswordRequest {
    #[schema(schema_with = crate::openapi::fields::number)]
    pub number: String,
    #[schema(schema_with = crate::openapi::fields::new_password)]
    pub pwd: String,
    /// A code sent with purpose `reset_password` (or none).
    #[schema(schema_with = crate::openapi::fields::code)]
    pub verify_code: String,
}

impl ResetPasswordRequest {
    /// Sets the new password (the JSON route and the forgotten-password page both end here).
    pub async fn perform(&self, state: &AppState) -> ApiResult<()> {
        let number = Number::from_field("number", &self.number, Expect::PhoneOrEmail)?;
        registration::reset_password(state, number, &self.pwd, &self.verify_code).await
    }
}

refusals!(ResetPasswordRefusals: [TOO_LARGE]
    "invalid_params", "verify_code_invalid", "password_weak", "account_not_found",
    "unavailable" = "a backing service is down, or password hashing is queued up (Retry-After)");

/// Sets a new password with a code sent to the number; every session of the account ends.
#[utoipa::path(
    tag = "accounts", request_body = ResetPasswordRequest,
    responses((status = 200, description = "Reset", body = EnvelopeNull), ResetPasswordRefusals)
)]
#[patch("/users/verify_code_password")]
pub async fn reset_password(state: Shared, input: Input) -> Answer {
    input
        .parse::<ResetPasswordRequest>()?
        .perform(&state)
        .await?;
    Ok(envelope::ok(()))
}
