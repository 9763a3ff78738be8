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

fn code_in(location: &str) -> Option<String> {
    let url = url::Url::parse(location).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
}

async fn once(http: &reqwest::Client, rt: &RoundTrip) -> Result<(), String> {
    let res = http
        .get(&rt.authorize)
        .header("cookie", &rt.cookie)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| format!("authorize answered {} without a redirect", res.status()))?
        .to_owned();
    let code = code_in(&location).ok_or_else(|| format!("no code in {location}"))?;
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
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(concurrency)
        .pool_idle_timeout(Duration::from_secs(4))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client");
    let rt = Arc::new(rt);
    loops(concurrency, Some(seconds), move |_| {
        let (http, rt) = (http.clone(), rt.clone());
        async move { Some(once(&http, &rt).await) }
    })
    .await
}
