//! Single logout and the operators' partner API: ending a session tells every partner system
//! recorded in it, durably and with retries, and operators see each delivery.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{HttpResponse, web};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

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
    TestApp::spawn_with(backend, |f| {
        f.merge(("logout_retry_base_ms", 100))
            .merge(("logout_poll_ms", 50))
            .merge(("logout_concurrency", 4))
    })
    .await
}

crate::both_backends_with! {
    few_slots_app;

    async fn a_hung_partner_does_not_hold_up_the_others(app) {
        let admin = admin_token(&app, "13700137000").await;
        let hung = HungPartner::start();
        let shop = Receiver::start();
        register(&app, &admin, "https://hung.example/cb", &hung.url()).await;
        register(&app, &admin, "https://shop.example/cb", &shop.url()).await;
        app.signup("13800138000").await;
        let mut tokens = Vec::new();
        for _ in 0..6 {
            let token = signin_at(&app, "13800138000", "https://hung.example/cb").await;
            let (status, body) = app
                .post("/token", json!({ "token": token, "callback_url": "https://shop.example/cb" }))
                .await;
            assert_eq!(status, 200, "{body}");
            tokens.push(token);
        }
        let started = Instant::now();
        for token in &tokens {
            let (status, _) = app.send_with_token(Method::PATCH, "/users/signout", token, json!({})).await;
            assert_eq!(status, 200);
        }
        // Without a share per partner the hung one would fill all four slots for 5 s at a time.
        shop.wait_for(6).await;
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "the shop's logouts waited {:?} behind the hung partner",
            started.elapsed()
        );
    }
}

async fn fast_app(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, |f| {
        f.merge(("logout_retry_base_ms", 100))
            .merge(("logout_poll_ms", 50))
    })
    .await
}

async fn admin_token(app: &TestApp, number: &str) -> String {
    let (user, token) = app.user(number).await;
    app.make_admin(user["id"].as_str().unwrap()).await;
    token
}

/// Registers a partner through the operators' API; returns (client_id, client_secret).
async fn register(
    app: &TestApp,
    admin: &str,
    callback: &str,
    logout_url: &str,
) -> (String, String) {
    let (status, body) = app
        .send_with_token(
            Method::POST,
            "/admin/api/clients",
            admin,
            json!({ "name": "Partner", "callbacks": [callback], "logout_url": logout_url, "mode": "token" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    (
        body["data"]["client_id"].as_str().unwrap().to_owned(),
        body["data"]["client_secret"].as_str().unwrap().to_owned(),
    )
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
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["sid"].as_str().unwrap().to_owned()
}

async fn signin_at(app: &TestApp, number: &str, callback: &str) -> String {
    let (id, answer) = app.captcha().await;
    let (status, body) = app
        .post(
            "/users/signin",
            json!({ "number": number, "pwd": PASSWORD, "captcha_id": id, "client_code": answer, "callback_url": callback }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["data"].as_str().unwrap().to_owned()
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

crate::both_backends_with! {
    fast_app;

    async fn sign_out_tells_every_partner_in_the_session(app) {
        let admin = admin_token(&app, "13700137000").await;
        let shop = Receiver::start();
        let blog = Receiver::start();
        let (shop_id, _) = register(&app, &admin, "https://shop.example/cb", &shop.url()).await;
        let (blog_id, blog_secret) = register(&app, &admin, "https://blog.example/cb", &blog.url()).await;
        app.signup("13800138000").await;
        let token = signin_at(&app, "13800138000", "https://shop.example/cb").await;
        // A token minted for the shop is not the blog's to present with its credentials.
        let res = app
            .client
            .post(app.url("/token"))
            .basic_auth(&blog_id, Some(&blog_secret))
            .form(&[("token", token.as_str()), ("callback_url", "https://blog.example/cb")])
            .send()
            .await
            .unwrap();
        let (status, body) = into_parts(res).await;
        assert_error(status, &body, 403, "token_audience");
        let res = app
            .client
            .post(app.url("/token"))
            .form(&[("token", token.as_str()), ("callback_url", "https://blog.example/cb")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);

        let started = Instant::now();
        let (status, _) = app.send_with_token(Method::PATCH, "/users/signout", &token, json!({})).await;
        assert_eq!(status, 200);
        assert!(started.elapsed() < Duration::from_secs(2), "sign-out waited for partners");

        let sid = sid_of(&token);
        for (receiver, client_id) in [(&shop, &shop_id), (&blog, &blog_id)] {
            let tokens = receiver.wait_for(1).await;
            let claims = verify_logout_token(&app, &tokens[0], client_id).await;
            assert_eq!(claims["sid"], sid.as_str());
        }
        let body = wait_for_state(&app, &admin, "delivered").await;
        assert_eq!(body["total"], 2);
    }

    async fn failing_partners_are_retried_until_they_answer(app) {
        let admin = admin_token(&app, "13700137000").await;
        let shop = Receiver::start();
        shop.status.store(503, Ordering::SeqCst);
        register(&app, &admin, "https://shop.example/cb", &shop.url()).await;
        app.signup("13800138000").await;
        let token = signin_at(&app, "13800138000", "https://shop.example/cb").await;
        app.send_with_token(Method::PATCH, "/users/signout", &token, json!({})).await;
        shop.wait_for(2).await;
        let body = deliveries(&app, &admin).await;
        assert_eq!(body["data"][0]["state"], "pending");
        assert_eq!(body["data"][0]["last_error"], "partner answered 503");
        shop.status.store(200, Ordering::SeqCst);
        let body = wait_for_state(&app, &admin, "delivered").await;
        assert!(body["data"][0]["attempts"].as_i64().unwrap() >= 3, "{body}");
    }

    async fn a_400_answer_is_final(app) {
        let admin = admin_token(&app, "13700137000").await;
        let shop = Receiver::start();
        shop.status.store(400, Ordering::SeqCst);
        register(&app, &admin, "https://shop.example/cb", &shop.url()).await;
        app.signup("13800138000").await;
        let token = signin_at(&app, "13800138000", "https://shop.example/cb").await;
        app.send_with_token(Method::PATCH, "/users/signout", &token, json!({})).await;
        let body = wait_for_state(&app, &admin, "failed").await;
        assert_eq!(body["data"][0]["attempts"], 1);
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(shop.received().len(), 1);
    }

    async fn deliveries_survive_a_restart_while_the_partner_is_down(app) {
        let admin = admin_token(&app, "13700137000").await;
        let mut shop = Receiver::start();
        register(&app, &admin, "https://shop.example/cb", &shop.url()).await;
        app.signup("13800138000").await;
        let token = signin_at(&app, "13800138000", "https://shop.example/cb").await;
        shop.down().await;
        app.send_with_token(Method::PATCH, "/users/signout", &token, json!({})).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let app = app.restart().await;
        shop.up();
        let tokens = shop.wait_for(1).await;
        let (_, jwks) = app.get("/.well-known/jwks.json").await;
        assert!(jwks["keys"].is_array());
        let body = wait_for_state(&app, &admin, "delivered").await;
        assert_eq!(body["total"], 1);
        assert!(!tokens.is_empty());
    }

    async fn disabling_an_account_signs_it_out_everywhere(app) {
        let admin = admin_token(&app, "13700137000").await;
        let shop = Receiver::start();
        register(&app, &admin, "https://shop.example/cb", &shop.url()).await;
        let user = app.signup("13800138000").await;
        let token = signin_at(&app, "13800138000", "https://shop.example/cb").await;
        let id = user["id"].as_str().unwrap();
        let (status, body) = app
            .send_with_token(Method::PATCH, &format!("/admin/api/users/{id}"), &admin, json!({ "status": "disabled" }))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_error_at(&app, &token, "token_revoked").await;
        shop.wait_for(1).await;
        let (status, body) = app.signin("13800138000", PASSWORD).await;
        assert_error(status, &body, 403, "account_disabled");
    }

    async fn operators_can_force_sign_out_and_password_changes_notify_partners(app) {
        let admin = admin_token(&app, "13700137000").await;
        let shop = Receiver::start();
        register(&app, &admin, "https://shop.example/cb", &shop.url()).await;
        let user = app.signup("13800138000").await;
        let first = signin_at(&app, "13800138000", "https://shop.example/cb").await;
        // The password changes through Gatehouse's own client: a partner's token may not.
        let second = app.token("13800138000").await;
        let (status, body) = app
            .post("/token", json!({ "token": second, "callback_url": "https://shop.example/cb" }))
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, _) = app
            .send_with_token(Method::PATCH, "/users/password", &second, json!({ "old_pwd": PASSWORD, "new_pwd": "Brand-New-Pass-7" }))
            .await;
        assert_eq!(status, 200);
        let tokens = shop.wait_for(1).await;
        let claims = verify_logout_token(&app, &tokens[0], &tokens_aud(&tokens[0])).await;
        assert_eq!(claims["sid"], sid_of(&first).as_str());

        let id = user["id"].as_str().unwrap();
        let (status, _) = app
            .send_with_token(Method::POST, &format!("/admin/api/users/{id}/signout"), &admin, json!({}))
            .await;
        assert_eq!(status, 200);
        assert_error_at(&app, &second, "token_revoked").await;
        shop.wait_for(2).await;
    }

    async fn operators_manage_partner_systems(app) {
        let admin = admin_token(&app, "13700137000").await;
        let (_, plain) = app.user("13800138000").await;
        let (status, body) = app.get_with_token("/admin/api/clients", &plain).await;
        assert_error(status, &body, 403, "forbidden");

        let (client_id, secret) = register(&app, &admin, "https://shop.example/sso/*", "https://shop.example/logout").await;
        let (status, body) = app.get_with_token("/admin/api/clients", &admin).await;
        assert_eq!(status, 200);
        assert_eq!(body["total"], 1);
        assert!(!body.to_string().contains(&secret));
        let path = format!("/admin/api/clients/{client_id}");
        let (status, body) = app.get_with_token(&path, &admin).await;
        assert_eq!(status, 200);
        assert_eq!(body["data"]["callbacks"][0], "https://shop.example/sso/*");

        let (status, body) = app
            .send_with_token(Method::PUT, &path, &admin, json!({ "name": "Shop", "callbacks": ["https://shop.example/cb"], "mode": "ticket" }))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["mode"], "ticket");
        assert!(body["data"]["logout_url"].is_null());
        let (status, body) = app
            .send_with_token(Method::PUT, &path, &admin, json!({ "name": "Shop", "callbacks": ["javascript:alert(1)"] }))
            .await;
        assert_error(status, &body, 400, "invalid_params");

        let token = app.token("13800138000").await;
        let check = |secret: String| {
            let token = token.clone();
            let client_id = client_id.clone();
            let app = &app;
            async move {
                app.client
                    .post(app.url("/token"))
                    .basic_auth(&client_id, Some(&secret))
                    .form(&[("token", token.as_str()), ("callback_url", "https://shop.example/cb")])
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        assert_eq!(check(secret.clone()).await, 200);
        let (status, body) = app.send_with_token(Method::POST, &format!("{path}/secret"), &admin, json!({})).await;
        assert_eq!(status, 200, "{body}");
        let rotated = body["data"]["client_secret"].as_str().unwrap().to_owned();
        assert_eq!(check(secret).await, 401);
        assert_eq!(check(rotated).await, 200);

        let (status, _) = app.send_with_token(Method::PUT, &path, &admin, json!({ "name": "Shop", "callbacks": ["https://shop.example/cb"], "enabled": false })).await;
        assert_eq!(status, 200);
        let (status, body) = app.post("/token", json!({ "token": token, "callback_url": "https://shop.example/cb" })).await;
        assert_error(status, &body, 400, "callback_not_registered");

        let (status, _) = app.send_with_token(Method::DELETE, &path, &admin, json!({})).await;
        assert_eq!(status, 200);
        let (status, body) = app.get_with_token(&path, &admin).await;
        assert_error(status, &body, 404, "not_found");
    }
}

fn tokens_aud(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["aud"].as_str().unwrap().to_owned()
}

async fn assert_error_at(app: &TestApp, token: &str, reason: &str) {
    let (status, body) = app.get_with_token("/token", token).await;
    assert_error(status, &body, 401, reason);
}
