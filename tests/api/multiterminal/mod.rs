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
    post_register(app, &[("word-info", word_info)], body).await
}

/// `POST /users/register` with exactly `headers` (beside the user agent) and `body`.
async fn post_register(app: &TestApp, headers: &[(&str, &str)], body: Value) -> (u16, Value) {
    send(app, Method::POST, "/users/register", headers, Some(body)).await
}

/// A signup code for 13800138000 and the word-info of [`PASSWORD`]: what registering it takes.
async fn signup_code_and_word_info(app: &TestApp) -> (String, String) {
    let code = app.code_for("13800138000", Some("signup")).await;
    (code, word_info(app, PASSWORD).await)
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

mod info;
mod interop;
mod registration;
mod sessions;
mod wechat;

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
