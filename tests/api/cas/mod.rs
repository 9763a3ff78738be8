//! The CAS 3.0 server over HTTP (PROTOCOLS §4): registering CAS services, and (in their own
//! modules) the flows a CAS client drives.

use serde_json::{Value, json};

use crate::helpers::*;
use crate::pages::Browser;
use crate::tls::TlsProxy;

mod cross;
mod django;
mod flows;
mod mod_auth_cas;
mod phpcas;
mod python_cas;
mod registration;
mod slo;

/// A service URL rule of the kind CAS clients send as `service`.
pub(crate) const SERVICE: &str = "https://app.example/cas/*";

/// The single-logout deliveries to `client_id`, newest first, once there are `n` and none is
/// pending (`logs` says what the receiving side did, for a failure message).
pub(crate) async fn settled_deliveries(
    app: &TestApp,
    admin: &str,
    client_id: &str,
    n: usize,
    logs: impl Fn() -> String,
) -> Vec<Value> {
    let deadline = std::time::Instant::now() + crate::browser::WAIT;
    loop {
        let (status, body) = app
            .get_with_token("/admin/api/deliveries?limit=100", admin)
            .await;
        assert_eq!(status, 200, "{body}");
        let ours: Vec<Value> = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["client_id"] == client_id)
            .cloned()
            .collect();
        assert!(ours.len() <= n, "{body}");
        if ours.len() == n && ours.iter().all(|d| d["state"] != "pending") {
            return ours;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not {n} settled deliveries: {body}\n{}",
            logs()
        );
        sleep_ms(50).await;
    }
}

/// The answer a CAS client's application gives to a request carrying only `cookie`.
pub(crate) async fn get_with_cookie(url: &str, cookie: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(url)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

/// The application sent this request to Gatehouse's CAS login at the proxy's https URL.
pub(crate) fn assert_sent_to_cas_login(res: &reqwest::Response, proxy: &TlsProxy, logs: &str) {
    assert_eq!(res.status(), 302, "{logs}");
    let location = res.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with(&proxy.url("/cas/login?")),
        "{location}"
    );
}

/// The browser shows Gatehouse's sign-in page at the proxy's https URL.
pub(crate) async fn assert_on_sign_in(br: &crate::browser::Browser, proxy: &TlsProxy) {
    br.wait_for("#code-form").await;
    let at = br.url().await;
    assert_eq!(at.origin().ascii_serialization(), proxy.url(""), "{at}");
    assert_eq!(at.path(), "/login", "{at}");
}

/// What a CAS client's test behind the TLS proxy starts with.
pub(crate) struct Stage {
    pub(crate) app: TestApp,
    pub(crate) proxy: TlsProxy,
    /// Chromium accepting the proxy's certificate.
    pub(crate) br: crate::browser::Browser,
    pub(crate) admin: String,
    /// The person who signs in (`crate::oidc::USER`).
    pub(crate) user: Value,
}

/// Gatehouse behind the TLS proxy (single-logout retries every 100 ms), a browser for
/// `scenario`, an operator and a person; `None` when something is not installed.
pub(crate) async fn stage(scenario: &str) -> Option<Stage> {
    let shots = crate::browser::shots_dir(scenario);
    let settings = json!({ "logout_retry_base_ms": 100, "logout_poll_ms": 50 });
    let (app, proxy) = crate::tls::behind_tls(settings, shots.join("tls-proxy-error.log")).await?;
    let br = crate::browser::Browser::start_trusting(scenario, &proxy.certs.spki).await?;
    let admin = crate::tls::operator(&app, "13700137000").await;
    let user = app.signup(crate::oidc::USER).await;
    Some(Stage {
        app,
        proxy,
        br,
        admin,
        user,
    })
}

/// Registers a CAS service with one service URL rule; its client id.
pub(crate) async fn register_cas(app: &TestApp, admin: &str, name: &str, rule: &str) -> String {
    let (status, body) = app
        .send_with_token(
            reqwest::Method::POST,
            "/admin/api/clients",
            admin,
            json!({ "name": name, "mode": "cas", "callbacks": [rule] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["data"]["client_id"].as_str().unwrap().to_owned()
}
