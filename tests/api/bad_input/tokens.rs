//! Forged tokens: none, HMAC with the public key, stripped or foreign signatures, injected
//! keys, tampered payloads, expiry.

use super::*;

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
    let (admin, _) = app.admin("13900139000").await;
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
        let ctx = format!("{what} at {method} {path}");
        expect_error(status, &answer, 401, reason, &ctx);
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
    let settings = json!({ "token_ttl_secs": 1 });
    let app = TestApp::spawn_set(Backend::Sqlite, settings).await.unwrap();
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
        let ctx = format!("{method} {path}");
        expect_error(status, &answer, 401, "token_expired", &ctx);
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
