//! Registering OpenID Connect partners through the admin JSON API and the console
//! (PROTOCOLS §2): every field on every client object, the changes a PUT may make.

use serde_json::{Value, json};

use super::*;

async fn put(app: &TestApp, admin: &str, id: &str, body: Value) -> (u16, Value) {
    app.send_with_token(
        reqwest::Method::PUT,
        &format!("/admin/api/clients/{id}"),
        admin,
        body,
    )
    .await
}

#[tokio::test]
async fn client_objects_carry_every_field_and_secrets_only_where_one_is_used() {
    let (app, admin) = provider().await;
    let (status, created) = app
        .send_with_token(
            reqwest::Method::POST,
            "/admin/api/clients",
            &admin,
            json!({ "name": "RP", "mode": "oidc", "redirect_uris": [REDIRECT], "callbacks": "" }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let rp = &created["data"];
    assert!(rp["client_secret"].as_str().unwrap().len() >= 32);
    assert_eq!(rp["callbacks"], json!([]));
    assert_eq!(rp["post_logout_redirect_uris"], json!([]));
    assert_eq!(rp["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(rp["id_token_signed_response_alg"], "RS256");
    assert_eq!(rp["logout_url"], Value::Null);
    let public = register(
        &app,
        &admin,
        json!({ "token_endpoint_auth_method": "none" }),
    )
    .await;
    assert_eq!(public.secret, None);
    let (_, shop) = app
        .send_with_token(
            reqwest::Method::POST,
            "/admin/api/clients",
            &admin,
            json!({ "name": "Shop", "callbacks": ["https://shop.example/cb"] }),
        )
        .await;
    let shop = &shop["data"];
    assert_eq!(shop["redirect_uris"], json!([]));
    assert_eq!(shop["post_logout_redirect_uris"], json!([]));
    assert_eq!(shop["token_endpoint_auth_method"], Value::Null);
    assert_eq!(shop["id_token_signed_response_alg"], Value::Null);
    // Another mode's field, or a bad value, names the field.
    for (body, field) in [
        (json!({ "name": "X", "mode": "oidc" }), "redirect_uris"),
        (
            json!({ "name": "X", "mode": "oidc", "redirect_uris": ["https://a.example/cb/../x"] }),
            "redirect_uris",
        ),
        (
            json!({ "name": "X", "mode": "oidc", "redirect_uris": [REDIRECT], "callbacks": [REDIRECT] }),
            "callbacks",
        ),
        (
            json!({ "name": "X", "mode": "oidc", "redirect_uris": [REDIRECT], "id_token_signed_response_alg": "none" }),
            "id_token_signed_response_alg",
        ),
        (
            json!({ "name": "X", "callbacks": [REDIRECT], "post_logout_redirect_uris": [REDIRECT] }),
            "post_logout_redirect_uris",
        ),
        (
            json!({ "name": "X", "callbacks": [REDIRECT], "token_endpoint_auth_method": "none" }),
            "token_endpoint_auth_method",
        ),
        (
            json!({ "name": "X", "mode": "saml", "callbacks": [REDIRECT] }),
            "mode",
        ),
        (
            json!({ "name": "X", "mode": "oidc", "redirect_uris": [1] }),
            "redirect_uris",
        ),
    ] {
        let (status, answer) = app
            .send_with_token(
                reqwest::Method::POST,
                "/admin/api/clients",
                &admin,
                body.clone(),
            )
            .await;
        assert_error(status, &answer, 400, "invalid_params");
        assert!(
            answer["data"]["fields"][field].is_string(),
            "{body}: {answer}"
        );
    }
}

#[tokio::test]
async fn a_put_changes_the_mode_only_between_token_and_ticket_and_the_auth_method_only_between_secrets()
 {
    let (app, admin) = provider().await;
    let rp = register(&app, &admin, json!({})).await;
    let oidc = |extra: Value| {
        let mut body = json!({ "name": "RP", "mode": "oidc", "redirect_uris": [REDIRECT] });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let (status, body) = put(&app, &admin, &rp.client_id, oidc(json!({ "token_endpoint_auth_method": "client_secret_post", "id_token_signed_response_alg": "EdDSA" }))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["token_endpoint_auth_method"],
        "client_secret_post"
    );
    for body in [
        oidc(json!({ "token_endpoint_auth_method": "none" })),
        json!({ "name": "RP", "mode": "token", "callbacks": [REDIRECT] }),
    ] {
        let (status, answer) = put(&app, &admin, &rp.client_id, body).await;
        assert_error(status, &answer, 409, "conflict");
    }
    let public = register(
        &app,
        &admin,
        json!({ "token_endpoint_auth_method": "none" }),
    )
    .await;
    let (status, answer) = put(&app, &admin, &public.client_id, oidc(json!({}))).await;
    assert_error(status, &answer, 409, "conflict");
    let (status, answer) = app
        .send_with_token(
            reqwest::Method::POST,
            &format!("/admin/api/clients/{}/secret", public.client_id),
            &admin,
            json!({}),
        )
        .await;
    assert_error(status, &answer, 409, "conflict");
    let (shop, _) = app
        .register_partner(&admin, json!({ "name": "Shop", "callbacks": [REDIRECT] }))
        .await;
    let (status, _) = put(
        &app,
        &admin,
        &shop,
        json!({ "name": "Shop", "mode": "ticket", "callbacks": [REDIRECT] }),
    )
    .await;
    assert_eq!(status, 200);
    let (status, answer) = put(&app, &admin, &shop, oidc(json!({}))).await;
    assert_error(status, &answer, 409, "conflict");
}

#[tokio::test]
async fn the_console_registers_an_openid_connect_client() {
    let (app, admin) = provider().await;
    let mut b = Browser::new(&app);
    b.sign_in("13700137000", "").await;
    let page = b.get("/admin").await;
    assert!(page.body.contains("name=\"redirect_uris\""));
    let page = b
        .submit(
            "/admin/clients/new/create",
            &[
                ("name", "Wiki"),
                ("callbacks", ""),
                ("mode", "oidc"),
                (
                    "redirect_uris",
                    "https://wiki.example/oidc/cb\nhttps://wiki.example/cb?tenant=a,b",
                ),
                ("post_logout_redirect_uris", ""),
                ("token_endpoint_auth_method", ""),
                ("id_token_signed_response_alg", "EdDSA"),
                ("logout_url", ""),
                ("enabled", "1"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = b.get("/admin").await;
    assert!(
        page.body.contains("id=\"client-secret\""),
        "the secret is shown once"
    );
    assert!(
        page.body.contains("https://wiki.example/cb?tenant=a,b"),
        "a comma stays in a URI"
    );
    let (_, list) = app.get_with_token("/admin/api/clients", &admin).await;
    let wiki = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Wiki")
        .unwrap()
        .clone();
    assert_eq!(wiki["mode"], "oidc");
    assert_eq!(wiki["id_token_signed_response_alg"], "EdDSA");
    assert_eq!(wiki["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(wiki["redirect_uris"].as_array().unwrap().len(), 2);
}
