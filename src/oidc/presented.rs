//! What introspection and revocation find behind a presented token (RFC 7662, RFC 7009): the
//! caller's own access or refresh token, or nothing.

use super::grants::{TokenRow, refresh_row};
use crate::db::at;
use crate::db::schema::oauth_tokens;
use crate::error::{ApiError, ApiResult};
use crate::partners::ClientRow;
use crate::partners::hash_secret as digest;
use crate::sessions;
use crate::state::AppState;
use crate::tokens::Claims;
use diesel::prelude::*;

/// What introspection and revocation find behind a presented token, for `client` only.
pub enum Found {
    /// A live access token of the client.
    Access(std::sync::Arc<Claims>),
    /// A live refresh token of the client.
    Refresh(TokenRow),
    None,
}

impl Found {
    /// The RFC 7662 answer about this token, as the client that asked may see it.
    pub fn introspection<'a>(&'a self, issuer: &'a str) -> Introspection<'a> {
        let token = match self {
            Found::Access(c) => Some(Active {
                scope: c.scope.as_deref(),
                client_id: c.client_id.as_deref(),
                sub: &c.sub,
                aud: c.aud.as_deref(),
                iss: issuer,
                exp: c.exp,
                iat: c.iat,
                sid: &c.sid,
                jti: Some(&c.jti),
                token_type: Some("Bearer"),
            }),
            Found::Refresh(r) => Some(Active {
                scope: Some(&r.scope),
                client_id: Some(&r.client_id),
                sub: &r.user_id,
                aud: None,
                iss: issuer,
                exp: r.expires_at.and_utc().timestamp(),
                iat: r.created_at.and_utc().timestamp(),
                sid: &r.sid,
                jti: None,
                token_type: None,
            }),
            Found::None => None,
        };
        Introspection {
            active: token.is_some(),
            token,
        }
    }
}

/// An introspection answer (RFC 7662 §2.2): `{"active": false}` alone, or the token's
/// details beside `"active": true`. Typed rather than a `json!` map: resource servers may ask
/// on every call they get.
#[derive(serde::Serialize)]
pub struct Introspection<'a> {
    active: bool,
    #[serde(flatten)]
    token: Option<Active<'a>>,
}

#[derive(serde::Serialize)]
pub struct Active<'a> {
    scope: Option<&'a str>,
    client_id: Option<&'a str>,
    sub: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
    iss: &'a str,
    exp: i64,
    iat: i64,
    sid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'a str>,
}

/// Looks a token up as the client's access token, then as its refresh token.
pub async fn find(state: &AppState, client: &ClientRow, token: &str) -> ApiResult<Found> {
    if token.contains('.') {
        return match sessions::authenticate(state, token).await {
            Ok(claims) if claims.client_id.as_deref() == Some(client.client_id.as_str()) => {
                Ok(Found::Access(claims))
            }
            Ok(_) => Ok(Found::None),
            Err(e @ (ApiError::Unavailable(_) | ApiError::Internal(_))) => Err(e),
            Err(_) => Ok(Found::None),
        };
    }
    if token.len() > 128 {
        return Ok(Found::None);
    }
    let row = refresh_row(state, digest(token)).await?;
    let Some(row) = row.filter(|r| {
        r.client_id == client.client_id && r.spent_at.is_none() && r.expires_at > crate::db::now()
    }) else {
        return Ok(Found::None);
    };
    match sessions::is_live(state, &row.sid, &row.user_id).await? {
        true => Ok(Found::Refresh(row)),
        false => Ok(Found::None),
    }
}

/// Revokes one access token of a client (RFC 7009: alone).
pub async fn revoke_access(state: &AppState, claims: &Claims) -> ApiResult<()> {
    let jti = claims.jti.clone();
    state
        .db
        .run(move |conn| {
            diesel::update(oauth_tokens::table.find(jti))
                .set(oauth_tokens::spent_at.eq(Some(crate::db::now())))
                .execute(conn)
                .map(|_| ())
                .map_err(ApiError::from)
        })
        .await?;
    sessions::revoke_tokens(
        state,
        &claims.sid,
        vec![(claims.jti.clone(), at(claims.exp))],
    )
    .await
}
