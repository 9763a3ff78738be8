//! Sign-in inside a protocol flow (PROTOCOLS §1): a validated `/oauth2/authorize` or `/cas/login` request
//! that needs the sign-in page is kept here (256-bit id, 600 s, in the shared store), the
//! page signs the person in for it, and the protocol endpoint completes it only for the
//! session that did.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::http::redirect::Location;
use crate::state::AppState;

const TTL: Duration = Duration::from_secs(600);

/// The protocol endpoint a flow goes back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Resume {
    /// `/oauth2/authorize?flow=…`
    Authorize,
    /// `/oauth2/logout?flow=…` (a POSTed logout request, answered with its GET form).
    Logout,
    /// `/cas/login?flow=…`
    Cas,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flow {
    pub resume: Resume,
    /// Shown on the sign-in page.
    pub client_name: String,
    /// Pre-fills the number (`login_hint`).
    pub login_hint: Option<String>,
    /// The protocol's validated request, as it will be completed.
    pub request: serde_json::Value,
    /// The session that signed in for this flow, once one has.
    pub signed_in: Option<String>,
    /// A request that came by POST and was kept only to be answered from its GET form: any
    /// live session may complete it (no sign-in was asked for it yet).
    #[serde(default)]
    pub posted: bool,
}

fn key(id: &str) -> String {
    format!("flow:{id}")
}

/// Flow ids are 43 base64url characters; anything else is looked up nowhere.
fn well_formed(id: &str) -> bool {
    id.len() == 43
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Flow {
    /// Keeps the flow; its id (256 random bits).
    pub async fn save(&self, state: &AppState) -> ApiResult<String> {
        let id = crate::partners::new_secret();
        self.put(state, &id).await?;
        Ok(id)
    }

    pub async fn put(&self, state: &AppState, id: &str) -> ApiResult<()> {
        let json = serde_json::to_string(self).map_err(|e| ApiError::Internal(e.to_string()))?;
        state.store.set(&key(id), &json, TTL).await
    }

    /// The flow, if it is known and has not expired.
    pub async fn load(state: &AppState, id: &str) -> ApiResult<Option<Flow>> {
        if !well_formed(id) {
            return Ok(None);
        }
        Ok(state
            .store
            .get(&key(id))
            .await?
            .and_then(|json| serde_json::from_str(&json).ok()))
    }

    /// The flow, removed: of concurrent completions only one gets it.
    pub async fn take(state: &AppState, id: &str) -> ApiResult<Option<Flow>> {
        if !well_formed(id) {
            return Ok(None);
        }
        Ok(state
            .store
            .take(&key(id))
            .await?
            .and_then(|json| serde_json::from_str(&json).ok()))
    }

    /// Records that session `sid` signed in for the flow `id`.
    pub async fn signed_in(mut self, state: &AppState, id: &str, sid: &str) -> ApiResult<()> {
        self.signed_in = Some(sid.to_owned());
        self.put(state, id).await
    }

    /// Where the browser continues the flow `id`.
    pub fn resume_at(&self, id: &str) -> Location {
        let path = match self.resume {
            Resume::Authorize => "/oauth2/authorize",
            Resume::Logout => "/oauth2/logout",
            Resume::Cas => "/cas/login",
        };
        Location::local(&format!("{path}?flow={id}")).unwrap_or_else(|| Location::page("/login"))
    }

    /// The sign-in page for the flow `id`.
    pub fn sign_in_at(id: &str) -> Location {
        Location::local(&format!("/login?flow={id}")).unwrap_or_else(|| Location::page("/login"))
    }
}
