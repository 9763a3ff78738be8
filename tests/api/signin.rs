use std::time::Instant;

use reqwest::Method;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

both_backends! {
    async fn wrong_password_and_unknown_number_get_the_same_answer(app) {
        app.signup("13800138000").await;
        let (s1, b1) = app.signin("13800138000", "Wrong-Password-1").await;
        let (s2, b2) = app.signin("13900139000", "Wrong-Password-1").await;
        assert_error(s1, &b1, 401, "credentials_invalid");
        assert_error(s2, &b2, 401, "credentials_invalid");
        assert_eq!(b1["message"], b2["message"]);
    }

    async fn five_failures_lock_the_account_for_everyone(app) {
        app.signup("13800138000").await;
        for _ in 0..5 {
            let (status, body) = app.signin("13800138000", "Wrong-Password-1").await;
            assert_error(status, &body, 401, "credentials_invalid");
        }
        let (status, body) = app.signin("13800138000", PASSWORD).await;
        assert_error(status, &body, 429, "rate_limited");
        assert!(body["data"]["retry_after"].as_u64().unwrap() > 800);
    }

    async fn a_disabled_account_cannot_sign_in(app) {
        let user = app.signup("13800138000").await;
        let id = user["id"].as_str().unwrap().to_owned();
        app.db(move |conn| {
            use diesel::prelude::*;
            use gatehouse::db::schema::users;
            diesel::update(users::table.find(id)).set(users::status.eq("disabled")).execute(conn).unwrap();
        })
        .await;
        let (status, body) = app.signin("13800138000", PASSWORD).await;
        assert_error(status, &body, 403, "account_disabled");
    }

    async fn each_sign_in_starts_a_new_session(app) {
        app.signup("13800138000").await;
        let a = app.token("13800138000").await;
        let b = app.token("13800138000").await;
        let (_, ca) = app.get_with_token("/token", &a).await;
        let (_, cb) = app.get_with_token("/token", &b).await;
        assert_ne!(ca["data"]["sid"], cb["data"]["sid"]);
        app.send_with_token(Method::PATCH, "/users/signout", &a, json!({})).await;
        let (status, _) = app.get_with_token("/token", &b).await;
        assert_eq!(status, 200, "signing out one session leaves the other");
    }

    async fn password_change_ends_other_sessions_only(app) {
        app.signup("13800138000").await;
        let keep = app.token("13800138000").await;
        let other = app.token("13800138000").await;
        let (status, body) = app
            .send_with_token(Method::PATCH, "/users/password", &keep, json!({ "old_pwd": PASSWORD, "new_pwd": "Brand-New-Pass-7" }))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(app.get_with_token("/token", &keep).await.0, 200);
        let (status, body) = app.get_with_token("/token", &other).await;
        assert_error(status, &body, 401, "token_revoked");
        let (status, _) = app.signin("13800138000", "Brand-New-Pass-7").await;
        assert_eq!(status, 200);
    }

    async fn password_change_checks_the_old_password_and_policy(app) {
        let (_, token) = app.user("13800138000").await;
        let (status, body) = app
            .send_with_token(Method::PATCH, "/users/password", &token, json!({ "old_pwd": "nope-nope-1", "new_pwd": "Brand-New-Pass-7" }))
            .await;
        assert_error(status, &body, 401, "credentials_invalid");
        let (status, body) = app
            .send_with_token(Method::PATCH, "/users/password", &token, json!({ "old_pwd": PASSWORD, "new_pwd": "12345678" }))
            .await;
        assert_error(status, &body, 400, "password_weak");
        let (status, body) = app
            .send_with_token(Method::PATCH, "/users/password", &token, json!({ "old_pwd": PASSWORD, "new_pwd": "13800138000" }))
            .await;
        assert_error(status, &body, 400, "password_weak");
    }

    async fn password_reset_ends_every_session_and_lifts_the_lockout(app) {
        app.signup("13800138000").await;
        let token = app.token("13800138000").await;
        for _ in 0..5 {
            app.signin("13800138000", "Wrong-Password-1").await;
        }
        let code = app.code_for("13800138000", Some("reset_password")).await;
        let (status, body) = app
            .send(Method::PATCH, "/users/verify_code_password", json!({ "number": "13800138000", "pwd": "Reset-Pass-99", "verify_code": code }))
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = app.get_with_token("/token", &token).await;
        assert_error(status, &body, 401, "token_revoked");
        let (status, body) = app.signin("13800138000", "Reset-Pass-99").await;
        assert_eq!(status, 200, "{body}");
    }

    async fn password_reset_for_an_unknown_number_is_not_found(app) {
        let code = app.code_for("13800138000", None).await;
        let (status, body) = app
            .send(Method::PATCH, "/users/verify_code_password", json!({ "number": "13800138000", "pwd": "Reset-Pass-99", "verify_code": code }))
            .await;
        assert_error(status, &body, 404, "account_not_found");
    }

    async fn signup_twice_is_account_exists(app) {
        app.signup("13800138000").await;
        let code = app.code_for("13800138000", None).await;
        let (status, body) = app
            .post("/users/signup", json!({ "number": "+8613800138000", "pwd": PASSWORD, "verify_code": code }))
            .await;
        assert_error(status, &body, 409, "account_exists");
    }
}

#[tokio::test]
async fn unknown_numbers_take_as_long_as_wrong_passwords() {
    let settings = json!({ "bcrypt_cost": 10 });
    let app = TestApp::spawn_set(Backend::Sqlite, settings).await.unwrap();
    app.signup("13800138000").await;
    // Warm the dummy hash so its one-time creation is not measured.
    app.signin("13900139999", "Wrong-Password-1").await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..4 {
        let t = Instant::now();
        let (status, body) = app.signin("13800138000", "Wrong-Password-1").await;
        known.push(t.elapsed().as_secs_f64());
        assert_error(status, &body, 401, "credentials_invalid");
        let t = Instant::now();
        let (status, body) = app
            .signin(&format!("1390013900{i}"), "Wrong-Password-1")
            .await;
        unknown.push(t.elapsed().as_secs_f64());
        assert_error(status, &body, 401, "credentials_invalid");
    }
    // The fastest of each: the rest of a busy test run only ever adds time (a median of three
    // was once 0.35 s against 0.07 s with the whole suite on two cores), never takes it away.
    let fastest = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let (k, u) = (fastest(&known), fastest(&unknown));
    // Both pay one bcrypt of the same cost; an early return would be many times faster.
    assert!(
        u > k * 0.5 && u < k * 2.0,
        "known {k:.3}s vs unknown {u:.3}s"
    );
}
