//! The OpenID Connect provider over HTTP (PROTOCOLS §3): the flows a relying party drives, the
//! refusals the contract lists, and (in their own modules) real client libraries against it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::*;
use crate::pages::{Browser, Page, attr, query_param, urlencode};

mod authlib;
mod conformance;
mod flows;
mod mod_auth_openidc;
mod openid_client;
mod openidconnect_rs;
mod registration;

/// A registered relying party.
#[derive(Debug, Clone)]
pub(crate) struct Rp {
    pub client_id: String,
    pub secret: Option<String>,
    pub redirect: String,
}

pub(crate) const REDIRECT: &str = "https://rp.example/oidc/callback";

/// Registers an OpenID Connect client through the admin API; `extra` adds or overrides
/// fields.
pub(crate) async fn register(app: &TestApp, admin: &str, extra: Value) -> Rp {
    let mut body = json!({ "name": "Relying Party", "mode": "oidc", "redirect_uris": [REDIRECT] });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (status, answer) = app
        .send_with_token(reqwest::Method::POST, "/admin/api/clients", admin, body)
        .await;
    assert_eq!(status, 201, "{answer}");
    Rp {
        client_id: answer["data"]["client_id"].as_str().unwrap().to_owned(),
        secret: answer["data"]["client_secret"].as_str().map(str::to_owned),
        redirect: answer["data"]["redirect_uris"][0]
            .as_str()
            .unwrap()
            .to_owned(),
    }
}

/// A server with an operator and a person with an account (number `USER`).
pub(crate) async fn provider() -> (TestApp, String) {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let admin = prepare(&app).await;
    (app, admin)
}

/// An operator (whose token this returns) and a person with an account (number `USER`).
pub(crate) async fn prepare(app: &TestApp) -> String {
    let (_, admin) = app.admin("13700137000").await;
    app.signup(USER).await;
    admin
}

pub(crate) const USER: &str = "13800138000";

/// A PKCE pair: (verifier, S256 challenge).
pub(crate) fn pkce() -> (String, String) {
    let verifier =
        URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes()) + "-pkce-verifier-0123456789";
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// `/oauth2/authorize` for `rp` with `params` (client_id, redirect_uri, response_type and
/// scope unless given).
pub(crate) fn authorize_path(rp: &Rp, params: &[(&str, &str)]) -> String {
    let mut all: Vec<(&str, &str)> = vec![
        ("client_id", &rp.client_id),
        ("redirect_uri", &rp.redirect),
        ("response_type", "code"),
        ("scope", "openid profile email phone"),
    ];
    for (k, v) in params {
        all.retain(|(name, _)| name != k);
        all.push((k, v));
    }
    let query: Vec<String> = all
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect();
    format!("/oauth2/authorize?{}", query.join("&"))
}

/// The path and query of a Location on the server under test.
pub(crate) fn local(location: &str) -> String {
    location
        .strip_prefix("http://")
        .map(|rest| rest[rest.find('/').unwrap()..].to_owned())
        .unwrap_or_else(|| location.to_owned())
}

/// Signs in on the page a flow sent the browser to; the answer is the 303 back to the flow.
pub(crate) async fn sign_in_for_flow(browser: &mut Browser<'_>, login: &str) -> Page {
    let page = browser.get(&local(login)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    submit_sign_in(browser, &page.body).await
}

/// Signs in as `USER` with the password on a flow's sign-in page (its HTML).
pub(crate) async fn submit_sign_in(browser: &mut Browser<'_>, page: &str) -> Page {
    let flow = attr(page, "name=\"flow\" value=\"");
    let captcha_id = attr(page, "name=\"captcha_id\" id=\"captcha_id\" value=\"");
    let answer = attr(page, "data-test-answer=\"");
    browser
        .submit(
            "/login",
            &[
                ("method", "password"),
                ("number", USER),
                ("pwd", PASSWORD),
                ("captcha_id", &captcha_id),
                ("client_code", &answer),
                ("flow", &flow),
            ],
        )
        .await
}

/// Drives the browser through an authorization request (signing in when asked); the final
/// redirect to the client.
pub(crate) async fn authorize(
    browser: &mut Browser<'_>,
    rp: &Rp,
    params: &[(&str, &str)],
) -> String {
    follow_authorization(browser, &authorize_path(rp, params)).await
}

/// Drives the browser from an authorization request's path and query (as a relying party built
/// it) through sign-in when asked; the final redirect to the client.
pub(crate) async fn follow_authorization(browser: &mut Browser<'_>, path: &str) -> String {
    let first = browser.get(path).await;
    assert_eq!(first.status, 302, "{}", first.body);
    if !first.location.contains("/login?flow=") {
        return first.location;
    }
    let signed_in = sign_in_for_flow(browser, &first.location).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let back = browser.get(&local(&signed_in.location)).await;
    assert_eq!(back.status, 302, "{}", back.body);
    back.location
}

/// A code exchange's form (with the PKCE verifier when given).
pub(crate) fn code_form<'a>(
    rp: &'a Rp,
    code: &'a str,
    verifier: Option<&'a str>,
) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", rp.redirect.as_str()),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    form
}

/// Exchanges a code with HTTP Basic (or the client's own method when it has no secret).
pub(crate) async fn exchange(
    app: &TestApp,
    rp: &Rp,
    code: &str,
    verifier: Option<&str>,
) -> (u16, Value) {
    token_request(app, rp, &code_form(rp, code, verifier)).await
}

/// A token endpoint request authenticated as `rp` (Basic with a secret, else `client_id`).
pub(crate) async fn token_request(app: &TestApp, rp: &Rp, form: &[(&str, &str)]) -> (u16, Value) {
    oauth_post(app, rp, "/oauth2/token", form).await
}

pub(crate) async fn oauth_post(
    app: &TestApp,
    rp: &Rp,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let mut form: Vec<(&str, &str)> = form.to_vec();
    let mut req = app.client.post(app.url(path));
    match &rp.secret {
        Some(secret) => req = req.header("authorization", basic(&rp.client_id, secret)),
        None => form.push(("client_id", &rp.client_id)),
    }
    let res = req.form(&form).send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// An OAuth error answer (`{"error", "error_description"}`, never the envelope).
pub(crate) fn assert_oauth(status: u16, body: &Value, want_status: u16, error: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
    assert!(
        body.get("code").is_none(),
        "OAuth's format, not the envelope: {body}"
    );
}

/// The code (and state) a redirect to the client carries, checking `iss`.
pub(crate) fn code_of(app: &TestApp, location: &str) -> String {
    assert!(
        location.starts_with(REDIRECT) || location.starts_with("http"),
        "{location}"
    );
    assert_eq!(query_param(location, "iss"), app.address, "{location}");
    query_param(location, "code")
}
