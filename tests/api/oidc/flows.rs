//! The provider's flows end to end over HTTP, and each refusal the contract names.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Value, json};

use super::*;

/// Verifies a JWT we issued against the published JWKS; its claims.
pub(crate) async fn verify_with_jwks(app: &TestApp, token: &str, aud: &str) -> Value {
    let (_, jwks) = app.get("/.well-known/jwks.json").await;
    let set: JwkSet = serde_json::from_value(jwks).unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk = set
        .find(header.kid.as_deref().unwrap())
        .expect("kid published");
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[aud]);
    validation.set_issuer(&[app.address.as_str()]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap_or_else(|e| panic!("{e}: {token}"))
        .claims
}

#[tokio::test]
async fn discovery_describes_the_provider_as_the_contract_lists() {
    let (app, _) = provider().await;
    let res = app.get_response("/.well-known/openid-configuration").await;
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    assert!(
        res.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=300")
    );
    let d: Value = res.json().await.unwrap();
    let issuer = app.address.as_str();
    assert_eq!(d["issuer"], issuer);
    for (field, path) in [
        ("authorization_endpoint", "/oauth2/authorize"),
        ("token_endpoint", "/oauth2/token"),
        ("userinfo_endpoint", "/oauth2/userinfo"),
        ("jwks_uri", "/.well-known/jwks.json"),
        ("introspection_endpoint", "/oauth2/introspect"),
        ("revocation_endpoint", "/oauth2/revoke"),
        ("end_session_endpoint", "/oauth2/logout"),
    ] {
        assert_eq!(d[field], format!("{issuer}{path}"), "{field}");
    }
    assert_eq!(
        d["scopes_supported"],
        json!(["openid", "profile", "email", "phone"])
    );
    assert_eq!(d["response_types_supported"], json!(["code"]));
    assert_eq!(d["response_modes_supported"], json!(["query"]));
    assert_eq!(
        d["grant_types_supported"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        json!(["RS256", "EdDSA"])
    );
    let all = json!(["client_secret_basic", "client_secret_post", "none"]);
    assert_eq!(d["token_endpoint_auth_methods_supported"], all);
    assert_eq!(d["revocation_endpoint_auth_methods_supported"], all);
    assert_eq!(
        d["introspection_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );
    assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        d["prompt_values_supported"],
        json!(["none", "login", "consent", "select_account"])
    );
    assert_eq!(d["ui_locales_supported"], json!(["zh-CN", "en"]));
    for yes in [
        "authorization_response_iss_parameter_supported",
        "backchannel_logout_supported",
        "backchannel_logout_session_supported",
    ] {
        assert_eq!(d[yes], true, "{yes}");
    }
    for no in [
        "request_parameter_supported",
        "request_uri_parameter_supported",
        "claims_parameter_supported",
        "frontchannel_logout_supported",
    ] {
        assert_eq!(d[no], false, "{no}");
    }
    let (_, jwks) = app.get("/.well-known/jwks.json").await;
    let algs: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    assert_eq!(algs, ["EdDSA", "RS256"]);
}

#[tokio::test]
async fn a_code_with_pkce_gives_tokens_that_userinfo_and_get_token_accept_and_account_routes_refuse()
 {
    let (app, admin) = provider().await;
    let rp = register(&app, &admin, json!({})).await;
    let mut browser = Browser::new(&app);
    let (verifier, challenge) = pkce();
    let to = authorize(
        &mut browser,
        &rp,
        &[
            ("state", "s-1"),
            ("nonce", "n-1"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    assert!(to.starts_with(REDIRECT), "{to}");
    assert_eq!(query_param(&to, "state"), "s-1");
    let code = code_of(&app, &to);
    let (status, tokens) = exchange(&app, &rp, &code, Some(&verifier)).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "openid profile email phone");
    assert!(tokens["expires_in"].as_i64().unwrap() > 3500);
    let id = verify_with_jwks(&app, tokens["id_token"].as_str().unwrap(), &rp.client_id).await;
    assert_eq!(
        jsonwebtoken::decode_header(tokens["id_token"].as_str().unwrap())
            .unwrap()
            .alg,
        jsonwebtoken::Algorithm::RS256
    );
    assert_eq!(id["nonce"], "n-1");
    assert_eq!(id["amr"], json!(["pwd"]));
    assert_eq!(id["phone_number"], "+8613800138000");
    assert_eq!(id["phone_number_verified"], true);
    assert!(id["auth_time"].is_i64() && id["sid"].is_string() && id["at_hash"].is_string());
    assert!(id.get("azp").is_none() && id.get("acr").is_none());
    let access = tokens["access_token"].as_str().unwrap();
    let at = verify_with_jwks(&app, access, &rp.client_id).await;
    assert_eq!(at["scope"], "openid profile email phone");
    assert_eq!(at["client_id"], rp.client_id);
    assert_eq!(at["delayTime"], at["exp"]);
    assert!(at["phone"].is_null() && at["openid"].is_null());

    let info = app
        .client
        .get(app.url("/oauth2/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(info.headers()["cache-control"], "no-store");
    let info: Value = info.json().await.unwrap();
    assert_eq!(info["sub"], id["sub"]);
    assert_eq!(info["phone_number"], "+8613800138000");

    let (status, check) = app.get_with_token("/token", access).await;
    assert_eq!(status, 200, "{check}");
    for (method, path) in [
        (reqwest::Method::GET, "/users/token"),
        (reqwest::Method::PUT, "/users"),
        (reqwest::Method::PATCH, "/users/signout"),
        (reqwest::Method::GET, "/users/token/refresh"),
        (reqwest::Method::GET, "/users/info/self"),
        (reqwest::Method::GET, "/admin/api/clients"),
    ] {
        let (status, body) = app.send_with_token(method, path, access, json!({})).await;
        assert_error(status, &body, 403, "token_audience");
    }
    let (status, body) = app
        .get_with_token("/token", tokens["id_token"].as_str().unwrap())
        .await;
    assert_error(status, &body, 401, "token_invalid");
}
