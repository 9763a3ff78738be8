use actix_web::{HttpRequest, HttpResponse, delete, get, put, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::accounts::model::{self, PublicUserView, UserRow};
use crate::accounts::{UserView, load_self, signin, view_of};
use crate::auth::{AnySession, FirstParty};
use crate::codes::{self, Purpose};
use crate::domain::{Number, Username};
use crate::error::{ApiError, ApiResult};
use crate::http::client_ip::client_ip;
use crate::http::envelope;
use crate::http::input::Input;
use crate::sessions::{self, EndReason, Which};
use crate::state::AppState;

/// The user behind the token.
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    responses(
        (status = 200, description = "The token's user", body = inline(crate::openapi::EnvelopeOf<UserView>)),
        (status = 400, description = "invalid_params: an unreadable body", body = crate::openapi::ErrorEnvelope),
        (status = 401, description = "token_missing, token_invalid, token_expired, token_revoked", body = crate::openapi::ErrorEnvelope),
        (status = 503, description = "unavailable: a backing service is down", body = crate::openapi::ErrorEnvelope),
    )
)]
#[get("/users/token")]
pub async fn me(state: web::Data<AppState>, session: AnySession) -> ApiResult<HttpResponse> {
    let user = load_self(&state, &session.sub).await?;
    Ok(envelope::ok(UserView::from(&user)))
}

/// A user by id: the full object for oneself and operators, else only id, username, head_img.
#[utoipa::path(
    tag = "accounts",
    params(("user_id" = String, Path, description = "User id (UUID); anything else is an unknown id (404)")),
    security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    responses(
        (status = 200, description = "The user", body = inline(crate::openapi::EnvelopeOf<crate::openapi::UserOrPublic>)),
        (status = 400, description = "invalid_params: an unreadable body", body = crate::openapi::ErrorEnvelope),
        (status = 401, description = "token_missing, token_invalid, token_expired, token_revoked", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "not_found", body = crate::openapi::ErrorEnvelope),
        (status = 503, description = "unavailable: a backing service is down", body = crate::openapi::ErrorEnvelope),
    )
)]
#[get("/users/{user_id}")]
pub async fn by_id(
    state: web::Data<AppState>,
    session: AnySession,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (target, full) = view_of(&state, &session.sub, &path.into_inner()).await?;
    if full {
        Ok(envelope::ok(UserView::from(&target)))
    } else {
        Ok(envelope::ok(PublicUserView::from(&target)))
    }
}

/// Documented by [`crate::openapi::fields::update_request`].
#[derive(Debug, Deserialize)]
pub struct UpdateRequest {
    pub token: Option<String>,
    pub username: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// An http(s) URL of the avatar image.
    pub head_img: Option<String>,
    /// A code sent to the new phone or e-mail (purpose `change_contact`), when either changes.
    pub verify_code: Option<String>,
}

impl utoipa::PartialSchema for UpdateRequest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::openapi::fields::update_request().into()
    }
}

impl ToSchema for UpdateRequest {}

fn parse_head_img(raw: &str) -> ApiResult<String> {
    let bad = || ApiError::field("head_img", "an http(s) URL of at most 2048 bytes");
    if raw.len() > 2048 {
        return Err(bad());
    }
    let url = url::Url::parse(raw).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() {
        return Err(bad());
    }
    Ok(url.to_string())
}

/// The new phone or e-mail, if the request changes one (only one at a time: one code).
fn contact_change(p: &UpdateRequest, user: &UserRow) -> ApiResult<Option<Number>> {
    let phone = match p.phone.as_deref() {
        Some(raw) => match Number::parse(raw) {
            Ok(n @ Number::Phone(_)) => {
                Some(n).filter(|n| user.phone.as_deref() != Some(n.as_str()))
            }
            _ => return Err(ApiError::field("phone", "not a phone number")),
        },
        None => None,
    };
    let email = match p.email.as_deref() {
        Some(raw) => match Number::parse(raw) {
            Ok(n @ Number::Email(_)) => {
                Some(n).filter(|n| user.email.as_deref() != Some(n.as_str()))
            }
            _ => return Err(ApiError::field("email", "not an e-mail address")),
        },
        None => None,
    };
    match (phone, email) {
        (Some(_), Some(_)) => Err(ApiError::field(
            "verify_code",
            "change the phone and the e-mail address one at a time",
        )),
        (p, e) => Ok(p.or(e)),
    }
}

/// Updates one's own profile.
#[utoipa::path(
    tag = "accounts",
    request_body(content((Option<UpdateRequest> = "application/json"), (Option<UpdateRequest> = "application/x-www-form-urlencoded"))),
    security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    responses(
        (status = 200, description = "The updated user", body = inline(crate::openapi::EnvelopeOf<UserView>)),
        (status = 400, description = "invalid_params, verify_code_invalid", body = crate::openapi::ErrorEnvelope),
        (status = 401, description = "token_missing, token_invalid, token_expired, token_revoked", body = crate::openapi::ErrorEnvelope),
        (status = 403, description = "token_audience: a partner's token", body = crate::openapi::ErrorEnvelope),
        (status = 409, description = "account_exists (number in use), conflict (username taken)", body = crate::openapi::ErrorEnvelope),
        (status = 413, description = "payload_too_large", body = crate::openapi::ErrorEnvelope),
        (status = 503, description = "unavailable: a backing service is down", body = crate::openapi::ErrorEnvelope),
    )
)]
#[put("/users")]
pub async fn update(
    state: web::Data<AppState>,
    caller: FirstParty,
    input: Input,
) -> ApiResult<HttpResponse> {
    let p: UpdateRequest = input.parse()?;
    let mut user = load_self(&state, &caller.sub).await?;
    let username = match p.username.as_deref() {
        Some(raw) => Some(Username::parse(raw).map_err(|why| ApiError::field("username", why))?),
        None => None,
    };
    let head_img = p.head_img.as_deref().map(parse_head_img).transpose()?;
    let contact = contact_change(&p, &user)?;
    if let Some(number) = &contact {
        let code = p.verify_code.as_deref().ok_or_else(|| {
            ApiError::field("verify_code", "required to change the phone or e-mail")
        })?;
        // The code first: without it, whether the address is taken is nobody's business.
        codes::verify(&state, number, code, Purpose::ChangeContact).await?;
        let lookup = number.clone();
        let taken = state
            .db
            .run(move |conn| model::find_by_number(conn, &lookup).map_err(ApiError::from))
            .await?;
        if taken.is_some() {
            return Err(ApiError::AccountExists);
        }
        user.set_number(number);
    }
    if let Some(u) = &username {
        user.username = Some(u.as_str().to_owned());
        user.username_lower = Some(u.lower());
    }
    if let Some(h) = head_img {
        user.head_img = Some(h);
    }
    user.updated_at = crate::db::now();
    let saved = state
        .db
        .run(move |conn| {
            if let Some(lower) = &user.username_lower
                && model::username_taken(conn, lower, &user.id)?
            {
                return Err(ApiError::Conflict("username taken"));
            }
            model::save(conn, &user).map_err(|e| match ApiError::from(e) {
                ApiError::Conflict(_) => ApiError::AccountExists,
                other => other,
            })?;
            Ok(user)
        })
        .await?;
    Ok(envelope::ok(UserView::from(&saved)))
}

/// Documented by [`crate::openapi::fields::delete_request`].
#[derive(Debug, Deserialize)]
pub struct DeleteRequest {
    pub token: Option<String>,
    pub pwd: Option<String>,
    /// For accounts without a password: a code sent to the account's phone or e-mail.
    pub verify_code: Option<String>,
}

impl utoipa::PartialSchema for DeleteRequest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::openapi::fields::delete_request().into()
    }
}

impl ToSchema for DeleteRequest {}

/// Deletes one's own account after re-checking the password (or a code); all sessions end.
#[utoipa::path(
    tag = "accounts",
    request_body(content((DeleteRequest = "application/json"), (DeleteRequest = "application/x-www-form-urlencoded"))),
    security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    responses(
        (status = 200, description = "Deleted", body = crate::openapi::EnvelopeNull),
        (status = 400, description = "invalid_params, verify_code_invalid", body = crate::openapi::ErrorEnvelope),
        (status = 401, description = "token_missing, token_invalid, token_expired, token_revoked, credentials_invalid (wrong password)", body = crate::openapi::ErrorEnvelope),
        (status = 403, description = "token_audience: a partner's token", body = crate::openapi::ErrorEnvelope),
        (status = 413, description = "payload_too_large", body = crate::openapi::ErrorEnvelope),
        (status = 429, description = "rate_limited: the account is locked after repeated wrong passwords", body = crate::openapi::ErrorEnvelope),
        (status = 503, description = "unavailable: a backing service is down, or password checks are queued up (Retry-After)", body = crate::openapi::ErrorEnvelope),
    )
)]
#[delete("/users")]
pub async fn delete_account(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: FirstParty,
    input: Input,
) -> ApiResult<HttpResponse> {
    let p: DeleteRequest = input.parse()?;
    let user = load_self(&state, &caller.sub).await?;
    match (
        &user.password_hash,
        p.pwd.as_deref(),
        p.verify_code.as_deref(),
    ) {
        (Some(_), Some(pwd), _) => {
            signin::confirm_password(&state, &user, pwd, client_ip(&req, &state.proxies)).await?;
        }
        (Some(_), None, _) => return Err(ApiError::field("pwd", "required")),
        (None, _, Some(code)) => {
            let number = user
                .phone
                .as_deref()
                .or(user.email.as_deref())
                .and_then(|n| Number::parse(n).ok())
                .ok_or(ApiError::VerifyCodeInvalid)?;
            codes::verify(&state, &number, code, Purpose::Signin).await?;
        }
        (None, _, None) => return Err(ApiError::field("verify_code", "required")),
    }
    sessions::end(
        &state,
        Which::AllOfUser {
            user_id: &user.id,
            except: None,
        },
        EndReason::AccountDeleted,
    )
    .await?;
    let id = user.id.clone();
    state
        .db
        .run(move |conn| model::delete(conn, &id).map_err(ApiError::from))
        .await?;
    Ok(envelope::ok(()))
}
