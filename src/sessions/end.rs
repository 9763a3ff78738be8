//! Ending sessions: the record, the store's mark (so every instance refuses their tokens at
//! once) and the single-logout outbox, committed together.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{ENDED, key, until};
use crate::audit::{Event, Record};
use crate::db::schema::sessions;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

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
    pub fn as_str(self) -> &'static str {
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
#[tracing::instrument(skip(state, which))]
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
    let backlog_max = state.settings.logout_backlog_max;
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
                crate::partners::logout::enqueue(conn, &pairs, backlog_max)?;
                for (sid, _, user_id) in &rows {
                    let event = match reason {
                        EndReason::SignOut => Event::Signout,
                        _ => Event::SessionEnded,
                    };
                    let ended = Record::new(event)
                        .user(user_id)
                        .with("sid", sid.clone())
                        .with("cause", reason.as_str());
                    crate::audit::record(conn, ended)?;
                }
                Ok::<_, diesel::result::Error>(rows)
            })
            .map_err(ApiError::from)
        })
        .await?;
    for (sid, expires_at, _) in &ended {
        state
            .store
            .set_revocation(&key(sid), ENDED, until(*expires_at))
            .await?;
    }
    if !ended.is_empty() {
        state.logout_wakeup.notify_one();
    }
    Ok(ended.into_iter().map(|(sid, _, _)| sid).collect())
}

/// A person ending one of their own sessions (`target`, by id) or all of them (`None`) from
/// the session `current`. A session that is not theirs is `not_found`, whether or not it
/// exists. True when `current` itself ended.
#[tracing::instrument(skip(state))]
pub async fn end_own(
    state: &AppState,
    user_id: &str,
    current: &str,
    target: Option<&str>,
) -> ApiResult<bool> {
    let which = match target {
        Some(sid) if sid != current => {
            let owned = super::live_of_user(state, user_id)
                .await?
                .iter()
                .any(|(s, _)| s.id == sid);
            if !owned {
                return Err(ApiError::NotFound);
            }
            Which::One(sid)
        }
        Some(_) => Which::One(current),
        None => Which::AllOfUser {
            user_id,
            except: None,
        },
    };
    let ends_current = match &which {
        Which::One(sid) => *sid == current,
        Which::AllOfUser { .. } | Which::OnTerminal { .. } => true,
    };
    end(state, which, EndReason::SignOut).await?;
    Ok(ends_current)
}
