//! Sessions: every token belongs to one, and ending it makes all its tokens fail at once.
//!
//! The database holds the durable record (so a restart signs nobody out); the ephemeral store
//! answers the hot path. `sess:{sid}` holds the user id while the session lives and `-` once it
//! has ended, each until the session's last token could no longer be used. A miss falls back to
//! the database and fills the store again.
//!
//! - `lifecycle`: start, issue another token in, refresh, record a partner;
//! - `end`: ending sessions (and queueing their single logout);
//! - `live`: the one rule for "is this session live", behind every authenticated call;
//! - `terminal`: the per-terminal policy (one session per terminal where configured).

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::sessions;
use crate::state::AppState;

mod end;
mod grant;
mod lifecycle;
mod live;
mod partner;
mod terminal;
#[cfg(test)]
mod tests;

pub use end::{EndReason, Which, end, end_own};
pub use grant::{
    extended, extension, live_for_partner, reauthenticate, record_and_extend, record_cas_ticket,
    revoke_tokens,
};
pub use lifecycle::{NewSession, issue_in, record_client, refresh, start};
pub use live::{
    auth_time, authenticate, by_browser_key, count_live, is_live, is_verified_live, live_of_user,
};
pub use partner::{Presented, audience_is, check_for_partner};

/// The store's mark for a session that has ended.
const ENDED: &str = "-";

/// The store's session mark. `{sid}` is a Redis Cluster hash tag: the session and its
/// tokens' marks share a slot, so one command reads both (`Store::get_pair`).
fn key(sid: &str) -> String {
    let mut key = String::with_capacity(sid.len() + 7);
    push_key(&mut key, sid);
    key
}

/// The store's mark for a token replaced by a refresh, in its session's slot.
fn revoked_key(sid: &str, jti: &str) -> String {
    let mut key = String::with_capacity(sid.len() + jti.len() + 7);
    push_revoked_key(&mut key, sid, jti);
    key
}

// Pushed, not `format!`ed: both are built on every token check.
fn push_key(out: &mut String, sid: &str) {
    out.extend(["sess:{", sid, "}"]);
}

fn push_revoked_key(out: &mut String, sid: &str, jti: &str) {
    out.extend(["rev:{", sid, "}:", jti]);
}

/// [`key`] and [`revoked_key`] in one string, as a token check reads both: one allocation.
struct CheckKeys {
    both: String,
    split: usize,
}

impl CheckKeys {
    fn new(sid: &str, jti: &str) -> Self {
        let mut both = String::with_capacity(2 * sid.len() + jti.len() + 14);
        push_key(&mut both, sid);
        let split = both.len();
        push_revoked_key(&mut both, sid, jti);
        CheckKeys { both, split }
    }

    fn session(&self) -> &str {
        &self.both[..self.split]
    }

    fn revoked(&self) -> &str {
        &self.both[self.split..]
    }
}

fn until(at: NaiveDateTime) -> Duration {
    let secs = at.and_utc().timestamp() - chrono::Utc::now().timestamp();
    Duration::from_secs(secs.max(1) as u64)
}

use crate::db::at;

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
    /// The last primary sign-in (a re-authentication moves it); `created_at` when unset.
    pub auth_time: Option<NaiveDateTime>,
    /// How that sign-in was proven: [`Amr`]'s stored form.
    pub amr: Option<String>,
}

impl SessionRow {
    /// The database's rule for a live session: not ended, and its last token still usable.
    fn is_live(&self) -> bool {
        self.ended_at.is_none() && self.expires_at > crate::db::now()
    }

    /// When the person last proved who they are in this session (unix seconds).
    pub fn auth_time(&self) -> i64 {
        self.auth_time
            .unwrap_or(self.created_at)
            .and_utc()
            .timestamp()
    }

    /// The `amr` values of that sign-in (OpenID Connect; RFC 8176 names).
    pub fn amr(&self) -> Vec<&'static str> {
        self.amr
            .as_deref()
            .and_then(Amr::from_stored)
            .map(|a| a.values().to_vec())
            .unwrap_or_default()
    }
}

/// How a sign-in was proven (PROTOCOLS §1 "Re-authentication").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amr {
    Password,
    SmsCode,
    EmailCode,
}

impl Amr {
    const ALL: [Amr; 3] = [Amr::Password, Amr::SmsCode, Amr::EmailCode];

    pub fn values(self) -> &'static [&'static str] {
        match self {
            Amr::Password => &["pwd"],
            Amr::SmsCode => &["otp", "sms"],
            Amr::EmailCode => &["otp"],
        }
    }

    fn as_stored(self) -> &'static str {
        match self {
            Amr::Password => "pwd",
            Amr::SmsCode => "otp sms",
            Amr::EmailCode => "otp",
        }
    }

    fn from_stored(stored: &str) -> Option<Amr> {
        Amr::ALL.into_iter().find(|a| a.as_stored() == stored)
    }

    /// The sign-in method this proof is, as metrics and the audit trail name it.
    pub fn method(self) -> crate::observe::SigninMethod {
        match self {
            Amr::Password => crate::observe::SigninMethod::Password,
            Amr::SmsCode | Amr::EmailCode => crate::observe::SigninMethod::Code,
        }
    }
}

/// The absolute end of a session started at `created_at` (GATEHOUSE_SESSION_MAX_SECS later):
/// no token of it, refreshed or not, is valid past this.
fn absolute_end(state: &AppState, created_at: NaiveDateTime) -> i64 {
    let max = i64::try_from(state.settings.session_max_secs).unwrap_or(i64::MAX);
    created_at.and_utc().timestamp().saturating_add(max)
}
