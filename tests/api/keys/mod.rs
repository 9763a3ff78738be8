//! Signing keys shared through the database (CONTRACT §9): a rotation on one instance while
//! tokens are checked, refreshed and signed out on two (`rotation`); the operators' API and its
//! refusals; an earlier version's key files imported once; keys sealed under a key-encryption
//! key.

mod rotation;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const KEK: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// The `kid` in a token's header.
fn kid(token: &str) -> String {
    let header = B64URL.decode(token.split('.').next().unwrap()).unwrap();
    let header: Value = serde_json::from_slice(&header).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

fn unix(rfc3339: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339.as_str().unwrap())
        .unwrap()
        .timestamp()
}

async fn keys_on(app: &TestApp, operator: &str) -> Vec<Value> {
    let (status, body) = app.get_with_token("/admin/api/keys", operator).await;
    assert_eq!(status, 200, "{body}");
    body["data"].as_array().unwrap().clone()
}

fn find<'a>(keys: &'a [Value], kid: &str) -> &'a Value {
    keys.iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("{kid} is not listed: {keys:?}"))
}

async fn publishing_at_once(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_set(backend, json!({ "key_publish_secs": 0 })).await
}

/// An earlier version's data dir, holding the Ed25519 key every token was signed with, and a
/// key-encryption key.
async fn upgraded_with_kek(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, |f| {
        let dir = f.extract_inner::<String>("data_dir").unwrap();
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = aws_lc_rs::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        std::fs::write(format!("{dir}/signing-ed25519.pk8"), pkcs8.as_ref()).unwrap();
        f.merge(("key_encryption_key", KEK))
    })
    .await
}

crate::both_backends_with! { publishing_at_once;
async fn only_operators_rotate_keys_and_each_rotation_is_audited(app) {
        let (operator_user, operator) = app.admin("13800000011").await;
        let (_, user) = app.user("13800000012").await;
        let (client_id, _) = app.add_client(&["https://partner.test/cb"]).await;
        let partner_token = app.partner_token("13800000012", "https://partner.test/cb").await;
        assert!(!client_id.is_empty());

        for (token, want) in [(None, 401), (Some(&user), 403), (Some(&partner_token), 403)] {
            let (status, body) = match token {
                Some(t) => {
                    app.send_with_token(Method::POST, "/admin/api/keys", t, json!({}))
                        .await
                }
                None => app.post("/admin/api/keys", json!({})).await,
            };
            assert_eq!(status, want, "{body}");
            if let Some(t) = token {
                let (status, _) = app.get_with_token("/admin/api/keys", t).await;
                assert_eq!(status, want);
            }
        }
        for alg in ["none", "HS256", "rs256", "ES256"] {
            let (status, body) = app
                .send_with_token(Method::POST, "/admin/api/keys", &operator, json!({ "alg": alg }))
                .await;
            assert_error(status, &body, 400, "invalid_params");
        }
        let huge = "x".repeat(100 * 1024);
        let (status, body) = app
            .send_with_token(Method::POST, "/admin/api/keys", &operator, json!({ "alg": huge }))
            .await;
        assert_eq!(status, 413, "{body}");
        assert_eq!(keys_on(&app, &operator).await.len(), 2, "a refused rotation made a key");

        let rsa_before = app.state.tokens.active(gatehouse::keys::Alg::Rs256).unwrap().kid.to_string();
        let (status, body) = app
            .send_with_token(Method::POST, "/admin/api/keys", &operator, json!({ "alg": "RS256" }))
            .await;
        assert_eq!(status, 201, "{body}");
        let new = body["data"]["kid"].as_str().unwrap().to_owned();
        // With no publish period it signs at once, and the one before it retires.
        assert_eq!(body["data"]["state"], "active");
        let keys = keys_on(&app, &operator).await;
        assert_eq!(keys.len(), 3, "{keys:?}");
        assert_eq!(keys[0]["kid"], new.as_str(), "newest first");
        assert_eq!(find(&keys, &rsa_before)["state"], "retiring");
        assert_eq!(find(&keys, &rsa_before)["alg"], "RS256");
        let (_, jwks) = app.get("/.well-known/jwks.json").await;
        assert!(kids(&jwks).contains(&new) && kids(&jwks).contains(&rsa_before));

        let (status, body) = app
            .get_with_token("/admin/api/audit?event=key.rotated", &operator)
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["total"], 1, "{body}");
        let event = &body["data"][0];
        assert_eq!(event["actor_id"], operator_user["id"]);
        assert_eq!(event["detail"]["kid"], new.as_str());
        assert_eq!(event["detail"]["alg"], "RS256");
        assert_eq!(event["detail"]["via"], "api");
}
}

crate::both_backends_with! { upgraded_with_kek;
async fn an_earlier_versions_key_file_is_imported_and_sealed_under_the_kek(app) {
        use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
        let pkcs8 = std::fs::read(app.data_dir.path().join("signing-ed25519.pk8")).unwrap();
        let public = Ed25519KeyPair::from_pkcs8(&pkcs8)
            .unwrap()
            .public_key()
            .as_ref()
            .to_vec();
        let (_, jwks) = app.get("/.well-known/jwks.json").await;
        let ed = &jwks["keys"][0];
        assert_eq!(ed["x"], B64URL.encode(&public), "the file's key was not imported");
        let (_, token) = app.user("13800000021").await;
        assert_eq!(kid(&token), ed["kid"].as_str().unwrap());

        // At rest, every private key is sealed: no row holds a PKCS#8 document.
        let stored = app
            .db(|conn| {
                use diesel::prelude::*;
                use gatehouse::db::schema::signing_keys;
                signing_keys::table
                    .select(signing_keys::private_key)
                    .load::<String>(conn)
                    .unwrap()
            })
            .await;
        assert_eq!(stored.len(), 2);
        let plain = base64::engine::general_purpose::STANDARD.encode(&pkcs8);
        for row in &stored {
            assert!(row.starts_with("sealed:") && !row.contains(&plain[..40]), "{row}");
        }

        // Without the key-encryption key, or with another, the instance does not start.
        let other = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        for kek in [None, Some(other)] {
            let settings = gatehouse::Settings {
                key_encryption_key: kek.as_deref().map(Into::into),
                ..app.settings.clone()
            };
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let err = match gatehouse::Application::build_with_listener(settings, listener).await {
                Ok(_) => panic!("started with the wrong key-encryption key ({kek:?})"),
                Err(err) => format!("{err:#}"),
            };
            assert!(err.contains("key-encryption key") || err.contains("KEY_ENCRYPTION_KEY"), "{err}");
        }
        // With it, a restart keeps the same key and the token.
        let app = app.restart().await;
        let (status, body) = app.get_with_token("/token", &token).await;
        assert_eq!(status, 200, "{body}");
}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_three_keys_of_an_algorithm_wait_to_sign() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (_, operator) = app.admin("13800000031").await;
    let rotate = |alg: &'static str| {
        app.send_with_token(
            Method::POST,
            "/admin/api/keys",
            &operator,
            json!({ "alg": alg }),
        )
    };
    for _ in 0..3 {
        let (status, body) = rotate("EdDSA").await;
        assert_eq!(
            (status, body["data"]["state"].as_str()),
            (201, Some("published"))
        );
    }
    let (status, body) = rotate("EdDSA").await;
    assert_error(status, &body, 409, "conflict");
    // The other algorithm has its own allowance.
    assert_eq!(rotate("RS256").await.0, 201);
    assert_eq!(keys_on(&app, &operator).await.len(), 6);
}
