//! Service tickets (PROTOCOLS §4): `ST-` and 64 lowercase hex digits (256 random bits), 60 s,
//! kept in the store under keys of their own, so seed `ticket`-mode tickets and these are
//! unknown to each other's endpoints. Taken by the first validation attempt, good or not.

use std::time::Duration;

use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

const TTL: Duration = Duration::from_secs(60);

/// What a ticket stands for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Grant {
    pub client_id: String,
    /// The service URL it was issued for, as strictly parsed and serialised.
    pub service: String,
    pub sid: String,
    /// Issued right after a sign-in (`isFromNewLogin`), not from single sign-on.
    pub new_login: bool,
}

fn key(ticket: &str) -> String {
    format!("cas_st:{ticket}")
}

/// Whether `ticket` has the form of one of ours; nothing else is looked up.
pub fn well_formed(ticket: &str) -> bool {
    ticket.len() == 67
        && ticket.starts_with("ST-")
        && ticket[3..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub async fn issue(state: &AppState, grant: &Grant) -> ApiResult<String> {
    let mut bits = [0u8; 32];
    rand::rng().fill_bytes(&mut bits);
    let ticket = format!("ST-{}", hex::encode(bits));
    let value = serde_json::to_string(grant).map_err(|e| ApiError::Internal(e.to_string()))?;
    state.store.set(&key(&ticket), &value, TTL).await?;
    Ok(ticket)
}

/// The ticket's grant, removed: of concurrent validations only one gets it.
pub async fn take(state: &AppState, ticket: &str) -> ApiResult<Option<Grant>> {
    if !well_formed(ticket) {
        return Ok(None);
    }
    Ok(state
        .store
        .take(&key(ticket))
        .await?
        .and_then(|raw| serde_json::from_str(&raw).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_ticket_syntax_is_well_formed() {
        let good = format!("ST-{}", "0123456789abcdef".repeat(4));
        assert!(well_formed(&good));
        for bad in [
            good.replace("ST-", "PT-"),
            good.to_uppercase(),
            format!("{good}0"),
            good[..66].to_owned(),
            good.replace('a', "_"),
            String::new(),
        ] {
            assert!(!well_formed(&bad), "{bad}");
        }
    }
}
