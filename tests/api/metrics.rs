//! `GET /metrics` (CONTRACT §9): Prometheus text with requests by route template, sign-ins by
//! outcome, deliveries, backlogs and live sessions; no person's id, number or token in it;
//! moved to its own listener by `GATEHOUSE_METRICS_LISTEN`.

use serde_json::json;

use crate::helpers::*;

/// The value of the sample of metric `name` whose labels include every one of `labels`.
pub(crate) fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .find(|(series, _)| {
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            metric == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
        })
        .map(|(_, value)| value.parse().expect("a number"))
}

pub(crate) async fn scrape(app: &TestApp) -> String {
    let res = app.get_response("/metrics").await;
    assert_eq!(res.status(), 200);
    let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    res.text().await.unwrap()
}

crate::both_backends! {
    async fn requests_are_counted_by_route_template_and_sign_ins_by_outcome(app) {
        let (user, token) = app.user("13800138000").await;
        let id = user["id"].as_str().unwrap();
        let (status, _) = app.get_with_token(&format!("/users/{id}"), &token).await;
        assert_eq!(status, 200);
        let (status, body) = app.signin("13800138000", "Wrong-Pass-123").await;
        assert_error(status, &body, 401, "credentials_invalid");
        let (status, _) = app.get("/no/such/path").await;
        assert_eq!(status, 404);

        let text = scrape(&app).await;
        let user_route = [("route", "/users/{user_id}"), ("method", "GET"), ("status", "200")];
        assert_eq!(sample(&text, "gatehouse_http_requests_total", &user_route), Some(1.0), "{text}");
        assert_eq!(
            sample(&text, "gatehouse_http_request_duration_seconds_count", &user_route),
            Some(1.0)
        );
        let unmatched = [("route", "unmatched"), ("status", "404")];
        assert_eq!(sample(&text, "gatehouse_http_requests_total", &unmatched), Some(1.0));
        let signin = [("route", "/users/signin"), ("method", "POST"), ("status", "200")];
        assert_eq!(sample(&text, "gatehouse_http_requests_total", &signin), Some(1.0));
        let ok = [("method", "password"), ("outcome", "success")];
        assert_eq!(sample(&text, "gatehouse_signins_total", &ok), Some(1.0));
        let refused = [("method", "password"), ("outcome", "credentials_invalid")];
        assert_eq!(sample(&text, "gatehouse_signins_total", &refused), Some(1.0), "{text}");
        assert_eq!(sample(&text, "gatehouse_sessions_live", &[]), Some(1.0));
        let sms = [("channel", "sms"), ("result", "ok")];
        assert_eq!(sample(&text, "gatehouse_codes_sent_total", &sms), Some(1.0), "{text}");
        assert!(sample(&text, "gatehouse_db_call_duration_seconds_count", &[]).unwrap() > 0.0);
        // Redis commands are timed when the store is Redis (CI's second pass).
        let store_calls = sample(&text, "gatehouse_store_call_duration_seconds_count", &[]);
        if std::env::var("GATEHOUSE_TEST_REDIS_URL").is_ok() {
            assert!(store_calls.unwrap_or(0.0) > 0.0, "{text}");
            assert_eq!(sample(&text, "gatehouse_store_errors_total", &[]), Some(0.0));
        } else {
            assert_eq!(store_calls, None);
        }
        assert_eq!(sample(&text, "gatehouse_logout_deliveries", &[("state", "pending")]), Some(0.0));
        assert_eq!(sample(&text, "gatehouse_lane_jobs", &[("lane", "bcrypt")]), Some(0.0));
        // No person in the labels: not their id, number or token.
        for secret in [id, "13800138000", token.as_str()] {
            assert!(!text.contains(secret), "{secret} in the metrics");
        }
    }
}

#[tokio::test]
async fn a_metrics_listener_takes_metrics_off_the_main_one() {
    let port = free_port();
    let settings = json!({ "metrics_listen": format!("127.0.0.1:{port}") });
    let app = TestApp::spawn_set(Backend::Sqlite, settings).await.unwrap();
    let (status, body) = app.get("/metrics").await;
    assert_error(status, &body, 404, "not_found");
    app.get("/healthz").await;
    let text = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let healthz = [("route", "/healthz"), ("status", "200")];
    assert_eq!(
        sample(&text, "gatehouse_http_requests_total", &healthz),
        Some(1.0),
        "{text}"
    );
    let refused = [("route", "/metrics"), ("status", "404")];
    assert_eq!(
        sample(&text, "gatehouse_http_requests_total", &refused),
        Some(1.0)
    );
}

/// Prometheus's own checker (Debian's `prometheus` package) accepts the exposition and the
/// example scrape configuration.
#[tokio::test]
async fn promtool_accepts_the_metrics_and_the_example_scrape_config() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    if Command::new("promtool").arg("--version").output().is_err() {
        return skip_without("promtool (apt-get install prometheus)");
    }
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.user("13800138000").await;
    let text = scrape(&app).await;
    let mut check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new("promtool")
        .args(["check", "config", "deploy/prometheus/prometheus.yml"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn limit_hits_and_captchas_are_counted() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (status, _) = app.request_code("13800138000", None).await;
    assert_eq!(status, 200);
    let (status, body) = app.request_code("13800138000", None).await;
    assert_error(status, &body, 429, "rate_limited");
    let (captcha_id, _) = app.captcha().await;
    let (status, body) = app
        .post(
            "/users/signin",
            json!({ "number": "13800138000", "pwd": PASSWORD, "captcha_id": captcha_id, "client_code": "wrong" }),
        )
        .await;
    assert_error(status, &body, 400, "captcha_invalid");
    let (status, _) = app.signin("13800138000", PASSWORD).await;
    assert_eq!(status, 401, "no such account, but the captcha was right");

    let text = scrape(&app).await;
    let limit = |name: &str| sample(&text, "gatehouse_limit_hits_total", &[("limit", name)]);
    assert_eq!(limit("code_cooldown"), Some(1.0), "{text}");
    assert_eq!(limit("code_ip"), None);
    let captchas =
        |outcome: &str| sample(&text, "gatehouse_captchas_total", &[("outcome", outcome)]);
    assert_eq!(captchas("issued"), Some(2.0), "{text}");
    assert_eq!(captchas("solved"), Some(1.0));
    assert_eq!(captchas("failed"), Some(1.0));
    let refused = [("method", "password"), ("outcome", "captcha_invalid")];
    assert_eq!(
        sample(&text, "gatehouse_signins_total", &refused),
        Some(1.0)
    );
}

/// A client may send any method token; each one must not become a series of its own, or
/// the registry grows with every name an attacker makes up.
#[tokio::test]
async fn made_up_methods_share_one_label() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    for i in 0..20 {
        let method = reqwest::Method::from_bytes(format!("MADEUP{i}").as_bytes()).unwrap();
        let (status, _) = app.send(method, "/healthz", json!({})).await;
        assert_eq!(status, 405);
    }
    let text = scrape(&app).await;
    assert!(!text.contains("MADEUP"), "{text}");
    let other = [
        ("route", "/healthz"),
        ("method", "other"),
        ("status", "405"),
    ];
    assert_eq!(
        sample(&text, "gatehouse_http_requests_total", &other),
        Some(20.0),
        "{text}"
    );
}
