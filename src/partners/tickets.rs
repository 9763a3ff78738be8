//! Tickets (CAS style): a one-time, 60-second reference to a token, handed to the browser in
//! place of the token so bearer tokens stay out of URLs and logs. Bound to one partner.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub const TTL: Duration = Duration::from_secs(60);

#[derive(Serialize, Deserialize)]
struct Stored {
    client_id: String,
    token: String,
}

fn key(ticket: &str) -> String {
    format!("ticket:{ticket}")
}

#[tracing::instrument(skip_all, fields(client_id = client_id))]
pub async fn issue(state: &AppState, client_id: &str, token: &str) -> ApiResult<String> {
    let ticket = format!("ST-{}", super::new_secret());
    let value = serde_json::to_string(&Stored {
        client_id: client_id.to_owned(),
        token: token.to_owned(),
    })
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    state.store.set(&key(&ticket), &value, TTL).await?;
    Ok(ticket)
}

/// Redeems a ticket for `client_id`: single use, whoever presents it.
#[tracing::instrument(skip_all, fields(client_id = client_id))]
pub async fn redeem(state: &AppState, ticket: &str, client_id: &str) -> ApiResult<String> {
    if ticket.len() > 128 {
        return Err(ApiError::TokenInvalid);
    }
    let raw = state
        .store
        .take(&key(ticket))
        .await?
        .ok_or(ApiError::TokenInvalid)?;
    let stored: Stored = serde_json::from_str(&raw).map_err(|_| ApiError::TokenInvalid)?;
    if stored.client_id != client_id {
        return Err(ApiError::TokenInvalid);
    }
    Ok(stored.token)
}
