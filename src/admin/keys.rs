//! `GET` and `POST /admin/api/keys`: the signing keys and their rotation (CONTRACT §9).

use actix_web::{get, post};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::Operator;
use crate::error::{Answer, ApiError, ApiResult};
use crate::http::envelope;
use crate::http::input::Input;
use crate::keys::{Alg, KeyView};
use crate::openapi::EnvelopeOf;
use crate::openapi::responses::{OperatorRefusals, refusals};
use crate::state::Shared;

refusals!(RotateKeyRefusals: [SIGNED_IN, OPERATOR_ONLY, TOO_LARGE, DOWN] "invalid_params",
    "conflict" = "three keys of this algorithm already wait to sign");

#[derive(Debug, Deserialize, ToSchema)]
pub struct RotateRequest {
    /// `EdDSA` (the default: access tokens) or `RS256` (OpenID Connect clients registered
    /// with it).
    #[schema(schema_with = crate::openapi::fields::key_alg_opt)]
    pub alg: Option<String>,
}

/// The algorithm a rotation asks for: EdDSA when none is named.
pub fn requested_alg(name: Option<&str>) -> ApiResult<Alg> {
    match name {
        None => Ok(Alg::EdDsa),
        Some(name) => {
            Alg::parse(name).ok_or_else(|| ApiError::field("alg", "must be EdDSA or RS256"))
        }
    }
}

/// The signing keys, newest first: `published` (in the JWKS, not signing yet), `active`
/// (signing) and `retiring` (verifying until `retires_at`).
#[utoipa::path(
    tag = "admin", security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    responses(
        (status = 200, description = "The keys", body = inline(EnvelopeOf<Vec<KeyView>>)),
        OperatorRefusals,
    )
)]
#[get("/admin/api/keys")]
pub async fn list_keys(state: Shared, _operator: Operator) -> Answer {
    let keys = state.keyring.list();
    let total = keys.len() as u64;
    Ok(envelope::list(keys, total))
}

/// Makes a new signing key: published at once, signing after GATEHOUSE_KEY_PUBLISH_SECS,
/// when the one before it starts retiring. Every instance has it within 10 s.
#[utoipa::path(
    tag = "admin", security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    request_body = Option<RotateRequest>,
    responses(
        (status = 201, description = "The new key", body = inline(EnvelopeOf<KeyView>)),
        RotateKeyRefusals,
    )
)]
#[post("/admin/api/keys")]
pub async fn rotate_key(
    state: Shared,
    operator: Operator,
    req: actix_web::HttpRequest,
    input: Input,
) -> Answer {
    let request: RotateRequest = input.parse()?;
    let alg = requested_alg(request.alg.as_deref())?;
    let by = operator.by(&req, &state.proxies);
    Ok(envelope::created(state.keyring.rotate(alg, &by).await?))
}
