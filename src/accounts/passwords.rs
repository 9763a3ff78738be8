//! Hashing and checking passwords in the bcrypt lane, in constant-ish time whether or not the
//! account exists.

use std::sync::{Arc, OnceLock};

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
/// one when there is none, so the answer takes as long either way. Made in the bcrypt lane
/// soon after start (`warm`), or by the first check that needs it.
#[derive(Clone, Default)]
pub struct DummyHash(Arc<OnceLock<String>>);

impl DummyHash {
    fn get(&self, cost: u32) -> String {
        self.0
            .get_or_init(|| {
                bcrypt::hash(uuid::Uuid::new_v4().to_string(), cost).unwrap_or_default()
            })
            .clone()
    }

    /// Computes the hash in the background, off the start-up path.
    pub fn warm(&self, state: &AppState) {
        let (dummy, cost, lane) = (
            self.clone(),
            state.settings.bcrypt_cost,
            state.lanes.bcrypt.clone(),
        );
        tokio::spawn(async move {
            if let Err(err) = lane.run(move || drop(dummy.get(cost))).await {
                tracing::debug!(%err, "dummy hash left for the first check");
            }
        });
    }
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
    let (dummy, cost) = (state.dummy_hash.clone(), state.settings.bcrypt_cost);
    let ok = place
        .run(move || {
            let hash = stored.unwrap_or_else(|| dummy.get(cost));
            bcrypt::verify(candidate, &hash).unwrap_or(false)
        })
        .await?;
    Ok(ok && real)
}
