//! The multi-terminal API (seed 001): passwords travel as `word-info` (RSA-OAEP-256 under the
//! key of `GET /users/public_key`), registration and login by phone or by WeChat code, token
//! refresh inside the grace window with theft detection, exit, the camelCase user shapes and
//! the one-session-per-terminal policy.
//!
//! Most word-info here is sealed with aws-lc-rs; the interop tests seal it with independent
//! implementations: the openssl CLI, Python's `cryptography`, and the README's own JavaScript
//! (WebCrypto, run by Node) and Java (JCE) snippets.

use std::collections::HashMap;
use std::net::TcpListener;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_web::{HttpResponse, web};
use aws_lc_rs::rsa::{
    KeySize, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepAlgorithm, OaepPublicEncryptingKey,
    Pkcs1PublicEncryptingKey, PrivateDecryptingKey, PublicEncryptingKey,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::helpers::*;

const UA: &str = "GatehouseTest/1.0 (multi-terminal; rust)";

/// A password outside ASCII, to prove word-info carries UTF-8.
const UTF8_PASSWORD: &str = "Пароль-密码-42";

// ---------------------------------------------------------------------------------------------
// word-info and requests

/// `data` of `GET /users/public_key`.
async fn public_key(app: &TestApp) -> Value {
    let (status, body) = app.get("/users/public_key").await;
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

async fn pem(app: &TestApp) -> String {
    public_key(app).await["pem"].as_str().unwrap().to_owned()
}

fn spki_der(pem: &str) -> Vec<u8> {
    let b64: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .flat_map(|l| l.split_whitespace())
        .collect();
    STANDARD.decode(b64).expect("the PEM body is not base64")
}

fn rsa_key(pem: &str) -> PublicEncryptingKey {
    PublicEncryptingKey::from_der(&spki_der(pem)).expect("not an RSA SubjectPublicKeyInfo")
}

fn seal(key: PublicEncryptingKey, algorithm: &'static OaepAlgorithm, plaintext: &[u8]) -> Vec<u8> {
    let key = OaepPublicEncryptingKey::new(key).unwrap();
    let mut out = vec![0; key.ciphertext_size()];
    key.encrypt(algorithm, plaintext, &mut out, None)
        .unwrap()
        .to_vec()
}

/// The ciphertext of `password` under the server's current key.
async fn sealed(app: &TestApp, password: &str) -> Vec<u8> {
    seal(
        rsa_key(&pem(app).await),
        &OAEP_SHA256_MGF1SHA256,
        password.as_bytes(),
    )
}

/// word-info (standard base64) for `password` under the server's current key.
async fn word_info(app: &TestApp, password: &str) -> String {
    STANDARD.encode(sealed(app, password).await)
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value) {
    let mut rb = app
        .client
        .request(method, app.url(path))
        .header("user-agent", UA);
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    into_parts(rb.send().await.unwrap()).await
}

async fn register(app: &TestApp, phone: &str, word_info: &str, code: Option<&str>) -> (u16, Value) {
    let mut body = json!({ "phone": phone });
    if let Some(c) = code {
        body["verify_code"] = json!(c);
    }
    send(
        app,
        Method::POST,
        "/users/register",
        &[("word-info", word_info)],
        Some(body),
    )
    .await
}

/// Registers `phone` with `password` and a signup code; asserts the seed's success envelope.
async fn registered_with(app: &TestApp, phone: &str, password: &str) {
    let code = app.code_for(phone, Some("signup")).await;
    let wi = word_info(app, password).await;
    let (status, body) = register(app, phone, &wi, Some(&code)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({ "code": 200, "message": "恭喜，注册成功！", "data": null, "total": 0 })
    );
}

async fn registered(app: &TestApp, phone: &str) {
    registered_with(app, phone, PASSWORD).await;
}

async fn login(app: &TestApp, phone: &str, word_info: &str) -> (u16, Value) {
    send(
        app,
        Method::POST,
        "/users/login",
        &[("word-info", word_info)],
        Some(json!({ "phone": phone })),
    )
    .await
}

fn token_of(status: u16, body: &Value) -> String {
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["code"], 200, "{body}");
    body["data"]
        .as_str()
        .expect("data is not a token")
        .to_owned()
}

/// Logs in with [`PASSWORD`] on the default terminal.
async fn logged_in(app: &TestApp, phone: &str) -> String {
    let wi = word_info(app, PASSWORD).await;
    let (status, body) = login(app, phone, &wi).await;
    token_of(status, &body)
}

/// Logs in with [`PASSWORD`], naming the terminal in the `terminal` header.
async fn logged_in_on(app: &TestApp, phone: &str, terminal: &str) -> String {
    let wi = word_info(app, PASSWORD).await;
    let (status, body) = send(
        app,
        Method::POST,
        "/users/login",
        &[("word-info", &wi), ("terminal", terminal)],
        Some(json!({ "phone": phone })),
    )
    .await;
    token_of(status, &body)
}

async fn get_bearer(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    send(app, Method::GET, path, &[("authorization", &auth)], None).await
}

async fn refresh(app: &TestApp, token: &str) -> (u16, Value) {
    get_bearer(app, "/users/token/refresh", token).await
}

async fn refreshed(app: &TestApp, token: &str) -> String {
    let (status, body) = refresh(app, token).await;
    token_of(status, &body)
}

/// `GET /token`: what a partner backend sees.
async fn check(app: &TestApp, token: &str) -> (u16, Value) {
    get_bearer(app, "/token", token).await
}

#[track_caller]
fn assert_live(status: u16, body: &Value) {
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["valid"], true, "{body}");
}

async fn assert_token_fails(app: &TestApp, token: &str, reason: &str) {
    let (status, body) = check(app, token).await;
    assert_error(status, &body, 401, reason);
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("not a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

fn sorted(k: &[&str]) -> Vec<String> {
    let mut k: Vec<String> = k.iter().map(|s| s.to_string()).collect();
    k.sort();
    k
}

const SELF_KEYS: &[&str] = &["id", "userName", "phone", "headImg", "openid"];
const WECHAT_KEYS: &[&str] = &[
    "avatarUrl",
    "nickName",
    "country",
    "province",
    "city",
    "language",
];
const OTHERS_KEYS: &[&str] = &["id", "userName", "headImg"];

fn wechat_user_keys() -> Vec<String> {
    sorted(&[SELF_KEYS, WECHAT_KEYS].concat())
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Sleeps until the Unix time `t` (seconds) has passed.
async fn sleep_until_epoch(t: f64) {
    let wait = t - now_secs();
    if wait > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(wait)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// The public key

#[tokio::test]
async fn the_public_key_is_a_2048_bit_rsa_spki_pem_for_rsa_oaep_256() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (status, body) = app.get("/users/public_key").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["code"], 200);
    assert_eq!(body["total"], 0);
    let data = &body["data"];
    assert_eq!(keys(data), sorted(&["kid", "alg", "pem"]), "{data}");
    assert_eq!(data["alg"], "RSA-OAEP-256");
    assert!(!data["kid"].as_str().unwrap().is_empty());
    let pem = data["pem"].as_str().unwrap();
    assert!(
        pem.starts_with("-----BEGIN PUBLIC KEY-----\n"),
        "not an SPKI PEM: {pem}"
    );
    assert!(pem.trim_end().ends_with("-----END PUBLIC KEY-----"));
    assert_eq!(rsa_key(pem).key_size_bits(), 2048);
    // The same key on every call: clients may fetch it once.
    assert_eq!(public_key(&app).await, *data);
}

// ---------------------------------------------------------------------------------------------
// Registration

crate::both_backends! {
    async fn register_with_a_code_then_login_with_the_same_password(app) {
        registered(&app, "13800138000").await;
        let token = logged_in(&app, "13800138000").await;
        let (status, body) = check(&app, &token).await;
        assert_live(status, &body);
        let c = claims(&token);
        assert_eq!(c["phone"], "13800138000");
        assert_eq!(c["terminal"], "PC");
        assert!(c["openid"].is_null(), "{c}");
        // The seed-000 sign-in takes the same password.
        let (status, body) = app.signin("13800138000", PASSWORD).await;
        assert_eq!(status, 200, "{body}");
    }

    async fn register_answers_in_english_when_asked(app) {
        let code = app.code_for("13800138000", Some("signup")).await;
        let wi = word_info(&app, PASSWORD).await;
        let (status, body) = send(
            &app,
            Method::POST,
            "/users/register",
            &[("word-info", &wi), ("accept-language", "en")],
            Some(json!({ "phone": "13800138000", "verify_code": code })),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["message"], "Registered successfully!");
        assert!(body["data"].is_null());
    }

    async fn register_and_login_take_form_bodies_too(app) {
        let code = app.code_for("13800138000", Some("signup")).await;
        let wi = word_info(&app, PASSWORD).await;
        let res = app
            .client
            .post(app.url("/users/register"))
            .header("word-info", &wi)
            .form(&[("phone", "13800138000"), ("verify_code", code.as_str())])
            .send()
            .await
            .unwrap();
        let (status, body) = into_parts(res).await;
        assert_eq!(status, 200, "{body}");
        let res = app
            .client
            .post(app.url("/users/login"))
            .header("word-info", &wi)
            .form(&[("phone", "13800138000")])
            .send()
            .await
            .unwrap();
        let (status, body) = into_parts(res).await;
        token_of(status, &body);
    }

    async fn register_needs_a_right_code_unless_registration_without_code_is_on(app) {
        let wi = word_info(&app, PASSWORD).await;
        let (status, body) = register(&app, "13800138000", &wi, None).await;
        assert_error(status, &body, 400, "invalid_params");
        assert!(body["data"]["fields"]["verify_code"].is_string(), "{body}");

        let code = app.code_for("13800138000", Some("signup")).await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let (status, body) = register(&app, "13800138000", &wi, Some(wrong)).await;
        assert_error(status, &body, 400, "verify_code_invalid");

        // Nothing was created.
        let (status, body) = login(&app, "13800138000", &wi).await;
        assert_error(status, &body, 401, "credentials_invalid");
        assert_eq!(app.count_rows().await.0, 0);
    }

    async fn an_already_registered_phone_is_account_exists(app) {
        registered(&app, "13800138000").await;
        for phone in ["13800138000", "+8613800138000"] {
            let code = app.code_for(phone, Some("signup")).await;
            let wi = word_info(&app, "Another-Horse-43").await;
            let (status, body) = register(&app, phone, &wi, Some(&code)).await;
            assert_error(status, &body, 409, "account_exists");
        }
        // A seed-000 account is the same phone book.
        app.signup("13900139000").await;
        let code = app.code_for("13900139000", Some("signup")).await;
        let wi = word_info(&app, PASSWORD).await;
        let (status, body) = register(&app, "13900139000", &wi, Some(&code)).await;
        assert_error(status, &body, 409, "account_exists");
        // The first password still works; the second never took.
        logged_in(&app, "13800138000").await;
        let wi = word_info(&app, "Another-Horse-43").await;
        let (status, body) = login(&app, "13800138000", &wi).await;
        assert_error(status, &body, 401, "credentials_invalid");
    }

    async fn weak_passwords_are_password_weak(app) {
        let long = "L".repeat(73);
        for weak in ["Short-1", "12345678", "password123", "13800138000", long.as_str()] {
            let code = app.code_for("13800138000", Some("signup")).await;
            let wi = word_info(&app, weak).await;
            let (status, body) = register(&app, "13800138000", &wi, Some(&code)).await;
            assert_error(status, &body, 400, "password_weak");
        }
        assert_eq!(app.count_rows().await.0, 0);
    }

    async fn missing_or_empty_phone_or_word_info_is_invalid_params(app) {
        let code = app.code_for("13800138000", Some("signup")).await;
        let wi = word_info(&app, PASSWORD).await;
        let (status, body) = send(
            &app,
            Method::POST,
            "/users/register",
            &[("word-info", &wi)],
            Some(json!({ "verify_code": code })),
        )
        .await;
        assert_error(status, &body, 400, "invalid_params");
        assert!(body["data"]["fields"]["phone"].is_string(), "{body}");
        let (status, body) = send(
            &app,
            Method::POST,
            "/users/register",
            &[],
            Some(json!({ "phone": "13800138000", "verify_code": code })),
        )
        .await;
        assert_error(status, &body, 400, "invalid_params");
        assert!(body["data"]["fields"]["word-info"].is_string(), "{body}");
        // Empty counts as absent; HTTP drops a header value's surrounding spaces.
        for blank in ["", "   "] {
            let (status, body) = register(&app, "13800138000", blank, Some(&code)).await;
            assert_error(status, &body, 400, "invalid_params");
            assert!(body["data"]["fields"]["word-info"].is_string(), "{body}");
        }
        let (status, body) = register(&app, "", &wi, Some(&code)).await;
        assert_error(status, &body, 400, "invalid_params");
        assert!(body["data"]["fields"]["phone"].is_string(), "{body}");

        let (status, body) = send(&app, Method::POST, "/users/login", &[("word-info", &wi)], Some(json!({}))).await;
        assert_error(status, &body, 400, "invalid_params");
        let (status, body) = send(
            &app,
            Method::POST,
            "/users/login",
            &[],
            Some(json!({ "phone": "13800138000" })),
        )
        .await;
        assert_error(status, &body, 400, "invalid_params");
        assert_eq!(app.count_rows().await.0, 0);
    }
}

async fn open_registration(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, |f| f.merge(("register_without_code", true))).await
}

crate::both_backends_with! {
    open_registration;

    async fn with_register_without_code_a_phone_registers_without_a_code(app) {
        let wi = word_info(&app, PASSWORD).await;
        let (status, body) = register(&app, "13800138000", &wi, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["message"], "恭喜，注册成功！");
        assert!(body["data"].is_null());
        assert_eq!(app.sms.count(), 0, "no code was needed");
        let token = logged_in(&app, "13800138000").await;
        let (status, body) = check(&app, &token).await;
        assert_live(status, &body);
        let (status, body) = register(&app, "13800138000", &wi, None).await;
        assert_error(status, &body, 409, "account_exists");
    }
}

// ---------------------------------------------------------------------------------------------
// word-info decoding

crate::both_backends! {
    async fn word_info_accepts_standard_url_safe_and_unpadded_base64(app) {
        // A ciphertext whose standard base64 has `+` or `/`, so the URL-safe form differs.
        let ct = loop {
            let ct = sealed(&app, PASSWORD).await;
            let s = STANDARD.encode(&ct);
            if s.contains('+') || s.contains('/') {
                break ct;
            }
        };
        let code = app.code_for("13800138000", Some("signup")).await;
        let (status, body) = register(&app, "13800138000", &URL_SAFE_NO_PAD.encode(&ct), Some(&code)).await;
        assert_eq!(status, 200, "URL-safe without padding: {body}");
        for (what, wi) in [
            ("standard", STANDARD.encode(&ct)),
            ("standard without padding", STANDARD_NO_PAD.encode(&ct)),
            ("URL-safe", URL_SAFE.encode(&ct)),
            ("URL-safe without padding", URL_SAFE_NO_PAD.encode(&ct)),
            ("surrounding spaces", format!("  {}  ", STANDARD.encode(&ct))),
        ] {
            let (status, body) = login(&app, "13800138000", &wi).await;
            assert_eq!(status, 200, "{what}: {body}");
        }
    }

    async fn word_info_that_does_not_decrypt_is_word_info_invalid(app) {
        registered(&app, "13800138000").await;
        let good = sealed(&app, PASSWORD).await;
        let server_key = rsa_key(&pem(&app).await);
        let other_key = PrivateDecryptingKey::generate(KeySize::Rsa2048).unwrap().public_key();
        let pkcs1 = {
            let k = Pkcs1PublicEncryptingKey::new(server_key.clone()).unwrap();
            let mut out = vec![0; k.ciphertext_size()];
            k.encrypt(PASSWORD.as_bytes(), &mut out).unwrap().to_vec()
        };
        let mut flipped = good.clone();
        flipped[100] ^= 0x01;
        let cases = [
            ("garbage text", "hello".to_owned()),
            ("not base64", "%%% not base64 !!!".to_owned()),
            ("truncated ciphertext", STANDARD.encode(&good[..good.len() - 16])),
            ("truncated base64", STANDARD.encode(&good)[..200].to_owned()),
            ("one bit flipped", STANDARD.encode(&flipped)),
            ("random bytes", STANDARD.encode([0x5au8; 256])),
            ("twice as long", STANDARD.encode([good.clone(), good.clone()].concat())),
            ("under another key", STANDARD.encode(seal(other_key, &OAEP_SHA256_MGF1SHA256, PASSWORD.as_bytes()))),
            ("OAEP with SHA-1", STANDARD.encode(seal(server_key, &OAEP_SHA1_MGF1SHA1, PASSWORD.as_bytes()))),
            ("PKCS#1 v1.5 padding", STANDARD.encode(&pkcs1)),
            ("the password in the clear", PASSWORD.to_owned()),
        ];
        for (i, (what, wi)) in cases.iter().enumerate() {
            let (status, body) = login(&app, "13800138000", wi).await;
            assert_eq!(status, 400, "login, {what}: {body}");
            assert_error(status, &body, 400, "word_info_invalid");
            // A number gets 10 codes a day: one number per case.
            let phone = format!("1390013{i:04}");
            let code = app.code_for(&phone, Some("signup")).await;
            let (status, body) = register(&app, &phone, wi, Some(&code)).await;
            assert_eq!(status, 400, "register, {what}: {body}");
            assert_error(status, &body, 400, "word_info_invalid");
        }
        assert_eq!(app.count_rows().await.0, 1, "no account from undecryptable word-info");
    }
}

// ---------------------------------------------------------------------------------------------
// Login by phone

crate::both_backends! {
    async fn login_with_a_wrong_password_is_credentials_invalid(app) {
        registered(&app, "13800138000").await;
        let wi = word_info(&app, "Wrong-Horse-41").await;
        let (s1, b1) = login(&app, "13800138000", &wi).await;
        assert_error(s1, &b1, 401, "credentials_invalid");
        let (s2, b2) = login(&app, "13900139000", &wi).await;
        assert_error(s2, &b2, 401, "credentials_invalid");
        assert_eq!(b1["message"], b2["message"], "an unknown phone looks like a wrong password");
    }

    async fn the_token_carries_the_terminal_and_the_user_agent(app) {
        registered(&app, "13800138000").await;
        let token = logged_in(&app, "13800138000").await;
        let c = claims(&token);
        assert_eq!(c["terminal"], "PC", "pc is the default");
        assert_eq!(c["userAgent"], UA);
        assert_eq!(c["sub"], c["id"]);
        for claim in ["iss", "sid", "jti"] {
            assert!(c[claim].is_string(), "{claim}: {c}");
        }
        let iat = c["iat"].as_i64().unwrap();
        let exp = c["exp"].as_i64().unwrap();
        assert_eq!(exp - iat, 86_400, "{c}");
        assert_eq!(c["delayTime"].as_i64().unwrap() - exp, 7_200, "{c}");

        for terminal in ["management", "pc", "mobile", "app", "wechat"] {
            let token = logged_in_on(&app, "13800138000", terminal).await;
            assert_eq!(claims(&token)["terminal"], terminal.to_ascii_uppercase());
        }
        // As a body parameter, and with another User-Agent.
        let wi = word_info(&app, PASSWORD).await;
        let res = app
            .client
            .post(app.url("/users/login"))
            .header("word-info", &wi)
            .header("user-agent", "MiniApp/2.0")
            .json(&json!({ "phone": "13800138000", "terminal": "app" }))
            .send()
            .await
            .unwrap();
        let (status, body) = into_parts(res).await;
        let c = claims(&token_of(status, &body));
        assert_eq!(c["terminal"], "APP");
        assert_eq!(c["userAgent"], "MiniApp/2.0");

        let (status, body) = send(
            &app,
            Method::POST,
            "/users/login",
            &[("word-info", &wi), ("terminal", "tv")],
            Some(json!({ "phone": "13800138000" })),
        )
        .await;
        assert_error(status, &body, 400, "invalid_params");
    }

    async fn each_login_is_its_own_session(app) {
        registered(&app, "13800138000").await;
        let a = logged_in(&app, "13800138000").await;
        let b = logged_in(&app, "13800138000").await;
        assert_ne!(claims(&a)["sid"], claims(&b)["sid"]);
    }
}

// ---------------------------------------------------------------------------------------------
// Refresh and exit

crate::both_backends! {
    async fn refresh_gives_a_new_token_in_the_same_session_and_revokes_the_old(app) {
        registered(&app, "13800138000").await;
        let t0 = logged_in_on(&app, "13800138000", "mobile").await;
        let t1 = refreshed(&app, &t0).await;
        let (c0, c1) = (claims(&t0), claims(&t1));
        assert_eq!(c1["sid"], c0["sid"]);
        assert_ne!(c1["jti"], c0["jti"]);
        assert_eq!(c1["id"], c0["id"]);
        assert_eq!(c1["terminal"], "MOBILE", "{c1}");
        let (status, body) = check(&app, &t1).await;
        assert_live(status, &body);
        assert_eq!(body["data"]["sid"], c0["sid"]);
        assert_token_fails(&app, &t0, "token_revoked").await;

        // The old token may also come in the `token` header.
        let (status, body) = send(&app, Method::GET, "/users/token/refresh", &[("token", &t1)], None).await;
        let t2 = token_of(status, &body);
        assert_eq!(claims(&t2)["sid"], c0["sid"]);
        assert_token_fails(&app, &t1, "token_revoked").await;
        let (status, body) = check(&app, &t2).await;
        assert_live(status, &body);
        let (status, body) = get_bearer(&app, "/users/info/self", &t2).await;
        assert_eq!(status, 200, "{body}");
    }

    async fn refresh_without_a_usable_token_is_refused(app) {
        let (status, body) = send(&app, Method::GET, "/users/token/refresh", &[], None).await;
        assert_error(status, &body, 401, "token_missing");
        let (status, body) = refresh(&app, "not.a.token").await;
        assert_error(status, &body, 401, "token_invalid");
    }

    async fn exit_signs_the_token_out_and_leaves_other_sessions(app) {
        registered(&app, "13800138000").await;
        let out = logged_in(&app, "13800138000").await;
        let other = logged_in(&app, "13800138000").await;
        let (status, body) = get_bearer(&app, "/users/exit", &out).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"], "已退出");
        assert_token_fails(&app, &out, "token_revoked").await;
        let (status, body) = get_bearer(&app, "/users/info/self", &out).await;
        assert_error(status, &body, 401, "token_revoked");
        let (status, body) = check(&app, &other).await;
        assert_live(status, &body);
        // With the `token` header.
        let (status, body) = send(&app, Method::GET, "/users/exit", &[("token", &other)], None).await;
        assert_eq!(status, 200, "{body}");
        assert_token_fails(&app, &other, "token_revoked").await;
    }

    async fn a_signed_out_token_cannot_be_refreshed(app) {
        registered(&app, "13800138000").await;
        let token = logged_in(&app, "13800138000").await;
        let (status, _) = get_bearer(&app, "/users/exit", &token).await;
        assert_eq!(status, 200);
        let (status, body) = refresh(&app, &token).await;
        assert_error(status, &body, 401, "token_revoked");
        // Nor after the seed-000 sign-out.
        let token = logged_in(&app, "13800138000").await;
        let (status, _) = app.send_with_token(Method::PATCH, "/users/signout", &token, json!({})).await;
        assert_eq!(status, 200);
        let (status, body) = refresh(&app, &token).await;
        assert_error(status, &body, 401, "token_revoked");
    }
}

async fn short_tokens() -> TestApp {
    TestApp::spawn_with(Backend::Sqlite, |f| {
        f.merge(("token_ttl_secs", 2))
            .merge(("refresh_grace_secs", 3))
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_can_be_refreshed_until_its_delay_time() {
    let app = short_tokens().await;
    registered(&app, "13800138000").await;
    let t0 = logged_in(&app, "13800138000").await;
    let c0 = claims(&t0);
    let exp = c0["exp"].as_i64().unwrap();
    assert_eq!(exp - c0["iat"].as_i64().unwrap(), 2);
    assert_eq!(c0["delayTime"].as_i64().unwrap() - exp, 3);
    // Before exp.
    let t1 = refreshed(&app, &t0).await;
    // Between exp and delayTime: expired for use, still good for a refresh.
    let c1 = claims(&t1);
    sleep_until_epoch(c1["exp"].as_f64().unwrap() + 1.0).await;
    assert!(now_secs() < c1["delayTime"].as_f64().unwrap());
    assert_token_fails(&app, &t1, "token_expired").await;
    let t2 = refreshed(&app, &t1).await;
    assert_eq!(claims(&t2)["sid"], c0["sid"]);
    let (status, body) = check(&app, &t2).await;
    assert_live(status, &body);
    // The replaced token, presented again inside its window, is theft there too.
    let (status, body) = refresh(&app, &t1).await;
    assert_error(status, &body, 401, "token_revoked");
    assert_token_fails(&app, &t2, "token_revoked").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_delay_time_refresh_is_refresh_window_passed() {
    let app = short_tokens().await;
    registered(&app, "13800138000").await;
    let token = logged_in(&app, "13800138000").await;
    sleep_until_epoch(claims(&token)["delayTime"].as_f64().unwrap() + 1.0).await;
    let (status, body) = refresh(&app, &token).await;
    assert_error(status, &body, 401, "refresh_window_passed");
}

/// A partner's back-channel logout endpoint: records each `logout_token`.
struct LogoutReceiver {
    url: String,
    tokens: Arc<Mutex<Vec<String>>>,
}

impl LogoutReceiver {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let tokens: Arc<Mutex<Vec<String>>> = Arc::default();
        let store = tokens.clone();
        let server = actix_web::HttpServer::new(move || {
            let store = store.clone();
            actix_web::App::new().default_service(web::to(
                move |form: web::Form<Vec<(String, String)>>| {
                    let store = store.clone();
                    async move {
                        if let Some((_, t)) = form.iter().find(|(k, _)| k == "logout_token") {
                            store.lock().unwrap().push(t.clone());
                        }
                        HttpResponse::Ok().finish()
                    }
                },
            ))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        LogoutReceiver {
            url: format!("http://127.0.0.1:{port}/backchannel-logout"),
            tokens,
        }
    }

    async fn wait_for_one(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(t) = self.tokens.lock().unwrap().first() {
                return t.clone();
            }
            assert!(Instant::now() < deadline, "no back-channel logout arrived");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn fast_logout(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, |f| {
        f.merge(("logout_retry_base_ms", 100))
            .merge(("logout_poll_ms", 50))
    })
    .await
}

crate::both_backends_with! {
    fast_logout;

    async fn refreshing_an_already_refreshed_token_ends_the_whole_session(app) {
        // An operator registers a partner with a back-channel logout URL.
        let (admin, _) = app.user("13700137000").await;
        app.make_admin(admin["id"].as_str().unwrap()).await;
        let admin_token = app.token("13700137000").await;
        let partner = LogoutReceiver::start();
        let (status, body) = app
            .send_with_token(
                Method::POST,
                "/admin/api/clients",
                &admin_token,
                json!({ "name": "Shop", "callbacks": ["https://shop.example/cb"], "logout_url": partner.url, "mode": "token" }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let client_id = body["data"]["client_id"].as_str().unwrap().to_owned();

        registered(&app, "13800138000").await;
        let bystander = logged_in(&app, "13800138000").await;
        let (captcha_id, answer) = app.captcha().await;
        let (status, body) = app
            .post(
                "/users/signin",
                json!({ "number": "13800138000", "pwd": PASSWORD, "captcha_id": captcha_id,
                        "client_code": answer, "callback_url": "https://shop.example/cb" }),
            )
            .await;
        let stolen = token_of(status, &body);
        let sid = claims(&stolen)["sid"].clone();

        let fresh = refreshed(&app, &stolen).await;
        assert_eq!(claims(&fresh)["sid"], sid);
        assert!(partner.tokens.lock().unwrap().is_empty(), "a normal refresh ends nothing");
        // The thief (or the victim) presents the replaced token again.
        let (status, body) = refresh(&app, &stolen).await;
        assert_error(status, &body, 401, "token_revoked");
        assert_token_fails(&app, &fresh, "token_revoked").await;
        let (status, body) = refresh(&app, &fresh).await;
        assert_error(status, &body, 401, "token_revoked");

        let logout = claims(&partner.wait_for_one().await);
        assert_eq!(logout["sid"], sid);
        assert_eq!(logout["aud"], client_id.as_str());
        // Only that session ended.
        let (status, body) = check(&app, &bystander).await;
        assert_live(status, &body);
    }
}

// ---------------------------------------------------------------------------------------------
// User info

crate::both_backends! {
    async fn info_self_has_the_seed_shape_for_phone_users(app) {
        registered(&app, "13800138000").await;
        let token = logged_in(&app, "13800138000").await;
        let (status, body) = get_bearer(&app, "/users/info/self", &token).await;
        assert_eq!(status, 200, "{body}");
        let data = &body["data"];
        assert_eq!(keys(data), sorted(SELF_KEYS), "{data}");
        assert_eq!(data["id"], claims(&token)["id"]);
        assert_eq!(data["phone"], "13800138000");
        assert!(data["openid"].is_null());
        assert!(!body.to_string().contains("$2"), "a bcrypt hash leaked: {body}");
        // With the `token` header too.
        let (status, again) = send(&app, Method::GET, "/users/info/self", &[("token", &token)], None).await;
        assert_eq!(status, 200);
        assert_eq!(again["data"], *data);

        let (status, body) = send(&app, Method::GET, "/users/info/self", &[], None).await;
        assert_error(status, &body, 401, "token_missing");
    }

    async fn info_of_another_user_is_limited_unless_self_or_admin(app) {
        registered(&app, "13800138000").await;
        registered(&app, "13900139000").await;
        let alice = logged_in(&app, "13800138000").await;
        let bob = logged_in(&app, "13900139000").await;
        let bob_id = claims(&bob)["id"].as_str().unwrap().to_owned();
        let path = format!("/users/info/{bob_id}");

        let (status, body) = get_bearer(&app, &path, &bob).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(keys(&body["data"]), sorted(SELF_KEYS), "self: {body}");
        assert_eq!(body["data"]["phone"], "13900139000");

        let (status, body) = get_bearer(&app, &path, &alice).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(keys(&body["data"]), sorted(OTHERS_KEYS), "another user: {body}");
        assert_eq!(body["data"]["id"], bob_id.as_str());
        assert!(!body.to_string().contains("13900139000"));

        let alice_id = claims(&alice)["id"].as_str().unwrap().to_owned();
        app.make_admin(&alice_id).await;
        let (status, body) = get_bearer(&app, &path, &alice).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(keys(&body["data"]), sorted(SELF_KEYS), "admin: {body}");
        assert_eq!(body["data"]["phone"], "13900139000");

        for unknown in [
            "/users/info/00000000-0000-4000-8000-000000000000".to_owned(),
            "/users/info/not-a-uuid".to_owned(),
            format!("/users/info/{bob_id}x"),
        ] {
            let (status, body) = get_bearer(&app, &unknown, &alice).await;
            assert_error(status, &body, 404, "not_found");
        }
        let (status, body) = send(&app, Method::GET, &path, &[], None).await;
        assert_error(status, &body, 401, "token_missing");
    }
}

// ---------------------------------------------------------------------------------------------
// One session per terminal

async fn mobile_single_session(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, |f| f.merge(("single_session_terminals", "mobile"))).await
}

crate::both_backends_with! {
    mobile_single_session;

    async fn a_new_sign_in_on_a_single_session_terminal_ends_the_older_one_there(app) {
        registered(&app, "13800138000").await;
        registered(&app, "13900139000").await;
        let m1 = logged_in_on(&app, "13800138000", "mobile").await;
        let p1 = logged_in_on(&app, "13800138000", "pc").await;
        let a1 = logged_in_on(&app, "13800138000", "app").await;
        let other_user = logged_in_on(&app, "13900139000", "mobile").await;
        // A refresh stays in its session and ends nothing.
        let m1 = refreshed(&app, &m1).await;

        let m2 = logged_in_on(&app, "13800138000", "mobile").await;
        assert_token_fails(&app, &m1, "token_revoked").await;
        for live in [&m2, &p1, &a1, &other_user] {
            let (status, body) = check(&app, live).await;
            assert_live(status, &body);
        }
        // Terminals not listed keep several sessions.
        let p2 = logged_in_on(&app, "13800138000", "pc").await;
        for live in [&p1, &p2] {
            let (status, body) = check(&app, live).await;
            assert_live(status, &body);
        }
        // The seed-000 sign-in on that terminal counts as a sign-in too.
        let (captcha_id, answer) = app.captcha().await;
        let (status, body) = app
            .post(
                "/users/signin",
                json!({ "number": "13800138000", "pwd": PASSWORD, "captcha_id": captcha_id,
                        "client_code": answer, "terminal": "mobile" }),
            )
            .await;
        let m3 = token_of(status, &body);
        assert_eq!(claims(&m3)["terminal"], "MOBILE");
        assert_token_fails(&app, &m2, "token_revoked").await;
        let (status, body) = check(&app, &m3).await;
        assert_live(status, &body);
    }
}

// ---------------------------------------------------------------------------------------------
// WeChat mini-program login

/// A stand-in for `api.weixin.qq.com`'s `jscode2session`: WeChat's JSON (served as
/// `text/plain`, as WeChat does), every query recorded.
struct WeChat {
    base: String,
    calls: Arc<Mutex<Vec<HashMap<String, String>>>>,
}

async fn jscode2session(
    query: web::Query<HashMap<String, String>>,
    calls: web::Data<Mutex<Vec<HashMap<String, String>>>>,
) -> HttpResponse {
    let q = query.into_inner();
    calls.lock().unwrap().push(q.clone());
    let param = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let answer = if param("appid") != "wx-test" {
        json!({ "errcode": 40013, "errmsg": "invalid appid" })
    } else if param("secret") != "s3cret" {
        json!({ "errcode": 40125, "errmsg": "invalid appsecret" })
    } else if param("grant_type") != "authorization_code" {
        json!({ "errcode": 40002, "errmsg": "invalid grant_type" })
    } else {
        match param("js_code") {
            "ok-1" => json!({ "openid": "o-1", "session_key": "sk-secret-1" }),
            "union-2" => json!({ "openid": "o-2", "session_key": "sk-secret-2", "unionid": "u-2" }),
            "zero-3" => {
                json!({ "openid": "o-3", "session_key": "sk-secret-3", "errcode": 0, "errmsg": "ok" })
            }
            "limit" => json!({ "errcode": 45011, "errmsg": "api minute-quota reach limit" }),
            "busy" => json!({ "errcode": -1, "errmsg": "system error" }),
            "hang" => {
                tokio::time::sleep(Duration::from_secs(8)).await;
                json!({ "openid": "o-hang", "session_key": "sk-secret-hang" })
            }
            _ => json!({ "errcode": 40029, "errmsg": "invalid code" }),
        }
    };
    HttpResponse::Ok()
        .content_type("text/plain")
        .body(answer.to_string())
}

impl WeChat {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let calls = web::Data::new(Mutex::new(Vec::new()));
        let shared = calls.clone();
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .app_data(shared.clone())
                .route("/sns/jscode2session", web::get().to(jscode2session))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        WeChat {
            base: format!("http://127.0.0.1:{port}"),
            calls: calls.into_inner(),
        }
    }

    fn calls(&self) -> Vec<HashMap<String, String>> {
        self.calls.lock().unwrap().clone()
    }
}

async fn wechat_app(backend: Backend, wx: &WeChat) -> Option<TestApp> {
    let base = wx.base.clone();
    TestApp::spawn_with(backend, move |f| {
        f.merge(("wechat_appid", "wx-test"))
            .merge(("wechat_secret", "s3cret"))
            .merge(("wechat_api_base", base))
    })
    .await
}

async fn wechat_login(app: &TestApp, body: Value) -> (u16, Value) {
    send(app, Method::POST, "/users/login", &[], Some(body)).await
}

/// Like `both_backends!`, each scenario getting a server wired to its own WeChat stand-in.
macro_rules! with_wechat {
    ($(async fn $name:ident($app:ident, $wx:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                async fn scenario($app: TestApp, $wx: WeChat) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let wx = WeChat::start();
                    let app = wechat_app(Backend::Sqlite, &wx).await.unwrap();
                    scenario(app, wx).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let wx = WeChat::start();
                    if let Some(app) = wechat_app(Backend::Postgres, &wx).await {
                        scenario(app, wx).await;
                    }
                }
            }
        )*
    };
}

with_wechat! {
    async fn the_first_wechat_login_creates_the_account_and_later_ones_update_it(app, wx) {
        let mut seen = Vec::new();
        let profile = json!({
            "code": "ok-1",
            "avatarUrl": "https://thirdwx.qlogo.cn/mmopen/vi_32/abc/132",
            "nickName": "零陵上将军",
            "country": "China",
            "province": "Guangdong",
            "city": "Shenzhen",
            "language": "zh_CN",
        });
        let (status, body) = wechat_login(&app, profile.clone()).await;
        seen.push(body.to_string());
        let first = token_of(status, &body);
        let c = claims(&first);
        assert_eq!(c["terminal"], "WECHAT");
        assert_eq!(c["openid"], "o-1");
        assert_eq!(app.count_rows().await.0, 1);

        let calls = wx.calls();
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert_eq!(calls[0]["appid"], "wx-test");
        assert_eq!(calls[0]["secret"], "s3cret");
        assert_eq!(calls[0]["js_code"], "ok-1");
        assert_eq!(calls[0]["grant_type"], "authorization_code");

        let (status, body) = get_bearer(&app, "/users/info/self", &first).await;
        seen.push(body.to_string());
        assert_eq!(status, 200, "{body}");
        let data = &body["data"];
        assert_eq!(keys(data), wechat_user_keys(), "{data}");
        assert_eq!(data["id"], c["id"]);
        assert_eq!(data["openid"], "o-1");
        for k in WECHAT_KEYS {
            assert_eq!(data[*k], profile[*k], "{k}: {data}");
        }

        // The same openid again, with a new nickname: the same account, updated.
        let (status, body) = wechat_login(&app, json!({ "code": "ok-1", "nickName": "新昵称" })).await;
        seen.push(body.to_string());
        let second = token_of(status, &body);
        assert_eq!(claims(&second)["id"], c["id"]);
        assert_ne!(claims(&second)["sid"], c["sid"]);
        assert_eq!(app.count_rows().await.0, 1);
        let (status, body) = get_bearer(&app, "/users/info/self", &second).await;
        seen.push(body.to_string());
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["nickName"], "新昵称");
        assert_eq!(body["data"]["city"], "Shenzhen", "fields not sent are kept: {body}");

        // Other ways of reading the account, none of which may show the session key.
        let id = c["id"].as_str().unwrap();
        for path in [format!("/users/info/{id}"), "/users/token".to_owned(), format!("/users/{id}"), "/token".to_owned()] {
            let (status, body) = get_bearer(&app, &path, &second).await;
            assert_eq!(status, 200, "{path}: {body}");
            seen.push(body.to_string());
        }
        let (status, body) = refresh(&app, &second).await;
        let third = token_of(status, &body);
        seen.push(body.to_string());
        assert_eq!(claims(&third)["openid"], "o-1");
        for body in &seen {
            assert!(!body.contains("sk-secret") && !body.contains("session_key"), "session_key leaked: {body}");
        }
    }

    async fn wechat_users_show_their_wechat_fields_to_admins_only(app, wx) {
        let (status, body) = wechat_login(&app, json!({ "code": "union-2", "nickName": "小程序用户" })).await;
        let wechat = token_of(status, &body);
        assert_eq!(claims(&wechat)["openid"], "o-2");
        assert_eq!(wx.calls().len(), 1);
        let id = claims(&wechat)["id"].as_str().unwrap().to_owned();
        let path = format!("/users/info/{id}");

        registered(&app, "13800138000").await;
        let phone_user = logged_in(&app, "13800138000").await;
        let (status, body) = get_bearer(&app, &path, &phone_user).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(keys(&body["data"]), sorted(OTHERS_KEYS), "{body}");

        app.make_admin(claims(&phone_user)["id"].as_str().unwrap()).await;
        let (status, body) = get_bearer(&app, &path, &phone_user).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(keys(&body["data"]), wechat_user_keys(), "{body}");
        assert_eq!(body["data"]["nickName"], "小程序用户");
        assert!(!body.to_string().contains("sk-secret"));

        // errcode 0 is success.
        let (status, body) = wechat_login(&app, json!({ "code": "zero-3" })).await;
        assert_eq!(claims(&token_of(status, &body))["openid"], "o-3");
    }

    async fn wechat_errors_are_wechat_code_invalid_or_unavailable_and_create_nothing(app, wx) {
        for (code, status_want, reason) in [
            ("bad", 401, "wechat_code_invalid"),
            ("limit", 401, "wechat_code_invalid"),
            ("busy", 503, "unavailable"),
        ] {
            let (status, body) = wechat_login(&app, json!({ "code": code, "nickName": "x" })).await;
            assert_eq!(status, status_want, "{code}: {body}");
            assert_error(status, &body, status_want, reason);
        }
        assert_eq!(wx.calls().len(), 3);
        assert_eq!(app.count_rows().await, (0, 0));
        let (status, body) = wechat_login(&app, json!({})).await;
        assert_error(status, &body, 400, "invalid_params");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wechat_that_does_not_answer_is_unavailable_within_six_seconds() {
    let wx = WeChat::start();
    let app = wechat_app(Backend::Sqlite, &wx).await.unwrap();
    let started = Instant::now();
    let (status, body) = wechat_login(&app, json!({ "code": "hang" })).await;
    let took = started.elapsed();
    assert_error(status, &body, 503, "unavailable");
    assert!(
        took < Duration::from_millis(6_500),
        "answered after {took:?}"
    );
    assert_eq!(wx.calls().len(), 1);
    assert_eq!(app.count_rows().await, (0, 0));
}

// ---------------------------------------------------------------------------------------------
// Interoperability: word-info from independent implementations

/// Whether a tool runs (`probe` exits 0). Missing tools fail the run under
/// `GATEHOUSE_TEST_REQUIRE_ALL=1` and are skipped otherwise.
fn available(what: &str, program: &str, probe: &[&str]) -> bool {
    let ok = std::process::Command::new(program)
        .args(probe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            !require_all(),
            "GATEHOUSE_TEST_REQUIRE_ALL=1 but {what} is not available"
        );
        eprintln!("skipping: {what} is not available");
    }
    ok
}

/// Runs a program with `stdin`, returning its trimmed stdout; fails on a non-zero exit.
async fn run(program: &str, args: &[&str], stdin: &[u8]) -> String {
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).await.unwrap();
    drop(input);
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{program} took over 120 s"))
        .unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Registers `phone` with `register_wi` and logs in with `login_wi`, both sealing
/// [`UTF8_PASSWORD`]; then checks the password really is that one.
async fn register_and_login(app: &TestApp, phone: &str, register_wi: &str, login_wi: &str) {
    let code = app.code_for(phone, Some("signup")).await;
    let (status, body) = register(app, phone, register_wi, Some(&code)).await;
    assert_eq!(status, 200, "register: {body}");
    let (status, body) = login(app, phone, login_wi).await;
    let token = token_of(status, &body);
    let (status, body) = check(app, &token).await;
    assert_live(status, &body);
    // Same password, sealed here: the server decrypted the other tool's UTF-8 bytes exactly.
    let wi = word_info(app, UTF8_PASSWORD).await;
    let (status, body) = login(app, phone, &wi).await;
    token_of(status, &body);
}

async fn pem_file(app: &TestApp) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key.pem");
    std::fs::write(&path, pem(app).await).unwrap();
    (dir, path.to_string_lossy().into_owned())
}

const OPENSSL_SEAL: &str = r#"openssl pkeyutl -encrypt -pubin -inkey "$1" \
  -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:"$2" | base64 -w0"#;

async fn openssl_word_info(key: &str, mgf1: &str, password: &str) -> String {
    run(
        "sh",
        &["-c", OPENSSL_SEAL, "sh", key, mgf1],
        password.as_bytes(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn word_info_from_the_openssl_cli_registers_and_logs_in() {
    if !available("the openssl CLI", "openssl", &["version"])
        || !available("base64 (coreutils)", "base64", &["--version"])
    {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (_dir, key) = pem_file(&app).await;
    let first = openssl_word_info(&key, "sha256", UTF8_PASSWORD).await;
    let second = openssl_word_info(&key, "sha256", UTF8_PASSWORD).await;
    assert_ne!(first, second, "OAEP is randomised");
    register_and_login(&app, "13800138000", &first, &second).await;

    // Java's default for OAEPWithSHA-256AndMGF1Padding (MGF1 with SHA-1) is refused.
    let java_default = openssl_word_info(&key, "sha1", UTF8_PASSWORD).await;
    let (status, body) = login(&app, "13800138000", &java_default).await;
    assert_error(status, &body, 400, "word_info_invalid");
}

const PYTHON_SEAL: &str = r#"
import base64, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

with open(sys.argv[1], "rb") as f:
    key = serialization.load_pem_public_key(f.read())
sealed = key.encrypt(
    sys.stdin.buffer.read(),
    padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
)
print(base64.b64encode(sealed).decode("ascii"))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn word_info_from_python_cryptography_registers_and_logs_in() {
    if !available(
        "python3 with the cryptography package",
        "python3",
        &[
            "-c",
            "import cryptography.hazmat.primitives.asymmetric.padding",
        ],
    ) {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (_dir, key) = pem_file(&app).await;
    let first = run(
        "python3",
        &["-c", PYTHON_SEAL, key.as_str()],
        UTF8_PASSWORD.as_bytes(),
    )
    .await;
    let second = run(
        "python3",
        &["-c", PYTHON_SEAL, key.as_str()],
        UTF8_PASSWORD.as_bytes(),
    )
    .await;
    register_and_login(&app, "13800138000", &first, &second).await;
}

/// The fenced `lang` block of the README's word-info section.
fn readme_snippet(lang: &str) -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let title = "## For app developers: word-info";
    let start = readme
        .find(title)
        .expect("the README has no word-info section");
    let section = &readme[start + title.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let fence = format!("```{lang}\n");
    let body = &section[section
        .find(&fence)
        .unwrap_or_else(|| panic!("no {lang} block in the word-info section"))
        + fence.len()..];
    body[..body.find("\n```").unwrap()].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_java_snippet_registers_and_logs_in() {
    if !available("javac (a JDK)", "javac", &["-version"])
        || !available("java", "java", &["-version"])
    {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (dir, key) = pem_file(&app).await;
    let src = dir.path().join("WordInfo.java");
    std::fs::write(&src, readme_snippet("java")).unwrap();
    let classes = dir.path().to_string_lossy().into_owned();
    run(
        "javac",
        &["-encoding", "UTF-8", "-d", &classes, &src.to_string_lossy()],
        b"",
    )
    .await;
    let mut sealed = Vec::new();
    for _ in 0..2 {
        let args = ["-cp", classes.as_str(), "WordInfo", key.as_str()];
        sealed.push(run("java", &args, UTF8_PASSWORD.as_bytes()).await);
    }
    register_and_login(&app, "13800138000", &sealed[0], &sealed[1]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_javascript_snippet_registers_and_logs_in_with_webcrypto() {
    // Node 19+ has the browser's globals the snippet uses: fetch, crypto.subtle, atob, btoa.
    if !available(
        "node (19 or later)",
        "node",
        &[
            "-e",
            "if (!globalThis.crypto?.subtle || !globalThis.fetch) process.exit(1)",
        ],
    ) {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("word-info.mjs");
    std::fs::write(
        &script,
        format!(
            "{}\n\nconst [mode, gh, phone] = process.argv.slice(2);\n\
             const chunks = [];\nfor await (const c of process.stdin) chunks.push(c);\n\
             const password = Buffer.concat(chunks).toString('utf8');\n\
             console.log(mode === 'login' ? await login(gh, phone, password) : await wordInfo(gh, password));\n",
            readme_snippet("js")
        ),
    )
    .unwrap();
    let script = script.to_string_lossy().into_owned();
    let node_args = |mode| [script.as_str(), mode, app.address.as_str(), "13800138000"];
    let wi = run("node", &node_args("word-info"), UTF8_PASSWORD.as_bytes()).await;
    let code = app.code_for("13800138000", Some("signup")).await;
    let (status, body) = register(&app, "13800138000", &wi, Some(&code)).await;
    assert_eq!(status, 200, "register: {body}");
    // The snippet's own login: it fetches the key, seals and posts.
    let token = run("node", &node_args("login"), UTF8_PASSWORD.as_bytes()).await;
    let (status, body) = check(&app, &token).await;
    assert_live(status, &body);
    let wi = word_info(&app, UTF8_PASSWORD).await;
    let (status, body) = login(&app, "13800138000", &wi).await;
    token_of(status, &body);
}
