//! Hashing and checking passwords in the bcrypt lane, in constant-ish time whether or not the
//! account exists.

use std::sync::OnceLock;

use crate::blocking::Admission;
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

/// A bcrypt hash of the configured cost that no password matches, checked instead of a real
/// one when there is none, so the answer takes as long either way. Kept in
/// `AppState::dummy_hash`; made in the bcrypt lane soon after start ([`warm_dummy`]), or by
/// the first check that needs it.
fn dummy(cell: &OnceLock<String>, cost: u32) -> String {
    cell.get_or_init(|| bcrypt::hash(uuid::Uuid::new_v4().to_string(), cost).unwrap_or_default())
        .clone()
}

/// Computes the dummy hash in the background, off the start-up path.
pub fn warm_dummy(state: &AppState) {
    let (cell, cost, lane) = (
        state.dummy_hash.clone(),
        state.settings.bcrypt_cost,
        state.lanes.bcrypt.clone(),
    );
    tokio::spawn(async move {
        if let Err(err) = lane.run(move || drop(dummy(&cell, cost))).await {
            tracing::debug!(%err, "dummy hash left for the first check");
        }
    });
}

/// True only when `stored` is a hash and `raw` matches it, checked on the bcrypt worker
/// `place` was admitted to. Without a stored hash (unknown account, or one without a password)
/// the dummy hash is checked instead.
pub async fn verify(
    state: &AppState,
    place: Admission,
    stored: Option<&str>,
    raw: &str,
) -> ApiResult<bool> {
    let real = stored.is_some() && plausible(raw);
    let stored = stored.filter(|_| real).map(str::to_owned);
    // bcrypt ignores bytes past 72; such a password was never stored, so compare something
    // that cannot match instead, spending the same time.
    let candidate = if plausible(raw) {
        raw.to_owned()
    } else {
        "\u{0}never-matches".to_owned()
    };
    let (cell, cost) = (state.dummy_hash.clone(), state.settings.bcrypt_cost);
    let ok = place
        .run(move || {
            let hash = stored.unwrap_or_else(|| dummy(&cell, cost));
            bcrypt::verify(candidate, &hash).unwrap_or(false)
        })
        .await?;
    Ok(ok && real)
}
