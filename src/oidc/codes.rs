//! Authorization codes (PROTOCOLS §3.3): 60 s in the shared store, taken by their first
//! presentation; a mark of their use stays 10 minutes so a replay can revoke what it issued.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::grants::{SeenRevocation, USED_CODE_TTL, revoke_client_in_session, seen_revocation};
use crate::domain::pkce::CodeChallenge;
use crate::error::{ApiError, ApiResult};
use crate::partners::hash_secret as digest;
use crate::partners::{ClientRow, new_secret as random};
use crate::state::AppState;

const CODE_TTL: Duration = Duration::from_secs(60);

/// What a code was issued for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeGrant {
    /// The grant's revocation mark as read at redemption, before the code's use was marked.
    #[serde(skip)]
    pub seen: SeenRevocation,
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
///
/// The order is what makes a concurrent replay revoke what the honest exchange issues: the
/// grant's revocation mark is read first, then the code's use is marked, and only then is the
/// code taken. Whoever fails to take it therefore finds the mark of its use (the taker set it
/// before taking) and revokes, after the taker read the revocation mark, so the taker sees
/// the revocation when it reads that mark again ([`super::grants::issue`]).
pub async fn redeem_code(
    state: &AppState,
    client: &ClientRow,
    code: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
) -> ApiResult<Result<CodeGrant, Refused>> {
    const GONE: Refused = "the code is unknown, expired or already used";
    let hash = digest(code);
    let (code_key, used_key) = (format!("code:{hash}"), format!("code_used:{hash}"));
    let Some(json) = state.store.get(&code_key).await? else {
        revoke_if_replayed(state, client, &used_key).await?;
        return Ok(Err(GONE));
    };
    let mut grant: CodeGrant =
        serde_json::from_str(&json).map_err(|e| ApiError::Internal(e.to_string()))?;
    grant.seen = seen_revocation(state, &grant.sid, &grant.client_id).await?;
    state
        .store
        .set(
            &used_key,
            &format!("{} {}", grant.sid, grant.client_id),
            USED_CODE_TTL,
        )
        .await?;
    if state.store.take(&code_key).await?.is_none() {
        // Taken since it was read: this presentation is the replay.
        revoke_if_replayed(state, client, &used_key).await?;
        return Ok(Err(GONE));
    }
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

/// A code presented again: revokes its client's tokens in its session, when the presenter is
/// that client (another client's guess revokes nothing of someone else's).
async fn revoke_if_replayed(state: &AppState, client: &ClientRow, used_key: &str) -> ApiResult<()> {
    if let Some(mark) = state.store.get(used_key).await?
        && let Some((sid, owner)) = mark.split_once(' ')
        && owner == client.client_id
    {
        tracing::warn!(client = %client.client_id, "authorization code replayed; revoking its grant");
        revoke_client_in_session(state, sid, owner).await?;
    }
    Ok(())
}
