//! Authorization codes (PROTOCOLS §3.3): 60 s in the shared store, taken by their first
//! presentation; a mark of their use stays 10 minutes so a replay can revoke what it issued.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::grants::{USED_CODE_TTL, now_us, revoke_client_in_session};
use crate::domain::pkce::CodeChallenge;
use crate::error::{ApiError, ApiResult};
use crate::partners::hash_secret as digest;
use crate::partners::{ClientRow, new_secret as random};
use crate::state::AppState;

const CODE_TTL: Duration = Duration::from_secs(60);

/// What a code was issued for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeGrant {
    /// When the code was taken (µs), set at redemption.
    #[serde(default)]
    pub taken_at: i64,
    pub client_id: String,
    pub redirect_uri: String,
    pub challenge: Option<String>,
    pub scope: String,
    pub nonce: Option<String>,
    pub sid: String,
}

/// A new code for `grant`.
pub async fn issue_code(state: &AppState, grant: &CodeGrant) -> ApiResult<String> {
    let code = random();
    let json = serde_json::to_string(grant).map_err(|e| ApiError::Internal(e.to_string()))?;
    state
        .store
        .set(&format!("code:{}", digest(&code)), &json, CODE_TTL)
        .await?;
    Ok(code)
}

/// Why a code exchange failed (`invalid_grant`, with this description).
pub type Refused = &'static str;

/// Exchanges a code: taken by its first presentation, whoever presents it. A code shown again
/// (within 10 minutes) revokes every token of its client in its session.
pub async fn redeem_code(
    state: &AppState,
    client: &ClientRow,
    code: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
) -> ApiResult<Result<CodeGrant, Refused>> {
    let hash = digest(code);
    let used_key = format!("code_used:{hash}");
    let since = now_us();
    let Some(json) = state.store.take(&format!("code:{hash}")).await? else {
        if let Some(mark) = state.store.get(&used_key).await?
            && let Some((sid, owner)) = mark.split_once(' ')
            && owner == client.client_id
        {
            tracing::warn!(client = %client.client_id, "authorization code replayed; revoking its grant");
            revoke_client_in_session(state, sid, owner).await?;
        }
        return Ok(Err("the code is unknown, expired or already used"));
    };
    let mut grant: CodeGrant =
        serde_json::from_str(&json).map_err(|e| ApiError::Internal(e.to_string()))?;
    grant.taken_at = since;
    state
        .store
        .set(
            &used_key,
            &format!("{} {}", grant.sid, grant.client_id),
            USED_CODE_TTL,
        )
        .await?;
    if grant.client_id != client.client_id {
        return Ok(Err("the code was issued to another client"));
    }
    if redirect_uri != Some(grant.redirect_uri.as_str()) {
        return Ok(Err("redirect_uri differs from the authorization request's"));
    }
    let pkce_met = match (&grant.challenge, verifier) {
        (None, None) => true,
        (Some(challenge), Some(verifier)) => CodeChallenge::parse(challenge, Some("S256"))
            .map(|c| c.is_met_by(verifier))
            .unwrap_or(false),
        _ => false,
    };
    if !pkce_met {
        return Ok(Err("code_verifier does not match the code challenge"));
    }
    Ok(Ok(grant))
}
