//! Codes, tokens and their revocation (PROTOCOLS §3.3-3.5).
//!
//! A code lives 60 s in the shared store and is taken by its first presentation; a mark of
//! its use stays 10 minutes so a replay can revoke what it issued. Access tokens are the
//! session's own JWTs (so `GET /token`, session revocation and the JWKS work unchanged);
//! refresh tokens are opaque and kept hashed in `oauth_tokens`, beside the ids of the access
//! tokens issued, so a client's tokens in one session can be revoked together.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::claims;
use crate::db::schema::oauth_tokens;
use crate::error::{ApiError, ApiResult};
use crate::partners::ClientRow;
use crate::sessions::{self, SessionRow};
use crate::state::AppState;
use crate::tokens::{Claims, TokenRequest};

pub(super) const USED_CODE_TTL: Duration = Duration::from_secs(600);
const ACCESS: &str = "access";
const REFRESH: &str = "refresh";

// Codes and refresh tokens are 256 random bits, kept only as their SHA-256, as partners'
// secrets are.
use crate::db::at;
use crate::partners::{hash_secret as digest, new_secret as random};

/// A token endpoint answer's content.
#[derive(Debug, Serialize)]
pub struct Issued {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_token: String,
    pub id_token: String,
    pub scope: String,
}

/// The store's mark of `client_id`'s grant in `sid`: a new random value each time the grant
/// is revoked. Wall-clock times were compared here before, the revocation's against the
/// take's, and instances' clocks differ: a revocation on an instance whose clock lagged looked
/// older than a take it followed. A value that only changes needs no clock at all.
fn revoked_mark(sid: &str, client_id: &str) -> String {
    format!("grant_revoked:{sid}:{client_id}")
}

/// A grant's revocation mark as an exchange read it before it took its code or refresh token.
/// [`issue`] reads the mark again once its tokens are stored: a different value means the
/// grant was revoked in between, and what was issued goes too.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeenRevocation(Option<String>);

/// Reads the grant's revocation mark, before the take that [`issue`] follows.
pub async fn seen_revocation(
    state: &AppState,
    sid: &str,
    client_id: &str,
) -> ApiResult<SeenRevocation> {
    Ok(SeenRevocation(
        state.store.get(&revoked_mark(sid, client_id)).await?,
    ))
}

/// Issues an access token, a refresh token and an ID token to `client` in session `sid`,
/// recording the client in the session and extending it to the refresh token's expiry.
/// `seen` is the grant's revocation mark as read before the code or refresh token was taken: a
/// revocation since (a concurrent reuse) also takes what this issued, and the caller gets
/// `TokenRevoked`. A mark gone since it was read expired (it lives 10 minutes after the last
/// revocation, and a revocation leaves a new one): that is no revocation.
pub async fn issue(
    state: &AppState,
    client: &ClientRow,
    sid: &str,
    scope: &str,
    nonce: Option<&str>,
    seen: &SeenRevocation,
) -> ApiResult<Issued> {
    let settings = &state.settings;
    let now = chrono::Utc::now().timestamp();
    let refresh_until = now.saturating_add(settings.oidc_refresh_token_ttl_secs as i64);
    let (session, user, end) = sessions::live_for_partner(state, sid).await?;
    let (access_token, access) = state.tokens.issue_oauth(
        &TokenRequest {
            user_id: &user.id,
            sid,
            terminal: &session.terminal.to_ascii_lowercase(),
            user_agent: &session.user_agent,
            phone: None,
            openid: None,
            aud: None,
            not_after: end,
        },
        &client.client_id,
        scope,
        settings.oidc_access_token_ttl_secs as i64,
    )?;
    let refresh_token = random();
    let lasts = at(refresh_until.min(end));
    // Never past the session, which is not moved for less than a few minutes.
    let session_ends = sessions::extension(&session, lasts).unwrap_or(session.expires_at);
    let rows = [
        token_row(ACCESS, access.jti.clone(), &access, at(access.exp)),
        token_row(
            REFRESH,
            digest(&refresh_token),
            &access,
            lasts.min(session_ends),
        ),
    ];
    // The partner recorded in the session, the session extended to the refresh token's
    // expiry and the tokens kept: one transaction, one trip to the database.
    let (held, client_id) = (session.clone(), client.client_id.clone());
    let moved = state
        .db
        .run(move |conn| {
            let attempt = || {
                crate::db::write_transaction(conn, |conn| {
                    let moved = sessions::record_and_extend(conn, &held, &client_id, lasts)?;
                    for row in rows.iter().cloned() {
                        diesel::insert_into(oauth_tokens::table)
                            .values(row)
                            .execute(conn)?;
                    }
                    Ok::<_, diesel::result::Error>(moved)
                })
            };
            crate::db::again_on_unique_violation(attempt).map_err(ApiError::from)
        })
        .await?;
    if let Some(expires) = moved {
        sessions::extended(state, sid, &user.id, expires).await?;
    }
    // Rows are in: a revocation from now on finds them. One that ran meanwhile did not.
    let latest = seen_revocation(state, sid, &client.client_id).await?;
    if latest.0.is_some() && latest != *seen {
        revoke_client_in_session(state, sid, &client.client_id).await?;
        return Err(ApiError::TokenRevoked);
    }
    let id_token = id_token(
        state,
        client,
        &session,
        &user,
        &access,
        &access_token,
        nonce,
    )
    .await?;
    Ok(Issued {
        expires_in: (access.exp - now).max(0),
        access_token,
        token_type: "Bearer",
        refresh_token,
        id_token,
        scope: scope.to_owned(),
    })
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth_tokens)]
pub struct TokenRow {
    pub id: String,
    pub kind: String,
    pub client_id: String,
    pub sid: String,
    pub user_id: String,
    pub scope: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub spent_at: Option<NaiveDateTime>,
}

fn token_row(kind: &str, id: String, access: &Claims, expires_at: NaiveDateTime) -> TokenRow {
    TokenRow {
        id,
        kind: kind.to_owned(),
        client_id: access.client_id.clone().unwrap_or_default(),
        sid: access.sid.clone(),
        user_id: access.sub.clone(),
        scope: access.scope.clone().unwrap_or_default(),
        created_at: crate::db::now(),
        expires_at,
        spent_at: None,
    }
}

#[derive(Serialize)]
struct IdClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    amr: Vec<&'static str>,
    sid: &'a str,
    at_hash: String,
    #[serde(flatten)]
    scoped: serde_json::Map<String, serde_json::Value>,
}

async fn id_token(
    state: &AppState,
    client: &ClientRow,
    session: &SessionRow,
    user: &crate::accounts::UserRow,
    access: &Claims,
    access_token: &str,
    nonce: Option<&str>,
) -> ApiResult<String> {
    let alg = client.alg();
    let claims = IdClaims {
        iss: state.tokens.issuer(),
        sub: &user.id,
        aud: &client.client_id,
        iat: access.iat,
        exp: access.exp,
        auth_time: session.auth_time(),
        nonce,
        amr: session.amr(),
        sid: &session.id,
        at_hash: alg.at_hash(access_token),
        scoped: claims::for_scopes(user, access.scope.as_deref().unwrap_or("")),
    };
    let claims = serde_json::to_value(&claims).map_err(|e| ApiError::Internal(e.to_string()))?;
    state.sign_for(alg, claims, "JWT").await
}

/// The refresh token stored under `id` (the SHA-256 of its value), spent or not.
pub(super) async fn refresh_row(state: &AppState, id: String) -> ApiResult<Option<TokenRow>> {
    state
        .db
        .run(move |conn| {
            oauth_tokens::table
                .find(id)
                .filter(oauth_tokens::kind.eq(REFRESH))
                .select(TokenRow::as_select())
                .first(conn)
                .optional()
                .map_err(ApiError::from)
        })
        .await
}

/// A refresh token rotated: the new tokens, or why not (`invalid_grant` / `invalid_scope`).
pub enum Rotation {
    Issued(Issued),
    InvalidGrant(&'static str),
    InvalidScope,
}

/// Rotates a refresh token (PROTOCOLS §3.4): spent once, by a conditional update, so of two
/// concurrent uses one wins and the other counts as reuse, which revokes the client's tokens
/// in that session.
pub async fn refresh(
    state: &AppState,
    client: &ClientRow,
    presented: &str,
    scope: Option<&str>,
) -> ApiResult<Rotation> {
    let id = digest(presented);
    let row = refresh_row(state, id.clone()).await?;
    let Some(row) = row.filter(|r| r.client_id == client.client_id) else {
        return Ok(Rotation::InvalidGrant("the refresh token is unknown"));
    };
    // Read before the spend: a reuse revokes only once it has seen the token spent.
    let seen = seen_revocation(state, &row.sid, &client.client_id).await?;
    let scope = match scope {
        None => row.scope.clone(),
        Some(asked) => {
            let granted: Vec<&str> = row.scope.split(' ').collect();
            let asked = super::granted_scopes(asked);
            if asked.iter().any(|s| !granted.contains(s)) || !asked.contains(&"openid") {
                return Ok(Rotation::InvalidScope);
            }
            asked.join(" ")
        }
    };
    let spend = id.clone();
    let won = state
        .db
        .run(move |conn| {
            let now = crate::db::now();
            diesel::update(
                oauth_tokens::table
                    .find(spend)
                    .filter(oauth_tokens::spent_at.is_null())
                    .filter(oauth_tokens::expires_at.gt(now)),
            )
            .set(oauth_tokens::spent_at.eq(Some(now)))
            .execute(conn)
            .map_err(ApiError::from)
        })
        .await?;
    if won == 0 {
        if row.spent_at.is_some() || row.expires_at > crate::db::now() {
            tracing::warn!(client = %client.client_id, "refresh token reused; revoking its grant");
            revoke_client_in_session(state, &row.sid, &client.client_id).await?;
        }
        return Ok(Rotation::InvalidGrant(
            "the refresh token was already used or has expired",
        ));
    }
    match issue(state, client, &row.sid, &scope, None, &seen).await {
        Ok(issued) => Ok(Rotation::Issued(issued)),
        Err(ApiError::TokenRevoked) => Ok(Rotation::InvalidGrant(
            "the session has ended or the grant was revoked",
        )),
        Err(err) => Err(err),
    }
}

/// Revokes every token `client_id` holds in session `sid` (a replayed code or refresh token,
/// or the client revoking its refresh token); the session and other partners stay.
pub async fn revoke_client_in_session(
    state: &AppState,
    sid: &str,
    client_id: &str,
) -> ApiResult<()> {
    // The mark first, for the exchanges under way (`issue`). Should the store fail, the
    // grant's rows are still spent before its error is returned.
    let marked = state
        .store
        .set(&revoked_mark(sid, client_id), &random(), USED_CODE_TTL)
        .await;
    let (id, client) = (sid.to_owned(), client_id.to_owned());
    let access: Vec<(String, NaiveDateTime)> = state
        .db
        .run(move |conn| {
            crate::db::write_transaction(conn, |conn| {
                let now = crate::db::now();
                let grant = oauth_tokens::table
                    .filter(oauth_tokens::sid.eq(&id))
                    .filter(oauth_tokens::client_id.eq(&client));
                let access = grant
                    .filter(oauth_tokens::kind.eq(ACCESS))
                    .filter(oauth_tokens::expires_at.gt(now))
                    .select((oauth_tokens::id, oauth_tokens::expires_at))
                    .load(conn)?;
                diesel::update(
                    oauth_tokens::table
                        .filter(oauth_tokens::sid.eq(&id))
                        .filter(oauth_tokens::client_id.eq(&client))
                        .filter(oauth_tokens::spent_at.is_null()),
                )
                .set(oauth_tokens::spent_at.eq(Some(now)))
                .execute(conn)?;
                Ok::<_, diesel::result::Error>(access)
            })
            .map_err(ApiError::from)
        })
        .await?;
    sessions::revoke_tokens(state, sid, access).await?;
    marked
}
