//! Limits under concurrency: every attempt takes its slot before the work it guards (bcrypt, a
//! code comparison, a delivery), so no number of concurrent requests gets more than the limits
//! allow. These fire real concurrent requests at the production bcrypt cost.

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::both_backends_with;
use crate::helpers::*;

/// Production-like: bcrypt at its default cost of 12.
async fn realistic(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_set(backend, json!({ "bcrypt_cost": 12 })).await
}

/// A small per-IP failure budget, so exceeding it takes few requests.
async fn small_ip_budget(backend: Backend) -> Option<TestApp> {
    let settings = json!({
        "signin_limit_per_ip": 6, "bcrypt_cost": 10, "trusted_proxies": "127.0.0.1"
    });
    TestApp::spawn_set(backend, settings).await
}

/// Three free code sends per IP, then a captcha; twenty an hour.
async fn captcha_after_three(backend: Backend) -> Option<TestApp> {
    let settings = json!({
        "code_captcha_after": 3, "code_limit_per_ip_hour": 20, "mail_max_per_minute": 4
    });
    TestApp::spawn_set(backend, settings).await
}

/// Signs in concurrently: one request per `(number, pwd)`, each with its own captcha.
async fn concurrent_signins(app: &TestApp, attempts: &[(String, String)]) -> Vec<(u16, Value)> {
    concurrent_signins_from(app, attempts, None).await
}

async fn concurrent_signins_from(
    app: &TestApp,
    attempts: &[(String, String)],
    forwarded_for: Option<&[String]>,
) -> Vec<(u16, Value)> {
    let mut requests = Vec::new();
    for (i, (number, pwd)) in attempts.iter().enumerate() {
        let (captcha_id, answer) = app.captcha().await;
        let mut req = app.client.post(app.url("/users/signin")).json(&json!({
            "number": number, "pwd": pwd, "captcha_id": captcha_id, "client_code": answer
        }));
        if let Some(hops) = forwarded_for {
            req = req.header("x-forwarded-for", hops[i].as_str());
        }
        requests.push(async move { into_parts(req.send().await.unwrap()).await });
    }
    join_all(requests).await
}

/// `POST /users/verify_code_sign_in` for `number` with `code`.
async fn code_signin(app: &TestApp, number: &str, code: &str) -> (u16, Value) {
    app.post(
        "/users/verify_code_sign_in",
        json!({ "number": number, "verify_code": code }),
    )
    .await
}

/// `n` numbers nobody registered: 13900130000, 13900130001, ...
fn unknown_numbers(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("1390013{i:04}")).collect()
}

/// Sign-ins with a wrong password, all at once: one for each of `numbers`, the i-th from
/// `hops[i]` (as `X-Forwarded-For`).
async fn wrong_signins_from(
    app: &TestApp,
    numbers: &[String],
    hops: &[String],
) -> Vec<(u16, Value)> {
    let attempts: Vec<(String, String)> = numbers
        .iter()
        .map(|number| (number.clone(), "Wrong-Password-1".to_owned()))
        .collect();
    concurrent_signins_from(app, &attempts, Some(hops)).await
}

/// A client at `hop` still has its budget: a wrong password from there is checked (401).
async fn assert_not_limited(app: &TestApp, hop: &str) {
    let answers = wrong_signins_from(app, &["13900139000".into()], &[hop.to_owned()]).await;
    assert_eq!(answers[0].0, 401, "{hop}: {:?}", answers[0]);
}

fn count(answers: &[(u16, Value)], status: u16, reason: Option<&str>) -> usize {
    answers
        .iter()
        .filter(|(s, b)| *s == status && reason.is_none_or(|r| b["data"]["error"] == r))
        .count()
}

fn assert_only(answers: &[(u16, Value)], allowed: &[(u16, &str)]) {
    for (status, body) in answers {
        assert!(
            allowed
                .iter()
                .any(|(s, r)| s == status && (r.is_empty() || body["data"]["error"] == *r)),
            "unexpected answer {status} {body}"
        );
    }
}

both_backends_with! {
    realistic;

    async fn forty_concurrent_wrong_passwords_get_five_checks_and_then_the_right_one_is_locked(app) {
        app.signup("13800138000").await;
        let attempts: Vec<(String, String)> =
            (0..40).map(|i| ("13800138000".to_owned(), format!("Wrong-Password-{i}"))).collect();
        let answers = concurrent_signins(&app, &attempts).await;
        assert_only(&answers, &[(401, "credentials_invalid"), (429, "rate_limited")]);
        assert_eq!(count(&answers, 401, None), 5, "only five passwords were ever checked");
        assert_eq!(count(&answers, 429, None), 35);
        // The right password, after all that, is locked out too.
        let (status, body) = app.signin("13800138000", PASSWORD).await;
        assert_error(status, &body, 429, "rate_limited");
        assert!(body["data"]["retry_after"].as_u64().unwrap() > 800, "{body}");
    }

    async fn wrong_old_passwords_at_password_change_and_deletion_share_the_lockout(app) {
        let (_, token) = app.user("13800138000").await;
        let mut requests = Vec::new();
        for i in 0..20 {
            let (method, path, body) = if i % 2 == 0 {
                (Method::PATCH, "/users/password", json!({ "old_pwd": format!("Wrong-Old-{i}"), "new_pwd": "Brand-New-Pass-7" }))
            } else {
                (Method::DELETE, "/users", json!({ "pwd": format!("Wrong-Old-{i}") }))
            };
            requests.push(app.send_with_token(method, path, &token, body));
        }
        let answers = join_all(requests).await;
        assert_only(&answers, &[(401, "credentials_invalid"), (429, "rate_limited")]);
        assert_eq!(count(&answers, 401, None), 5, "{answers:?}");
        // Locked everywhere a password is checked, the right one included.
        let (status, body) = app
            .send_with_token(Method::PATCH, "/users/password", &token, json!({ "old_pwd": PASSWORD, "new_pwd": "Brand-New-Pass-7" }))
            .await;
        assert_error(status, &body, 429, "rate_limited");
        let (status, body) = app.send_with_token(Method::DELETE, "/users", &token, json!({ "pwd": PASSWORD })).await;
        assert_error(status, &body, 429, "rate_limited");
        let (status, body) = app.signin("13800138000", PASSWORD).await;
        assert_error(status, &body, 429, "rate_limited");
        // The account is still there.
        assert_eq!(app.get_with_token("/token", &token).await.0, 200);
    }

    async fn a_successful_sign_in_gives_its_slot_back(app) {
        app.signup("13800138000").await;
        for _ in 0..4 {
            let (status, _) = app.signin("13800138000", "Wrong-Password-1").await;
            assert_eq!(status, 401);
        }
        for _ in 0..3 {
            let (status, body) = app.signin("13800138000", PASSWORD).await;
            assert_eq!(status, 200, "successes are not failures: {body}");
        }
        let (status, _) = app.signin("13800138000", "Wrong-Password-1").await;
        assert_eq!(status, 401, "the fifth failure is still a check");
        let (status, body) = app.signin("13800138000", PASSWORD).await;
        assert_error(status, &body, 429, "rate_limited");
    }
}

both_backends_with! {
    small_ip_budget;

    async fn one_client_ip_gets_no_more_failed_checks_than_its_budget(app) {
        // Forty different (unknown) numbers, one client address: six checks at most.
        let hops: Vec<String> = (0..40).map(|_| "203.0.113.5".to_owned()).collect();
        let answers = wrong_signins_from(&app, &unknown_numbers(40), &hops).await;
        assert_only(&answers, &[(401, "credentials_invalid"), (429, "rate_limited")]);
        assert_eq!(count(&answers, 401, None), 6, "{answers:?}");
        // Another client is not affected.
        assert_not_limited(&app, "198.51.100.7").await;
    }

    async fn ipv6_clients_are_counted_per_64(app) {
        // Every request from a different address of one /64.
        let hops: Vec<String> = (0..12).map(|i| format!("2001:db8:1:2::{:x}", i + 1)).collect();
        let answers = wrong_signins_from(&app, &unknown_numbers(12), &hops).await;
        assert_eq!(count(&answers, 401, None), 6, "{answers:?}");
        assert_eq!(count(&answers, 429, None), 6, "{answers:?}");
        // The next /64 is another client.
        assert_not_limited(&app, "2001:db8:1:3::1").await;
    }

    async fn forwarded_for_entries_with_ports_count_by_their_address(app) {
        let hops: Vec<String> = (0..6).map(|i| format!("203.0.113.9:{}", 4000 + i)).collect();
        let answers = wrong_signins_from(&app, &unknown_numbers(6), &hops).await;
        assert_eq!(count(&answers, 401, None), 6, "{answers:?}");
        let answers = wrong_signins_from(
            &app,
            &["13900139000".into(), "13900139001".into()],
            &["[2001:db8::5]:4711, 203.0.113.9:80".to_owned(), "198.51.100.20:443".to_owned()],
        )
        .await;
        // 203.0.113.9 with any port is one client (its budget is spent); the others are not it.
        assert_error(answers[0].0, &answers[0].1, 429, "rate_limited");
        assert_eq!(answers[1].0, 401, "{:?}", answers[1]);
    }

    async fn failed_code_sign_ins_count_against_the_client_ip(app) {
        let code = app.code_for("13800138000", Some("signin")).await;
        app.signup("13900139000").await;
        let hop = "203.0.113.77";
        let mut requests = Vec::new();
        for i in 0..30 {
            let req = app
                .client
                .post(app.url("/users/verify_code_sign_in"))
                .header("x-forwarded-for", hop)
                .json(&json!({ "number": format!("1370013{i:04}"), "verify_code": "000000" }));
            requests.push(async move { into_parts(req.send().await.unwrap()).await });
        }
        let answers = join_all(requests).await;
        assert_only(&answers, &[(400, "verify_code_invalid"), (429, "rate_limited")]);
        assert_eq!(count(&answers, 400, None), 6, "{answers:?}");
        // Password sign-ins from that address are out of budget too ...
        let (status, body) = into_parts(
            app.client
                .post(app.url("/users/signin"))
                .header("x-forwarded-for", hop)
                .json(&{
                    let (id, answer) = app.captcha().await;
                    json!({ "number": "13900139000", "pwd": PASSWORD, "captcha_id": id, "client_code": answer })
                })
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_error(status, &body, 429, "rate_limited");
        // ... and even the right code is not compared (nor used up) from there.
        let (status, body) = into_parts(
            app.client
                .post(app.url("/users/verify_code_sign_in"))
                .header("x-forwarded-for", hop)
                .json(&json!({ "number": "13800138000", "verify_code": code }))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_error(status, &body, 429, "rate_limited");
        let (status, body) = code_signin(&app, "13800138000", &code).await;
        assert_error(status, &body, 404, "account_not_found");
    }
}

both_backends_with! {
    realistic;

    async fn concurrent_wrong_codes_get_five_comparisons_then_the_code_is_burnt(app) {
        app.signup("13800138000").await;
        let code = app.code_for("13800138000", Some("signin")).await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let requests = (0..40).map(|_| code_signin(&app, "13800138000", wrong));
        let answers = join_all(requests).await;
        assert_only(&answers, &[(400, "verify_code_invalid")]);
        // Five tries were taken, no more: the counter never passed the limit.
        let number = gatehouse::domain::Number::parse("13800138000").unwrap();
        let tries = app.state.store.get(&format!("code_tries:{number}")).await.unwrap();
        assert_eq!(tries.as_deref(), Some("5"));
        let (status, body) = code_signin(&app, "13800138000", &code).await;
        assert_error(status, &body, 400, "verify_code_invalid");
    }
}

both_backends_with! {
    captcha_after_three;

    async fn concurrent_code_requests_cannot_skip_the_captcha(app) {
        let requests = (0..30).map(|i| app.post("/verify_code", json!({ "number": format!("1380013{i:04}") })));
        let answers = join_all(requests).await;
        assert_only(&answers, &[(200, ""), (400, "captcha_invalid"), (429, "rate_limited")]);
        let sent = answers.iter().filter(|(s, _)| *s == 200).count();
        assert_eq!(sent, 3, "only the free sends go out without a captcha: {answers:?}");
        assert_eq!(app.sms.count(), 3);
        // With a captcha the next one goes out.
        let (id, answer) = app.captcha().await;
        let (status, body) = app
            .post("/verify_code", json!({ "number": "13900139000", "captcha_id": id, "client_code": answer }))
            .await;
        assert_eq!(status, 200, "{body}");
    }

    async fn e_mail_codes_have_a_global_ceiling(app) {
        let operator = app.signup("13700137000").await;
        app.make_admin(operator["id"].as_str().unwrap()).await;
        let token = app.token("13700137000").await;
        let requests = (0..10).map(|i| {
            let app = &app;
            async move {
                let (id, answer) = app.captcha().await;
                app.post("/verify_code", json!({ "number": format!("user{i}@example.com"), "captcha_id": id, "client_code": answer }))
                    .await
            }
        });
        let answers = join_all(requests).await;
        assert_only(&answers, &[(200, ""), (503, "unavailable")]);
        assert_eq!(count(&answers, 200, None), 4, "{answers:?}");
        // Operators see the breaker open.
        let (status, body) = app.get_with_token("/admin/api/sms", &token).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["mail"]["sent_this_minute"], 4);
        assert_eq!(body["data"]["mail"]["breaker_open"], true);
    }
}
