use actix_web::{HttpRequest, HttpResponse, delete, get, put, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::accounts::model::PublicUserView;
use crate::accounts::profile::{self, ProfileChange, Proof};
use crate::accounts::{UserView, load_self, view_of};
use crate::auth::{AnySession, FirstParty};
use crate::domain::{Expect, Number, Username};
use crate::error::{ApiError, ApiResult};
use crate::http::client_ip::client_ip;
use crate::http::envelope;
use crate::http::input::Input;
use crate::state::AppState;

/// The user behind the token.
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    responses(
        (status = 200, description = "The token's user", body = inline(crate::openapi::EnvelopeOf<UserView>)),
        crate::openapi::responses::Unreadable, crate::openapi::responses::SignedIn, crate::openapi::responses::Down,
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
        (status = 404, description = "not_found", body = crate::openapi::ErrorEnvelope),
        crate::openapi::responses::Unreadable, crate::openapi::responses::SignedIn, crate::openapi::responses::Down,
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

/// Updates one's own profile.
#[utoipa::path(
    tag = "accounts",
    request_body(content((Option<UpdateRequest> = "application/json"), (Option<UpdateRequest> = "application/x-www-form-urlencoded"))),
    security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    responses(
        (status = 200, description = "The updated user", body = inline(crate::openapi::EnvelopeOf<UserView>)),
        (status = 400, description = "invalid_params, verify_code_invalid", body = crate::openapi::ErrorEnvelope),
        (status = 403, description = "token_audience: a partner's token", body = crate::openapi::ErrorEnvelope),
        (status = 409, description = "account_exists (number in use), conflict (username taken)", body = crate::openapi::ErrorEnvelope),
        crate::openapi::responses::SignedIn, crate::openapi::responses::TooLarge, crate::openapi::responses::Down,
    )
)]
#[put("/users")]
pub async fn update(
    state: web::Data<AppState>,
    caller: FirstParty,
    input: Input,
) -> ApiResult<HttpResponse> {
    let p: UpdateRequest = input.parse()?;
    let change = ProfileChange {
        username: p
            .username
            .as_deref()
            .map(|raw| Username::parse(raw).map_err(|why| ApiError::field("username", why)))
            .transpose()?,
        head_img: p.head_img.as_deref().map(parse_head_img).transpose()?,
        phone: p
            .phone
            .as_deref()
            .map(|raw| Number::from_field("phone", raw, Expect::Phone))
            .transpose()?,
        email: p
            .email
            .as_deref()
            .map(|raw| Number::from_field("email", raw, Expect::Email))
            .transpose()?,
        verify_code: p.verify_code,
    };
    let saved = profile::update(&state, &caller.sub, change).await?;
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
        (status = 429, description = "rate_limited: the account is locked after repeated wrong passwords", body = crate::openapi::ErrorEnvelope),
        (status = 503, description = "unavailable: a backing service is down, or password checks are queued up (Retry-After)", body = crate::openapi::ErrorEnvelope),
        crate::openapi::responses::TooLarge,
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
    let proof = Proof {
        password: p.pwd.as_deref(),
        verify_code: p.verify_code.as_deref(),
        ip: client_ip(&req, &state.proxies),
    };
    profile::delete(&state, &caller.sub, proof).await?;
    Ok(envelope::ok(()))
}
