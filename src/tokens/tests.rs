//! Signing and checking access tokens.

use super::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

fn service() -> TokenService {
    TokenService::new(crate::keys::test_handle(), "http://sso.test".into(), 60, 30)
}

#[test]
fn the_jwks_lists_the_ed25519_and_the_rsa_key_under_distinct_kids() {
    let tokens = service();
    let keys = tokens.jwks()["keys"].as_array().unwrap().clone();
    let shape: Vec<(&str, &str, &str)> = keys
        .iter()
        .map(|k| {
            let field = |name: &str| k[name].as_str().unwrap_or("");
            (field("kty"), field("alg"), field("use"))
        })
        .collect();
    assert_eq!(shape, [("OKP", "EdDSA", "sig"), ("RSA", "RS256", "sig")]);
    assert_ne!(keys[0]["kid"], keys[1]["kid"]);
    assert_eq!(
        keys[1]["kid"],
        tokens.active(Alg::Rs256).unwrap().kid.as_ref()
    );
}

fn request() -> TokenRequest<'static> {
    TokenRequest {
        user_id: "u1",
        sid: "s1",
        terminal: "pc",
        user_agent: "ua",
        phone: Some("13800138000"),
        openid: None,
        aud: None,
        not_after: i64::MAX,
    }
}

#[test]
fn issued_token_verifies_with_contract_claims() {
    let svc = service();
    let (token, claims) = svc.issue(&request()).unwrap();
    assert_eq!(*svc.verify(&token).unwrap(), claims);
    assert_eq!(claims.terminal, "PC");
    assert_eq!(claims.delay_time, claims.exp + 30);
    let payload: serde_json::Value =
        serde_json::from_slice(&B64.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert!(payload.get("delayTime").is_some());
    assert!(payload["openid"].is_null());
    assert!(payload.get("aud").is_none());
}

#[test]
fn no_token_outlives_its_session() {
    let svc = service();
    let end = chrono::Utc::now().timestamp() + 45;
    let (_, claims) = svc
        .issue(&TokenRequest {
            not_after: end,
            ..request()
        })
        .unwrap();
    assert_eq!(claims.exp, end);
    assert_eq!(claims.delay_time, end);
}

#[test]
fn alg_none_and_stripped_signature_are_rejected() {
    let svc = service();
    let (token, _) = svc.issue(&request()).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let none_header = B64.encode(br#"{"alg":"none","typ":"JWT"}"#);
    assert!(svc.verify(&format!("{none_header}.{}.", parts[1])).is_err());
    assert!(svc.verify(&format!("{}.{}.", parts[0], parts[1])).is_err());
}

#[test]
fn hs256_signed_with_the_public_key_is_rejected() {
    let svc = service();
    let (_, claims) = svc.issue(&request()).unwrap();
    let public = B64
        .decode(svc.active(Alg::EdDsa).unwrap().jwk()["x"].as_str().unwrap())
        .unwrap();
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&public),
    )
    .unwrap();
    assert!(matches!(svc.verify(&forged), Err(ApiError::TokenInvalid)));
}

#[test]
fn a_token_seen_before_is_refused_once_its_key_is_gone() {
    let keys = crate::keys::test_handle();
    let svc = TokenService::new(keys.clone(), "http://sso.test".into(), 60, 30);
    let (token, _) = svc.issue(&request()).unwrap();
    assert!(svc.verify(&token).is_ok(), "cached at issue");
    // Its key deleted, another signing: the cached token is refused like any other.
    let rsa = keys
        .load()
        .keys()
        .iter()
        .filter(|k| k.alg == Alg::Rs256)
        .cloned()
        .collect::<Vec<_>>();
    let others = crate::keys::test_handle().load().keys().to_vec();
    let mut kept: Vec<_> = others.into_iter().filter(|k| k.alg == Alg::EdDsa).collect();
    kept.extend(rsa);
    keys.store(Arc::new(crate::keys::KeySet::new(kept, 3_600_000)));
    assert!(matches!(svc.verify(&token), Err(ApiError::TokenInvalid)));
    let (fresh, _) = svc.issue(&request()).unwrap();
    assert!(svc.verify(&fresh).is_ok());
}

#[test]
fn other_token_types_are_not_access_tokens() {
    let svc = service();
    let (_, claims) = svc.issue(&request()).unwrap();
    let logout = svc.sign(&claims, "logout+jwt").unwrap();
    assert!(svc.verify(&logout).is_err());
}

#[test]
fn a_cached_token_changed_in_any_one_character_is_refused() {
    let svc = service();
    let (token, _) = svc.issue(&request()).unwrap();
    assert!(svc.verify(&token).is_ok(), "cached at issue");
    for at in 0..token.len() {
        let was = token.as_bytes()[at];
        let now = if was == b'A' { b'B' } else { b'A' };
        let mut changed = token.clone().into_bytes();
        changed[at] = now;
        let changed = String::from_utf8(changed).unwrap();
        assert!(svc.verify(&changed).is_err(), "changed at {at}");
    }
    assert!(svc.verify(&token).is_ok(), "the original still checks");
}

#[test]
fn cache_digests_are_keyed_apart_in_each_service() {
    // A digest no client can compute: each service draws its own key, so the same token gets
    // unrelated digests in two of them, and one service's digests are stable.
    let (a, b) = (service(), service());
    let (token, _) = a.issue(&request()).unwrap();
    assert!(a.digest(&token) == a.digest(&token));
    assert!(a.digest(&token) != b.digest(&token));
    assert!(a.digest(&token) != a.digest(&token[..token.len() - 1]));
}
