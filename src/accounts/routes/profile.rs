use actix_web::{HttpRequest, delete, get, put, web};
use serde::Deserialize;

use crate::accounts::model::PublicUserView;
use crate::accounts::profile::{self, ProfileChange, Proof};
use crate::accounts::{UserView, load_self, view_of};
use crate::auth::{AnySession, FirstParty};
use crate::domain::{Expect, Number, Username};
use crate::error::{Answer, ApiError, ApiResult};
use crate::http::client_ip::client_ip;
use crate::http::envelope;
use crate::http::input::Input;
use crate::openapi::responses::{SignedInByIdRefusals, SignedInRefusals, refusals};
use crate::openapi::{EnvelopeNull, EnvelopeOf};
use crate::state::Shared;

/// The user behind the token.
#[utoipa::path(
    tag = "accounts", security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    responses(
        (status = 200, description = "The token's user", body = inline(EnvelopeOf<UserView>)),
        SignedInRefusals,
    )
)]
#[get("/users/token")]
pub async fn me(state: Shared, session: AnySession) -> Answer {
    let user = load_self(&state, &session.sub).await?;
    Ok(envelope::ok(UserView::from(&user)))
}

/// A user by id: the full object for oneself and operators, else only id, username, head_img.
#[utoipa::path(
    tag = "accounts",
    params(("user_id" = String, Path, description = "User id (UUID); anything else is an unknown id (404)")),
    security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    responses(
        (status = 200, description = "The user", body = inline(EnvelopeOf<crate::openapi::UserOrPublic>)),
        SignedInByIdRefusals,
    )
)]
#[get("/users/{user_id}")]
pub async fn by_id(state: Shared, session: AnySession, path: web::Path<String>) -> Answer {
    let (target, full) = view_of(&state, &session.sub, &path.into_inner()).await?;
    if full {
        Ok(envelope::ok(UserView::from(&target)))
    } else {
        Ok(envelope::ok(PublicUserView::from(&target)))
    }
}

/// Documented by [`crate::openapi::fields::update_request`] (the `token` it lists is read by
/// the [`FirstParty`] extractor).
#[derive(Debug, Deserialize)]
pub struct UpdateRequest {
    pub username: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// An http(s) URL of the avatar image.
    pub head_img: Option<String>,
    /// A code sent to the new phone or e-mail (purpose `change_contact`), when either changes.
    pub verify_code: Option<String>,
}

crate::openapi::schema_from!(UpdateRequest, crate::openapi::fields::update_request);

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

refusals!(UpdateRefusals: [SIGNED_IN, FIRST_PARTY, TOO_LARGE, DOWN]
    "invalid_params", "verify_code_invalid", "account_exists" = "number in use",
    "conflict" = "username taken");

/// Updates one's own profile.
#[utoipa::path(
    tag = "accounts", request_body = Option<UpdateRequest>,
    security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    responses(
        (status = 200, description = "The updated user", body = inline(EnvelopeOf<UserView>)),
        UpdateRefusals,
    )
)]
#[put("/users")]
pub async fn update(state: Shared, caller: FirstParty, input: Input) -> Answer {
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
    pub pwd: Option<String>,
    /// For accounts without a password: a code sent to the account's phone or e-mail.
    pub verify_code: Option<String>,
}

crate::openapi::schema_from!(DeleteRequest, crate::openapi::fields::delete_request);

refusals!(DeleteAccountRefusals: [SIGNED_IN, FIRST_PARTY, PASSWORD_CHECK, TOO_LARGE]
    "invalid_params", "verify_code_invalid");

/// Deletes one's own account after re-checking the password (or a code); all sessions end.
#[utoipa::path(
    tag = "accounts", request_body = DeleteRequest,
    security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    responses((status = 200, description = "Deleted", body = EnvelopeNull), DeleteAccountRefusals)
)]
#[delete("/users")]
pub async fn delete_account(
    state: Shared,
    req: HttpRequest,
    caller: FirstParty,
    input: Input,
) -> Answer {
    let p: DeleteRequest = input.parse()?;
    let proof = Proof {
        password: p.pwd.as_deref(),
        verify_code: p.verify_code.as_deref(),
        ip: client_ip(&req, &state.proxies),
    };
    profile::delete(&state, &caller.sub, proof).await?;
    Ok(envelope::ok(()))
}
