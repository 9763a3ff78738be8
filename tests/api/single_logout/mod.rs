//! Single logout and the operators' partner API: ending a session tells every partner system
//! recorded in it, durably and with retries, and operators see each delivery.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{HttpResponse, web};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

mod backlog;
mod delivery;
mod operators;

/// A partner's back-channel logout endpoint: records each `logout_token`, answers with a
/// chosen status, and can go away and come back on the same port.
struct Receiver {
    port: u16,
    tokens: Arc<Mutex<Vec<String>>>,
    status: Arc<AtomicU16>,
    handle: Option<actix_web::dev::ServerHandle>,
}

impl Receiver {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut r = Receiver {
            port,
            tokens: Arc::default(),
            status: Arc::new(AtomicU16::new(200)),
            handle: None,
        };
        r.up();
        r
    }

    fn up(&mut self) {
        let tokens = self.tokens.clone();
        let status = self.status.clone();
        let server = actix_web::HttpServer::new(move || {
            let tokens = tokens.clone();
            let status = status.clone();
            actix_web::App::new().default_service(web::to(
                move |form: web::Form<Vec<(String, String)>>| {
                    let tokens = tokens.clone();
                    let status = status.clone();
                    async move {
                        if let Some((_, t)) = form.iter().find(|(k, _)| k == "logout_token") {
                            tokens.lock().unwrap().push(t.clone());
                        }
                        let code =
                            actix_web::http::StatusCode::from_u16(status.load(Ordering::SeqCst))
                                .unwrap();
                        HttpResponse::build(code).finish()
                    }
                },
            ))
        })
        .workers(1)
        .bind(("127.0.0.1", self.port))
        .unwrap()
        .run();
        self.handle = Some(server.handle());
        tokio::spawn(server);
    }

    async fn down(&mut self) {
        if let Some(h) = self.handle.take() {
            h.stop(false).await;
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/logout", self.port)
    }

    fn received(&self) -> Vec<String> {
        self.tokens.lock().unwrap().clone()
    }

    async fn wait_for(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "expected {n} logout tokens, got {:?}",
            self.received().len()
        );
    }
}

/// A partner that accepts connections and never answers: every delivery to it waits for the
/// full 5 s timeout.
struct HungPartner {
    port: u16,
    _task: tokio::task::JoinHandle<()>,
}

impl HungPartner {
    fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        HungPartner { port, _task: task }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/logout", self.port)
    }
}

/// Four delivery slots, so one partner's share is a single slot.
async fn few_slots_app(backend: Backend) -> Option<TestApp> {
    let settings = json!({
        "logout_retry_base_ms": 100, "logout_poll_ms": 50, "logout_concurrency": 4
    });
    TestApp::spawn_set(backend, settings).await
}

async fn fast_app(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_set(
        backend,
        json!({ "logout_retry_base_ms": 100, "logout_poll_ms": 50 }),
    )
    .await
}

async fn register(
    app: &TestApp,
    admin: &str,
    callback: &str,
    logout_url: &str,
) -> (String, String) {
    let client = json!({ "name": "Partner", "callbacks": [callback], "logout_url": logout_url, "mode": "token" });
    app.register_partner(admin, client).await
}

/// An operator and the partners it registers, one for each (callback rule, back-channel logout
/// URL): the operator's token and each partner's (client_id, secret).
async fn operator_with_partners<const N: usize>(
    app: &TestApp,
    partners: [(&str, &str); N],
) -> (String, [(String, String); N]) {
    let admin = app.admin("13700137000").await.1;
    let mut credentials = Vec::new();
    for (callback, logout_url) in partners {
        credentials.push(register(app, &admin, callback, logout_url).await);
    }
    (admin, credentials.try_into().unwrap())
}

const SHOP: &str = "https://shop.example/cb";

/// An operator, the shop (its back channel at `shop`) and a person signed in there: (operator's
/// token, the person's user object, the person's shop token).
async fn signed_in_at_shop(app: &TestApp, shop: &Receiver) -> (String, Value, String) {
    let (admin, _) = operator_with_partners(app, [(SHOP, &shop.url())]).await;
    let user = app.signup("13800138000").await;
    let token = app.partner_token("13800138000", SHOP).await;
    (admin, user, token)
}

/// Verifies a logout token as a partner would: against the JWKS, for its own client_id.
async fn verify_logout_token(app: &TestApp, token: &str, client_id: &str) -> Value {
    let (_, jwks) = app.get("/.well-known/jwks.json").await;
    let key = DecodingKey::from_ed_components(jwks["keys"][0]["x"].as_str().unwrap()).unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&[client_id]);
    validation.set_issuer(&[app.settings.issuer().as_str()]);
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap()
        .claims;
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(claims.get("nonce").is_none());
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 120);
    assert!(claims["jti"].is_string());
    claims
}

fn sid_of(token: &str) -> String {
    claims(token)["sid"].as_str().unwrap().to_owned()
}

async fn deliveries(app: &TestApp, admin: &str) -> Value {
    let (status, body) = app
        .get_with_token("/admin/api/deliveries?limit=100", admin)
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn wait_for_state(app: &TestApp, admin: &str, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let body = deliveries(app, admin).await;
        if body["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["state"] == state)
            && body["total"] != 0
        {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "deliveries never all {state}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn tokens_aud(token: &str) -> String {
    claims(token)["aud"].as_str().unwrap().to_owned()
}

async fn assert_error_at(app: &TestApp, token: &str, reason: &str) {
    let (status, body) = app.get_with_token("/token", token).await;
    assert_error(status, &body, 401, reason);
}
