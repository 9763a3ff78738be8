//! Password and code checks with lockout: five failures for one account in 15 minutes lock its
//! password checks for 15 minutes, and one client IP (an IPv6 client's /64) may fail a bounded
//! number of sign-ins, by password or code, in 15 minutes.
//!
//! Every check takes its slots atomically *before* the work it guards (bcrypt, a code
//! comparison) and gives them back only when it succeeds, so concurrent attempts can never get
//! more checks than the limits allow: slots held by attempts still in flight count as failures
//! until they end. An attempt abandoned mid-check (the client went away) keeps its slot.
//!
//! Unknown numbers are locked and timed exactly like known ones, so neither reveals anything.

use std::net::IpAddr;
use std::time::Duration;

use crate::accounts::{UserRow, model, passwords};
use crate::audit::{Event, Record};
use crate::domain::Number;
use crate::error::{ApiError, ApiResult};
use crate::http::client_ip::limit_key;
use crate::state::AppState;

const WINDOW: Duration = Duration::from_secs(15 * 60);
const ACCOUNT_FAILURES: i64 = 5;

fn limited(wait: Duration) -> ApiError {
    ApiError::RateLimited {
        retry_after: wait.as_secs().max(1),
    }
}

/// Whose failures an attempt counts against: the account when the number has one, else the
/// number itself (so unknown numbers lock exactly like known ones).
fn account_key(user: Option<&UserRow>, number: &Number) -> String {
    match user {
        Some(u) => format!("signin_fail:{}", u.id),
        None => format!("signin_fail:n:{number}"),
    }
}

fn ip_key(ip: IpAddr) -> String {
    format!("signin_ip:{}", limit_key(ip))
}

/// Slots held by one attempt until it ends.
struct Attempt<'a> {
    state: &'a AppState,
    keys: Vec<String>,
}

impl<'a> Attempt<'a> {
    /// Takes one slot of each limit, in order; a refusal gives back what was taken.
    async fn reserve(state: &'a AppState, limits: &[(String, i64)]) -> ApiResult<Attempt<'a>> {
        let mut attempt = Attempt {
            state,
            keys: Vec::new(),
        };
        for (key, max) in limits {
            match state.store.reserve(key, *max, WINDOW).await {
                Ok(Ok(_)) => attempt.keys.push(key.clone()),
                Ok(Err(wait)) => {
                    attempt.give_back().await;
                    state.metrics.limit_hit(if key.starts_with("signin_ip:") {
                        "signin_ip"
                    } else {
                        "signin_account"
                    });
                    return Err(limited(wait));
                }
                Err(err) => {
                    attempt.give_back().await;
                    return Err(err);
                }
            }
        }
        Ok(attempt)
    }

    /// The check succeeded, or never ran (a full work queue): it is not a failure.
    async fn give_back(self) {
        for key in &self.keys {
            if let Err(err) = self.state.store.decr(key).await {
                tracing::warn!(%err, "could not give back a sign-in slot");
            }
        }
    }

    /// The check failed: the slots stay taken until their window ends; an `account` whose
    /// failures now fill its window is locked for a whole window from now.
    async fn failed(self, account: Option<&str>) -> ApiResult<()> {
        if let Some(account) = account {
            let locked = self
                .state
                .store
                .hold_if_full(account, ACCOUNT_FAILURES, WINDOW)
                .await?;
            if locked {
                self.state.metrics.limit_hit("account_lockout");
                tracing::warn!("account locked after repeated password failures");
                // The account's id when the number has one (an unknown number locks too,
                // and has no account to name).
                let user_id = account
                    .strip_prefix("signin_fail:")
                    .filter(|rest| !rest.starts_with("n:"))
                    .map(str::to_owned);
                let locked = Record::new(Event::AccountLocked)
                    .actor(None)
                    .with("minutes", WINDOW.as_secs() / 60);
                let locked = match &user_id {
                    Some(id) => locked.user(id),
                    None => locked,
                };
                self.state
                    .db
                    .run(move |conn| Ok(crate::audit::record(conn, locked)?))
                    .await?;
            }
        }
        Ok(())
    }
}

/// Checks `password` against `stored` under the account's and the client's failure limits.
/// Each step refuses before the next costs anything: the limits' slots first (a locked account
/// is 429 without waiting for bcrypt), then a place in the bcrypt lane (a full queue is 503
/// with `Retry-After`, at once), then bcrypt.
async fn limited_verify(
    state: &AppState,
    account: String,
    stored: Option<&str>,
    password: &str,
    ip: IpAddr,
) -> ApiResult<bool> {
    let ip_max = i64::from(state.settings.signin_limit_per_ip);
    let limits = [(account.clone(), ACCOUNT_FAILURES), (ip_key(ip), ip_max)];
    let attempt = Attempt::reserve(state, &limits).await?;
    let place = match state.lanes.bcrypt.admit() {
        Ok(place) => place,
        Err(err) => {
            attempt.give_back().await;
            return Err(err);
        }
    };
    match passwords::verify(state, place, stored, password).await {
        Ok(true) => {
            attempt.give_back().await;
            Ok(true)
        }
        Ok(false) => {
            attempt.failed(Some(&account)).await?;
            Ok(false)
        }
        Err(err) => {
            attempt.give_back().await;
            Err(err)
        }
    }
}

/// Password sign-in: the active account whose password this is, or why not.
#[tracing::instrument(skip_all)]
pub async fn check_password(
    state: &AppState,
    number: &Number,
    password: &str,
    ip: IpAddr,
) -> ApiResult<UserRow> {
    let lookup = number.clone();
    let user = state
        .db
        .run(move |conn| model::find_by_number(conn, &lookup).map_err(ApiError::from))
        .await?;
    let key = account_key(user.as_ref(), number);
    let stored = user.as_ref().and_then(|u| u.password_hash.as_deref());
    if !limited_verify(state, key, stored, password, ip).await? {
        return Err(ApiError::CredentialsInvalid);
    }
    let Some(user) = user else {
        return Err(ApiError::CredentialsInvalid);
    };
    if !user.is_active() {
        return Err(ApiError::AccountDisabled);
    }
    Ok(user)
}

/// A signed-in person re-entering their password (password change, account deletion): the
/// same lockout as sign-in, so a stolen session cannot be used to guess the password.
#[tracing::instrument(skip_all)]
pub async fn confirm_password(
    state: &AppState,
    user: &UserRow,
    password: &str,
    ip: IpAddr,
) -> ApiResult<()> {
    let key = format!("signin_fail:{}", user.id);
    let stored = user.password_hash.as_deref();
    if limited_verify(state, key, stored, password, ip).await? {
        Ok(())
    } else {
        Err(ApiError::CredentialsInvalid)
    }
}

/// A password reset lifts a lockout: the person proved they own the number.
pub async fn clear_lockout(state: &AppState, user: &UserRow, number: &Number) -> ApiResult<()> {
    state.store.del(&account_key(Some(user), number)).await?;
    state.store.del(&account_key(None, number)).await
}

/// Code sign-in: the client's failure slot is taken before the code is compared, the code is
/// used up, then the account must exist and be active.
#[tracing::instrument(skip_all)]
pub async fn check_code(
    state: &AppState,
    number: &Number,
    code: &str,
    ip: IpAddr,
) -> ApiResult<UserRow> {
    let ip_max = i64::from(state.settings.signin_limit_per_ip);
    let attempt = Attempt::reserve(state, &[(ip_key(ip), ip_max)]).await?;
    match crate::codes::verify(state, number, code, crate::codes::Purpose::Signin).await {
        Ok(()) => attempt.give_back().await,
        Err(err @ ApiError::VerifyCodeInvalid) => {
            attempt.failed(None).await?;
            return Err(err);
        }
        Err(err) => {
            attempt.give_back().await;
            return Err(err);
        }
    }
    let lookup = number.clone();
    let user = state
        .db
        .run(move |conn| {
            let Some(mut user) = model::find_by_number(conn, &lookup)? else {
                return Ok(None);
            };
            // The code just answered proves the address, for OpenID Connect's `*_verified`.
            if user.is_active() && user.unproven(&lookup) {
                user.mark_proven(&lookup);
                user.updated_at = crate::db::now();
                model::save(conn, &user)?;
            }
            Ok(Some(user))
        })
        .await?
        .ok_or(ApiError::AccountNotFound)?;
    if !user.is_active() {
        return Err(ApiError::AccountDisabled);
    }
    Ok(user)
}
