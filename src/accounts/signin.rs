//! Password checks with lockout: five failures for one number in 15 minutes lock password
//! sign-in for it for 15 minutes, and one client IP may fail a bounded number of times.
//! Unknown numbers are locked and timed exactly like known ones, so neither reveals anything.

use std::net::IpAddr;
use std::time::Duration;

use crate::accounts::{UserRow, model, passwords};
use crate::domain::Number;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

const WINDOW: Duration = Duration::from_secs(15 * 60);
const ACCOUNT_FAILURES: i64 = 5;

fn limited(ttl: Option<Duration>) -> ApiError {
    ApiError::RateLimited {
        retry_after: ttl.unwrap_or(WINDOW).as_secs().max(1),
    }
}

/// Returns the active account whose password this is, or why not.
pub async fn check_password(
    state: &AppState,
    number: &Number,
    password: &str,
    ip: IpAddr,
) -> ApiResult<UserRow> {
    let store = &state.store;
    let lock_key = format!("signin_lock:{number}");
    if let Some(ttl) = store.ttl(&lock_key).await? {
        return Err(limited(Some(ttl)));
    }
    let ip_key = format!("signin_ip:{ip}");
    let ip_failures = store
        .get(&ip_key)
        .await?
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    if ip_failures >= i64::from(state.settings.signin_limit_per_ip) {
        return Err(limited(store.ttl(&ip_key).await?));
    }
    let lookup = number.clone();
    let user = state
        .db
        .run(move |conn| model::find_by_number(conn, &lookup).map_err(ApiError::from))
        .await?;
    let stored = user.as_ref().and_then(|u| u.password_hash.as_deref());
    if !passwords::verify(state, stored, password).await? {
        record_failure(state, number, &ip_key).await?;
        return Err(ApiError::CredentialsInvalid);
    }
    let Some(user) = user else {
        return Err(ApiError::CredentialsInvalid);
    };
    if !user.is_active() {
        return Err(ApiError::AccountDisabled);
    }
    store.del(&format!("signin_fail:{number}")).await?;
    Ok(user)
}

async fn record_failure(state: &AppState, number: &Number, ip_key: &str) -> ApiResult<()> {
    let store = &state.store;
    store.incr(ip_key, WINDOW).await?;
    let failures = store.incr(&format!("signin_fail:{number}"), WINDOW).await?;
    if failures >= ACCOUNT_FAILURES {
        store
            .set(&format!("signin_lock:{number}"), "1", WINDOW)
            .await?;
        store.del(&format!("signin_fail:{number}")).await?;
    }
    Ok(())
}

/// A password reset lifts a lockout: the person proved they own the number.
pub async fn clear_lockout(state: &AppState, number: &Number) -> ApiResult<()> {
    state.store.del(&format!("signin_lock:{number}")).await?;
    state.store.del(&format!("signin_fail:{number}")).await
}

/// Code sign-in: the code is used up, then the account must exist and be active.
pub async fn check_code(state: &AppState, number: &Number, code: &str) -> ApiResult<UserRow> {
    crate::codes::verify(state, number, code, crate::codes::Purpose::Signin).await?;
    let lookup = number.clone();
    let user = state
        .db
        .run(move |conn| model::find_by_number(conn, &lookup).map_err(ApiError::from))
        .await?
        .ok_or(ApiError::AccountNotFound)?;
    if !user.is_active() {
        return Err(ApiError::AccountDisabled);
    }
    Ok(user)
}
