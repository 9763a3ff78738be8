//! Authorization codes (PROTOCOLS §3.3): 60 s in the shared store, taken by the first
//! presentation of their client and swapped for a mark of their use that stays 10 minutes, so
//! a replay can revoke what they issued.

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

/// What a code's key holds once the code is used, for 10 minutes: `used <sid> <client_id>`.
const USED: &str = "used ";

/// Exchanges a code: taken by the first presentation of the client it was issued to. Shown
/// again (within 10 minutes) by that client, it revokes every token of that client in its
/// session; another client's presentation is refused and changes nothing.
///
/// The order is what makes a concurrent replay revoke what the honest exchange issues. The
/// code is read, then the grant's revocation mark, and only then is the code swapped, in one
/// step, for the mark of its use: whoever swaps second gets that mark back and revokes, after
/// the first read the revocation mark, so the first sees the revocation when it reads that
/// mark again ([`super::grants::issue`]). A code that expired in between swaps for nothing
/// and revokes nothing.
pub async fn redeem_code(
    state: &AppState,
    client: &ClientRow,
    code: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
) -> ApiResult<Result<CodeGrant, Refused>> {
    const GONE: Refused = "the code is unknown, expired or already used";
    let key = format!("code:{}", digest(code));
    let Some(held) = state.store.get(&key).await? else {
        return Ok(Err(GONE));
    };
    if let Some(use_mark) = held.strip_prefix(USED) {
        revoke_if_replayed(state, client, use_mark).await?;
        return Ok(Err(GONE));
    }
    let mut grant: CodeGrant =
        serde_json::from_str(&held).map_err(|e| ApiError::Internal(e.to_string()))?;
    if grant.client_id != client.client_id {
        return Ok(Err("the code was issued to another client"));
    }
    grant.seen = seen_revocation(state, &grant.sid, &grant.client_id).await?;
    let used = format!("{USED}{} {}", grant.sid, grant.client_id);
    match state.store.swap(&key, &used, USED_CODE_TTL).await? {
        Some(was) => {
            if let Some(use_mark) = was.strip_prefix(USED) {
                // Used since it was read: this presentation is the replay.
                revoke_if_replayed(state, client, use_mark).await?;
                return Ok(Err(GONE));
            }
        }
        None => {
            // Expired since it was read, so nothing was issued from it: no mark of use either.
            state.store.del(&key).await?;
            return Ok(Err(GONE));
        }
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

/// A code presented again: revokes its client's tokens in its session (`use_mark` is
/// `<sid> <client_id>`), when the presenter is that client.
async fn revoke_if_replayed(state: &AppState, client: &ClientRow, use_mark: &str) -> ApiResult<()> {
    if let Some((sid, owner)) = use_mark.split_once(' ')
        && owner == client.client_id
    {
        tracing::warn!(client = %client.client_id, "authorization code replayed; revoking its grant");
        revoke_client_in_session(state, sid, owner).await?;
    }
    Ok(())
}
