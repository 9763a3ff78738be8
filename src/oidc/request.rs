//! The authorization request (PROTOCOLS §3.3): checked once, kept whole in a flow when the
//! sign-in page is needed, and completed with a code.

use serde::{Deserialize, Serialize};

use super::params::Params;
use super::{SCOPES, granted_scopes};
use crate::domain::pkce::{CodeChallenge, PkceError};
use crate::partners::{self, ClientRow, RegisteredUri};
use crate::state::AppState;

/// Why a request cannot go on. Until the client and its redirect URI are known, the browser
/// gets an error page (there is nowhere safe to send it); after, it goes back with the error.
#[derive(Debug)]
pub enum Refusal {
    Page(&'static str),
    Redirect {
        error: &'static str,
        description: String,
    },
}

fn back(error: &'static str, description: impl Into<String>) -> Refusal {
    Refusal::Redirect {
        error,
        description: description.into(),
    }
}

/// A checked authorization request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    /// The granted scopes (the supported ones asked for), space-separated.
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    /// `prompt=login` or `select_account`: sign in again despite a live session.
    pub prompt_login: bool,
    pub prompt_none: bool,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    /// `id_token_hint`'s subject: a live session of someone else does not satisfy the request.
    pub hint_sub: Option<String>,
}

/// At most this long: `state` and `nonce` (PROTOCOLS §3.3) and the free-text hints.
const MAX_ECHO: usize = 1024;
const MAX_HINT: usize = 256;

impl AuthRequest {
    /// The client, its redirect URI and the checked request; or the refusal, with the
    /// client's redirect URI when the error can go back to it (and the `state` to return).
    pub async fn check(
        state: &AppState,
        p: &Params,
    ) -> Result<
        (ClientRow, RegisteredUri, AuthRequest),
        (Refusal, Option<(RegisteredUri, Option<String>)>),
    > {
        let page = |reason| (Refusal::Page(reason), None);
        if p.is_repeated("client_id") {
            return Err(page("invalid_client"));
        }
        let client = match p.get("client_id") {
            Some(id) => partners::oidc_client(state, id)
                .await
                .map_err(|_| page("unavailable"))?,
            None => None,
        };
        let Some(client) = client else {
            return Err(page("invalid_client"));
        };
        let uri = match p.get("redirect_uri") {
            Some(raw) if !p.is_repeated("redirect_uri") => client.redirect_uri(raw),
            _ => None,
        };
        let Some(uri) = uri else {
            return Err(page("callback_not_registered"));
        };
        // `state` goes back with an error only when it is one we would echo.
        let echo = p
            .get("state")
            .filter(|s| s.len() <= MAX_ECHO && !p.is_repeated("state"))
            .map(str::to_owned);
        match AuthRequest::read(state, &client, uri.as_str(), p) {
            Ok(request) => Ok((client, uri, request)),
            Err(refusal) => Err((refusal, Some((uri, echo)))),
        }
    }

    fn read(
        state: &AppState,
        client: &ClientRow,
        redirect_uri: &str,
        p: &Params,
    ) -> Result<AuthRequest, Refusal> {
        if let Some(name) = p.repeated() {
            return Err(back(
                "invalid_request",
                format!("`{name}` given more than once"),
            ));
        }
        for (name, error) in [
            ("request", "request_not_supported"),
            ("request_uri", "request_uri_not_supported"),
            ("registration", "registration_not_supported"),
        ] {
            if p.get(name).is_some() {
                return Err(back(error, format!("`{name}` is not supported")));
            }
        }
        match p.get("response_type") {
            None => return Err(back("invalid_request", "`response_type` is required")),
            Some("code") => {}
            Some(_) => {
                return Err(back(
                    "unsupported_response_type",
                    "only the authorization code flow (`code`) is offered",
                ));
            }
        }
        if p.get("response_mode").is_some_and(|m| m != "query") {
            return Err(back(
                "invalid_request",
                "only `response_mode=query` is supported",
            ));
        }
        let scope = granted_scopes(p.get("scope").unwrap_or(""));
        if !scope.contains(&SCOPES[0]) {
            return Err(back("invalid_scope", "the `openid` scope is required"));
        }
        for name in ["state", "nonce"] {
            if p.get(name).is_some_and(|v| v.len() > MAX_ECHO) {
                return Err(back(
                    "invalid_request",
                    format!("`{name}` is over 1024 bytes"),
                ));
            }
        }
        for name in ["login_hint", "ui_locales"] {
            if p.get(name).is_some_and(|v| v.len() > MAX_HINT) {
                return Err(back("invalid_request", format!("`{name}` is too long")));
            }
        }
        let code_challenge = challenge(client, p)?;
        let (prompt_none, prompt_login) = prompt(p.get("prompt"))?;
        let max_age = match p.get("max_age") {
            None => None,
            Some(raw) => Some(
                raw.parse::<u32>()
                    .map(i64::from)
                    .map_err(|_| back("invalid_request", "`max_age` must be an integer >= 0"))?,
            ),
        };
        let hint_sub = match p.get("id_token_hint") {
            None => None,
            Some(hint) => Some(
                state
                    .tokens
                    .decode_id_token(hint)
                    .map_err(|_| {
                        back(
                            "invalid_request",
                            "`id_token_hint` is not an ID token of ours",
                        )
                    })?
                    .sub,
            ),
        };
        Ok(AuthRequest {
            client_id: client.client_id.clone(),
            redirect_uri: redirect_uri.to_owned(),
            scope: scope.join(" "),
            state: p.get("state").map(str::to_owned),
            nonce: p.get("nonce").map(str::to_owned),
            code_challenge,
            prompt_login,
            prompt_none,
            max_age,
            login_hint: p.get("login_hint").map(str::to_owned),
            ui_locales: p.get("ui_locales").map(str::to_owned),
            hint_sub,
        })
    }
}

/// PKCE (RFC 7636): required of public clients, honoured for all; S256 only.
fn challenge(client: &ClientRow, p: &Params) -> Result<Option<String>, Refusal> {
    let public = !client.has_secret();
    match (p.get("code_challenge"), p.get("code_challenge_method")) {
        (None, None) if public => Err(back(
            "invalid_request",
            "public clients must send a PKCE `code_challenge` (S256)",
        )),
        (None, None) => Ok(None),
        (None, Some(_)) => Err(back("invalid_request", "`code_challenge` is missing")),
        (Some(raw), method) => CodeChallenge::parse(raw, method)
            .map(|c| Some(c.as_str().to_owned()))
            .map_err(|e| {
                let why = match e {
                    PkceError::NotS256 => {
                        "`code_challenge_method` must be S256 (plain is not accepted)"
                    }
                    PkceError::BadChallenge => {
                        "`code_challenge` must be 43-128 characters of A-Z a-z 0-9 - . _ ~"
                    }
                };
                back("invalid_request", why)
            }),
    }
}

/// `prompt`: (`none`, `login` or `select_account`); `consent` is met by registration.
fn prompt(raw: Option<&str>) -> Result<(bool, bool), Refusal> {
    let values: Vec<&str> = raw
        .unwrap_or("")
        .split(' ')
        .filter(|v| !v.is_empty())
        .collect();
    let mut login = false;
    for v in &values {
        match *v {
            "none" if values.len() > 1 => {
                return Err(back("invalid_request", "`prompt=none` must stand alone"));
            }
            "none" | "consent" => {}
            "login" | "select_account" => login = true,
            _ => return Err(back("invalid_request", format!("unknown prompt `{v}`"))),
        }
    }
    Ok((values == ["none"], login))
}
