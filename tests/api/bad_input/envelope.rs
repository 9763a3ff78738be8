//! The envelope at its edges: unknown routes and methods, malformed and oversized bodies,
//! exact keys, languages, list parameters of the wrong shape.

use super::*;

/// `"METHOD /path"`, as the contract names a route, split into its method and path.
fn route(line: &'static str) -> (Method, &'static str) {
    let (method, path) = line.split_once(' ').expect("METHOD /path");
    (Method::from_bytes(method.as_bytes()).unwrap(), path)
}

/// Sends each of `routes` (`"METHOD /path"`) to a fresh server, with `body` as JSON where
/// there is one, and expects every answer to be the error `status` with `reason`.
async fn expect_each_refused(
    routes: &[&'static str],
    body: Option<Value>,
    status: u16,
    reason: &str,
) {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    for (method, path) in routes.iter().map(|r| route(r)) {
        let mut request = app.client.request(method.clone(), app.url(path));
        if let Some(body) = &body {
            request = request.json(body);
        }
        let (got, answer) = go(request).await;
        expect_error(got, &answer, status, reason, &format!("{method} {path}"));
    }
}

#[tokio::test]
async fn unknown_routes_are_404_not_found() {
    let unknown = [
        "GET /nope",
        "POST /nope",
        "GET /users/token/extra",
        "GET /verify_code/x",
        "DELETE /users/signin/x",
        "GET /api/users",
        "GET /%2e%2e/etc/passwd",
    ];
    expect_each_refused(&unknown, None, 404, "not_found").await;
}

#[tokio::test]
async fn known_paths_with_the_wrong_method_are_405_method_not_allowed() {
    let wrong_method = [
        "GET /verify_code",
        "PUT /users/signin",
        "DELETE /users/signup",
        "PUT /users/password",
        "POST /users/verify_code_password",
        "PATCH /users",
        "POST /users/token",
        "DELETE /token",
        "POST /client_code",
        "POST /users/00000000-0000-0000-0000-000000000000",
    ];
    expect_each_refused(&wrong_method, Some(json!({})), 405, "method_not_allowed").await;
}

/// Every route that takes a body, with a body that would be valid enough to get past parsing.
fn write_routes() -> [(Method, &'static str); 10] {
    [
        "POST /verify_code",
        "POST /users/signin",
        "POST /users/verify_code_sign_in",
        "POST /users/signup",
        "PATCH /users/password",
        "PATCH /users/verify_code_password",
        "PUT /users",
        "PATCH /users/signout",
        "DELETE /users",
        "POST /token",
    ]
    .map(route)
}

/// A server with the partner at [`CALLBACK`] registered and a person signed in there: the
/// server, the person's token, and the database as it stands then.
async fn app_with_a_signed_in_person() -> (TestApp, String, Vec<String>) {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.add_client(&[CALLBACK]).await;
    let (_, token) = app.user("13800138000").await;
    let before = snapshot(&app).await;
    (app, token, before)
}

/// Sends `request` and expects 413 `payload_too_large`.
async fn expect_too_large(request: reqwest::RequestBuilder, ctx: &str) {
    let (status, answer) = go(request).await;
    expect_error(status, &answer, 413, "payload_too_large", ctx);
}

#[tokio::test]
async fn malformed_array_and_non_json_bodies_are_invalid_params() {
    let (app, token, before) = app_with_a_signed_in_person().await;
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
    let (app, token, before) = app_with_a_signed_in_person().await;
    let sms_before = app.sms.count();
    let pad = "x".repeat(70 * 1024);
    for (method, path) in write_routes() {
        let json_body = json!({ "number": "13700137000", "pad": pad });
        let request = || {
            app.client
                .request(method.clone(), app.url(path))
                .bearer_auth(&token)
        };
        expect_too_large(request().json(&json_body), &format!("{method} {path} JSON")).await;
        let form = [("number", "13700137000"), ("pad", pad.as_str())];
        expect_too_large(request().form(&form), &format!("{method} {path} form")).await;
    }
    assert_unchanged(&before, &snapshot(&app).await, "oversized bodies");
    assert_eq!(app.sms.count(), sms_before);

    // The limit is 64 KiB exactly: 65,536 bytes pass, 65,537 do not.
    let sized = |n: usize| {
        let head = r#"{"number":"13700137000","pad":""#;
        let tail = r#""}"#;
        format!("{head}{}{tail}", "x".repeat(n - head.len() - tail.len()))
    };
    expect_too_large(
        app.client
            .post(app.url("/verify_code"))
            .header("content-type", "application/json")
            .body(sized(64 * 1024 + 1)),
        "65,537-byte body",
    )
    .await;
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
        "GET /nope",
        "GET /verify_code",
        "POST /users/signup",
        "GET /token",
        "GET /client_code",
    ]
    .map(route)
    {
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
    let (_, token) = app.admin("13800138000").await;
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
