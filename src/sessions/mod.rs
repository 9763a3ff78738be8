//! Sessions: every token belongs to one, and ending it makes all its tokens fail at once.
//!
//! The database holds the durable record (so a restart signs nobody out); the ephemeral store
//! answers the hot path. `sess:{sid}` holds the user id while the session lives and `-` once it
//! has ended, each until the session's last token could no longer be used. A miss falls back to
//! the database and fills the store again.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{revoked_tokens, session_clients, sessions};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::tokens::{Claims, TokenRequest};

const ENDED: &str = "-";

fn key(sid: &str) -> String {
    format!("sess:{sid}")
}

fn until(at: NaiveDateTime) -> Duration {
    let secs = at.and_utc().timestamp() - chrono::Utc::now().timestamp();
    Duration::from_secs(secs.max(1) as u64)
}

fn at(unix: i64) -> NaiveDateTime {
    DateTime::from_timestamp(unix, 0)
        .map(|d| d.naive_utc())
        .unwrap_or_default()
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: String,
    pub user_id: String,
    pub terminal: String,
    pub user_agent: String,
    pub ip: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub ended_at: Option<NaiveDateTime>,
    pub end_reason: Option<String>,
    /// SHA-256 of the browser session cookie, for sessions started on the sign-in page.
    pub browser_key: Option<String>,
}

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
}

/// Starts a session and returns its first token.
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
    };
    let client = new.client_id.map(str::to_owned);
    state
        .db
        .run(move |conn| {
            crate::db::write_transaction(conn, |conn| {
                diesel::insert_into(sessions::table)
                    .values(&row)
                    .execute(conn)?;
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
    let single = &state.settings.single_session_terminals;
    if single.iter().any(|t| t.eq_ignore_ascii_case(new.terminal)) {
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

/// The absolute end of a session started at `created_at` (GATEHOUSE_SESSION_MAX_SECS later):
/// no token of it, refreshed or not, is valid past this.
fn absolute_end(state: &AppState, created_at: NaiveDateTime) -> i64 {
    let max = i64::try_from(state.settings.session_max_secs).unwrap_or(i64::MAX);
    created_at.and_utc().timestamp().saturating_add(max)
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Verifies a token and that its session is live: the check behind every authenticated call.
pub async fn authenticate(state: &AppState, token: &str) -> ApiResult<Arc<Claims>> {
    let claims = state.tokens.verify(token)?;
    ensure_live(state, &claims).await?;
    Ok(claims)
}

fn revoked_key(jti: &str) -> String {
    format!("rev:{jti}")
}

/// Fails with `token_revoked` unless the token's session is live and the token itself has not
/// been replaced by a refresh. One store round trip when the store knows the session.
pub async fn ensure_live(state: &AppState, claims: &Claims) -> ApiResult<()> {
    let (session, revoked) = state
        .store
        .get_pair(&key(&claims.sid), &revoked_key(&claims.jti))
        .await?;
    if revoked.is_some() {
        return Err(ApiError::TokenRevoked);
    }
    match session {
        Some(uid) if uid == claims.sub => return Ok(()),
        Some(_) => return Err(ApiError::TokenRevoked),
        None => {}
    }
    // The store lost or never had this session: the database decides, and refills the store.
    let sid = claims.sid.clone();
    let (row, revoked) = state
        .db
        .run(move |conn| {
            let row = sessions::table
                .find(&sid)
                .select(SessionRow::as_select())
                .first(conn)
                .optional()?;
            let revoked: Vec<(String, NaiveDateTime)> = revoked_tokens::table
                .filter(revoked_tokens::sid.eq(&sid))
                .select((revoked_tokens::jti, revoked_tokens::expires_at))
                .load(conn)?;
            Ok((row, revoked))
        })
        .await?;
    for (jti, expires_at) in &revoked {
        state
            .store
            .set(&revoked_key(jti), "1", until(*expires_at))
            .await?;
    }
    let cache_for = until(at(claims.delay_time));
    match row {
        Some(r)
            if r.ended_at.is_none()
                && r.user_id == claims.sub
                && r.expires_at > crate::db::now() =>
        {
            state
                .store
                .set(&key(&r.id), &r.user_id, until(r.expires_at))
                .await?;
            if revoked.iter().any(|(j, _)| *j == claims.jti) {
                return Err(ApiError::TokenRevoked);
            }
            Ok(())
        }
        _ => {
            state.store.set(&key(&claims.sid), ENDED, cache_for).await?;
            Err(ApiError::TokenRevoked)
        }
    }
}

/// Replaces a token with a new one in the same session. Allowed until `delayTime`, even after
/// `exp`; the old token stops working. Presenting an already-replaced token again is taken as
/// theft: the whole session ends (single logout runs).
pub async fn refresh(state: &AppState, token: &str) -> ApiResult<String> {
    let claims = state.tokens.decode(token)?;
    if chrono::Utc::now().timestamp() >= claims.delay_time {
        return Err(ApiError::RefreshWindowPassed);
    }
    let mark = revoked_key(&claims.jti);
    let first_use = state
        .store
        .set_nx(&mark, "1", until(at(claims.delay_time)))
        .await?;
    // A replaced token's mark may only live in the database if the store lost its data.
    let replaced_before = !first_use || {
        let jti = claims.jti.clone();
        state
            .db
            .run(move |conn| {
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
    if let Err(err) = ensure_live_session(state, &claims).await {
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

/// The session's row if it is live, refilling the store's hot-path entry; None otherwise.
async fn live_row(state: &AppState, sid: &str) -> ApiResult<Option<SessionRow>> {
    let lookup = sid.to_owned();
    let row = state
        .db
        .run(move |conn| {
            sessions::table
                .find(lookup)
                .select(SessionRow::as_select())
                .first(conn)
                .optional()
                .map_err(ApiError::from)
        })
        .await?;
    match row {
        Some(r) if r.ended_at.is_none() && r.expires_at > crate::db::now() => {
            state
                .store
                .set(&key(&r.id), &r.user_id, until(r.expires_at))
                .await?;
            Ok(Some(r))
        }
        _ => Ok(None),
    }
}

/// The session check alone (the token's own revocation mark was just set by the caller).
async fn ensure_live_session(state: &AppState, claims: &Claims) -> ApiResult<()> {
    match state.store.get(&key(&claims.sid)).await? {
        Some(uid) if uid == claims.sub => Ok(()),
        Some(_) => Err(ApiError::TokenRevoked),
        None => match live_row(state, &claims.sid).await? {
            Some(r) if r.user_id == claims.sub => Ok(()),
            _ => Err(ApiError::TokenRevoked),
        },
    }
}

/// Why a session ended; kept with the record.
#[derive(Debug, Clone, Copy)]
pub enum EndReason {
    SignOut,
    PasswordChanged,
    PasswordReset,
    AccountDeleted,
    AccountDisabled,
    ForcedSignOut,
    RefreshReuse,
    Replaced,
}

impl EndReason {
    fn as_str(self) -> &'static str {
        match self {
            EndReason::SignOut => "sign_out",
            EndReason::PasswordChanged => "password_changed",
            EndReason::PasswordReset => "password_reset",
            EndReason::AccountDeleted => "account_deleted",
            EndReason::AccountDisabled => "account_disabled",
            EndReason::ForcedSignOut => "forced_sign_out",
            EndReason::RefreshReuse => "refresh_token_reuse",
            EndReason::Replaced => "replaced_on_terminal",
        }
    }
}

/// Which sessions to end.
pub enum Which<'a> {
    One(&'a str),
    AllOfUser {
        user_id: &'a str,
        except: Option<&'a str>,
    },
    /// The user's sessions on one terminal (upper-case, as stored), but one.
    OnTerminal {
        user_id: &'a str,
        terminal: &'a str,
        except: &'a str,
    },
}

/// Ends sessions; their tokens fail at once everywhere the store is shared.
pub async fn end(state: &AppState, which: Which<'_>, reason: EndReason) -> ApiResult<Vec<String>> {
    let (one, user, except, terminal) = match which {
        Which::One(sid) => (Some(sid.to_owned()), None, None, None),
        Which::AllOfUser { user_id, except } => (
            None,
            Some(user_id.to_owned()),
            except.map(str::to_owned),
            None,
        ),
        Which::OnTerminal {
            user_id,
            terminal,
            except,
        } => (
            None,
            Some(user_id.to_owned()),
            Some(except.to_owned()),
            Some(terminal.to_owned()),
        ),
    };
    let ended: Vec<(String, NaiveDateTime, String)> = state
        .db
        .run(move |conn| {
            crate::db::write_transaction(conn, |conn| {
                let now = crate::db::now();
                let mut query = sessions::table
                    .filter(sessions::ended_at.is_null())
                    .select((sessions::id, sessions::expires_at, sessions::user_id))
                    .into_boxed();
                if let Some(sid) = &one {
                    query = query.filter(sessions::id.eq(sid));
                }
                if let Some(uid) = &user {
                    query = query.filter(sessions::user_id.eq(uid));
                }
                if let Some(keep) = &except {
                    query = query.filter(sessions::id.ne(keep));
                }
                if let Some(t) = &terminal {
                    query = query.filter(sessions::terminal.eq(t));
                }
                let rows: Vec<(String, NaiveDateTime, String)> = query.load(conn)?;
                let ids: Vec<&String> = rows.iter().map(|(id, _, _)| id).collect();
                diesel::update(sessions::table.filter(sessions::id.eq_any(ids)))
                    .set((
                        sessions::ended_at.eq(now),
                        sessions::end_reason.eq(reason.as_str()),
                    ))
                    .execute(conn)?;
                // The outbox rows commit with the session's end, or not at all.
                let pairs: Vec<(String, String)> = rows
                    .iter()
                    .map(|(sid, _, sub)| (sid.clone(), sub.clone()))
                    .collect();
                crate::logout::enqueue(conn, &pairs)?;
                Ok::<_, diesel::result::Error>(rows)
            })
            .map_err(ApiError::from)
        })
        .await?;
    for (sid, expires_at, _) in &ended {
        state
            .store
            .set(&key(sid), ENDED, until(*expires_at))
            .await?;
    }
    if !ended.is_empty() {
        state.logout_wakeup.wake();
    }
    Ok(ended.into_iter().map(|(sid, _, _)| sid).collect())
}

/// Records that a partner system is logged into a session (idempotent).
pub async fn record_client(state: &AppState, sid: &str, client_id: &str) -> ApiResult<()> {
    let (sid, client_id) = (sid.to_owned(), client_id.to_owned());
    state
        .db
        .run(move |conn| {
            let exists: bool = diesel::select(diesel::dsl::exists(
                session_clients::table
                    .filter(session_clients::session_id.eq(&sid))
                    .filter(session_clients::client_id.eq(&client_id)),
            ))
            .get_result(conn)?;
            if exists {
                return Ok(());
            }
            let inserted = diesel::insert_into(session_clients::table)
                .values((
                    session_clients::session_id.eq(&sid),
                    session_clients::client_id.eq(&client_id),
                    session_clients::created_at.eq(crate::db::now()),
                ))
                .execute(conn);
            match inserted {
                Ok(_) => Ok(()),
                // Two concurrent recordings of the same pair: one wins, both succeed.
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => Ok(()),
                Err(e) => Err(ApiError::from(e)),
            }
        })
        .await
}

/// Partner systems recorded in a session.
pub async fn clients_of(state: &AppState, sid: &str) -> ApiResult<Vec<String>> {
    let sid = sid.to_owned();
    state
        .db
        .run(move |conn| {
            session_clients::table
                .filter(session_clients::session_id.eq(sid))
                .select(session_clients::client_id)
                .load(conn)
                .map_err(ApiError::from)
        })
        .await
}

/// Issues another token in a live session (for a partner, when `client_id` is given) and
/// extends the session to the new token's refresh window; `record` also records that partner
/// as logged into the session (ticket mode records it when the ticket is redeemed instead).
pub async fn issue_in(
    state: &AppState,
    sid: &str,
    client_id: Option<&str>,
    record: bool,
) -> ApiResult<(String, Claims)> {
    let lookup = sid.to_owned();
    let (session, user) = state
        .db
        .run(move |conn| {
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
    let id = sid.to_owned();
    state
        .db
        .run(move |conn| {
            diesel::update(sessions::table.find(&id))
                .set(sessions::expires_at.eq(expires))
                .execute(conn)
                .map(|_| ())
                .map_err(ApiError::from)
        })
        .await?;
    state.store.set(&key(sid), &user.id, until(expires)).await?;
    if let Some(client) = client_id.filter(|_| record) {
        record_client(state, sid, client).await?;
    }
    Ok((token, claims))
}

/// The live session behind a browser cookie's key hash, if any: `(sid, user_id)`.
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
                .run(move |conn| {
                    sessions::table
                        .filter(sessions::browser_key.eq(lookup))
                        .select(SessionRow::as_select())
                        .first(conn)
                        .optional()
                        .map_err(ApiError::from)
                })
                .await?;
            match row {
                Some(r) if r.ended_at.is_none() && r.expires_at > crate::db::now() => {
                    state.store.set(&cache, &r.id, until(r.expires_at)).await?;
                    Some(r.id)
                }
                _ => None,
            }
        }
    };
    let Some(sid) = sid else { return Ok(None) };
    match state.store.get(&key(&sid)).await? {
        Some(uid) if uid != ENDED => Ok(Some((sid, uid))),
        Some(_) => Ok(None),
        None => Ok(live_row(state, &sid).await?.map(|r| (r.id, r.user_id))),
    }
}

/// A person's sessions that have not ended, newest first, with the partners in each.
pub async fn live_of_user(
    state: &AppState,
    user_id: &str,
) -> ApiResult<Vec<(SessionRow, Vec<String>)>> {
    let uid = user_id.to_owned();
    state
        .db
        .run(move |conn| {
            let now = crate::db::now();
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
                let names: Vec<String> = session_clients::table
                    .inner_join(crate::db::schema::clients::table)
                    .filter(session_clients::session_id.eq(&r.id))
                    .select(crate::db::schema::clients::name)
                    .load(conn)?;
                out.push((r, names));
            }
            Ok(out)
        })
        .await
}
