use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

#[tokio::test]
async fn captcha_comes_as_json_png_and_cookie() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let res = app.get_response("/client_code").await;
    let cookie = res
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.starts_with("captcha_id=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let (_, body) = into_parts(res).await;
    assert!(
        body["data"]["image"]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,")
    );
    assert_eq!(body["data"]["expires_in"], 120);

    let res = app.get_response("/client_code?format=png").await;
    assert_eq!(res.headers()["content-type"], "image/png");
    let bytes = res.bytes().await.unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
}

#[tokio::test]
async fn captcha_is_single_use_even_when_answered_wrong() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.signup("13800138000").await;
    let (id, answer) = app.captcha().await;
    let signin = |answer: String| {
        let id = id.clone();
        let app = &app;
        async move {
            app.post("/users/signin", json!({ "number": "13800138000", "pwd": PASSWORD, "captcha_id": id, "client_code": answer }))
                .await
        }
    };
    let (status, body) = signin("ZZZZ".into()).await;
    assert_error(status, &body, 400, "captcha_invalid");
    let (status, body) = signin(answer.clone()).await;
    assert_error(status, &body, 400, "captcha_invalid");

    let (id, answer) = app.captcha().await;
    let (status, _) = app
        .post("/users/signin", json!({ "number": "13800138000", "pwd": PASSWORD, "captcha_id": id, "client_code": answer.to_lowercase() }))
        .await;
    assert_eq!(status, 200, "answers are case-insensitive");
    let (status, body) = app
        .post("/users/signin", json!({ "number": "13800138000", "pwd": PASSWORD, "captcha_id": id, "client_code": answer }))
        .await;
    assert_error(status, &body, 400, "captcha_invalid");
}

#[tokio::test]
async fn captcha_id_may_come_from_the_cookie() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.signup("13800138000").await;
    let res = app.get_response("/client_code").await;
    let cookie = res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let (_, body) = into_parts(res).await;
    let answer = body["data"]["answer"].as_str().unwrap();
    let res = app
        .client
        .post(app.url("/users/signin"))
        .header("cookie", cookie)
        .form(&[
            ("number", "13800138000"),
            ("pwd", PASSWORD),
            ("client_code", answer),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_number_gets_one_code_per_minute() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.code_for("13800138000", None).await;
    let (status, body) = app
        .post("/verify_code", json!({ "number": "+8613800138000" }))
        .await;
    assert_error(status, &body, 429, "rate_limited");
    assert!(body["data"]["retry_after"].as_u64().unwrap() <= 60);
    assert_eq!(app.sms.count(), 1);
}

#[tokio::test]
async fn an_ip_must_solve_a_captcha_after_a_few_sends_and_is_capped() {
    let settings = json!({ "code_captcha_after": 2, "code_limit_per_ip_hour": 3 });
    let app = TestApp::spawn_set(Backend::Sqlite, settings).await.unwrap();
    app.code_for("13800138001", None).await;
    app.code_for("13800138002", None).await;
    let (status, body) = app.request_code("13800138003", None).await;
    assert_error(status, &body, 400, "captcha_invalid");
    let (id, answer) = app.captcha().await;
    let (status, body) = app
        .request_code_with_captcha("13800138003", (&id, &answer))
        .await;
    assert_eq!(status, 200, "{body}");
    let (id, answer) = app.captcha().await;
    let (status, body) = app
        .request_code_with_captcha("13800138004", (&id, &answer))
        .await;
    assert_error(status, &body, 429, "rate_limited");
    assert_eq!(app.sms.count(), 3);
}

#[tokio::test]
async fn spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing() {
    let app = TestApp::spawn_set(Backend::Sqlite, json!({ "code_captcha_after": 1 }))
        .await
        .unwrap();
    app.code_for("13800138001", None).await;
    let forwarded = app
        .client
        .post(app.url("/verify_code"))
        .header("x-forwarded-for", "203.0.113.9");
    let (status, body) = go(forwarded.json(&json!({ "number": "13800138002" }))).await;
    assert_error(status, &body, 400, "captcha_invalid");
}

#[tokio::test]
async fn a_failed_delivery_does_not_use_up_the_cooldown() {
    let settings = json!({ "sms_webhook_url": "http://127.0.0.1:9/unreachable" });
    let app = TestApp::spawn_set(Backend::Sqlite, settings).await.unwrap();
    let (status, body) = app
        .post("/verify_code", json!({ "number": "13800138000" }))
        .await;
    assert_error(status, &body, 503, "unavailable");
    let (status, body) = app
        .post("/verify_code", json!({ "number": "13800138000" }))
        .await;
    assert_error(status, &body, 503, "unavailable");
}

both_backends! {
    async fn code_is_bound_to_its_number(app) {
        let code = app.code_for("13800138000", None).await;
        let (status, body) = app
            .signup_with("13800138001", PASSWORD, &code)
            .await;
        assert_error(status, &body, 400, "verify_code_invalid");
    }

    async fn code_is_bound_to_its_purpose(app) {
        let code = app.code_for("13800138000", Some("reset_password")).await;
        let (status, body) = app
            .signup_with("13800138000", PASSWORD, &code)
            .await;
        assert_error(status, &body, 400, "verify_code_invalid");
    }

    async fn five_wrong_tries_burn_the_code(app) {
        let code = app.code_for("13800138000", None).await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for _ in 0..5 {
            let (status, body) = app
                .signup_with("13800138000", PASSWORD, wrong)
                .await;
            assert_error(status, &body, 400, "verify_code_invalid");
        }
        let (status, body) = app
            .signup_with("13800138000", PASSWORD, &code)
            .await;
        assert_error(status, &body, 400, "verify_code_invalid");
        assert_eq!(app.count_rows().await.0, 0);
    }

    async fn code_is_single_use(app) {
        let code = app.code_for("13800138000", None).await;
        let body = json!({ "number": "13800138000", "pwd": PASSWORD, "verify_code": code });
        let (status, _) = app.post("/users/signup", body.clone()).await;
        assert_eq!(status, 201);
        let (status, answer) = app.post("/users/signup", body).await;
        assert_error(status, &answer, 400, "verify_code_invalid");
    }

    async fn code_sign_in_works_and_unknown_numbers_are_not_found(app) {
        app.signup("13800138000").await;
        let code = app.code_for("13800138000", Some("signin")).await;
        let (status, body) = app
            .post("/users/verify_code_sign_in", json!({ "number": "13800138000", "verify_code": code }))
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, _) = app.get_with_token("/token", body["data"].as_str().unwrap()).await;
        assert_eq!(status, 200);

        let code = app.code_for("13900139000", None).await;
        let attempt = json!({ "number": "13900139000", "verify_code": code });
        let (status, body) = app.post("/users/verify_code_sign_in", attempt.clone()).await;
        assert_error(status, &body, 404, "account_not_found");
        let (status, body) = app.post("/users/verify_code_sign_in", attempt).await;
        assert_error(status, &body, 400, "verify_code_invalid");
    }
}

#[tokio::test]
async fn the_global_sms_ceiling_stops_sends_with_503() {
    let settings = json!({ "sms_max_per_minute": 2 });
    let app = TestApp::spawn_set(Backend::Sqlite, settings).await.unwrap();
    // The ceiling is per wall-clock minute: keep the three sends inside one.
    let second = chrono::Utc::now().timestamp() % 60;
    if second > 50 {
        tokio::time::sleep(std::time::Duration::from_secs((61 - second) as u64)).await;
    }
    app.code_for("13800138001", None).await;
    app.code_for("13800138002", None).await;
    let (status, body) = app.request_code("13800138003", None).await;
    assert_error(status, &body, 503, "unavailable");
    assert_eq!(app.sms.count(), 2);
}
