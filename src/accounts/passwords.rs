//! Hashing and checking passwords on the CPU pool, in constant-ish time whether or not the
//! account exists.

use crate::domain::Password;
use crate::domain::password::plausible;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub async fn hash(state: &AppState, password: &Password) -> ApiResult<String> {
    let raw = password.expose().to_owned();
    let cost = state.settings.bcrypt_cost;
    state
        .lanes
        .bcrypt
        .run(move || bcrypt::hash(raw, cost))
        .await?
        .map_err(|e| ApiError::Internal(format!("bcrypt: {e}")))
}

/// True only when `stored` is a hash and `raw` matches it. Without a stored hash (unknown
/// account, or one without a password) a dummy hash of the same cost is checked instead so the
/// answer takes as long either way.
pub async fn verify(state: &AppState, stored: Option<&str>, raw: &str) -> ApiResult<bool> {
    let dummy = state.dummy_hash().await?;
    let real = stored.is_some() && plausible(raw);
    let hash = match stored {
        Some(h) if real => h.to_owned(),
        _ => dummy,
    };
    // bcrypt ignores bytes past 72; such a password was never stored, so compare something
    // that cannot match instead, spending the same time.
    let candidate = if plausible(raw) {
        raw.to_owned()
    } else {
        "\u{0}never-matches".to_owned()
    };
    let ok = state
        .lanes
        .bcrypt
        .run(move || bcrypt::verify(candidate, &hash).unwrap_or(false))
        .await?;
    Ok(ok && real)
}
