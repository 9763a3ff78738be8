//! The OpenID Connect authorization-code round trip with a live browser session, against any
//! provider: `GET` the authorization URL with the session cookie, take the code from the
//! redirect, exchange it (HTTP Basic, PKCE verifier) and call userinfo with the access token.
//! One iteration is one whole round trip; any step failing fails it.

use super::*;

/// The provider and the signed-in browser a round trip runs against.
#[derive(clap::Args)]
pub(crate) struct RoundTrip {
    /// The whole authorization URL (client, redirect URI, scope, S256 challenge of VERIFIER).
    #[arg(long)]
    pub(crate) authorize: String,
    /// The `Cookie` header of a signed-in browser.
    #[arg(long)]
    pub(crate) cookie: String,
    #[arg(long)]
    pub(crate) token: String,
    #[arg(long)]
    pub(crate) userinfo: String,
    /// `Authorization` header value for the token endpoint (`Basic …`).
    #[arg(long)]
    pub(crate) basic: String,
    #[arg(long)]
    pub(crate) redirect_uri: String,
    #[arg(long)]
    pub(crate) verifier: String,
}

async fn once(http: &reqwest::Client, rt: &RoundTrip) -> Result<(), String> {
    let code = redirected_param(http, &rt.authorize, &rt.cookie, "code").await?;
    let res = http
        .post(&rt.token)
        .header("authorization", &rt.basic)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", rt.redirect_uri.as_str()),
            ("code_verifier", rt.verifier.as_str()),
        ])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = res.status();
    let tokens: Value = res.json().await.map_err(|e| e.to_string())?;
    let access = tokens["access_token"]
        .as_str()
        .ok_or_else(|| format!("token endpoint answered {status}: {tokens}"))?;
    let res = http
        .get(&rt.userinfo)
        .bearer_auth(access)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    match res.status().is_success() {
        true => Ok(()),
        false => Err(format!("userinfo answered {}", res.status())),
    }
}

pub(crate) async fn round_trips(rt: RoundTrip, concurrency: usize, seconds: f64) -> Value {
    round_trip_loops(rt, concurrency, seconds, |http, rt| async move {
        once(&http, &rt).await
    })
    .await
}
