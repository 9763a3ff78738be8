//! Bad input, route by route: every parameter missing, empty, of the wrong type and absurdly
//! long; hostile list parameters; forged tokens; callback tricks; replayed captchas and codes;
//! and the envelope itself. Each rejection must be a 4xx envelope with the contract's reason
//! and must leave the database exactly as it was.

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::both_backends;
use crate::helpers::*;

/// "Absurd size": ten thousand bytes where a handful are expected.
const HUGE: usize = 10_000;

/// Every reason the contract defines (section 1).
const REASONS: &[&str] = &[
    "invalid_params",
    "captcha_invalid",
    "verify_code_invalid",
    "credentials_invalid",
    "account_exists",
    "account_not_found",
    "account_disabled",
    "password_weak",
    "token_missing",
    "token_invalid",
    "token_expired",
    "token_revoked",
    "refresh_window_passed",
    "callback_not_registered",
    "client_auth_failed",
    "wechat_code_invalid",
    "word_info_invalid",
    "rate_limited",
    "forbidden",
    "not_found",
    "method_not_allowed",
    "payload_too_large",
    "conflict",
    "unavailable",
    "internal",
];

const CALLBACK: &str = "https://good.example/cb";

fn huge(unit: &str) -> String {
    unit.repeat(HUGE / unit.len())
}

fn huge_url() -> String {
    format!("https://good.example/{}", huge("a"))
}

fn huge_email() -> String {
    format!("{}@example.com", huge("a"))
}

// ---------------------------------------------------------------------------------------------
// Envelope checks
// ---------------------------------------------------------------------------------------------

/// Exactly `code`/`message`/`data`/`total`, `code` equal to the status, never a 5xx, and for
/// failures `data.error` one of the contract's reasons and `total` 0.
#[track_caller]
fn assert_envelope(status: u16, body: &Value, ctx: &str) {
    assert!(
        status < 500,
        "{ctx}: never a 5xx for bad input, got {status} {body}"
    );
    let obj = body
        .as_object()
        .unwrap_or_else(|| panic!("{ctx}: not a JSON object: {body}"));
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "data", "message", "total"], "{ctx}: {body}");
    assert_eq!(
        body["code"], status,
        "{ctx}: code must equal the HTTP status: {body}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{ctx}: {body}"
    );
    assert!(body["total"].is_u64(), "{ctx}: {body}");
    if status >= 400 {
        assert_eq!(body["total"], 0, "{ctx}: {body}");
        let data = body["data"]
            .as_object()
            .unwrap_or_else(|| panic!("{ctx}: failure data must be an object: {body}"));
        let reason = data["error"].as_str().unwrap_or_default();
        assert!(REASONS.contains(&reason), "{ctx}: unknown reason: {body}");
        for key in data.keys() {
            assert!(
                ["error", "fields", "retry_after"].contains(&key.as_str()),
                "{ctx}: unexpected key `{key}` in data: {body}"
            );
        }
        if let Some(fields) = data.get("fields") {
            let fields = fields
                .as_object()
                .unwrap_or_else(|| panic!("{ctx}: {body}"));
            assert!(fields.values().all(Value::is_string), "{ctx}: {body}");
        }
    }
}

/// [`assert_error`] plus the full envelope shape.
#[track_caller]
fn expect_error(status: u16, body: &Value, want_status: u16, reason: &str, ctx: &str) {
    assert_envelope(status, body, ctx);
    assert_eq!(
        (status, body["data"]["error"].as_str()),
        (want_status, Some(reason)),
        "{ctx}: {body}"
    );
}

/// What a bad value must get.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// 400 `invalid_params` whose `data.fields` names the parameter.
    Invalid,
    /// This status and reason.
    Reason(u16, &'static str),
    /// Where the token is the thing being checked (POST /token): 401 `token_missing`, or 400
    /// `invalid_params` naming `token` — both say "missing".
    NoToken,
    /// Something that is not a token: 401 `token_missing` or `token_invalid`.
    NotAToken,
}

#[track_caller]
fn judge(status: u16, body: &Value, want: Want, field: &str, ctx: &str) {
    assert_envelope(status, body, ctx);
    let reason = body["data"]["error"].as_str().unwrap_or_default();
    let names_field = body["data"]["fields"].get(field).is_some();
    let ok = match want {
        Want::Invalid => status == 400 && reason == "invalid_params" && names_field,
        Want::Reason(s, r) => status == s && reason == r,
        Want::NoToken => {
            (status == 401 && reason == "token_missing")
                || (status == 400 && reason == "invalid_params" && names_field)
        }
        Want::NotAToken => status == 401 && matches!(reason, "token_missing" | "token_invalid"),
    };
    assert!(
        ok,
        "{ctx}: wanted {want:?} for `{field}`, got {status} {body}"
    );
}

// ---------------------------------------------------------------------------------------------
// Database snapshot
// ---------------------------------------------------------------------------------------------

/// Every row that a request could change: users (all columns a route writes), sessions (incl.
/// whether they ended) and the partners recorded in them.
async fn snapshot(app: &TestApp) -> Vec<String> {
    app.state
        .db
        .run(|conn| {
            use diesel::prelude::*;
            use gatehouse::db::schema::{session_clients, sessions, users};
            type UserCols = (
                String,
                Option<String>,
                Option<String>,
                Option<String>,
                Option<String>,
                Option<String>,
                String,
                String,
                chrono::NaiveDateTime,
            );
            let mut out: Vec<String> = users::table
                .select((
                    users::id,
                    users::username,
                    users::phone,
                    users::email,
                    users::password_hash,
                    users::head_img,
                    users::role,
                    users::status,
                    users::updated_at,
                ))
                .order(users::id)
                .load::<UserCols>(conn)?
                .into_iter()
                .map(|r| format!("user {r:?}"))
                .collect();
            out.extend(
                sessions::table
                    .select((
                        sessions::id,
                        sessions::user_id,
                        sessions::ended_at,
                        sessions::end_reason,
                    ))
                    .order(sessions::id)
                    .load::<(
                        String,
                        String,
                        Option<chrono::NaiveDateTime>,
                        Option<String>,
                    )>(conn)?
                    .into_iter()
                    .map(|r| format!("session {r:?}")),
            );
            out.extend(
                session_clients::table
                    .select((session_clients::session_id, session_clients::client_id))
                    .order((session_clients::session_id, session_clients::client_id))
                    .load::<(String, String)>(conn)?
                    .into_iter()
                    .map(|r| format!("session_client {r:?}")),
            );
            Ok(out)
        })
        .await
        .unwrap()
}

#[track_caller]
fn assert_unchanged(before: &[String], after: &[String], ctx: &str) {
    assert_eq!(before, after, "{ctx}: the database changed");
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

async fn go(rb: reqwest::RequestBuilder) -> (u16, Value) {
    into_parts(rb.send().await.unwrap()).await
}

fn form_pairs(body: &Map<String, Value>) -> Vec<(String, String)> {
    body.iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), v)
        })
        .collect()
}

fn query(path: &str, pairs: &[(&str, &str)]) -> String {
    format!("{path}?{}", serde_urlencoded::to_string(pairs).unwrap())
}

/// An operator: (user object, token).
async fn admin(app: &TestApp, number: &str) -> (Value, String) {
    let (user, token) = app.user(number).await;
    app.make_admin(user["id"].as_str().unwrap()).await;
    (user, token)
}

// ---------------------------------------------------------------------------------------------
// The parameter matrix
// ---------------------------------------------------------------------------------------------

struct Param {
    name: &'static str,
    /// What a missing or empty value gets; `None` for optional parameters (an empty optional
    /// parameter counts as absent, so it is not an error).
    missing: Option<Want>,
    /// What a JSON number, boolean, object or array gets.
    wrong: Want,
    /// Odd values and what they get; the first is the absurdly long one.
    odd: Vec<(String, Want)>,
}

impl Param {
    fn required(name: &'static str, huge: String, want: Want) -> Self {
        Param {
            name,
            missing: Some(Want::Invalid),
            wrong: Want::Invalid,
            odd: vec![(huge, want)],
        }
    }

    fn optional(name: &'static str, huge: String, want: Want) -> Self {
        Param {
            missing: None,
            ..Param::required(name, huge, want)
        }
    }

    fn token(huge: String) -> Self {
        Param {
            name: "token",
            missing: Some(Want::NoToken),
            wrong: Want::NoToken,
            odd: vec![(huge, Want::Reason(401, "token_invalid"))],
        }
    }

    fn and(mut self, value: &str, want: Want) -> Self {
        self.odd.push((value.to_owned(), want));
        self
    }
}

struct Route {
    method: Method,
    path: &'static str,
    /// Sent as `Authorization: Bearer`.
    token: Option<String>,
    /// Needs a fresh captcha (`captcha_id` + `client_code`) for every request.
    captcha: bool,
    /// A body that succeeds, with [`Route::ok`].
    valid: Value,
    ok: u16,
    params: Vec<Param>,
}

/// A way of presenting a token: (what, header, token parameter, expectation).
type TokenCase = (
    &'static str,
    Option<(&'static str, String)>,
    Option<Value>,
    Want,
);

#[derive(Clone, Copy)]
enum Enc {
    Json,
    Form,
}

async fn fresh_body(app: &TestApp, route: &Route) -> Map<String, Value> {
    let mut body = route.valid.as_object().unwrap().clone();
    if route.captcha {
        let (id, answer) = app.captcha().await;
        body.insert("captcha_id".into(), json!(id));
        body.insert("client_code".into(), json!(answer));
    }
    body
}

async fn send_route(
    app: &TestApp,
    route: &Route,
    body: &Map<String, Value>,
    enc: Enc,
) -> (u16, Value) {
    let mut rb = app
        .client
        .request(route.method.clone(), app.url(route.path));
    if let Some(t) = &route.token {
        rb = rb.bearer_auth(t);
    }
    rb = match enc {
        Enc::Json => rb.json(body),
        Enc::Form => rb.form(&form_pairs(body)),
    };
    go(rb).await
}

/// Sends every bad variant of every parameter of `route`, checks each answer, checks that the
/// database (and the SMS gateway) saw nothing, then proves the valid body does succeed — so
/// each rejection was due to the one bad parameter alone.
async fn exercise(app: &TestApp, route: &Route) {
    let label = format!("{} {}", route.method, route.path);
    let before = snapshot(app).await;
    let sms_before = app.sms.count();

    // All required parameters at once: one answer names every one of them.
    let required: Vec<&str> = route
        .params
        .iter()
        .filter(|p| matches!(p.missing, Some(Want::Invalid)))
        .map(|p| p.name)
        .collect();
    if !required.is_empty() {
        let mut body = fresh_body(app, route).await;
        for name in &required {
            body.remove(*name);
        }
        let (status, answer) = send_route(app, route, &body, Enc::Json).await;
        let ctx = format!("{label} without {required:?}");
        expect_error(status, &answer, 400, "invalid_params", &ctx);
        for name in &required {
            assert!(
                answer["data"]["fields"].get(*name).is_some(),
                "{ctx}: `{name}` not named: {answer}"
            );
        }
    }

    for p in &route.params {
        // (what, encoding, new value or None to drop it, expectation)
        let mut cases: Vec<(String, Enc, Option<Value>, Want)> = Vec::new();
        if let Some(w) = p.missing {
            cases.push(("missing".into(), Enc::Json, None, w));
            cases.push(("empty".into(), Enc::Json, Some(json!("")), w));
            cases.push(("null".into(), Enc::Json, Some(Value::Null), w));
            cases.push(("missing (form)".into(), Enc::Form, None, w));
            cases.push(("empty (form)".into(), Enc::Form, Some(json!("")), w));
        }
        for wrong in [json!(12345), json!(true), json!({ "a": 1 }), json!(["a"])] {
            cases.push((
                format!("of wrong type {wrong}"),
                Enc::Json,
                Some(wrong),
                p.wrong,
            ));
        }
        for (i, (value, w)) in p.odd.iter().enumerate() {
            let what = if value.len() > 64 {
                format!("{} bytes long", value.len())
            } else {
                format!("{value:?}")
            };
            cases.push((what.clone(), Enc::Json, Some(json!(value)), *w));
            if i == 0 {
                cases.push((format!("{what} (form)"), Enc::Form, Some(json!(value)), *w));
            }
        }
        for (what, enc, value, want) in cases {
            let mut body = fresh_body(app, route).await;
            match value {
                Some(v) => body.insert(p.name.into(), v),
                None => body.remove(p.name),
            };
            let (status, answer) = send_route(app, route, &body, enc).await;
            judge(
                status,
                &answer,
                want,
                p.name,
                &format!("{label} with `{}` {what}", p.name),
            );
        }
    }

    assert_unchanged(&before, &snapshot(app).await, &label);
    assert_eq!(app.sms.count(), sms_before, "{label}: a code went out");

    let body = fresh_body(app, route).await;
    let (status, answer) = send_route(app, route, &body, Enc::Json).await;
    assert_eq!(
        status, route.ok,
        "{label}: the valid body must succeed: {answer}"
    );
}

// ---------------------------------------------------------------------------------------------
// Forged tokens
// ---------------------------------------------------------------------------------------------

fn b64_json(v: &Value) -> String {
    B64.encode(serde_json::to_vec(v).unwrap())
}

fn decode_part(token: &str, i: usize) -> Value {
    serde_json::from_slice(&B64.decode(token.split('.').nth(i).unwrap()).unwrap()).unwrap()
}

/// A fresh Ed25519 key that is not the server's.
struct Attacker {
    pair: Ed25519KeyPair,
}

impl Attacker {
    fn new() -> Self {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        Attacker {
            pair: Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap(),
        }
    }

    fn x(&self) -> String {
        B64.encode(self.pair.public_key().as_ref())
    }

    fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", b64_json(header), b64_json(claims));
        let sig = self.pair.sign(input.as_bytes());
        format!("{input}.{}", B64.encode(sig.as_ref()))
    }
}

fn hmac(alg: jsonwebtoken::Algorithm, kid: Option<&str>, secret: &[u8], claims: &Value) -> String {
    let mut header = jsonwebtoken::Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

/// What a forged-token test works with: a server, a signed-in user whose session is live, an
/// operator, and a registered partner.
struct Victim {
    app: TestApp,
    user: Value,
    token: String,
    admin_id: String,
    claims: Value,
    header: Value,
}

async fn victim() -> Victim {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.add_client(&[CALLBACK]).await;
    let (user, token) = app.user("13800138000").await;
    let (admin, _) = admin(&app, "13900139000").await;
    let claims = decode_part(&token, 1);
    let header = decode_part(&token, 0);
    Victim {
        app,
        user,
        token,
        admin_id: admin["id"].as_str().unwrap().to_owned(),
        claims,
        header,
    }
}

/// Presents `token` at every route that takes one and expects 401 `reason` everywhere, with the
/// database untouched and the real token still working.
async fn assert_refused_everywhere(v: &Victim, token: &str, reason: &str, what: &str) {
    let app = &v.app;
    let before = snapshot(app).await;
    let id = v.user["id"].as_str().unwrap();
    let by_id = format!("/users/{id}");
    let bodies: Vec<(Method, &str, Value)> = vec![
        (Method::GET, "/token", json!(null)),
        (Method::GET, "/users/token", json!(null)),
        (Method::GET, &by_id, json!(null)),
        (Method::GET, "/users", json!(null)),
        (Method::PUT, "/users", json!({ "username": "forged_name" })),
        (
            Method::PATCH,
            "/users/password",
            json!({ "old_pwd": PASSWORD, "new_pwd": "Forged-Pass-77" }),
        ),
        (Method::PATCH, "/users/signout", json!({})),
        (Method::DELETE, "/users", json!({ "pwd": PASSWORD })),
    ];
    for (method, path, body) in bodies {
        let mut rb = app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth(token);
        if !body.is_null() {
            rb = rb.json(&body);
        }
        let (status, answer) = go(rb).await;
        expect_error(
            status,
            &answer,
            401,
            reason,
            &format!("{what} at {method} {path}"),
        );
    }
    let (status, answer) = app
        .post(
            "/token",
            json!({ "token": token, "callback_url": CALLBACK }),
        )
        .await;
    expect_error(
        status,
        &answer,
        401,
        reason,
        &format!("{what} at POST /token"),
    );
    assert_unchanged(&before, &snapshot(app).await, what);
    let (status, _) = app.get_with_token("/token", &v.token).await;
    assert_eq!(status, 200, "{what}: the real token must still work");
}

#[tokio::test]
async fn alg_none_tokens_are_rejected() {
    let v = victim().await;
    let payload = b64_json(&v.claims);
    let real_sig = v.token.split('.').nth(2).unwrap();
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = b64_json(&json!({ "alg": alg, "typ": "JWT" }));
        for sig in ["", real_sig] {
            let forged = format!("{header}.{payload}.{sig}");
            assert_refused_everywhere(&v, &forged, "token_invalid", &format!("alg {alg}")).await;
        }
    }
}

#[tokio::test]
async fn hs256_tokens_signed_with_the_public_key_are_rejected() {
    let v = victim().await;
    let (status, jwks) = v.app.get("/.well-known/jwks.json").await;
    assert_eq!(status, 200);
    let x = jwks["keys"][0]["x"].as_str().unwrap();
    let kid = jwks["keys"][0]["kid"].as_str();
    let raw = B64.decode(x).unwrap();
    use jsonwebtoken::Algorithm::{HS256, HS384, HS512};
    for (alg, secret, kid) in [
        (HS256, raw.as_slice(), None),
        (HS256, raw.as_slice(), kid),
        (HS256, x.as_bytes(), kid),
        (HS384, raw.as_slice(), kid),
        (HS512, raw.as_slice(), kid),
    ] {
        let forged = hmac(alg, kid, secret, &v.claims);
        let what = format!("{alg:?} with the public key, kid {kid:?}");
        assert_refused_everywhere(&v, &forged, "token_invalid", &what).await;
    }
}

#[tokio::test]
async fn tokens_with_a_stripped_or_foreign_signature_are_rejected() {
    let v = victim().await;
    let mut parts = v.token.split('.');
    let (h, p) = (parts.next().unwrap(), parts.next().unwrap());
    // A second real token: its signature is genuine, but not for this header and payload.
    let other = v.app.token("13800138000").await;
    let other_sig = other.split('.').nth(2).unwrap();
    for forged in [
        format!("{h}.{p}."),
        format!("{h}.{p}"),
        format!("{h}.{p}.AAAA"),
        format!("{h}.{p}.{other_sig}"),
        format!("{h}.{p}.{}", B64.encode([0u8; 64])),
    ] {
        assert_refused_everywhere(&v, &forged, "token_invalid", &format!("`{forged}`")).await;
    }
}

#[tokio::test]
async fn tokens_with_an_injected_jwk_jku_or_kid_header_are_rejected() {
    let v = victim().await;
    let attacker = Attacker::new();
    let real_kid = v.header["kid"].clone();
    let own_jwk = json!({ "kty": "OKP", "crv": "Ed25519", "x": attacker.x() });
    let headers = [
        json!({ "alg": "EdDSA", "typ": "JWT", "jwk": own_jwk }),
        json!({ "alg": "EdDSA", "typ": "JWT", "jwk": own_jwk, "kid": real_kid }),
        json!({ "alg": "EdDSA", "typ": "JWT", "kid": real_kid }),
        json!({ "alg": "EdDSA", "typ": "JWT", "kid": "attacker-key" }),
        json!({ "alg": "EdDSA", "typ": "JWT", "jku": "https://evil.example/jwks.json" }),
        json!({ "alg": "EdDSA", "typ": "JWT", "x5u": "https://evil.example/cert.pem" }),
    ];
    for header in headers {
        let forged = attacker.sign(&header, &v.claims);
        assert_refused_everywhere(&v, &forged, "token_invalid", &format!("header {header}")).await;
    }
    // The classic kid tricks: a key file that is empty, a key chosen by SQL.
    use jsonwebtoken::Algorithm::HS256;
    for (kid, secret) in [
        ("../../../../../../dev/null", &b""[..]),
        ("/dev/null", &b""[..]),
        ("x' UNION SELECT 'secret' --", &b"secret"[..]),
    ] {
        let forged = hmac(HS256, Some(kid), secret, &v.claims);
        assert_refused_everywhere(&v, &forged, "token_invalid", &format!("kid {kid}")).await;
    }
}

#[tokio::test]
async fn tokens_with_a_tampered_payload_are_rejected() {
    let v = victim().await;
    let mut parts = v.token.split('.');
    let (h, _, s) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let mut tampered = Vec::new();
    let mut as_admin = v.claims.clone();
    as_admin["sub"] = json!(v.admin_id);
    as_admin["id"] = json!(v.admin_id);
    tampered.push(("sub and id set to an operator", as_admin));
    let mut longer = v.claims.clone();
    longer["exp"] = json!(v.claims["exp"].as_i64().unwrap() + 10 * 365 * 86_400);
    tampered.push(("exp pushed out", longer));
    let mut issuer = v.claims.clone();
    issuer["iss"] = json!("https://evil.example");
    tampered.push(("another issuer", issuer));
    for (what, claims) in tampered {
        let forged = format!("{h}.{}.{s}", b64_json(&claims));
        assert_refused_everywhere(&v, &forged, "token_invalid", what).await;
    }
}

#[tokio::test]
async fn an_expired_token_is_token_expired() {
    let app = TestApp::spawn_with(Backend::Sqlite, |f| f.merge(("token_ttl_secs", 1)))
        .await
        .unwrap();
    app.add_client(&[CALLBACK]).await;
    let (user, token) = app.user("13800138000").await;
    sleep_ms(2_100).await;
    let v = Victim {
        claims: decode_part(&token, 1),
        header: decode_part(&token, 0),
        admin_id: String::new(),
        user,
        token: token.clone(),
        app,
    };
    let before = snapshot(&v.app).await;
    let id = v.user["id"].as_str().unwrap();
    for (method, path, body) in [
        (Method::GET, "/token".to_owned(), None),
        (Method::GET, "/users/token".to_owned(), None),
        (Method::GET, format!("/users/{id}"), None),
        (
            Method::PUT,
            "/users".to_owned(),
            Some(json!({ "username": "late_name" })),
        ),
        (Method::PATCH, "/users/signout".to_owned(), Some(json!({}))),
        (
            Method::DELETE,
            "/users".to_owned(),
            Some(json!({ "pwd": PASSWORD })),
        ),
    ] {
        let mut rb = v
            .app
            .client
            .request(method.clone(), v.app.url(&path))
            .bearer_auth(&token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let (status, answer) = go(rb).await;
        expect_error(
            status,
            &answer,
            401,
            "token_expired",
            &format!("{method} {path}"),
        );
    }
    let (status, answer) = v
        .app
        .post(
            "/token",
            json!({ "token": token, "callback_url": CALLBACK }),
        )
        .await;
    expect_error(status, &answer, 401, "token_expired", "POST /token");
    assert_unchanged(&before, &snapshot(&v.app).await, "expired token");
}

// ---------------------------------------------------------------------------------------------
// Envelope edge cases
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn unknown_routes_are_404_not_found() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    for (method, path) in [
        (Method::GET, "/nope"),
        (Method::POST, "/nope"),
        (Method::GET, "/users/token/extra"),
        (Method::GET, "/verify_code/x"),
        (Method::DELETE, "/users/signin/x"),
        (Method::GET, "/api/users"),
        (Method::GET, "/%2e%2e/etc/passwd"),
    ] {
        let (status, body) = go(app.client.request(method.clone(), app.url(path))).await;
        expect_error(status, &body, 404, "not_found", &format!("{method} {path}"));
    }
}

#[tokio::test]
async fn known_paths_with_the_wrong_method_are_405_method_not_allowed() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    for (method, path) in [
        (Method::GET, "/verify_code"),
        (Method::PUT, "/users/signin"),
        (Method::DELETE, "/users/signup"),
        (Method::PUT, "/users/password"),
        (Method::POST, "/users/verify_code_password"),
        (Method::PATCH, "/users"),
        (Method::POST, "/users/token"),
        (Method::DELETE, "/token"),
        (Method::POST, "/client_code"),
        (Method::POST, "/users/00000000-0000-0000-0000-000000000000"),
    ] {
        let (status, body) = go(app
            .client
            .request(method.clone(), app.url(path))
            .json(&json!({})))
        .await;
        expect_error(
            status,
            &body,
            405,
            "method_not_allowed",
            &format!("{method} {path}"),
        );
    }
}

/// Every route that takes a body, with a body that would be valid enough to get past parsing.
fn write_routes() -> Vec<(Method, &'static str)> {
    vec![
        (Method::POST, "/verify_code"),
        (Method::POST, "/users/signin"),
        (Method::POST, "/users/verify_code_sign_in"),
        (Method::POST, "/users/signup"),
        (Method::PATCH, "/users/password"),
        (Method::PATCH, "/users/verify_code_password"),
        (Method::PUT, "/users"),
        (Method::PATCH, "/users/signout"),
        (Method::DELETE, "/users"),
        (Method::POST, "/token"),
    ]
}

#[tokio::test]
async fn malformed_array_and_non_json_bodies_are_invalid_params() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.add_client(&[CALLBACK]).await;
    let (_, token) = app.user("13800138000").await;
    let before = snapshot(&app).await;
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("application/json", b"{".to_vec()),
        ("application/json", br#"{"number": "1380013800"#.to_vec()),
        (
            "application/json",
            br#"{"number": "13800138000",}"#.to_vec(),
        ),
        ("application/json", b"{\"number\": \"\xff\xfe\"}".to_vec()),
        (
            "application/json",
            br#"[{"number": "13800138000"}]"#.to_vec(),
        ),
        ("application/json", b"[]".to_vec()),
        ("application/json", br#""13800138000""#.to_vec()),
        ("application/json", b"42".to_vec()),
        ("application/json", b"null".to_vec()),
        ("text/plain", b"number=13800138000".to_vec()),
        ("text/plain", br#"{"number": "13800138000"}"#.to_vec()),
        ("application/xml", b"<number>13800138000</number>".to_vec()),
        (
            "multipart/form-data; boundary=x",
            b"--x\r\n\r\n--x--".to_vec(),
        ),
    ];
    for (method, path) in write_routes() {
        for (content_type, body) in &bodies {
            let (status, answer) = go(app
                .client
                .request(method.clone(), app.url(path))
                .bearer_auth(&token)
                .header("content-type", *content_type)
                .body(body.clone()))
            .await;
            let ctx = format!(
                "{method} {path} with {content_type} {:?}",
                String::from_utf8_lossy(body)
            );
            expect_error(status, &answer, 400, "invalid_params", &ctx);
        }
    }
    assert_unchanged(&before, &snapshot(&app).await, "malformed bodies");
    assert_eq!(app.sms.count(), 1, "only the sign-up code went out");
    assert_eq!(app.get_with_token("/token", &token).await.0, 200);
}

#[tokio::test]
async fn bodies_over_64_kib_are_payload_too_large() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.add_client(&[CALLBACK]).await;
    let (_, token) = app.user("13800138000").await;
    let before = snapshot(&app).await;
    let sms_before = app.sms.count();
    let pad = "x".repeat(70 * 1024);
    for (method, path) in write_routes() {
        let json_body = json!({ "number": "13700137000", "pad": pad });
        let (status, answer) = go(app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth(&token)
            .json(&json_body))
        .await;
        expect_error(
            status,
            &answer,
            413,
            "payload_too_large",
            &format!("{method} {path} JSON"),
        );
        let (status, answer) = go(app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth(&token)
            .form(&[("number", "13700137000"), ("pad", pad.as_str())]))
        .await;
        expect_error(
            status,
            &answer,
            413,
            "payload_too_large",
            &format!("{method} {path} form"),
        );
    }
    assert_unchanged(&before, &snapshot(&app).await, "oversized bodies");
    assert_eq!(app.sms.count(), sms_before);

    // The limit is 64 KiB exactly: 65,536 bytes pass, 65,537 do not.
    let sized = |n: usize| {
        let head = r#"{"number":"13700137000","pad":""#;
        let tail = r#""}"#;
        format!("{head}{}{tail}", "x".repeat(n - head.len() - tail.len()))
    };
    let (status, answer) = go(app
        .client
        .post(app.url("/verify_code"))
        .header("content-type", "application/json")
        .body(sized(64 * 1024 + 1)))
    .await;
    expect_error(
        status,
        &answer,
        413,
        "payload_too_large",
        "65,537-byte body",
    );
    let (status, answer) = go(app
        .client
        .post(app.url("/verify_code"))
        .header("content-type", "application/json")
        .body(sized(64 * 1024)))
    .await;
    assert_eq!(
        status, 200,
        "a 65,536-byte body is not over 64 KiB: {answer}"
    );
}

#[tokio::test]
async fn every_answer_has_exactly_the_envelope_keys_and_code_equals_status() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (_, token) = app.user("13800138000").await;
    let mut answers: Vec<(&str, (u16, Value))> = vec![
        ("success", app.get("/client_code").await),
        ("404", app.get("/nope").await),
        ("405", app.send(Method::GET, "/verify_code", json!(null)).await),
        ("400 invalid_params", app.post("/users/signup", json!({})).await),
        (
            "400 captcha_invalid",
            app.post(
                "/users/signin",
                json!({ "number": "13800138000", "pwd": PASSWORD, "captcha_id": "x", "client_code": "y" }),
            )
            .await,
        ),
        ("401 token_missing", app.get("/users/token").await),
        ("401 token_invalid", app.get_with_token("/users/token", "a.b.c").await),
        ("403 forbidden", app.get_with_token("/users", &token).await),
        (
            "413",
            go(app
                .client
                .post(app.url("/verify_code"))
                .json(&json!({ "pad": "x".repeat(70_000) })))
            .await,
        ),
    ];
    // A second code within a minute: 429 with retry_after.
    answers.push((
        "429",
        app.post("/verify_code", json!({ "number": "13800138000" }))
            .await,
    ));
    for (what, (status, body)) in &answers {
        assert_envelope(*status, body, what);
    }
    let statuses: Vec<u16> = answers.iter().map(|(_, (s, _))| *s).collect();
    assert_eq!(statuses, [200, 404, 405, 400, 400, 401, 401, 403, 413, 429]);
    let (_, limited) = &answers[9].1;
    assert!(limited["data"]["retry_after"].is_u64(), "{limited}");
}

fn has_cjk(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

#[tokio::test]
async fn messages_are_chinese_by_default_and_english_when_asked() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let ask = |method: Method, path: &'static str, lang: Option<&'static str>| {
        let mut rb = app.client.request(method, app.url(path)).json(&json!({}));
        if let Some(l) = lang {
            rb = rb.header("accept-language", l);
        }
        go(rb)
    };
    for (method, path) in [
        (Method::GET, "/nope"),
        (Method::GET, "/verify_code"),
        (Method::POST, "/users/signup"),
        (Method::GET, "/token"),
        (Method::GET, "/client_code"),
    ] {
        let ctx = format!("{method} {path}");
        let (status, zh) = ask(method.clone(), path, None).await;
        assert_envelope(status, &zh, &ctx);
        let zh_msg = zh["message"].as_str().unwrap().to_owned();
        assert!(has_cjk(&zh_msg), "{ctx}: default must be Chinese: {zh}");
        for lang in ["en", "en-US,en;q=0.9", "zh-CN;q=0.5, en;q=0.8"] {
            let (s, en) = ask(method.clone(), path, Some(lang)).await;
            assert_eq!(s, status);
            let msg = en["message"].as_str().unwrap();
            assert!(
                msg.is_ascii() && !msg.is_empty(),
                "{ctx} [{lang}]: want English: {en}"
            );
            assert_eq!(
                en["data"]["error"], zh["data"]["error"],
                "the reason never changes"
            );
        }
        for lang in [
            "zh-CN",
            "zh-CN,zh;q=0.9,en;q=0.8",
            "en;q=0.3, zh;q=0.9",
            "fr-FR",
        ] {
            let (_, body) = ask(method.clone(), path, Some(lang)).await;
            assert!(
                has_cjk(body["message"].as_str().unwrap()),
                "{ctx} [{lang}]: want Chinese: {body}"
            );
        }
    }
}

#[tokio::test]
async fn client_code_ignores_unknown_and_empty_parameters() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    for path in [
        "/client_code?foo=bar",
        "/client_code?format=",
        "/client_code?format=json",
    ] {
        let (status, body) = app.get(path).await;
        assert_envelope(status, &body, path);
        assert_eq!(status, 200, "{path}: {body}");
        assert!(body["data"]["captcha_id"].is_string(), "{path}: {body}");
    }
    let path = query("/client_code", &[("format", huge("x").as_str())]);
    let (status, body) = app.get(&path).await;
    assert_envelope(status, &body, "huge format");
    assert!(
        status == 200 || (status == 400 && body["data"]["error"] == "invalid_params"),
        "{body}"
    );
}

#[tokio::test]
async fn list_parameters_in_the_wrong_json_shape_are_invalid_params() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (_, token) = admin(&app, "13800138000").await;
    // Contract section 3 (GET /users): `paginate` is an object and `filter`/`sort` arrays of
    // objects; a positional array where an object belongs is the wrong type (serde alone would
    // read a struct from one).
    let mut failures = Vec::new();
    for (name, value) in [
        ("paginate", "[1,20]"),
        ("filter", r#"[["username","like","x"]]"#),
        ("sort", r#"[["username","desc"]]"#),
    ] {
        let path = query("/users", &[(name, value)]);
        let (status, body) = app.get_with_token(&path, &token).await;
        assert_envelope(status, &body, name);
        let named = body["data"]["fields"].get(name).is_some();
        if !(status == 400 && body["data"]["error"] == "invalid_params" && named) {
            failures.push(format!("{name}={value}: {status} total={}", body["total"]));
        }
    }
    assert!(
        failures.is_empty(),
        "accepted in the wrong shape:\n{}",
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Captchas and codes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_captcha_checked_with_an_absurd_answer_is_used_up() {
    let app = TestApp::spawn_with(Backend::Sqlite, |f| f.merge(("code_captcha_after", 0)))
        .await
        .unwrap();
    let before = snapshot(&app).await;
    // Contract section 3 (Captcha): "single use: any check, right or wrong, consumes it" —
    // an absurd answer included.
    let mut failures = Vec::new();
    for path in ["/users/signin", "/verify_code"] {
        for (i, bad) in [huge("A"), "A".repeat(65)].into_iter().enumerate() {
            let number = format!("1380013800{i}");
            let (id, answer) = app.captcha().await;
            let attempt = |answer: String| {
                app.post(
                    path,
                    json!({ "number": number, "pwd": PASSWORD, "captcha_id": id, "client_code": answer }),
                )
            };
            let (status, body) = attempt(bad.clone()).await;
            let ctx = format!("{path}: {}-byte answer", bad.len());
            expect_error(status, &body, 400, "captcha_invalid", &ctx);
            let (status, body) = attempt(answer).await;
            assert_envelope(status, &body, &ctx);
            if (status, body["data"]["error"].as_str()) != (400, Some("captcha_invalid")) {
                failures.push(format!("{ctx}, then the right answer: {status} {body}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "a checked captcha still worked:\n{}",
        failures.join("\n")
    );
    assert_unchanged(&before, &snapshot(&app).await, "absurd captcha answers");
    assert_eq!(
        app.sms.count(),
        0,
        "no code may go out on a used-up captcha"
    );
}
#[tokio::test]
async fn verify_code_past_the_captcha_threshold_rejects_missing_wrong_and_replayed_captchas() {
    let app = TestApp::spawn_with(Backend::Sqlite, |f| f.merge(("code_captcha_after", 0)))
        .await
        .unwrap();
    let (id, answer) = app.captcha().await;
    let wrong = if answer == "ZZZZ" { "YYYY" } else { "ZZZZ" };
    let cases: Vec<(&str, Value, Want)> = vec![
        (
            "no captcha",
            json!({}),
            Want::Reason(400, "captcha_invalid"),
        ),
        (
            "empty captcha",
            json!({ "captcha_id": "", "client_code": "" }),
            Want::Reason(400, "captcha_invalid"),
        ),
        (
            "id only",
            json!({ "captcha_id": "nope" }),
            Want::Reason(400, "captcha_invalid"),
        ),
        (
            "answer only",
            json!({ "client_code": answer }),
            Want::Reason(400, "captcha_invalid"),
        ),
        (
            "huge id",
            json!({ "captcha_id": huge("i"), "client_code": "ABCD" }),
            Want::Reason(400, "captcha_invalid"),
        ),
        (
            "answer of wrong type",
            json!({ "captcha_id": "nope", "client_code": 1234 }),
            Want::Invalid,
        ),
        (
            "id of wrong type",
            json!({ "captcha_id": ["x"], "client_code": "ABCD" }),
            Want::Invalid,
        ),
    ];
    for (what, extra, want) in cases {
        let mut body = json!({ "number": "13800138000" });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let (status, answer) = app.post("/verify_code", body).await;
        let field = if what.starts_with("id") {
            "captcha_id"
        } else {
            "client_code"
        };
        judge(status, &answer, want, field, what);
    }
    // A wrong answer uses up its captcha (absurdly long answers: see
    // a_captcha_checked_with_an_absurd_answer_is_used_up).
    for bad in [wrong.to_owned()] {
        let (bad_id, good) = app.captcha().await;
        let (status, body) = app
            .post(
                "/verify_code",
                json!({ "number": "13800138000", "captcha_id": bad_id, "client_code": bad }),
            )
            .await;
        expect_error(status, &body, 400, "captcha_invalid", "bad answer");
        let (status, body) = app
            .post(
                "/verify_code",
                json!({ "number": "13800138000", "captcha_id": bad_id, "client_code": good }),
            )
            .await;
        expect_error(
            status,
            &body,
            400,
            "captcha_invalid",
            &format!("right answer after {} bytes", bad.len()),
        );
    }
    assert_eq!(app.sms.count(), 0);
    let (status, body) = app
        .post(
            "/verify_code",
            json!({ "number": "13800138000", "captcha_id": id, "client_code": answer }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post(
            "/verify_code",
            json!({ "number": "13900139000", "captcha_id": id, "client_code": answer }),
        )
        .await;
    expect_error(status, &body, 400, "captcha_invalid", "replayed captcha");
    assert_eq!(app.sms.count(), 1);
}

// ---------------------------------------------------------------------------------------------
// Scenarios on both backends
// ---------------------------------------------------------------------------------------------

const CALLBACK_TRICKS: &[&str] = &[
    "https://good.example@evil.example/cb",
    "https://good.example:443@evil.example/cb",
    "https://user:pass@good.example/cb",
    "https://good.example.evil.example/cb",
    "https://evil.example/cb",
    "https://evil.example/good.example/cb",
    "//evil.example/cb",
    "//good.example/cb",
    "/cb",
    "good.example/cb",
    "https:/good.example/cb",
    "https:good.example/cb",
    "https:///good.example/cb",
    "https://good.example\\@evil.example/cb",
    "https:\\\\evil.example/cb",
    "https://good.example\\cb",
    "https://good.example/cb\\..\\..\\evil",
    "javascript:alert(1)",
    "JAVASCRIPT:alert(1)",
    "javascript://good.example/cb%0aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "ftp://good.example/cb",
    "https://good.example/cb#frag",
    "https://good.example/cb#",
    "https://good.example/cb?next=1#frag",
    "HTTPS://EVIL.EXAMPLE/cb",
    "HTTPS://GOOD.EXAMPLE.EVIL.EXAMPLE/cb",
    "HTTP://GOOD.EXAMPLE/cb",
    "HTTPS://GOOD.EXAMPLE:8443/cb",
    "https://good.example:80/cb",
    "https://GOOD.EXAMPLE/CB",
    "https://good.example/cb/",
    "https://good.example/cbx",
    "https://good.example/cb/../cb2",
    " https://good.example/cb",
    "https://good.example/c\tb",
    "https://good.example/cb\n",
];

/// The registered callback in spellings that are the same URL (section 6).
const CALLBACK_SAME: &[&str] = &[
    "https://good.example/cb",
    "HTTPS://GOOD.EXAMPLE/cb",
    "https://good.example:443/cb",
    "https://good.example/cb?next=/cart",
];

both_backends! {
    async fn anonymous_routes_reject_bad_parameters_and_leave_the_database_unchanged(app) {
        app.signup("13800138001").await; // password sign-in
        app.signup("13800138002").await; // code sign-in
        app.signup("13800138003").await; // password reset
        let digits = huge("1");
        let code_signin = app.code_for("13800138002", Some("signin")).await;
        let code_signup = app.code_for("13800138020", Some("signup")).await;
        let code_reset = app.code_for("13800138003", Some("reset_password")).await;
        let over_72 = "Aa1-".repeat(18) + "x";
        let wide = "密".repeat(25); // 25 characters, 75 bytes
        let routes = vec![
            Route {
                method: Method::POST,
                path: "/verify_code",
                token: None,
                captcha: false,
                valid: json!({ "number": "13800138010", "purpose": "signup" }),
                ok: 200,
                params: vec![
                    Param::required("number", digits.clone(), Want::Invalid)
                        .and("not-a-number", Want::Invalid)
                        .and("a@b", Want::Invalid),
                    Param::optional("purpose", huge("x"), Want::Invalid)
                        .and("admin", Want::Invalid),
                ],
            },
            Route {
                method: Method::POST,
                path: "/users/signin",
                token: None,
                captcha: true,
                valid: json!({ "number": "13800138001", "pwd": PASSWORD }),
                ok: 200,
                params: vec![
                    Param::required("number", digits.clone(), Want::Invalid),
                    Param::required("pwd", huge("p"), Want::Reason(401, "credentials_invalid")),
                    Param::required("client_code", huge("A"), Want::Reason(400, "captcha_invalid")),
                    Param::required("captcha_id", huge("i"), Want::Reason(400, "captcha_invalid")),
                    Param::optional("callback_url", huge_url(), Want::Reason(400, "callback_not_registered")),
                    Param::optional("terminal", huge("x"), Want::Invalid).and("toaster", Want::Invalid),
                ],
            },
            Route {
                method: Method::POST,
                path: "/users/verify_code_sign_in",
                token: None,
                captcha: false,
                valid: json!({ "number": "13800138002", "verify_code": code_signin }),
                ok: 200,
                params: vec![
                    Param::required("number", digits.clone(), Want::Invalid),
                    Param::required("verify_code", digits.clone(), Want::Reason(400, "verify_code_invalid"))
                        .and("12345a", Want::Reason(400, "verify_code_invalid")),
                    Param::optional("callback_url", huge_url(), Want::Reason(400, "callback_not_registered")),
                    Param::optional("terminal", huge("x"), Want::Invalid),
                ],
            },
            Route {
                method: Method::POST,
                path: "/users/signup",
                token: None,
                captcha: false,
                valid: json!({ "number": "13800138020", "pwd": PASSWORD, "verify_code": code_signup }),
                ok: 201,
                params: vec![
                    Param::required("number", digits.clone(), Want::Invalid),
                    Param::required("pwd", huge("p"), Want::Reason(400, "password_weak"))
                        .and(&over_72, Want::Reason(400, "password_weak"))
                        .and(&wide, Want::Reason(400, "password_weak"))
                        .and("short", Want::Reason(400, "password_weak")),
                    Param::required("verify_code", digits.clone(), Want::Reason(400, "verify_code_invalid")),
                    Param::optional("username", huge("u"), Want::Invalid)
                        .and("a;DROP TABLE users--", Want::Invalid),
                ],
            },
            Route {
                method: Method::PATCH,
                path: "/users/verify_code_password",
                token: None,
                captcha: false,
                valid: json!({ "number": "13800138003", "pwd": "Reset-Pass-99", "verify_code": code_reset }),
                ok: 200,
                params: vec![
                    Param::required("number", digits.clone(), Want::Invalid),
                    Param::required("pwd", huge("p"), Want::Reason(400, "password_weak"))
                        .and(&over_72, Want::Reason(400, "password_weak")),
                    Param::required("verify_code", digits.clone(), Want::Reason(400, "verify_code_invalid")),
                ],
            },
        ];
        for route in &routes {
            exercise(&app, route).await;
        }
    }

    async fn signed_in_routes_reject_bad_parameters_and_leave_the_database_unchanged(app) {
        app.add_client(&[CALLBACK]).await;
        let (_, changer) = app.user("13800138001").await;
        let (_, editor) = app.user("13800138002").await;
        let (_, leaver) = app.user("13800138003").await;
        let (_, checker) = app.user("13800138004").await;
        let code_contact = app.code_for("13700137000", Some("change_contact")).await;
        let over_72 = "Aa1-".repeat(18) + "x";
        let routes = vec![
            Route {
                method: Method::PATCH,
                path: "/users/password",
                token: Some(changer),
                captcha: false,
                valid: json!({ "old_pwd": PASSWORD, "new_pwd": "Brand-New-Pass-7" }),
                ok: 200,
                params: vec![
                    Param::required("old_pwd", huge("p"), Want::Reason(401, "credentials_invalid")),
                    Param::required("new_pwd", huge("p"), Want::Reason(400, "password_weak"))
                        .and(&over_72, Want::Reason(400, "password_weak")),
                ],
            },
            Route {
                method: Method::PUT,
                path: "/users",
                token: Some(editor),
                captcha: false,
                valid: json!({ "phone": "13700137000", "verify_code": code_contact, "username": "new_name" }),
                ok: 200,
                params: vec![
                    // Required here because the phone changes.
                    Param::required("verify_code", huge("1"), Want::Reason(400, "verify_code_invalid")),
                    Param::optional("phone", huge("1"), Want::Invalid).and("not-a-phone", Want::Invalid),
                    Param::optional("email", huge_email(), Want::Invalid).and("no-at-sign", Want::Invalid),
                    Param::optional("username", huge("u"), Want::Invalid)
                        .and("12345678", Want::Invalid)
                        .and("name;DROP TABLE users--", Want::Invalid),
                    Param::optional("head_img", format!("https://img.example/{}", huge("a")), Want::Invalid)
                        .and("javascript:alert(1)", Want::Invalid)
                        .and("https://user@img.example/a.png", Want::Invalid),
                ],
            },
            Route {
                method: Method::DELETE,
                path: "/users",
                token: Some(leaver),
                captcha: false,
                valid: json!({ "pwd": PASSWORD }),
                ok: 200,
                params: vec![Param::required("pwd", huge("p"), Want::Reason(401, "credentials_invalid"))],
            },
            Route {
                method: Method::POST,
                path: "/token",
                token: None,
                captcha: false,
                valid: json!({ "token": checker, "callback_url": CALLBACK }),
                ok: 200,
                params: vec![
                    Param::token(huge("t")),
                    Param::required("callback_url", huge_url(), Want::Reason(400, "callback_not_registered")),
                ],
            },
        ];
        for route in &routes {
            exercise(&app, route).await;
        }

        // Empty optional profile fields count as absent: nothing changes.
        let (_, token) = app.user("13800138005").await;
        let (_, me) = app.get_with_token("/users/token", &token).await;
        let (status, body) = app
            .send_with_token(Method::PUT, "/users", &token, json!({ "username": "", "phone": "", "email": "", "head_img": "", "verify_code": "" }))
            .await;
        assert_eq!(status, 200, "{body}");
        for key in ["username", "phone", "email", "head_img"] {
            assert_eq!(body["data"][key], me["data"][key], "{key}: {body}");
        }
    }

    async fn every_token_route_rejects_a_missing_empty_wrong_type_or_huge_token(app) {
        let (user, token) = app.user("13800138000").await;
        let (_, admin_token) = admin(&app, "13900139000").await;
        let id = user["id"].as_str().unwrap();
        let by_id = format!("/users/{id}");
        let routes: Vec<(Method, &str, Option<Value>)> = vec![
            (Method::GET, "/token", None),
            (Method::GET, "/users/token", None),
            (Method::GET, &by_id, None),
            (Method::GET, "/users", None),
            (Method::PUT, "/users", Some(json!({ "username": "someone_new" }))),
            (Method::PATCH, "/users/password", Some(json!({ "old_pwd": PASSWORD, "new_pwd": "Brand-New-Pass-7" }))),
            (Method::PATCH, "/users/signout", Some(json!({}))),
            (Method::DELETE, "/users", Some(json!({ "pwd": PASSWORD }))),
        ];
        let missing = Want::Reason(401, "token_missing");
        let invalid = Want::Reason(401, "token_invalid");
        let before = snapshot(&app).await;
        for (method, path, body) in &routes {
            let cases: Vec<TokenCase> = vec![
                ("no token", None, None, missing),
                ("empty bearer", Some(("authorization", "Bearer ".into())), None, missing),
                ("bare `Bearer`", Some(("authorization", "Bearer".into())), None, missing),
                ("basic credentials", Some(("authorization", "Basic dXNlcjpwYXNz".into())), None, missing),
                ("empty token header", Some(("token", String::new())), None, missing),
                ("empty token parameter", None, Some(json!("")), missing),
                ("number token parameter", None, Some(json!(12345)), Want::NotAToken),
                ("object token parameter", None, Some(json!({ "a": 1 })), Want::NotAToken),
                ("garbage bearer", Some(("authorization", "Bearer not-a-jwt".into())), None, invalid),
                ("three dots", Some(("authorization", "Bearer a.b.c".into())), None, invalid),
                ("huge bearer", Some(("authorization", format!("Bearer {}", huge("t")))), None, invalid),
                ("huge token header", Some(("token", huge("t"))), None, invalid),
                ("huge token parameter", None, Some(json!(huge("t"))), invalid),
                // Bearer wins over the parameter, even when the parameter is the good one.
                ("garbage bearer, good parameter", Some(("authorization", "Bearer not-a-jwt".into())), Some(json!(token)), invalid),
            ];
            for (what, header, param, want) in cases {
                let mut url = path.to_string();
                let mut json_body = body.clone();
                if let Some(p) = &param {
                    match &mut json_body {
                        Some(b) => {
                            b["token"] = p.clone();
                        }
                        None => {
                            let text = match p {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            };
                            url = query(path, &[("token", text.as_str())]);
                        }
                    }
                }
                let mut rb = app.client.request(method.clone(), app.url(&url));
                if let Some((name, value)) = header {
                    rb = rb.header(name, value);
                }
                if let Some(b) = json_body {
                    rb = rb.json(&b);
                }
                let (status, answer) = go(rb).await;
                judge(status, &answer, want, "token", &format!("{method} {path} with {what}"));
            }
        }
        assert_unchanged(&before, &snapshot(&app).await, "bad tokens");
        assert_eq!(app.get_with_token("/token", &token).await.0, 200);
        assert_eq!(app.get_with_token("/users", &admin_token).await.0, 200);
    }

    async fn malformed_user_ids_are_404_not_found(app) {
        let (user, token) = app.user("13800138000").await;
        let id = user["id"].as_str().unwrap();
        let long = huge("a");
        let tail = format!("{id}x");
        for bad in [
            "not-a-uuid",
            "1",
            "0",
            "-1",
            "%00",
            "%27%20OR%20%271%27%3D%271",
            "null",
            "00000000-0000-0000-0000-000000000000",
            tail.as_str(),
            long.as_str(),
        ] {
            let path = format!("/users/{bad}");
            let (status, body) = app.get_with_token(&path, &token).await;
            let shown: String = path.chars().take(80).collect();
            expect_error(status, &body, 404, "not_found", &format!("GET {shown}"));
        }
        let (status, body) = app.get_with_token("/users/", &token).await;
        expect_error(status, &body, 404, "not_found", "GET /users/");
    }

    async fn list_rejects_hostile_fields_bad_page_sizes_and_non_json_parameters(app) {
        let (_, token) = admin(&app, "13800138000").await;
        app.signup("13900139000").await;
        let before = snapshot(&app).await;
        let hostile = [
            "name;DROP TABLE users--",
            "password_hash",
            "(CASE WHEN 1=1 THEN username END)",
            "username--",
            "username_lower",
            "wechat_profile",
            "openid; SELECT 1",
            "users.password_hash",
            "1",
            "",
        ];
        let mut cases: Vec<(&str, String)> = Vec::new();
        for name in hostile {
            cases.push(("filter", json!([{ "fieldname": name, "option": "eq", "value": "x" }]).to_string()));
            cases.push(("filter", json!([{ "fieldname": name, "option": "x" }]).to_string()));
            cases.push(("sort", json!([{ "field": name, "direction": "asc" }]).to_string()));
        }
        for p in [
            "not json",
            "{",
            "\"x\"",
            "5",
            "null",
            r#"{"page":1,"limit":-1}"#,
            r#"{"page":1,"limit":-100000}"#,
            r#"{"page":1,"limit":0}"#,
            r#"{"page":1,"limit":101}"#,
            r#"{"page":1,"limit":1000000}"#,
            r#"{"page":1,"limit":9223372036854775807}"#,
            r#"{"page":1,"limit":9223372036854775808}"#,
            r#"{"page":1,"limit":1e99}"#,
            r#"{"page":1,"limit":1.5}"#,
            r#"{"page":1,"limit":"20"}"#,
            r#"{"page":0,"limit":20}"#,
            r#"{"page":-1,"limit":20}"#,
            r#"{"page":"1"}"#,
        ] {
            cases.push(("paginate", p.to_owned()));
        }
        for f in [
            "not json",
            "{}",
            "[1]",
            r#"[{"fieldname":"username","option":"regex","value":"x"}]"#,
            r#"[{"fieldname":"username","option":"eq; DROP TABLE users","value":"x"}]"#,
            r#"[{"fieldname":"username","option":"eq","value":{"$ne":1}}]"#,
            r#"[{"fieldname":"username","option":"eq","value":["x"]}]"#,
            r#"[{"fieldname":"created_at","option":"gt","value":"yesterday'; --"}]"#,
        ] {
            cases.push(("filter", f.to_owned()));
        }
        for s in [
            "not json",
            "{}",
            r#"[{"field":"username","direction":"sideways"}]"#,
            r#"[{"field":"username","direction":"desc; DROP TABLE users"}]"#,
        ] {
            cases.push(("sort", s.to_owned()));
        }
        for name in ["paginate", "filter", "sort"] {
            cases.push((name, huge("9")));
            cases.push((name, huge("[")));
        }
        for (name, value) in &cases {
            let path = query("/users", &[(*name, value.as_str())]);
            let (status, body) = app.get_with_token(&path, &token).await;
            let shown: String = value.chars().take(80).collect();
            judge(status, &body, Want::Invalid, name, &format!("GET /users with {name}={shown}"));
        }
        // A page past the end is never a 5xx.
        let far = query("/users", &[("paginate", r#"{"page":9223372036854775807,"limit":100}"#)]);
        let (status, body) = app.get_with_token(&far, &token).await;
        assert_envelope(status, &body, "page i64::MAX");
        assert!(status == 200 || status == 400, "{body}");
        assert_unchanged(&before, &snapshot(&app).await, "hostile list parameters");
        // Empty parameters count as absent: the defaults apply.
        let (status, body) = app.get_with_token("/users?paginate=&filter=&sort=", &token).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["total"], 2, "{body}");
    }

    async fn callback_tricks_at_signin_are_callback_not_registered(app) {
        app.add_client(&[CALLBACK]).await;
        app.signup("13800138000").await;
        let before = snapshot(&app).await;
        let huge = huge_url();
        for cb in CALLBACK_TRICKS.iter().copied().chain([huge.as_str()]) {
            let (id, answer) = app.captcha().await;
            let (status, body) = app
                .post("/users/signin", json!({
                    "number": "13800138000", "pwd": PASSWORD, "captcha_id": id, "client_code": answer,
                    "callback_url": cb
                }))
                .await;
            let shown: String = cb.chars().take(80).collect();
            expect_error(status, &body, 400, "callback_not_registered", &format!("signin with {shown:?}"));
        }
        assert_unchanged(&before, &snapshot(&app).await, "no session for a bad callback");
        for cb in CALLBACK_SAME {
            let (id, answer) = app.captcha().await;
            let (status, body) = app
                .post("/users/signin", json!({
                    "number": "13800138000", "pwd": PASSWORD, "captcha_id": id, "client_code": answer,
                    "callback_url": cb
                }))
                .await;
            assert_eq!(status, 200, "{cb} is the registered callback: {body}");
        }
    }

    async fn callback_tricks_at_post_token_are_callback_not_registered(app) {
        app.add_client(&[CALLBACK]).await;
        let (_, token) = app.user("13800138000").await;
        let before = snapshot(&app).await;
        let huge = huge_url();
        for cb in CALLBACK_TRICKS.iter().copied().chain([huge.as_str()]) {
            let (status, body) = app
                .post("/token", json!({ "token": token, "callback_url": cb }))
                .await;
            let shown: String = cb.chars().take(80).collect();
            expect_error(status, &body, 400, "callback_not_registered", &format!("POST /token with {shown:?}"));
        }
        assert_unchanged(&before, &snapshot(&app).await, "no partner recorded for a bad callback");
        for cb in CALLBACK_SAME {
            let (status, body) = app
                .post("/token", json!({ "token": token, "callback_url": cb }))
                .await;
            assert_eq!(status, 200, "{cb} is the registered callback: {body}");
        }
    }

    async fn signin_with_replayed_captcha_is_rejected(app) {
        app.signup("13800138000").await;
        let (id, answer) = app.captcha().await;
        let body = json!({ "number": "13800138000", "pwd": PASSWORD, "captcha_id": id, "client_code": answer });
        let (status, first) = app.post("/users/signin", body.clone()).await;
        assert_eq!(status, 200, "{first}");
        let before = snapshot(&app).await;
        let (status, replay) = app.post("/users/signin", body).await;
        expect_error(status, &replay, 400, "captcha_invalid", "replayed after a success");

        // One used up by a failed sign-in cannot be replayed either.
        let (id, answer) = app.captcha().await;
        let (status, failed) = app
            .post("/users/signin", json!({ "number": "13800138000", "pwd": "Wrong-Password-1", "captcha_id": id, "client_code": answer }))
            .await;
        expect_error(status, &failed, 401, "credentials_invalid", "wrong password");
        let (status, replay) = app
            .post("/users/signin", json!({ "number": "13800138000", "pwd": PASSWORD, "captcha_id": id, "client_code": answer }))
            .await;
        expect_error(status, &replay, 400, "captcha_invalid", "replayed after a failure");
        assert_unchanged(&before, &snapshot(&app).await, "replayed captchas");
    }

    async fn a_code_sent_to_another_number_is_rejected(app) {
        app.signup("13800138000").await;
        app.signup("13900139000").await;
        let mine = app.code_for("13800138000", Some("signin")).await;
        let theirs = app.code_for("13900139000", Some("signin")).await;
        let before = snapshot(&app).await;
        if mine != theirs {
            let (status, body) = app
                .post("/users/verify_code_sign_in", json!({ "number": "13900139000", "verify_code": mine }))
                .await;
            expect_error(status, &body, 400, "verify_code_invalid", "code sign-in with another number's code");
        }
        let (status, body) = app
            .post("/users/signup", json!({ "number": "13700137000", "pwd": PASSWORD, "verify_code": mine }))
            .await;
        expect_error(status, &body, 400, "verify_code_invalid", "sign-up with another number's code");
        let (status, body) = app
            .send(Method::PATCH, "/users/verify_code_password", json!({ "number": "13700137000", "pwd": "Reset-Pass-99", "verify_code": mine }))
            .await;
        expect_error(status, &body, 400, "verify_code_invalid", "reset with another number's code");
        let (status, body) = app
            .post("/users/verify_code_sign_in", json!({ "number": "me@example.com", "verify_code": mine }))
            .await;
        expect_error(status, &body, 400, "verify_code_invalid", "an e-mail with a phone's code");
        assert_unchanged(&before, &snapshot(&app).await, "codes for other numbers");
        // +86 and the bare mainland number are the same phone: the code is still good there.
        let (status, body) = app
            .post("/users/verify_code_sign_in", json!({ "number": "+8613800138000", "verify_code": mine }))
            .await;
        assert_eq!(status, 200, "{body}");
        let _ = theirs;
    }

    async fn the_right_code_after_five_wrong_ones_is_rejected(app) {
        app.signup("13800138000").await;
        app.signup("13900139000").await;
        let wrong_for = |code: &str| if code == "000000" { "111111".to_owned() } else { "000000".to_owned() };

        let code = app.code_for("13800138000", Some("signin")).await;
        let before = snapshot(&app).await;
        for i in 0..5 {
            let (status, body) = app
                .post("/users/verify_code_sign_in", json!({ "number": "13800138000", "verify_code": wrong_for(&code) }))
                .await;
            expect_error(status, &body, 400, "verify_code_invalid", &format!("wrong try {}", i + 1));
        }
        let (status, body) = app
            .post("/users/verify_code_sign_in", json!({ "number": "13800138000", "verify_code": code }))
            .await;
        expect_error(status, &body, 400, "verify_code_invalid", "right code after five wrong ones");

        let code = app.code_for("13900139000", Some("reset_password")).await;
        for _ in 0..5 {
            app.send(Method::PATCH, "/users/verify_code_password", json!({ "number": "13900139000", "pwd": "Reset-Pass-99", "verify_code": wrong_for(&code) }))
                .await;
        }
        let (status, body) = app
            .send(Method::PATCH, "/users/verify_code_password", json!({ "number": "13900139000", "pwd": "Reset-Pass-99", "verify_code": code }))
            .await;
        expect_error(status, &body, 400, "verify_code_invalid", "reset with the right code after five wrong ones");
        assert_unchanged(&before, &snapshot(&app).await, "burnt codes");

        // Four wrong tries do not burn it.
        let code = app.code_for("13800138000", Some("signin")).await;
        for _ in 0..4 {
            app.post("/users/verify_code_sign_in", json!({ "number": "13800138000", "verify_code": wrong_for(&code) }))
                .await;
        }
        let (status, body) = app
            .post("/users/verify_code_sign_in", json!({ "number": "13800138000", "verify_code": code }))
            .await;
        assert_eq!(status, 200, "four wrong tries leave the code usable: {body}");
    }

    async fn passwords_over_72_bytes_are_refused_never_truncated(app) {
        let exactly_72 = "Aa1-".repeat(18);
        assert_eq!(exactly_72.len(), 72);
        let code = app.code_for("13800138000", Some("signup")).await;
        let (status, body) = app
            .post("/users/signup", json!({ "number": "13800138000", "pwd": exactly_72, "verify_code": code }))
            .await;
        assert_eq!(status, 201, "72 bytes is within the policy: {body}");
        let before = snapshot(&app).await;
        for longer in [format!("{exactly_72}x"), format!("{exactly_72}{}", huge("x"))] {
            let (status, body) = app.signin("13800138000", &longer).await;
            expect_error(status, &body, 401, "credentials_invalid", &format!("{} bytes", longer.len()));
        }
        assert_unchanged(&before, &snapshot(&app).await, "over-long passwords");
        let (status, body) = app.signin("13800138000", &exactly_72).await;
        assert_eq!(status, 200, "{body}");
    }
}
