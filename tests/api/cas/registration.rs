//! Registering CAS services (PROTOCOLS §2): service rules in `callbacks`, no secret, and the
//! changes a PUT may not make.

use super::*;

async fn create(app: &TestApp, admin: &str, body: Value) -> (u16, Value) {
    app.send_with_token(reqwest::Method::POST, "/admin/api/clients", admin, body)
        .await
}

#[tokio::test]
async fn a_cas_service_has_service_rules_and_no_secret() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (_, admin) = app.admin("13700137000").await;
    let (status, created) = create(
        &app,
        &admin,
        json!({ "name": "Library", "mode": "cas", "callbacks": ["HTTPS://App.Example:443/cas/*"],
                "logout_url": "https://app.example/slo" }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let service = &created["data"];
    assert_eq!(service["mode"], "cas");
    assert_eq!(service["client_secret"], Value::Null);
    assert_eq!(service["callbacks"], json!([SERVICE]));
    assert_eq!(service["logout_url"], "https://app.example/slo");
    assert_eq!(service["redirect_uris"], json!([]));
    assert_eq!(service["token_endpoint_auth_method"], Value::Null);
    assert_eq!(service["id_token_signed_response_alg"], Value::Null);

    for (body, field) in [
        (json!({ "name": "X", "mode": "cas" }), "callbacks"),
        (
            json!({ "name": "X", "mode": "cas", "callbacks": ["ftp://app.example/"] }),
            "callbacks",
        ),
        (
            json!({ "name": "X", "mode": "cas", "callbacks": [SERVICE],
                    "redirect_uris": ["https://app.example/cb"] }),
            "redirect_uris",
        ),
        (
            json!({ "name": "X", "mode": "cas", "callbacks": [SERVICE],
                    "token_endpoint_auth_method": "none" }),
            "token_endpoint_auth_method",
        ),
    ] {
        let (status, answer) = create(&app, &admin, body.clone()).await;
        assert_error(status, &answer, 400, "invalid_params");
        assert!(
            answer["data"]["fields"][field].is_string(),
            "{body}: {answer}"
        );
    }
}

#[tokio::test]
async fn a_cas_service_has_no_secret_to_rotate_and_keeps_its_mode() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (_, admin) = app.admin("13700137000").await;
    let (_, created) = create(
        &app,
        &admin,
        json!({ "name": "Library", "mode": "cas", "callbacks": [SERVICE] }),
    )
    .await;
    let id = created["data"]["client_id"].as_str().unwrap().to_owned();
    let (status, answer) = app
        .send_with_token(
            reqwest::Method::POST,
            &format!("/admin/api/clients/{id}/secret"),
            &admin,
            json!({}),
        )
        .await;
    assert_error(status, &answer, 409, "conflict");
    let put = |id: String, body: Value| {
        let (app, admin) = (&app, &admin);
        async move {
            app.send_with_token(
                reqwest::Method::PUT,
                &format!("/admin/api/clients/{id}"),
                admin,
                body,
            )
            .await
        }
    };
    let (status, answer) = put(
        id.clone(),
        json!({ "name": "Library", "mode": "cas", "callbacks": ["https://app.example/other/*"] }),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["data"]["callbacks"],
        json!(["https://app.example/other/*"])
    );
    let (status, answer) = put(
        id.clone(),
        json!({ "name": "Library", "mode": "ticket", "callbacks": [SERVICE] }),
    )
    .await;
    assert_error(status, &answer, 409, "conflict");
    let (shop, _) = app
        .register_partner(&admin, json!({ "name": "Shop", "callbacks": [SERVICE] }))
        .await;
    let (status, answer) = put(
        shop,
        json!({ "name": "Shop", "mode": "cas", "callbacks": [SERVICE] }),
    )
    .await;
    assert_error(status, &answer, 409, "conflict");
}

#[tokio::test]
async fn the_console_registers_a_cas_service() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (_, admin) = app.admin("13700137000").await;
    let mut b = Browser::new(&app);
    b.sign_in("13700137000", "").await;
    let page = b.get("/admin").await;
    assert!(page.body.contains("<option value=\"cas\""), "{}", page.body);
    let page = b
        .submit(
            "/admin/clients/new/create",
            &[
                ("name", "Library"),
                ("callbacks", SERVICE),
                ("mode", "cas"),
                ("redirect_uris", ""),
                ("post_logout_redirect_uris", ""),
                ("token_endpoint_auth_method", ""),
                ("id_token_signed_response_alg", ""),
                ("logout_url", ""),
                ("enabled", "1"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = b.get("/admin").await;
    assert!(
        !page.body.contains("id=\"client-secret\""),
        "a CAS service has no secret to show"
    );
    let (_, list) = app.get_with_token("/admin/api/clients", &admin).await;
    let library = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Library")
        .expect("the service is listed");
    assert_eq!(library["mode"], "cas");
    assert_eq!(library["callbacks"], json!([SERVICE]));
}
