use actix_web::{HttpRequest, HttpResponse, patch, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::accounts::routes::signin::parse_number;
use crate::accounts::{UserView, model, passwords, signin};
use crate::codes::{self, Purpose};
use crate::domain::{Password, Username};
use crate::error::{ApiError, ApiResult};
use crate::http::envelope;
use crate::http::input::{Input, Required};
use crate::sessions::{self, EndReason, Which};
use crate::state::AppState;
use crate::tokens::routes::require_token;

#[derive(Debug, Deserialize, ToSchema)]
pub struct SignupRequest {
    pub number: Option<String>,
    pub pwd: Option<String>,
    pub verify_code: Option<String>,
    pub username: Option<String>,
}

fn map_unique(err: ApiError, what: ApiError) -> ApiError {
    match err {
        ApiError::Conflict(_) => what,
        other => other,
    }
}

/// Creates an account after proving the number with a code.
#[utoipa::path(
    tag = "accounts",
    request_body(content((SignupRequest = "application/json"), (SignupRequest = "application/x-www-form-urlencoded"))),
    responses(
        (status = 201, description = "The new user", body = inline(crate::openapi::EnvelopeOf<UserView>)),
        (status = 400, description = "invalid_params, verify_code_invalid, password_weak", body = crate::openapi::ErrorEnvelope),
        (status = 409, description = "account_exists, conflict (username taken)", body = crate::openapi::ErrorEnvelope),
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
    let number = parse_number(&number)?;
    let username = match p.username.as_deref() {
        Some(raw) => Some(Username::parse(raw).map_err(|why| ApiError::field("username", why))?),
        None => None,
    };
    let mut identities = vec![number.as_str()];
    if let Some(u) = &username {
        identities.push(u.as_str());
    }
    let password = Password::parse(&pwd, &identities)?;
    codes::verify(&state, &number, &code, Purpose::Signup).await?;
    let hash = passwords::hash(&state, &password).await?;
    let mut row = model::new_row(&number, Some(hash));
    if let Some(u) = &username {
        row.username = Some(u.as_str().to_owned());
        row.username_lower = Some(u.lower());
    }
    let created = state
        .db
        .run(move |conn| {
            if model::find_by_number(conn, &number)?.is_some() {
                return Err(ApiError::AccountExists);
            }
            if let Some(lower) = &row.username_lower
                && model::username_taken(conn, lower, &row.id)?
            {
                return Err(ApiError::Conflict("username taken"));
            }
            model::insert(conn, &row).map_err(|e| map_unique(e.into(), ApiError::AccountExists))?;
            Ok(row)
        })
        .await?;
    Ok(envelope::created(UserView::from(&created)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    pub token: Option<String>,
    pub old_pwd: Option<String>,
    pub new_pwd: Option<String>,
}

/// Changes the password; every other session of the account ends.
#[utoipa::path(
    tag = "accounts",
    request_body(content((ChangePasswordRequest = "application/json"), (ChangePasswordRequest = "application/x-www-form-urlencoded"))),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Changed", body = crate::openapi::EnvelopeNull),
        (status = 400, description = "invalid_params, password_weak", body = crate::openapi::ErrorEnvelope),
        (status = 401, description = "token_*, credentials_invalid (old password wrong)", body = crate::openapi::ErrorEnvelope),
    )
)]
#[patch("/users/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    input: Input,
) -> ApiResult<HttpResponse> {
    let token = require_token(&req, &input).await?;
    let claims = sessions::authenticate(&state, &token).await?;
    let p: ChangePasswordRequest = input.parse()?;
    let mut required = Required::default();
    let old = required.take("old_pwd", p.old_pwd);
    let new = required.take("new_pwd", p.new_pwd);
    required.finish()?;
    let mut user = crate::accounts::load_self(&state, &claims.sub).await?;
    if !passwords::verify(&state, user.password_hash.as_deref(), &old).await? {
        return Err(ApiError::CredentialsInvalid);
    }
    let password = Password::parse(&new, &user.identities())?;
    user.password_hash = Some(passwords::hash(&state, &password).await?);
    user.updated_at = crate::db::now();
    state
        .db
        .run(move |conn| model::save(conn, &user).map_err(ApiError::from))
        .await?;
    sessions::end(
        &state,
        Which::AllOfUser {
            user_id: &claims.sub,
            except: Some(&claims.sid),
        },
        EndReason::PasswordChanged,
    )
    .await?;
    Ok(envelope::ok(()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetPasswordRequest {
    pub number: Option<String>,
    pub pwd: Option<String>,
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
    let number = parse_number(&number)?;
    Password::parse(&pwd, &[number.as_str()])?;
    codes::verify(&state, &number, &code, Purpose::ResetPassword).await?;
    let lookup = number.clone();
    let mut user = state
        .db
        .run(move |conn| model::find_by_number(conn, &lookup).map_err(ApiError::from))
        .await?
        .ok_or(ApiError::AccountNotFound)?;
    let password = Password::parse(&pwd, &user.identities())?;
    user.password_hash = Some(passwords::hash(&state, &password).await?);
    user.updated_at = crate::db::now();
    let user_id = user.id.clone();
    state
        .db
        .run(move |conn| model::save(conn, &user).map_err(ApiError::from))
        .await?;
    sessions::end(
        &state,
        Which::AllOfUser {
            user_id: &user_id,
            except: None,
        },
        EndReason::PasswordReset,
    )
    .await?;
    signin::clear_lockout(&state, &number).await?;
    Ok(envelope::ok(()))
}
