//! A session's later life with protocol partners: the same person signing in again (the
//! session kept), a partner given tokens in it (recorded, the session extended) and some of
//! its tokens revoked while it lives on.

use diesel::prelude::*;

use super::lifecycle::record_in;
use super::{Amr, SessionRow, absolute_end, key, revoked_key, until};
use crate::accounts::UserRow;
use crate::db::schema::{cas_tickets, revoked_tokens, sessions};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The same person signing in again in a live browser session (PROTOCOLS §1): the session
/// and its partners stay, the cookie changes (`browser_key` is the new one's hash) and the
/// sign-in's time and method are the new ones.
#[tracing::instrument(skip_all)]
pub async fn reauthenticate(
    state: &AppState,
    sid: &str,
    browser_key: String,
    amr: Amr,
    signed_in: crate::audit::Record,
) -> ApiResult<()> {
    let id = sid.to_owned();
    let key = browser_key.clone();
    let signed_in = signed_in.with("method", amr.method().as_str());
    let old: Option<String> = state
        .db
        .run(move |conn| {
            crate::db::write_transaction(conn, |conn| {
                let old = sessions::table
                    .find(&id)
                    .select(sessions::browser_key)
                    .first::<Option<String>>(conn)?;
                diesel::update(sessions::table.find(&id))
                    .set((
                        sessions::browser_key.eq(Some(key)),
                        sessions::auth_time.eq(Some(crate::db::now())),
                        sessions::amr.eq(Some(amr.as_stored())),
                    ))
                    .execute(conn)?;
                crate::audit::record(conn, signed_in)?;
                Ok::<_, diesel::result::Error>(old)
            })
            .map_err(ApiError::from)
        })
        .await?;
    // The old cookie no longer opens the session on any instance.
    if let Some(old) = old {
        state.store.del(&format!("bsess:{old}")).await?;
    }
    Ok(())
}

/// A live session and its user, for a partner about to be given tokens in it, and the
/// session's absolute end (unix seconds). One database round trip.
#[tracing::instrument(skip(state))]
pub async fn live_for_partner(
    state: &AppState,
    sid: &str,
) -> ApiResult<(SessionRow, UserRow, i64)> {
    let lookup = sid.to_owned();
    let (session, user) = state
        .db
        .run(move |conn| {
            let session: Option<SessionRow> = sessions::table
                .find(&lookup)
                .select(SessionRow::as_select())
                .first(conn)
                .optional()?;
            let user = match &session {
                Some(s) => crate::accounts::model::find_by_id(conn, &s.user_id)?,
                None => None,
            };
            Ok((session, user))
        })
        .await?;
    let (Some(session), Some(user)) = (session, user) else {
        return Err(ApiError::TokenRevoked);
    };
    let end = absolute_end(state, session.created_at);
    if !session.is_live() || chrono::Utc::now().timestamp() >= end || !user.is_active() {
        return Err(ApiError::TokenRevoked);
    }
    Ok((session, user, end))
}

/// How much shorter than asked a session may stay before [`record_and_extend`] moves it.
const EXTEND_SLACK: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// The new expiry of `session` when it should last until `wanted`: none when it already
/// lasts nearly as long (every exchange and refresh would otherwise rewrite it by the few
/// seconds since the last one).
pub fn extension(
    session: &SessionRow,
    wanted: chrono::NaiveDateTime,
) -> Option<chrono::NaiveDateTime> {
    (wanted > session.expires_at + EXTEND_SLACK).then_some(wanted)
}

/// Inside the caller's write transaction: records `client_id` in `session` (single logout
/// reaches it) and makes the session last at least until `expires` (or ten minutes short of
/// it, when it already does). The new expiry when it moved, for [`extended`] to tell the store once the transaction has committed.
pub fn record_and_extend(
    conn: &mut crate::db::DbConnection,
    session: &SessionRow,
    client_id: &str,
    expires: chrono::NaiveDateTime,
) -> diesel::QueryResult<Option<chrono::NaiveDateTime>> {
    record_in(conn, &session.id, client_id)?;
    let Some(expires) = extension(session, expires) else {
        return Ok(None);
    };
    diesel::update(sessions::table.find(&session.id))
        .filter(sessions::ended_at.is_null())
        .set(sessions::expires_at.eq(expires))
        .execute(conn)?;
    Ok(Some(expires))
}

/// The store learns a session's new expiry (after [`record_and_extend`] committed).
pub async fn extended(
    state: &AppState,
    sid: &str,
    user_id: &str,
    expires: chrono::NaiveDateTime,
) -> ApiResult<()> {
    state.store.set(&key(sid), user_id, until(expires)).await
}

/// Revokes tokens of a session by id (`jti`, with each token's last usable moment), at once on
/// every instance; the session itself stays.
pub async fn revoke_tokens(
    state: &AppState,
    sid: &str,
    tokens: Vec<(String, chrono::NaiveDateTime)>,
) -> ApiResult<()> {
    if tokens.is_empty() {
        return Ok(());
    }
    let (id, rows) = (sid.to_owned(), tokens.clone());
    state
        .db
        .run(move |conn| {
            for (jti, expires) in rows {
                let inserted = diesel::insert_into(revoked_tokens::table)
                    .values((
                        revoked_tokens::jti.eq(&jti),
                        revoked_tokens::sid.eq(&id),
                        revoked_tokens::expires_at.eq(expires),
                    ))
                    .execute(conn);
                match inserted {
                    Ok(_)
                    | Err(diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::UniqueViolation,
                        _,
                    )) => {}
                    Err(e) => return Err(ApiError::from(e)),
                }
            }
            Ok(())
        })
        .await?;
    for (jti, expires) in tokens {
        state
            .store
            .set_revocation(&revoked_key(sid, &jti), "1", until(expires))
            .await?;
    }
    Ok(())
}

/// A CAS service ticket validated in session `sid` (PROTOCOLS §4): the partner recorded and
/// the ticket kept with the service it was validated for, in one transaction, so that the
/// session's end sends that service its logout request.
pub async fn record_cas_ticket(
    state: &AppState,
    sid: &str,
    client_id: &str,
    ticket: &str,
    service: &str,
) -> ApiResult<()> {
    let (sid, client_id) = (sid.to_owned(), client_id.to_owned());
    let (ticket, service) = (ticket.to_owned(), service.to_owned());
    state
        .db
        .run(move |conn| {
            let attempt = || {
                crate::db::write_transaction(conn, |conn| {
                    record_in(conn, &sid, &client_id)?;
                    diesel::insert_into(cas_tickets::table)
                        .values((
                            cas_tickets::ticket.eq(&ticket),
                            cas_tickets::session_id.eq(&sid),
                            cas_tickets::client_id.eq(&client_id),
                            cas_tickets::service.eq(&service),
                            cas_tickets::created_at.eq(crate::db::now()),
                        ))
                        .execute(conn)
                        .map(|_| ())
                })
            };
            crate::db::again_on_unique_violation(attempt).map_err(ApiError::from)
        })
        .await
}
