//! The request log: one line a request, with its id, and no secret in it.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_logged_once_with_a_request_id_and_no_secrets() {
    let sms = SmsSink::start();
    let sandbox = Sandbox::new();
    let mut serve = sandbox.gatehouse();
    serve
        .env("GATEHOUSE_LOG", "info")
        .env("GATEHOUSE_BCRYPT_COST", "4")
        .env("GATEHOUSE_CAPTCHA_TEST_ANSWERS", "true")
        .env("GATEHOUSE_SMS_PROVIDER", "webhook")
        .env("GATEHOUSE_SMS_WEBHOOK_URL", &sms.url);
    let server = Server::start(serve, sandbox.cwd.path().join("serve.log")).await;

    let phone = "13600136000";
    let password = "Quiet-Lantern-7731";
    // (request id, path) of every request of the flow.
    let mut requests: Vec<(String, &str)> = Vec::new();
    let mut send = async |req: reqwest::RequestBuilder, path: &'static str| {
        let res = req.send().await.unwrap();
        let id = request_id(&res).unwrap_or_else(|| panic!("{path}: no x-request-id header"));
        requests.push((id, path));
        crate::helpers::into_parts(res).await
    };

    let (status, body) = send(
        server
            .client
            .post(server.url("/verify_code"))
            .json(&json!({ "number": phone, "purpose": "signup" })),
        "/verify_code",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let code = sms.last_code(phone).expect("the sink got no code");

    let (status, body) = send(
        server
            .client
            .post(server.url("/users/signup"))
            .json(&json!({ "number": phone, "pwd": password, "verify_code": code })),
        "/users/signup",
    )
    .await;
    assert_eq!(status, 201, "{body}");

    let (status, body) = send(
        server.client.get(server.url("/client_code")),
        "/client_code",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let captcha_id = body["data"]["captcha_id"].as_str().unwrap().to_owned();
    let answer = body["data"]["answer"].as_str().unwrap().to_owned();

    let (status, body) = send(
        server
            .client
            .post(server.url("/users/signin"))
            .json(&json!({
                "number": phone, "pwd": password, "client_code": answer, "captcha_id": captcha_id,
            })),
        "/users/signin",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = body["data"].as_str().unwrap().to_owned();

    // The token in the query string on purpose: only the path may be logged.
    let (status, body) = send(
        server
            .client
            .get(server.url(&format!("/token?token={token}"))),
        "/token",
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = send(
        server
            .client
            .request(Method::PATCH, server.url("/users/signout"))
            .bearer_auth(&token)
            .json(&json!({})),
        "/users/signout",
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // The per-request lines carry the method, path and status of the request.
    let is_access = |l: &&str| l.contains("path=") && l.contains("status=");
    let expected = requests.len() + server.health_ids.len();
    // Lines are written by the server's log thread just after the answers: wait for them.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut log = strip_ansi(&server.log_text());
    while log.lines().filter(is_access).count() < expected && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        log = strip_ansi(&server.log_text());
    }
    let lines: Vec<&str> = log.lines().collect();
    let access: Vec<&str> = lines.iter().copied().filter(is_access).collect();
    assert_eq!(
        access.len(),
        expected,
        "want one log line per request ({} flow + {} health polls):\n{log}",
        requests.len(),
        server.health_ids.len()
    );
    for (id, path) in &requests {
        let mine: Vec<&str> = access
            .iter()
            .copied()
            .filter(|l| l.contains(id.as_str()))
            .collect();
        assert_eq!(
            mine.len(),
            1,
            "request {path} (id {id}) should be logged exactly once:\n{log}"
        );
        assert!(
            contains_word(mine[0], &format!("path={path}")),
            "the line of {id} does not name {path}: {}",
            mine[0]
        );
    }
    for id in &server.health_ids {
        let mine = access.iter().filter(|l| l.contains(id.as_str())).count();
        assert_eq!(mine, 1, "/healthz (id {id}) should be logged once:\n{log}");
    }

    // No secrets, in any line.
    let signature = token.rsplit('.').next().unwrap();
    assert!(!log.contains(password), "the password is logged:\n{log}");
    assert!(!log.contains(&token), "the token is logged:\n{log}");
    assert!(
        !log.contains(signature),
        "the token's signature is logged:\n{log}"
    );
    assert!(!log.contains("token="), "a query string is logged:\n{log}");
    // Short values are looked for as whole words, outside the timestamp and level columns
    // (a 4-letter captcha answer could be `WARN`).
    for line in &lines {
        let text: Vec<&str> = line.split_whitespace().skip(2).collect();
        let text = text.join(" ");
        assert!(
            !contains_word(&text, &code),
            "the verification code {code} is logged: {line}"
        );
        assert!(
            !contains_word(&text, &answer),
            "the captcha answer {answer} is logged: {line}"
        );
    }
}

/// Starts a server logging in `format` with the development code delivery, asks for a code,
/// and gives back the request's id and the log line the delivery wrote while answering it.
async fn code_delivery_line(format: &str) -> (String, String) {
    let sandbox = Sandbox::new();
    let mut serve = sandbox.gatehouse();
    serve
        .env("GATEHOUSE_LOG_FORMAT", format)
        .env("GATEHOUSE_SMS_PROVIDER", "log");
    let server = Server::start(serve, sandbox.cwd.path().join("serve.log")).await;
    let res = server
        .client
        .post(server.url("/verify_code"))
        .json(&json!({ "number": "13600136000", "purpose": "signup" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let id = request_id(&res).expect("an x-request-id header");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let log = strip_ansi(&server.log_text());
        if let Some(line) = log.lines().find(|l| l.contains("development delivery")) {
            return (id, line.to_owned());
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no delivery line:\n{log}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_line_logged_while_answering_a_request_names_the_request() {
    // The delivery logs inside spans of its own: the request is the outermost.
    let (id, line) = code_delivery_line("text").await;
    assert!(
        line.contains(&format!("  WARN request{{id={id}}}:")),
        "{line}"
    );
    assert!(line.contains(": gatehouse::dev_delivery: "), "{line}");
    let (id, line) = code_delivery_line("json").await;
    let line: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(line["request_id"], id.as_str(), "{line}");
    assert!(line["span"]["name"].is_string(), "{line}");
    assert_eq!(line["target"], "gatehouse::dev_delivery", "{line}");
}

#[tokio::test]
async fn the_json_log_format_writes_one_json_object_per_line() {
    let sandbox = Sandbox::new();
    let mut serve = sandbox.gatehouse();
    serve.env("GATEHOUSE_LOG_FORMAT", "json");
    let server = Server::start(serve, sandbox.cwd.path().join("serve.log")).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let request_line = |log: &str| {
        log.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["path"] == "/healthz")
    };
    let mut log = server.log_text();
    while request_line(&log).is_none() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        log = server.log_text();
    }
    for line in log.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: not JSON: {line}"));
        assert!(
            v["timestamp"].is_string() && v["level"].is_string(),
            "{line}"
        );
    }
    let line = request_line(&log).expect("a request line");
    assert_eq!(line["status"], 200, "{line}");
    assert_eq!(line["method"], "GET", "{line}");
    assert!(line["span"]["id"].is_string(), "the request id: {line}");
}

#[test]
fn an_unknown_log_format_is_a_configuration_error() {
    let sandbox = Sandbox::new();
    let mut serve = sandbox.gatehouse();
    serve.env("GATEHOUSE_LOG_FORMAT", "xml").arg("serve");
    let out = run(serve);
    assert_eq!(out.status.code(), Some(2), "{out}");
    assert!(out.stderr.contains("GATEHOUSE_LOG_FORMAT"), "{out}");
}

/// The line of a request answered just before the server is told to stop is in the log when
/// the process has exited: neither the worker thread that gathered it nor the log thread's
/// queue loses it at exit.
#[tokio::test]
async fn the_last_request_before_a_stop_is_logged_by_the_time_the_server_exits() {
    let sandbox = Sandbox::new();
    let mut serve = sandbox.gatehouse();
    serve.env("GATEHOUSE_LOG", "info");
    let mut server = Server::start(serve, sandbox.cwd.path().join("serve.log")).await;
    // No idle keep-alive connection left for the stop to wait out: it follows at once.
    server.client = reqwest::Client::new();
    let res = server
        .client
        .get(server.url("/healthz"))
        .header("connection", "close")
        .send()
        .await
        .unwrap();
    let id = request_id(&res).expect("an x-request-id header");
    let stopped = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "gatehouse serve did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let log = strip_ansi(&server.log_text());
    let lines = log
        .lines()
        .filter(|l| l.contains(&id) && contains_word(l, "path=/healthz"))
        .count();
    assert_eq!(lines, 1, "the last request's line:\n{log}");
}
