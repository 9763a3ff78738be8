//! The one rule for "is this session live", asked by every authenticated call: the store
//! answers when it knows the session (one round trip, the hot path of `GET /token`), the
//! database when it does not, and then refills the store.

use std::sync::Arc;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{CheckKeys, ENDED, SessionRow, at, key, revoked_key, until};
use crate::db::schema::{revoked_tokens, session_clients, sessions};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::tokens::Claims;

/// Verifies a token and that its session is live: the check behind every authenticated call.
// Debug level: this runs on every token check, and a disabled span costs next to nothing.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn authenticate(state: &AppState, token: &str) -> ApiResult<Arc<Claims>> {
    let claims = state.tokens.verify(token)?;
    is_verified_live(state, &claims).await?;
    Ok(claims)
}

/// The rest of [`authenticate`] for claims whose token `TokenService::verify` accepted.
pub async fn is_verified_live(state: &AppState, claims: &Claims) -> ApiResult<()> {
    ensure_live(state, claims, OwnMark::Check).await
}

/// Whether the token's own "replaced by a refresh" mark is checked: a refresh sets that mark
/// itself just before it asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OwnMark {
    Check,
    Skip,
}

/// Fails with `token_revoked` unless the token's session is live for the token's user (and,
/// with `OwnMark::Check`, the token itself has not been replaced by a refresh).
pub(super) async fn ensure_live(state: &AppState, claims: &Claims, own: OwnMark) -> ApiResult<()> {
    let session = match own {
        OwnMark::Check => {
            let keys = CheckKeys::new(&claims.sid, &claims.jti);
            let (session, revoked) = state.store.get_pair(keys.session(), keys.revoked()).await?;
            if revoked.is_some() {
                return Err(ApiError::TokenRevoked);
            }
            session
        }
        OwnMark::Skip => state.store.get(&key(&claims.sid)).await?,
    };
    match session {
        Some(uid) if uid == claims.sub => Ok(()),
        Some(_) => Err(ApiError::TokenRevoked),
        // Boxed: the database's futures would otherwise size every check's, hit or miss, and
        // a check's future is allocated and moved on each request.
        None => Box::pin(live_in_database(state, claims, own)).await,
    }
}

/// The store lost or never had this session: the database decides, and the store learns it.
async fn live_in_database(state: &AppState, claims: &Claims, own: OwnMark) -> ApiResult<()> {
    let (row, replaced) = from_database(state, &claims.sid).await?;
    match row {
        Some(r) if r.user_id == claims.sub => {
            if own == OwnMark::Check && replaced.contains(&claims.jti) {
                return Err(ApiError::TokenRevoked);
            }
            Ok(())
        }
        _ => {
            let cache_for = until(at(claims.delay_time));
            state.store.set(&key(&claims.sid), ENDED, cache_for).await?;
            Err(ApiError::TokenRevoked)
        }
    }
}

/// The database's word on a session the store does not know: its row if live, and the ids of
/// its tokens replaced by refreshes. Both go back into the store, so the next check is a hit.
async fn from_database(
    state: &AppState,
    sid: &str,
) -> ApiResult<(Option<SessionRow>, Vec<String>)> {
    let lookup = sid.to_owned();
    let (row, revoked) = state
        .db
        .read(move |conn| {
            let row = sessions::table
                .find(&lookup)
                .select(SessionRow::as_select())
                .first(conn)
                .optional()?;
            let revoked: Vec<(String, NaiveDateTime)> = revoked_tokens::table
                .filter(revoked_tokens::sid.eq(&lookup))
                .select((revoked_tokens::jti, revoked_tokens::expires_at))
                .load(conn)?;
            Ok((row, revoked))
        })
        .await?;
    for (jti, expires_at) in &revoked {
        state
            .store
            .set(&revoked_key(sid, jti), "1", until(*expires_at))
            .await?;
    }
    let row = row.filter(SessionRow::is_live);
    if let Some(r) = &row {
        state
            .store
            .set(&key(&r.id), &r.user_id, until(r.expires_at))
            .await?;
    }
    Ok((row, revoked.into_iter().map(|(jti, _)| jti).collect()))
}

/// The live session behind a browser cookie's key hash, if any: `(sid, user_id)`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn by_browser_key(
    state: &AppState,
    browser_key: &str,
) -> ApiResult<Option<(String, String)>> {
    let cache = format!("bsess:{browser_key}");
    let sid = match state.store.get(&cache).await? {
        Some(sid) => Some(sid),
        None => {
            let lookup = browser_key.to_owned();
            let row = state
                .db
                .read(move |conn| {
                    sessions::table
                        .filter(sessions::browser_key.eq(lookup))
                        .select(SessionRow::as_select())
                        .first(conn)
                        .optional()
                        .map_err(ApiError::from)
                })
                .await?;
            match row.filter(SessionRow::is_live) {
                Some(r) => {
                    state.store.set(&cache, &r.id, until(r.expires_at)).await?;
                    Some(r.id)
                }
                None => None,
            }
        }
    };
    let Some(sid) = sid else { return Ok(None) };
    match state.store.get(&key(&sid)).await? {
        Some(uid) if uid != ENDED => Ok(Some((sid, uid))),
        Some(_) => Ok(None),
        None => Ok(from_database(state, &sid)
            .await?
            .0
            .map(|r| (r.id, r.user_id))),
    }
}

/// A person's sessions that have not ended, newest first, with the `client_id`s of the
/// partners each reached.
pub async fn live_of_user(
    state: &AppState,
    user_id: &str,
) -> ApiResult<Vec<(SessionRow, Vec<String>)>> {
    let uid = user_id.to_owned();
    state
        .db
        .read(move |conn| {
            let now = crate::db::now();
            // `SessionRow::is_live`, as a filter.
            let rows: Vec<SessionRow> = sessions::table
                .filter(sessions::user_id.eq(&uid))
                .filter(sessions::ended_at.is_null())
                .filter(sessions::expires_at.gt(now))
                .order(sessions::created_at.desc())
                .limit(50)
                .select(SessionRow::as_select())
                .load(conn)?;
            let mut out = Vec::new();
            for r in rows {
                let clients: Vec<String> = session_clients::table
                    .filter(session_clients::session_id.eq(&r.id))
                    .select(session_clients::client_id)
                    .load(conn)?;
                out.push((r, clients));
            }
            Ok(out)
        })
        .await
}

/// Whether session `sid` is live for `user_id` (the store's word, else the database's).
pub async fn is_live(state: &AppState, sid: &str, user_id: &str) -> ApiResult<bool> {
    match state.store.get(&key(sid)).await? {
        Some(uid) => Ok(uid == user_id),
        None => Ok(from_database(state, sid)
            .await?
            .0
            .is_some_and(|r| r.user_id == user_id)),
    }
}

/// When the person last signed in to session `sid` (unix seconds), if it exists.
pub async fn auth_time(state: &AppState, sid: &str) -> ApiResult<Option<i64>> {
    let lookup = sid.to_owned();
    let row: Option<SessionRow> = state
        .db
        .read(move |conn| {
            sessions::table
                .find(lookup)
                .select(SessionRow::as_select())
                .first(conn)
                .optional()
                .map_err(ApiError::from)
        })
        .await?;
    Ok(row.map(|r| r.auth_time()))
}

/// Sessions not ended and not expired, across all people: the `/metrics` gauge.
pub fn count_live(conn: &mut crate::db::DbConnection) -> QueryResult<i64> {
    sessions::table
        .filter(sessions::ended_at.is_null())
        .filter(sessions::expires_at.gt(crate::db::now()))
        .count()
        .get_result(conn)
}
