//! The provider's flows end to end over HTTP, and each refusal the contract names.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Value, json};

use super::*;
use crate::both_backends;

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
    let res = app.get_response("/.well-known/jwks.json").await;
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let jwks: Value = res.json().await.unwrap();
    let algs: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    assert_eq!(algs, ["EdDSA", "RS256"]);
}

both_backends! {
    async fn a_code_with_pkce_gives_tokens_that_userinfo_get_token_accept_and_others_refuse(app) {
        let admin = prepare(&app).await;
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
}

/// An authorization request's error redirect: the error, checking `iss` and the echoed state.
fn error_of(app: &TestApp, location: &str, state: Option<&str>) -> String {
    assert!(location.starts_with(REDIRECT), "{location}");
    assert_eq!(query_param(location, "iss"), app.address);
    if let Some(s) = state {
        assert_eq!(query_param(location, "state"), s);
    }
    query_param(location, "error")
}

#[tokio::test]
async fn a_redirect_uri_not_byte_equal_gets_the_error_page() {
    let (app, admin) = provider().await;
    let rp = register(&app, &admin, json!({})).await;
    let mut browser = Browser::new(&app);
    for uri in [
        "https://rp.example/oidc/callback/",
        "https://RP.example/oidc/callback",
        "https://rp.example/oidc/callback?x=1",
        "https://rp.example:443/oidc/callback",
        "https://rp.example/oidc/%63allback",
        "https://evil.example/oidc/callback",
    ] {
        let page = browser
            .get(&authorize_path(
                &rp,
                &[("redirect_uri", uri), ("state", "s")],
            ))
            .await;
        assert_eq!(page.status, 400, "{uri}");
        assert!(page.location.is_empty(), "{uri}: never a redirect");
        assert!(page.body.contains("callback_not_registered"), "{uri}");
    }
    let twice = format!(
        "{}&redirect_uri={}",
        authorize_path(&rp, &[]),
        urlencode(REDIRECT)
    );
    assert_eq!(
        browser.get(&twice).await.status,
        400,
        "a repeated redirect_uri"
    );
    let unknown = Rp {
        client_id: "gh_unknown".into(),
        ..rp.clone()
    };
    let page = browser.get(&authorize_path(&unknown, &[])).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("invalid_client"));
    // A token-mode partner's id is no OpenID Connect client.
    let (token_partner, _) = app
        .register_partner(&admin, json!({ "name": "Shop", "callbacks": [REDIRECT] }))
        .await;
    let as_oidc = Rp {
        client_id: token_partner,
        ..rp
    };
    assert!(
        browser
            .get(&authorize_path(&as_oidc, &[]))
            .await
            .body
            .contains("invalid_client")
    );
}

#[tokio::test]
async fn pkce_plain_and_a_missing_challenge_for_public_clients_are_refused() {
    let (app, admin) = provider().await;
    let public = register(
        &app,
        &admin,
        json!({ "token_endpoint_auth_method": "none" }),
    )
    .await;
    assert!(public.secret.is_none(), "a public client gets no secret");
    let mut browser = Browser::new(&app);
    let (verifier, challenge) = pkce();
    let s256 = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    for params in [
        vec![("state", "p1")],
        vec![("state", "p1"), ("code_challenge", challenge.as_str())],
        vec![
            ("state", "p1"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "plain"),
        ],
        vec![
            ("state", "p1"),
            ("code_challenge", "short"),
            ("code_challenge_method", "S256"),
        ],
    ] {
        let page = browser.get(&authorize_path(&public, &params)).await;
        assert_eq!(page.status, 302, "{params:?}");
        assert_eq!(
            error_of(&app, &page.location, Some("p1")),
            "invalid_request",
            "{params:?}"
        );
    }
    let to = authorize(&mut browser, &public, &s256).await;
    let code = code_of(&app, &to);
    let (status, body) = exchange(
        &app,
        &public,
        &code,
        Some("wrong-verifier-wrong-verifier-wrong-verifier-00"),
    )
    .await;
    assert_oauth(status, &body, 400, "invalid_grant");
    // The code was used up by that attempt.
    let (status, body) = exchange(&app, &public, &code, Some(&verifier)).await;
    assert_oauth(status, &body, 400, "invalid_grant");
    let to = authorize(&mut browser, &public, &s256).await;
    let (status, body) = exchange(&app, &public, &code_of(&app, &to), None).await;
    assert_oauth(status, &body, 400, "invalid_grant");
    let to = authorize(&mut browser, &public, &s256).await;
    let (status, body) = exchange(&app, &public, &code_of(&app, &to), Some(&verifier)).await;
    assert_eq!(status, 200, "{body}");
    // A confidential client sending a verifier for a code without a challenge is refused too.
    let rp = register(&app, &admin, json!({})).await;
    let to = authorize(&mut browser, &rp, &[]).await;
    let (status, body) = exchange(&app, &rp, &code_of(&app, &to), Some(&verifier)).await;
    assert_oauth(status, &body, 400, "invalid_grant");
}

both_backends! {
    async fn a_replayed_code_is_refused_and_revokes_what_it_issued(app) {
        let admin = prepare(&app).await;
        let rp = register(&app, &admin, json!({})).await;
        let other = register(&app, &admin, json!({ "name": "Other" })).await;
        let mut browser = Browser::new(&app);
        let to = authorize(&mut browser, &other, &[]).await;
        let (_, other_tokens) = exchange(&app, &other, &code_of(&app, &to), None).await;
        let to = authorize(&mut browser, &rp, &[]).await;
        let code = code_of(&app, &to);
        let (status, tokens) = exchange(&app, &rp, &code, None).await;
        assert_eq!(status, 200, "{tokens}");
        let access = tokens["access_token"].as_str().unwrap();
        assert_eq!(app.get_with_token("/token", access).await.0, 200);
        let (status, body) = exchange(&app, &rp, &code, None).await;
        assert_oauth(status, &body, 400, "invalid_grant");
        let (status, body) = app.get_with_token("/token", access).await;
        assert_error(status, &body, 401, "token_revoked");
        let refresh = tokens["refresh_token"].as_str().unwrap();
        let (status, body) = token_request(
            &app,
            &rp,
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        )
        .await;
        assert_oauth(status, &body, 400, "invalid_grant");
        // The session and the other client are untouched.
        let other_access = other_tokens["access_token"].as_str().unwrap();
        assert_eq!(app.get_with_token("/token", other_access).await.0, 200);
        assert_eq!(browser.get(&authorize_path(&rp, &[])).await.status, 302);
        // A code shown by another client is refused, revokes nothing of either, and stays
        // usable by its own client.
        let to = authorize(&mut browser, &rp, &[]).await;
        let code = code_of(&app, &to);
        let (status, body) = exchange(&app, &other, &code, None).await;
        assert_oauth(status, &body, 400, "invalid_grant");
        let (status, body) = exchange(&app, &other, &code, None).await;
        assert_oauth(status, &body, 400, "invalid_grant");
        assert_eq!(app.get_with_token("/token", other_access).await.0, 200);
        let (status, tokens) = exchange(&app, &rp, &code, None).await;
        assert_eq!(status, 200, "{tokens}");
        // Replayed by another client once used, it still revokes nothing of its client's.
        let (status, body) = exchange(&app, &other, &code, None).await;
        assert_oauth(status, &body, 400, "invalid_grant");
        let access = tokens["access_token"].as_str().unwrap();
        assert_eq!(app.get_with_token("/token", access).await.0, 200);
    }
}

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let (app, admin) = provider().await;
    let rp = register(&app, &admin, json!({})).await;
    let mut browser = Browser::new(&app);
    let page = browser
        .get(&authorize_path(&rp, &[("prompt", "none"), ("state", "z")]))
        .await;
    assert_eq!(page.status, 302);
    assert_eq!(error_of(&app, &page.location, Some("z")), "login_required");
    let page = browser
        .get(&authorize_path(&rp, &[("prompt", "none login")]))
        .await;
    assert_eq!(error_of(&app, &page.location, None), "invalid_request");
    // With a session, prompt=none gives a code at once; prompt=login asks again.
    authorize(&mut browser, &rp, &[]).await;
    let page = browser
        .get(&authorize_path(&rp, &[("prompt", "none")]))
        .await;
    code_of(&app, &page.location);
    let page = browser
        .get(&authorize_path(&rp, &[("prompt", "login")]))
        .await;
    assert!(page.location.contains("/login?flow="), "{}", page.location);
    // max_age=0 is always exceeded after a second.
    sleep_ms(1100).await;
    let page = browser
        .get(&authorize_path(
            &rp,
            &[("max_age", "0"), ("prompt", "none")],
        ))
        .await;
    assert_eq!(error_of(&app, &page.location, None), "login_required");
}

#[tokio::test]
async fn other_authorization_errors_go_back_to_the_client_with_state_and_iss() {
    let (app, admin) = provider().await;
    let rp = register(&app, &admin, json!({})).await;
    let mut browser = Browser::new(&app);
    for (params, error) in [
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (vec![("response_type", "")], "invalid_request"),
        (vec![("scope", "profile email")], "invalid_scope"),
        (vec![("response_mode", "form_post")], "invalid_request"),
        (vec![("request", "eyJ.x.y")], "request_not_supported"),
        (
            vec![("request_uri", "https://rp.example/r")],
            "request_uri_not_supported",
        ),
        (vec![("registration", "{}")], "registration_not_supported"),
        (vec![("max_age", "-1")], "invalid_request"),
        (vec![("prompt", "bogus")], "invalid_request"),
        (vec![("id_token_hint", "not-a-token")], "invalid_request"),
    ] {
        let mut all = params.clone();
        all.push(("state", "st"));
        let page = browser.get(&authorize_path(&rp, &all)).await;
        assert_eq!(page.status, 302, "{params:?}");
        assert_eq!(
            error_of(&app, &page.location, Some("st")),
            error,
            "{params:?}"
        );
        assert!(!query_param(&page.location, "error_description").is_empty());
    }
    let long = "x".repeat(1025);
    let page = browser.get(&authorize_path(&rp, &[("nonce", &long)])).await;
    assert_eq!(error_of(&app, &page.location, None), "invalid_request");
    let repeated = format!("{}&scope=openid", authorize_path(&rp, &[]));
    let page = browser.get(&repeated).await;
    assert_eq!(error_of(&app, &page.location, None), "invalid_request");
    // A disabled client matches nothing.
    let (status, _) = app
        .send_with_token(
            reqwest::Method::PUT,
            &format!("/admin/api/clients/{}", rp.client_id),
            &admin,
            json!({ "name": "RP", "mode": "oidc", "redirect_uris": [REDIRECT], "enabled": false }),
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        browser
            .get(&authorize_path(&rp, &[]))
            .await
            .body
            .contains("invalid_client")
    );
}

both_backends! {
    async fn refresh_rotates_and_reuse_revokes_the_clients_tokens(app) {
        let admin = prepare(&app).await;
        let rp = register(
            &app,
            &admin,
            json!({ "token_endpoint_auth_method": "client_secret_post" }),
        )
        .await;
        let mut browser = Browser::new(&app);
        let to = authorize(&mut browser, &rp, &[("nonce", "n")]).await;
        let code = code_of(&app, &to);
        let secret = rp.secret.clone().unwrap();
        let post = |form: Vec<(&'static str, String)>| {
            let app = &app;
            let rp = &rp;
            let secret = secret.clone();
            async move {
                let mut form = form;
                form.push(("client_id", rp.client_id.clone()));
                form.push(("client_secret", secret));
                let res = app
                    .client
                    .post(app.url("/oauth2/token"))
                    .form(&form)
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                (status, res.json::<Value>().await.unwrap())
            }
        };
        let (status, first) = post(vec![
            ("grant_type", "authorization_code".into()),
            ("code", code),
            ("redirect_uri", REDIRECT.into()),
        ])
        .await;
        assert_eq!(status, 200, "{first}");
        let id1 = verify_with_jwks(&app, first["id_token"].as_str().unwrap(), &rp.client_id).await;
        let (status, second) = post(vec![
            ("grant_type", "refresh_token".into()),
            (
                "refresh_token",
                first["refresh_token"].as_str().unwrap().into(),
            ),
            ("scope", "openid email".into()),
        ])
        .await;
        assert_eq!(status, 200, "{second}");
        assert_eq!(second["scope"], "openid email");
        assert_ne!(second["refresh_token"], first["refresh_token"]);
        let id2 = verify_with_jwks(&app, second["id_token"].as_str().unwrap(), &rp.client_id).await;
        for same in ["sub", "sid", "auth_time", "amr"] {
            assert_eq!(id1[same], id2[same], "{same}");
        }
        assert!(
            id2.get("nonce").is_none(),
            "a refreshed ID token carries no nonce"
        );
        let (status, body) = post(vec![
            ("grant_type", "refresh_token".into()),
            (
                "refresh_token",
                second["refresh_token"].as_str().unwrap().into(),
            ),
            ("scope", "openid profile email phone".into()),
        ])
        .await;
        assert_oauth(status, &body, 400, "invalid_scope");
        // The first refresh token again: reuse; the client's tokens in the session are revoked.
        let (status, body) = post(vec![
            ("grant_type", "refresh_token".into()),
            (
                "refresh_token",
                first["refresh_token"].as_str().unwrap().into(),
            ),
        ])
        .await;
        assert_oauth(status, &body, 400, "invalid_grant");
        for access in [&first["access_token"], &second["access_token"]] {
            let (status, body) = app.get_with_token("/token", access.as_str().unwrap()).await;
            assert_error(status, &body, 401, "token_revoked");
        }
        let (status, _) = post(vec![
            ("grant_type", "refresh_token".into()),
            (
                "refresh_token",
                second["refresh_token"].as_str().unwrap().into(),
            ),
        ])
        .await;
        assert_eq!(status, 400, "the unspent refresh token went with the grant");
        // The browser session itself lives on.
        let page = browser
            .get(&authorize_path(&rp, &[("prompt", "none")]))
            .await;
        code_of(&app, &page.location);
    }
}

both_backends! {
    async fn concurrent_refreshes_count_as_reuse(app) {
        let admin = prepare(&app).await;
        let rp = register(&app, &admin, json!({})).await;
        let mut browser = Browser::new(&app);
        let to = authorize(&mut browser, &rp, &[]).await;
        let (_, tokens) = exchange(&app, &rp, &code_of(&app, &to), None).await;
        let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
        let form = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];
        at_most_one_wins_and_is_revoked(&app, &rp, &form).await;
    }
}

both_backends! {
    async fn concurrent_code_redemptions_count_as_replay(app) {
        let admin = prepare(&app).await;
        let rp = register(&app, &admin, json!({})).await;
        let mut browser = Browser::new(&app);
        // Several rounds: each is a race, and the losers must find the winner's mark of use
        // however the redemptions interleave.
        for _ in 0..5 {
            let to = authorize(&mut browser, &rp, &[]).await;
            let code = code_of(&app, &to);
            let form = code_form(&rp, &code, None);
            at_most_one_wins_and_is_revoked(&app, &rp, &form).await;
        }
    }
}

/// Sends `form` to the token endpoint eight times at once: one use at most succeeds and the
/// others are reuse, so whatever the winner got is revoked (or it was refused too, when the
/// reuse was seen before it finished).
async fn at_most_one_wins_and_is_revoked(app: &TestApp, rp: &Rp, form: &[(&str, &str)]) {
    let attempts = (0..8).map(|_| token_request(app, rp, form));
    let results = futures_util::future::join_all(attempts).await;
    let won: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| b)
        .collect();
    assert!(won.len() <= 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|(s, b)| *s == 200 || b["error"] == "invalid_grant")
    );
    for tokens in won {
        let (status, body) = app
            .get_with_token("/token", tokens["access_token"].as_str().unwrap())
            .await;
        assert_error(status, &body, 401, "token_revoked");
    }
}

#[tokio::test]
async fn client_authentication_takes_only_the_registered_method_and_one_at_a_time() {
    let (app, admin) = provider().await;
    let rp = register(&app, &admin, json!({})).await;
    let secret = rp.secret.clone().unwrap();
    let url = app.url("/oauth2/token");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", "x"),
        ("redirect_uri", REDIRECT),
    ];
    let cases: Vec<(reqwest::RequestBuilder, bool)> = vec![
        // Basic is registered: the body secret is refused, and so are both at once.
        (
            app.client.post(&url).form(
                &[
                    form.as_slice(),
                    &[("client_id", &rp.client_id), ("client_secret", &secret)],
                ]
                .concat(),
            ),
            false,
        ),
        (
            app.client
                .post(&url)
                .header("authorization", basic(&rp.client_id, &secret))
                .form(&[form.as_slice(), &[("client_secret", &secret)]].concat()),
            true,
        ),
        (
            app.client
                .post(&url)
                .header("authorization", basic(&rp.client_id, "wrong"))
                .form(&form),
            true,
        ),
        (
            app.client
                .post(&url)
                .header("authorization", "Basic !!!")
                .form(&form),
            true,
        ),
        (
            app.client
                .post(&url)
                .form(&[form.as_slice(), &[("client_id", &rp.client_id)]].concat()),
            false,
        ),
        (app.client.post(&url).form(&form), false),
    ];
    for (i, (req, sent_basic)) in cases.into_iter().enumerate() {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401, "case {i}");
        assert_eq!(
            res.headers().contains_key("www-authenticate"),
            sent_basic,
            "case {i}"
        );
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client", "case {i}");
        assert!(
            body.get("code").is_none(),
            "OAuth's format, not the envelope"
        );
    }
    // Basic credentials are form-url-decoded: `_` sent as `%5F` is the same id.
    let encoded_id = rp.client_id.replace('_', "%5F");
    let res = app
        .client
        .post(&url)
        .header("authorization", basic(&encoded_id, &secret))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        400,
        "authenticated; the code is what is wrong"
    );
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_grant");
    for (form, error) in [
        (vec![("grant_type", "password")], "unsupported_grant_type"),
        (
            vec![("grant_type", "client_credentials")],
            "unsupported_grant_type",
        ),
        (vec![], "invalid_request"),
        (
            vec![("grant_type", "authorization_code")],
            "invalid_request",
        ),
    ] {
        let res = app
            .client
            .post(&url)
            .header("authorization", basic(&rp.client_id, &secret))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        assert_eq!(res.headers()["cache-control"], "no-store");
        assert_eq!(
            res.json::<Value>().await.unwrap()["error"],
            error,
            "{form:?}"
        );
    }
    let res = app
        .client
        .post(&url)
        .header("authorization", basic(&rp.client_id, &secret))
        .json(&json!({"grant_type": "authorization_code"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "form bodies only");
    let huge = "a".repeat(70 * 1024);
    let res = app
        .client
        .post(&url)
        .header("authorization", basic(&rp.client_id, &secret))
        .form(&[("grant_type", huge.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
}

both_backends! {
    async fn introspection_and_revocation_answer_only_the_callers_tokens(app) {
        let admin = prepare(&app).await;
        let rp = register(&app, &admin, json!({})).await;
        let other = register(&app, &admin, json!({ "name": "Other" })).await;
        let public = register(
            &app,
            &admin,
            json!({ "token_endpoint_auth_method": "none" }),
        )
        .await;
        let mut browser = Browser::new(&app);
        let to = authorize(&mut browser, &rp, &[]).await;
        let (_, tokens) = exchange(&app, &rp, &code_of(&app, &to), None).await;
        let access = tokens["access_token"].as_str().unwrap();
        let refresh = tokens["refresh_token"].as_str().unwrap();
        let (status, body) = oauth_post(&app, &rp, "/oauth2/introspect", &[("token", access)]).await;
        assert_eq!(status, 200);
        assert_eq!(body["active"], true);
        assert_eq!(body["client_id"], rp.client_id);
        assert_eq!(body["aud"], rp.client_id);
        assert_eq!(body["token_type"], "Bearer");
        for field in ["scope", "sub", "iss", "exp", "iat", "sid", "jti"] {
            assert!(!body[field].is_null(), "{field}");
        }
        let (_, body) = oauth_post(&app, &rp, "/oauth2/introspect", &[("token", refresh)]).await;
        assert_eq!(body["active"], true);
        assert!(
            body.get("aud").is_none() && body.get("jti").is_none() && body.get("token_type").is_none()
        );
        for foreign in [access, refresh, "garbage", "a.b.c"] {
            let (status, body) =
                oauth_post(&app, &other, "/oauth2/introspect", &[("token", foreign)]).await;
            assert_eq!((status, &body), (200, &json!({ "active": false })));
        }
        let (status, body) =
            oauth_post(&app, &public, "/oauth2/introspect", &[("token", access)]).await;
        assert_oauth(status, &body, 401, "invalid_client");
        // Another client's revocation does nothing.
        let (status, _) = oauth_post(&app, &other, "/oauth2/revoke", &[("token", access)]).await;
        assert_eq!(status, 200);
        assert_eq!(app.get_with_token("/token", access).await.0, 200);
        // The owner revoking its access token: that token alone.
        let (status, body) = oauth_post(&app, &rp, "/oauth2/revoke", &[("token", access)]).await;
        assert_eq!((status, body), (200, Value::String(String::new())));
        let (status, body) = app.get_with_token("/token", access).await;
        assert_error(status, &body, 401, "token_revoked");
        let (_, body) = oauth_post(&app, &rp, "/oauth2/introspect", &[("token", refresh)]).await;
        assert_eq!(body["active"], true, "the refresh token stays");
        // Revoking the refresh token revokes the client's tokens in that session.
        let (_, renewed) = token_request(
            &app,
            &rp,
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        )
        .await;
        let (status, _) = oauth_post(
            &app,
            &rp,
            "/oauth2/revoke",
            &[("token", renewed["refresh_token"].as_str().unwrap())],
        )
        .await;
        assert_eq!(status, 200);
        let (_, body) = oauth_post(
            &app,
            &rp,
            "/oauth2/introspect",
            &[("token", renewed["access_token"].as_str().unwrap())],
        )
        .await;
        assert_eq!(body, json!({ "active": false }));
        let (status, _) = oauth_post(&app, &rp, "/oauth2/revoke", &[("token", "unknown")]).await;
        assert_eq!(status, 200, "always 200");
    }
}

#[tokio::test]
async fn one_browser_session_serves_seed_partners_and_oidc_clients() {
    let (app, admin) = provider().await;
    let rp = register(&app, &admin, json!({})).await;
    let shop = "https://shop.example/cb";
    app.register_partner(&admin, json!({ "name": "Shop", "callbacks": [shop] }))
        .await;
    let mut browser = Browser::new(&app);
    let page = browser.sign_in(USER, shop).await;
    assert_eq!(page.status, 303);
    let shop_token = query_param(&page.location, "token");
    // Signed in for the token-mode partner: the OIDC client is not asked again.
    let first = browser.get(&authorize_path(&rp, &[])).await;
    let code = code_of(&app, &first.location);
    let (_, tokens) = exchange(&app, &rp, &code, None).await;
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["sid"], claims(&shop_token)["sid"], "one session");
}

both_backends! {
    async fn rp_initiated_logout_ends_the_session_and_every_partner_is_told(app) {
        let admin = prepare(&app).await;
        let (received, receiver) = logout_receiver();
        let rp = register(
            &app,
            &admin,
            json!({
                "logout_url": format!("{receiver}/rp?x=1"),
                "post_logout_redirect_uris": ["https://rp.example/bye"],
            }),
        )
        .await;
        let shop = "https://shop.example/cb";
        app.register_partner(
            &admin,
            json!({ "name": "Shop", "callbacks": [shop], "logout_url": format!("{receiver}/shop") }),
        )
        .await;
        let mut browser = Browser::new(&app);
        let page = browser.sign_in(USER, shop).await;
        let shop_token = query_param(&page.location, "token");
        let to = authorize(&mut browser, &rp, &[]).await;
        let (_, tokens) = exchange(&app, &rp, &code_of(&app, &to), None).await;
        let id_token = tokens["id_token"].as_str().unwrap();
        let sid = claims(id_token)["sid"].as_str().unwrap().to_owned();

        // Refusals end nothing: a forged hint, a hint for another client, an unregistered URI.
        let bad = format!("{}x", &id_token[..id_token.len() - 1]);
        for (query, reason) in [
            (
                format!("id_token_hint={}", urlencode(&bad)),
                "token_invalid",
            ),
            (
                format!("id_token_hint={id_token}&client_id=gh_other"),
                "invalid_client",
            ),
            (
                format!(
                    "id_token_hint={id_token}&post_logout_redirect_uri={}",
                    urlencode("https://evil.example/")
                ),
                "callback_not_registered",
            ),
            (
                format!(
                    "post_logout_redirect_uri={}",
                    urlencode("https://rp.example/bye")
                ),
                "callback_not_registered",
            ),
        ] {
            let page = browser.get(&format!("/oauth2/logout?{query}")).await;
            assert_eq!(page.status, 400, "{query}");
            assert!(page.body.contains(reason), "{query}");
            assert_eq!(
                app.get_with_token("/token", &shop_token).await.0,
                200,
                "{query}"
            );
        }
        // Without a hint naming this session, a page asks first (CSRF-protected).
        let page = browser
            .get(&format!("/oauth2/logout?client_id={}", rp.client_id))
            .await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("logout-confirm"));
        assert_eq!(app.get_with_token("/token", &shop_token).await.0, 200);
        let flow = attr(&page.body, "name=\"flow\" value=\"");
        let forged = browser
            .post(
                "/oauth2/logout",
                &[("csrf", "nope"), ("flow", &flow), ("confirm", "1")],
            )
            .await;
        assert_eq!(forged.status, 403);
        // The hint for this session: at once, back to the registered URI with the state.
        let page = browser
            .get(&format!(
                "/oauth2/logout?id_token_hint={id_token}&post_logout_redirect_uri={}&state=bye-1",
                urlencode("https://rp.example/bye")
            ))
            .await;
        assert_eq!(page.status, 302, "{}", page.body);
        assert_eq!(page.location, "https://rp.example/bye?state=bye-1");
        assert!(!browser.cookies.contains_key("gh_session"));
        let (status, body) = app.get_with_token("/token", &shop_token).await;
        assert_error(status, &body, 401, "token_revoked");
        let (status, body) = app
            .get_with_token("/token", tokens["access_token"].as_str().unwrap())
            .await;
        assert_error(status, &body, 401, "token_revoked");
        // Both partners are told: the OIDC client with a logout token in its alg (RS256).
        let got = wait_for(&received, 2).await;
        let rp_call = got
            .iter()
            .find(|(path, _)| path.starts_with("/rp"))
            .expect("the OIDC client is told");
        assert_eq!(rp_call.0, "/rp?x=1");
        let logout = verify_with_jwks(&app, &rp_call.1, &rp.client_id).await;
        let header = jsonwebtoken::decode_header(&rp_call.1).unwrap();
        assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
        assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
        assert_eq!(logout["sid"], sid);
        assert!(logout["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
        assert!(logout.get("nonce").is_none());
        assert!(
            got.iter().any(|(path, _)| path == "/shop"),
            "the seed partner is told too"
        );
    }
}

type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// A partner's back-channel endpoint: records (path with query, logout_token) and answers 200.
pub(crate) fn logout_receiver() -> (Received, String) {
    let received: Received = Default::default();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let sink = received.clone();
    serve_every_path(listener, move || {
        let sink = sink.clone();
        actix_web::web::post().to(move |req: actix_web::HttpRequest, form: actix_web::web::Form<std::collections::HashMap<String, String>>| {
            let sink = sink.clone();
            async move {
                let path = match req.query_string() {
                    "" => req.path().to_owned(),
                    q => format!("{}?{q}", req.path()),
                };
                sink.lock().unwrap().push((path, form.get("logout_token").cloned().unwrap_or_default()));
                actix_web::HttpResponse::Ok().finish()
            }
        })
    });
    (received, address)
}

async fn wait_for(received: &Received, n: usize) -> Vec<(String, String)> {
    for _ in 0..100 {
        let got = received.lock().unwrap().clone();
        if got.len() >= n {
            return got;
        }
        sleep_ms(50).await;
    }
    panic!(
        "{n} logout deliveries expected, got {:?}",
        received.lock().unwrap()
    );
}

#[tokio::test]
async fn cors_reflects_only_a_public_clients_origin_and_never_credentials() {
    let (app, admin) = provider().await;
    register(
        &app,
        &admin,
        json!({ "token_endpoint_auth_method": "none", "redirect_uris": ["https://spa.example/cb"] }),
    )
    .await;
    register(&app, &admin, json!({})).await;
    for path in ["/oauth2/token", "/oauth2/revoke", "/oauth2/userinfo"] {
        let res = app
            .client
            .request(reqwest::Method::OPTIONS, app.url(path))
            .header("origin", "https://spa.example")
            .header("access-control-request-method", "POST")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204, "{path}");
        assert_eq!(
            res.headers()["access-control-allow-origin"],
            "https://spa.example"
        );
        assert_eq!(res.headers()["vary"], "Origin");
        assert!(
            !res.headers()
                .contains_key("access-control-allow-credentials")
        );
        for other in ["https://rp.example", "https://evil.example", "null"] {
            let res = app
                .client
                .request(reqwest::Method::OPTIONS, app.url(path))
                .header("origin", other)
                .send()
                .await
                .unwrap();
            assert!(
                !res.headers().contains_key("access-control-allow-origin"),
                "{path} {other}"
            );
        }
    }
    // An error answer carries it too, so the page can read why.
    let res = app
        .client
        .post(app.url("/oauth2/token"))
        .header("origin", "https://spa.example")
        .form(&[("grant_type", "authorization_code")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://spa.example"
    );
}

both_backends! {
    async fn a_clients_first_codes_exchanged_at_once_all_succeed(app) {
        let admin = prepare(&app).await;
        let rp = register(&app, &admin, json!({})).await;
        let mut browser = Browser::new(&app);
        // Several codes in one session before any exchange: each exchange records the client
        // in the session for the first time, at once.
        let mut codes = Vec::new();
        for _ in 0..6 {
            let to = authorize(&mut browser, &rp, &[]).await;
            codes.push(code_of(&app, &to));
        }
        let exchanges = codes.iter().map(|code| exchange(&app, &rp, code, None));
        for (status, body) in futures_util::future::join_all(exchanges).await {
            assert_eq!(status, 200, "{body}");
        }
    }
}
