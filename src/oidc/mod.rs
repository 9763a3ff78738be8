//! The OpenID Connect provider (PROTOCOLS §3): authorization code flow with PKCE through the
//! same sign-in page and browser session as the seed flows, tokens that are the sessions' own
//! JWTs, and single logout through the same outbox.
//!
//! - `request`: the authorization request, checked once;
//! - `codes`: authorization codes;
//! - `grants`: token issuing and rotation, revoking a client's grant in a session;
//! - `presented`: what introspection and revocation find behind a token;
//! - `claims`: what the ID token and userinfo say, by scope;
//! - `client_auth`: a client proving who it is at the token, introspection and revocation
//!   endpoints;
//! - `discovery`, `routes`: the JSON endpoints (discovery; token, userinfo, introspection,
//!   revocation).
//!   The browser endpoints (`/oauth2/authorize`, `/oauth2/logout`) are pages (`pages::oidc`).

pub mod claims;
pub mod client_auth;
pub mod codes;
pub mod discovery;
pub mod error;
pub mod grants;
pub mod params;
pub mod presented;
pub mod request;
pub mod routes;

use crate::http::redirect::Location;
use crate::partners::RegisteredUri;
use crate::state::AppState;
pub use error::{OAuthError, OAuthResult};
pub use request::{AuthRequest, Refusal};

/// The scopes offered, `openid` first (PROTOCOLS §3.1).
pub const SCOPES: [&str; 4] = ["openid", "profile", "email", "phone"];

/// The offered scopes among `asked` (space-separated), in [`SCOPES`] order; others (such as
/// `offline_access`) are ignored.
pub fn granted_scopes(asked: &str) -> Vec<&'static str> {
    let asked: Vec<&str> = asked.split(' ').collect();
    SCOPES.into_iter().filter(|s| asked.contains(s)).collect()
}

/// The authorization response: back to the client's redirect URI with `params`, the request's
/// `state` and our `iss` (RFC 9207).
pub fn respond(
    state: &AppState,
    uri: &RegisteredUri,
    params: &[(&str, &str)],
    echo: Option<&str>,
) -> Location {
    let issuer = state.tokens.issuer().to_owned();
    let mut all: Vec<(&str, &str)> = params.to_vec();
    if let Some(s) = echo {
        all.push(("state", s));
    }
    all.push(("iss", &issuer));
    uri.location_with(&all)
}

/// Whether a live session (`sid`, `user_id`) satisfies `request` without a new sign-in
/// (PROTOCOLS §3.2 step 3).
pub async fn satisfied_by(
    state: &AppState,
    request: &AuthRequest,
    sid: &str,
    user_id: &str,
) -> crate::error::ApiResult<bool> {
    if request.prompt_login || request.hint_sub.as_deref().is_some_and(|s| s != user_id) {
        return Ok(false);
    }
    let Some(max_age) = request.max_age else {
        return Ok(true);
    };
    let auth_time = crate::sessions::auth_time(state, sid).await?.unwrap_or(0);
    Ok(chrono::Utc::now().timestamp() - auth_time <= max_age)
}

/// Completes a request for session `sid`: a code, and where the browser takes it.
pub async fn issue_code(
    state: &AppState,
    uri: &RegisteredUri,
    request: &AuthRequest,
    sid: &str,
) -> crate::error::ApiResult<Location> {
    let code = codes::issue_code(
        state,
        &codes::CodeGrant {
            seen: Default::default(),
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            challenge: request.code_challenge.clone(),
            scope: request.scope.clone(),
            nonce: request.nonce.clone(),
            sid: sid.to_owned(),
        },
    )
    .await?;
    Ok(respond(
        state,
        uri,
        &[("code", &code)],
        request.state.as_deref(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_offered_scopes_are_granted_in_a_fixed_order() {
        assert_eq!(
            granted_scopes("email offline_access openid  x"),
            ["openid", "email"]
        );
        assert!(granted_scopes("").is_empty());
        assert!(
            granted_scopes("OPENID").is_empty(),
            "scopes are case-sensitive"
        );
    }
}
