//! A partner system checking what a browser brought back from Gatehouse (a token, or a ticket
//! it redeems for one) and being recorded as signed into that session, so that single logout
//! reaches it.

use std::sync::Arc;

use crate::error::{ApiError, ApiResult};
use crate::partners::{ClientRow, tickets};
use crate::sessions::{authenticate, record_client};
use crate::state::AppState;
use crate::tokens::Claims;

pub enum Presented {
    Token(String),
    Ticket(String),
}

/// A partner's token is its own: one issued for another partner is refused.
pub fn audience_is(claims: &Claims, client: &ClientRow) -> ApiResult<()> {
    match claims.aud.as_deref() {
        Some(aud) if aud != client.client_id => Err(ApiError::TokenAudience),
        _ => Ok(()),
    }
}

/// Checks what `client` was handed and records it in the session. `authenticated` is whether
/// the partner proved who it is (its client secret): tickets are redeemed only then, and only
/// then is another partner's token refused (without credentials the answer's `aud` says whose
/// token it is, and the partner must compare it). A redeemed ticket also gives its token.
#[tracing::instrument(skip_all, fields(client = %client.client_id))]
pub async fn check_for_partner(
    state: &AppState,
    client: &ClientRow,
    authenticated: bool,
    presented: Presented,
) -> ApiResult<(Arc<Claims>, Option<String>)> {
    let (claims, redeemed) = match presented {
        Presented::Ticket(ticket) => {
            if !authenticated {
                return Err(ApiError::ClientAuthFailed);
            }
            let token = tickets::redeem(state, &ticket, &client.client_id).await?;
            (authenticate(state, &token).await?, Some(token))
        }
        Presented::Token(token) => {
            let claims = authenticate(state, &token).await?;
            crate::auth::not_oauth(&claims)?;
            if authenticated {
                audience_is(&claims, client)?;
            }
            (claims, None)
        }
    };
    record_client(state, &claims.sid, &client.client_id).await?;
    Ok((claims, redeemed))
}
