//! Holes an attacker finds in the running service, each proven closed: a sign-in storm that
//! froze the pages, open redirects, trickled requests, sessions without an end, files others
//! could read, cookies that lost `Secure`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::both_backends_with;
use crate::helpers::*;

/// Production bcrypt cost, a short bcrypt queue, and no per-IP budget in the way.
async fn storm_app(backend: Backend) -> Option<TestApp> {
    let settings = json!({ "bcrypt_cost": 12, "bcrypt_queue": 8, "signin_limit_per_ip": 100_000 });
    TestApp::spawn_set(backend, settings).await
}

async fn timed(fut: impl Future<Output = (u16, String)>) -> (u16, Duration) {
    let started = Instant::now();
    let (status, _) = fut.await;
    (status, started.elapsed())
}

async fn get_text(app: &TestApp, path: &str, token: Option<&str>) -> (u16, String) {
    let mut req = app.client.get(app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

both_backends_with! {
    storm_app;

    async fn a_sign_in_storm_leaves_pages_captchas_and_token_checks_answering(app) {
        let (_, token) = app.user("13800138000").await;
        let mut storm = Vec::new();
        for i in 0..100 {
            let (captcha_id, answer) = app.captcha().await;
            let attempt = json!({
                "number": format!("1390013{i:04}"), "pwd": "Wrong-Password-1",
                "captcha_id": captcha_id, "client_code": answer
            });
            let req = app.client.post(app.url("/users/signin")).json(&attempt);
            storm.push(async move {
                let res = req.send().await.unwrap();
                let retry_after = res.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
                let (status, body) = into_parts(res).await;
                (status, body, retry_after, attempt)
            });
        }
        let storm = tokio::spawn(join_all(storm));
        // bcrypt is saturated now; everything else answers at once.
        sleep_ms(300).await;
        let mut probes = Vec::new();
        for _ in 0..5 {
            probes.push(timed(get_text(&app, "/client_code", None)).await);
            probes.push(timed(get_text(&app, "/login", None)).await);
            probes.push(timed(get_text(&app, "/token", Some(&token))).await);
            sleep_ms(100).await;
        }
        for (status, took) in &probes {
            assert_eq!(*status, 200);
            assert!(*took < Duration::from_secs(2), "a probe took {took:?} during the storm");
        }
        let answers = storm.await.unwrap();
        // Past the queue limit a sign-in is refused at once, with a time to come back.
        let busy: Vec<_> = answers.iter().filter(|(s, ..)| *s == 503).collect();
        assert!(!busy.is_empty(), "nothing was refused by the bcrypt queue limit");
        for (_, body, retry_after, _) in &busy {
            assert_eq!(body["data"]["error"], "unavailable", "{body}");
            let secs: u64 = retry_after.as_deref().expect("Retry-After").parse().unwrap();
            assert!(secs >= 1);
            assert_eq!(body["data"]["retry_after"], secs);
        }
        for (status, body, ..) in &answers {
            assert!(matches!(*status, 401 | 503), "{status} {body}");
        }
        // A refused attempt took no slot of the limits: the same account may try again.
        let (_, _, _, attempt) = busy[0];
        let (id, answer) = app.captcha().await;
        let mut retry = attempt.clone();
        retry["captcha_id"] = json!(id);
        retry["client_code"] = json!(answer);
        let (status, body) = app.post("/users/signin", retry).await;
        assert_error(status, &body, 401, "credentials_invalid");
    }
}

// ---------------------------------------------------------------------------------------------
// Redirects
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_language_switch_never_leaves_gatehouse() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let cases = [
        ("/%09/evil.example", "/login"),
        ("/%0A/evil.example", "/login"),
        ("/%0D%0A", "/login"),
        ("/%0D%0ASet-Cookie:%20x=1", "/login"),
        ("//evil.example", "/login"),
        ("/%5Cevil.example", "/login"),
        ("%5C%5Cevil.example", "/login"),
        ("https://evil.example/", "/login"),
        ("/%252F%252Fevil.example", "/login"),
        ("/account", "/account"),
        (
            "/login%3Fcallback_url%3Dhttps%253A%252F%252Fshop.example%252Fcb",
            "/login?callback_url=https%3A%2F%2Fshop.example%2Fcb",
        ),
    ];
    for (back, want) in cases {
        let res = app.get_response(&format!("/lang?to=en&back={back}")).await;
        assert_eq!(res.status(), 303, "back={back}");
        let location = res.headers().get("location").unwrap().to_str().unwrap();
        assert_eq!(location, want, "back={back}");
    }
}

#[tokio::test]
async fn sign_out_returns_only_to_registered_callbacks() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.add_client(&["https://shop.example/cb"]).await;
    for (callback, redirected) in [
        ("https%3A%2F%2Fshop.example%2Fcb%3Fbye%3D1", true),
        ("https%3A%2F%2Fevil.example%2Fcb", false),
        ("%2F%09%2Fevil.example", false),
        ("%2F%2Fshop.example%2Fcb", false),
    ] {
        let res = app
            .get_response(&format!("/logout?callback_url={callback}"))
            .await;
        let location = res
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        if redirected {
            assert_eq!(res.status(), 302);
            assert_eq!(location.as_deref(), Some("https://shop.example/cb?bye=1"));
        } else {
            assert_eq!(
                res.status(),
                200,
                "{callback}: a signed-out page, no redirect"
            );
            assert!(location.is_none(), "{callback} -> {location:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Slow clients
// ---------------------------------------------------------------------------------------------

async fn two_second_deadlines(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_set(backend, json!({ "request_timeout_secs": 2 })).await
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Writes `head`, then one byte of `drip` every 300 ms, until the server answers or closes;
/// returns what it answered and when, or `None` if it was still listening after `patience`.
async fn trickle(
    stream: &mut TcpStream,
    head: &[u8],
    drip: &[u8],
    patience: Duration,
) -> Option<(String, Duration)> {
    let started = Instant::now();
    stream.write_all(head).await.ok()?;
    let mut buf = vec![0u8; 4096];
    let mut drip = drip.iter().cycle();
    while started.elapsed() < patience {
        match tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buf)).await {
            Ok(Ok(n)) => {
                return Some((
                    String::from_utf8_lossy(&buf[..n]).into_owned(),
                    started.elapsed(),
                ));
            }
            Ok(Err(_)) => return Some((String::new(), started.elapsed())),
            Err(_) => {
                if stream.write_all(&[*drip.next().unwrap()]).await.is_err() {
                    return Some((String::new(), started.elapsed()));
                }
            }
        }
    }
    None
}

#[tokio::test]
async fn a_trickled_request_body_is_cut_off() {
    let app = two_second_deadlines(Backend::Sqlite).await.unwrap();
    let mut stream = connect(&app).await;
    let head = b"POST /users/signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{";
    let answer = trickle(&mut stream, head, b" ", Duration::from_secs(10)).await;
    let (text, took) = answer.expect("the server kept reading a trickled body for 10 s");
    assert!(took < Duration::from_secs(5), "cut off only after {took:?}");
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 400"),
        "{text}"
    );
    // The page forms have the same deadline.
    let mut stream = connect(&app).await;
    let head = b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n\r\nn";
    let answer = trickle(&mut stream, head, b"x", Duration::from_secs(10)).await;
    let (_, took) = answer.expect("the sign-in form kept reading a trickled body for 10 s");
    assert!(took < Duration::from_secs(5), "cut off only after {took:?}");
}

/// Trickles a request head for up to 10 s: the server must have cut it off within 5.
async fn assert_trickled_head_cut_off(stream: &mut TcpStream, what: &str) {
    let head = b"GET /healthz HTTP/1.1\r\nHo";
    let answer = trickle(stream, head, b"X", Duration::from_secs(10)).await;
    let Some((_, took)) = answer else {
        panic!("{what} was read for 10 s");
    };
    assert!(
        took < Duration::from_secs(5),
        "{what}: cut off only after {took:?}"
    );
}

#[tokio::test]
async fn trickled_request_heads_are_cut_off_on_new_and_reused_connections() {
    let app = two_second_deadlines(Backend::Sqlite).await.unwrap();
    let mut stream = connect(&app).await;
    assert_trickled_head_cut_off(&mut stream, "a trickled head").await;

    // A connection that behaved for one request gets no longer for the next one's head.
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    assert_trickled_head_cut_off(&mut stream, "a trickled second head").await;
}

// ---------------------------------------------------------------------------------------------
// Sessions end
// ---------------------------------------------------------------------------------------------

async fn short_sessions(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_set(backend, json!({ "session_max_secs": 3 })).await
}

both_backends_with! {
    short_sessions;

    async fn a_session_ends_at_its_absolute_lifetime_whatever_refreshes_it(app) {
        let (_, token) = app.user("13800138000").await;
        let claims = |t: &str| -> serde_json::Value {
            use base64::Engine;
            serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(t.split('.').nth(1).unwrap()).unwrap()).unwrap()
        };
        let first = claims(&token);
        assert!(first["exp"].as_i64().unwrap() <= first["iat"].as_i64().unwrap() + 3, "{first}");
        assert!(first["delayTime"].as_i64().unwrap() <= first["iat"].as_i64().unwrap() + 3, "{first}");
        sleep_ms(1200).await;
        let (status, body) = app.get_with_token("/users/token/refresh", &token).await;
        assert_eq!(status, 200, "{body}");
        let refreshed = body["data"].as_str().unwrap().to_owned();
        assert!(claims(&refreshed)["delayTime"].as_i64().unwrap() <= first["iat"].as_i64().unwrap() + 3);
        sleep_ms(2500).await;
        let (status, body) = app.get_with_token("/token", &refreshed).await;
        assert_eq!(status, 401, "{body}");
        let (status, body) = app.get_with_token("/users/token/refresh", &refreshed).await;
        assert_error(status, &body, 401, "refresh_window_passed");
    }
}

// ---------------------------------------------------------------------------------------------
// Files and cookies
// ---------------------------------------------------------------------------------------------

#[cfg(unix)]
#[tokio::test]
async fn the_data_dir_and_database_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let root = Arc::new(tempfile::tempdir().unwrap());
    let data = root.path().join("fresh/data");
    let sms = SmsSink::start();
    let settings = gatehouse::Settings::from_figment(test_settings(&data, &sms)).unwrap();
    let app = TestApp::start(settings, Backend::Sqlite, sms, root.clone(), true).await;
    app.signup("13800138000").await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700, "data dir");
    let mut files: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().any(|n| n == "gatehouse.db-wal"), "{names:?}");
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
}

#[tokio::test]
async fn an_upper_case_https_public_url_still_gets_secure_host_cookies() {
    let sms = SmsSink::start();
    let data_dir = Arc::new(tempfile::tempdir().unwrap());
    let settings = gatehouse::Settings::from_figment(
        test_settings(data_dir.path(), &sms)
            .merge(("public_url", "HTTPS://SSO.Example.com"))
            .merge(("captcha_test_answers", false)),
    )
    .unwrap();
    let app = TestApp::start(settings, Backend::Sqlite, sms, data_dir, false).await;
    let res = app.client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let cookie = res.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.starts_with("__Host-gh_csrf="), "{cookie}");
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(res.headers().get("strict-transport-security").is_some());
}

#[tokio::test]
async fn the_api_docs_carry_a_content_security_policy() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    for path in ["/docs/", "/docs/index.html", "/docs/swagger-initializer.js"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let csp = res
            .headers()
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{path} has no CSP"))
            .to_str()
            .unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("script-src 'self' 'unsafe"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    }
}

#[tokio::test]
async fn a_405_names_the_methods_the_path_answers() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    for (method, path, allow) in [
        (Method::DELETE, "/token", "GET, POST"),
        (Method::POST, "/users/token", "GET"),
        (Method::PATCH, "/users", "DELETE, GET, PUT"),
        (Method::GET, "/verify_code", "POST"),
    ] {
        let res = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405, "{method} {path}");
        let got = res
            .headers()
            .get("allow")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(got.as_deref(), Some(allow), "{method} {path}");
    }
}
