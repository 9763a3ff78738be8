//! A session's life: started at sign-in, given more tokens (for partners, at refresh), and the
//! partners it reached recorded for single logout. Ending lives in `end`.

use diesel::prelude::*;

use super::end::{EndReason, Which, end};
use super::live::{OwnMark, ensure_live};
use super::{SessionRow, absolute_end, at, key, revoked_key, until};
use crate::audit::{Event, Origin, Record};
use crate::db::schema::{revoked_tokens, session_clients, sessions};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::tokens::{Claims, TokenRequest};

/// Who a new session is for.
pub struct NewSession<'a> {
    pub user_id: &'a str,
    pub phone: Option<&'a str>,
    pub openid: Option<&'a str>,
    pub terminal: &'a str,
    pub user_agent: &'a str,
    pub ip: String,
    /// The partner system signed into, when the sign-in came with a `callback_url`.
    pub client_id: Option<&'a str>,
    /// For browser sign-ins: the hash of the session cookie's secret.
    pub browser_key: Option<String>,
    /// How the sign-in was proven (recorded for OpenID Connect's `amr`).
    pub amr: Option<super::Amr>,
    /// How the person signed in, for the audit trail.
    pub method: crate::observe::SigninMethod,
}

/// Starts a session and returns its first token.
#[tracing::instrument(skip_all, fields(user_id = new.user_id, terminal = new.terminal))]
pub async fn start(state: &AppState, new: NewSession<'_>) -> ApiResult<(String, Claims)> {
    let sid = uuid::Uuid::new_v4().to_string();
    let now = crate::db::now();
    let (token, claims) = state.tokens.issue(&TokenRequest {
        user_id: new.user_id,
        sid: &sid,
        terminal: new.terminal,
        user_agent: new.user_agent,
        phone: new.phone,
        openid: new.openid,
        aud: new.client_id,
        not_after: absolute_end(state, now),
    })?;
    let row = SessionRow {
        id: sid.clone(),
        user_id: new.user_id.to_owned(),
        terminal: claims.terminal.clone(),
        user_agent: truncate(new.user_agent, 512),
        ip: new.ip,
        created_at: now,
        expires_at: at(claims.delay_time),
        ended_at: None,
        end_reason: None,
        browser_key: new.browser_key,
        auth_time: Some(now),
        amr: new.amr.map(|a| a.as_stored().to_owned()),
    };
    let client = new.client_id.map(str::to_owned);
    let signed_in = Record::new(Event::SigninSucceeded)
        .user(new.user_id)
        .actor(Some(new.user_id))
        .client(new.client_id)
        .from(&Origin {
            ip: Some(row.ip.clone()),
            user_agent: Some(row.user_agent.clone()).filter(|ua| !ua.is_empty()),
        })
        .with("method", new.method.as_str())
        .with("terminal", claims.terminal.clone());
    state
        .db
        .run(move |conn| {
            crate::db::write_transaction(conn, |conn| {
                diesel::insert_into(sessions::table)
                    .values(&row)
                    .execute(conn)?;
                crate::audit::record(conn, signed_in)?;
                if let Some(client_id) = client {
                    diesel::insert_into(session_clients::table)
                        .values((
                            session_clients::session_id.eq(&row.id),
                            session_clients::client_id.eq(client_id),
                            session_clients::created_at.eq(now),
                        ))
                        .execute(conn)?;
                }
                Ok::<_, diesel::result::Error>(())
            })
            .map_err(ApiError::from)
        })
        .await?;
    state
        .store
        .set(&key(&sid), new.user_id, until(at(claims.delay_time)))
        .await?;
    if super::terminal::replaces_others(&state.settings, new.terminal) {
        end(
            state,
            Which::OnTerminal {
                user_id: new.user_id,
                terminal: &claims.terminal,
                except: &sid,
            },
            EndReason::Replaced,
        )
        .await?;
    }
    Ok((token, claims))
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Replaces a token with a new one in the same session. Allowed until `delayTime`, even after
/// `exp`; the old token stops working. Presenting an already-replaced token again is taken as
/// theft: the whole session ends (single logout runs).
#[tracing::instrument(skip_all)]
pub async fn refresh(state: &AppState, token: &str) -> ApiResult<String> {
    let claims = state.tokens.decode(token)?;
    // An OpenID Connect access token is refreshed with its refresh token, at /oauth2/token.
    if claims.is_oauth() {
        return Err(ApiError::TokenAudience);
    }
    if chrono::Utc::now().timestamp() >= claims.delay_time {
        return Err(ApiError::RefreshWindowPassed);
    }
    let mark = revoked_key(&claims.sid, &claims.jti);
    let first_use = state
        .store
        .set_nx_revocation(&mark, "1", until(at(claims.delay_time)))
        .await?;
    // A replaced token's mark may only live in the database if the store lost its data.
    let replaced_before = !first_use || {
        let jti = claims.jti.clone();
        state
            .db
            .read(move |conn| {
                diesel::select(diesel::dsl::exists(revoked_tokens::table.find(jti)))
                    .get_result::<bool>(conn)
                    .map_err(ApiError::from)
            })
            .await?
    };
    if replaced_before {
        end(state, Which::One(&claims.sid), EndReason::RefreshReuse).await?;
        return Err(ApiError::TokenRevoked);
    }
    if let Err(err) = ensure_live(state, &claims, OwnMark::Skip).await {
        state.store.del(&mark).await.ok();
        return Err(err);
    }
    let (jti, sid, expires) = (
        claims.jti.clone(),
        claims.sid.clone(),
        at(claims.delay_time),
    );
    state
        .db
        .run(move |conn| {
            diesel::insert_into(revoked_tokens::table)
                .values((
                    revoked_tokens::jti.eq(jti),
                    revoked_tokens::sid.eq(sid),
                    revoked_tokens::expires_at.eq(expires),
                ))
                .execute(conn)
                .map(|_| ())
                .map_err(ApiError::from)
        })
        .await?;
    let (new_token, _) = issue_in(state, &claims.sid, claims.aud.as_deref(), false).await?;
    Ok(new_token)
}

/// Issues another token in a live session (for a partner, when `client_id` is given) and
/// extends the session to the new token's refresh window; `record` also records that partner
/// as logged into the session (ticket mode records it when the ticket is redeemed instead).
#[tracing::instrument(skip(state))]
pub async fn issue_in(
    state: &AppState,
    sid: &str,
    client_id: Option<&str>,
    record: bool,
) -> ApiResult<(String, Claims)> {
    let lookup = sid.to_owned();
    let (session, user) = state
        .db
        .read(move |conn| {
            let session: SessionRow = sessions::table
                .find(&lookup)
                .select(SessionRow::as_select())
                .first(conn)?;
            let user = crate::accounts::model::find_by_id(conn, &session.user_id)?;
            Ok((session, user))
        })
        .await?;
    let user = user.ok_or(ApiError::TokenRevoked)?;
    let past_end = chrono::Utc::now().timestamp() >= absolute_end(state, session.created_at);
    if session.ended_at.is_some() || past_end || !user.is_active() {
        return Err(ApiError::TokenRevoked);
    }
    let (token, claims) = state.tokens.issue(&TokenRequest {
        user_id: &user.id,
        sid,
        terminal: &session.terminal.to_ascii_lowercase(),
        user_agent: &session.user_agent,
        phone: user.phone.as_deref(),
        openid: user.openid.as_deref(),
        aud: client_id,
        not_after: absolute_end(state, session.created_at),
    })?;
    let expires = at(claims.delay_time)
        .max(session.expires_at)
        .min(at(absolute_end(state, session.created_at)));
    extend_to(state, sid, &user.id, expires).await?;
    if let Some(client) = client_id.filter(|_| record) {
        record_client(state, sid, client).await?;
    }
    Ok((token, claims))
}

/// Moves a session's last usable moment to `expires`, in the database and the store.
async fn extend_to(
    state: &AppState,
    sid: &str,
    user_id: &str,
    expires: chrono::NaiveDateTime,
) -> ApiResult<()> {
    let id = sid.to_owned();
    state
        .db
        .run(move |conn| {
            diesel::update(sessions::table.find(&id))
                .filter(sessions::ended_at.is_null())
                .set(sessions::expires_at.eq(expires))
                .execute(conn)
                .map(|_| ())
                .map_err(ApiError::from)
        })
        .await?;
    state.store.set(&key(sid), user_id, until(expires)).await
}

/// Records that a partner system is logged into a session (idempotent).
pub async fn record_client(state: &AppState, sid: &str, client_id: &str) -> ApiResult<()> {
    let (sid, client_id) = (sid.to_owned(), client_id.to_owned());
    state
        .db
        .run(move |conn| match record_in(conn, &sid, &client_id) {
            // Two concurrent recordings of the same pair: one wins, both succeed.
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => Ok(()),
            other => other.map_err(ApiError::from),
        })
        .await
}

/// Records the pair unless it is there; a concurrent recording may still win the key.
pub(super) fn record_in(
    conn: &mut crate::db::DbConnection,
    sid: &str,
    client_id: &str,
) -> diesel::QueryResult<()> {
    let exists: bool = diesel::select(diesel::dsl::exists(
        session_clients::table
            .filter(session_clients::session_id.eq(sid))
            .filter(session_clients::client_id.eq(client_id)),
    ))
    .get_result(conn)?;
    if !exists {
        diesel::insert_into(session_clients::table)
            .values((
                session_clients::session_id.eq(sid),
                session_clients::client_id.eq(client_id),
                session_clients::created_at.eq(crate::db::now()),
            ))
            .execute(conn)?;
    }
    Ok(())
}
