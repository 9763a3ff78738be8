//! Callback tricks, replayed captchas, codes for another number, burnt codes and long
//! passwords, on both backends.

use super::*;

const CALLBACK_TRICKS: &[&str] = &[
    "https://good.example@evil.example/cb",
    "https://good.example:443@evil.example/cb",
    "https://user:pass@good.example/cb",
    "https://good.example.evil.example/cb",
    "https://evil.example/cb",
    "https://evil.example/good.example/cb",
    "//evil.example/cb",
    "//good.example/cb",
    "/cb",
    "good.example/cb",
    "https:/good.example/cb",
    "https:good.example/cb",
    "https:///good.example/cb",
    "https://good.example\\@evil.example/cb",
    "https:\\\\evil.example/cb",
    "https://good.example\\cb",
    "https://good.example/cb\\..\\..\\evil",
    "javascript:alert(1)",
    "JAVASCRIPT:alert(1)",
    "javascript://good.example/cb%0aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "ftp://good.example/cb",
    "https://good.example/cb#frag",
    "https://good.example/cb#",
    "https://good.example/cb?next=1#frag",
    "HTTPS://EVIL.EXAMPLE/cb",
    "HTTPS://GOOD.EXAMPLE.EVIL.EXAMPLE/cb",
    "HTTP://GOOD.EXAMPLE/cb",
    "HTTPS://GOOD.EXAMPLE:8443/cb",
    "https://good.example:80/cb",
    "https://GOOD.EXAMPLE/CB",
    "https://good.example/cb/",
    "https://good.example/cbx",
    "https://good.example/cb/../cb2",
    " https://good.example/cb",
    "https://good.example/c\tb",
    "https://good.example/cb\n",
];

/// The registered callback in spellings that are the same URL (section 6).
const CALLBACK_SAME: &[&str] = &[
    "https://good.example/cb",
    "HTTPS://GOOD.EXAMPLE/cb",
    "https://good.example:443/cb",
    "https://good.example/cb?next=/cart",
];

/// Sends every trick (and an absurdly long URL) through `attempt`, expecting 400
/// `callback_not_registered` and the database unchanged (`unchanged` says what must not have
/// been made); then every spelling of the registered callback, which must work.
async fn only_the_registered_callback<F: Future<Output = (u16, Value)>>(
    app: &TestApp,
    route: &str,
    unchanged: &str,
    attempt: impl Fn(String) -> F,
) {
    let before = snapshot(app).await;
    let huge = huge_url();
    for cb in CALLBACK_TRICKS.iter().copied().chain([huge.as_str()]) {
        let (status, body) = attempt(cb.to_owned()).await;
        let shown: String = cb.chars().take(80).collect();
        let ctx = format!("{route} with {shown:?}");
        expect_error(status, &body, 400, "callback_not_registered", &ctx);
    }
    assert_unchanged(&before, &snapshot(app).await, unchanged);
    for cb in CALLBACK_SAME {
        let (status, body) = attempt((*cb).to_owned()).await;
        assert_eq!(status, 200, "{cb} is the registered callback: {body}");
    }
}

both_backends! {
    async fn callback_tricks_at_signin_are_callback_not_registered(app) {
        app.add_client(&[CALLBACK]).await;
        app.signup("13800138000").await;
        let signin = |cb: String| app.signin_with("13800138000", PASSWORD, json!({ "callback_url": cb }));
        only_the_registered_callback(&app, "signin", "no session for a bad callback", signin).await;
    }

    async fn callback_tricks_at_post_token_are_callback_not_registered(app) {
        app.add_client(&[CALLBACK]).await;
        let (_, token) = app.user("13800138000").await;
        let check = |cb: String| app.post("/token", json!({ "token": token, "callback_url": cb }));
        only_the_registered_callback(&app, "POST /token", "no partner recorded for a bad callback", check).await;
    }

    async fn signin_with_replayed_captcha_is_rejected(app) {
        app.signup("13800138000").await;
        let (id, answer) = app.captcha().await;
        let body = json!({ "number": "13800138000", "pwd": PASSWORD, "captcha_id": id, "client_code": answer });
        let (status, first) = app.post("/users/signin", body.clone()).await;
        assert_eq!(status, 200, "{first}");
        let before = snapshot(&app).await;
        let (status, replay) = app.post("/users/signin", body).await;
        expect_error(status, &replay, 400, "captcha_invalid", "replayed after a success");

        // One used up by a failed sign-in cannot be replayed either.
        let (id, answer) = app.captcha().await;
        let (status, failed) = app
            .post("/users/signin", json!({ "number": "13800138000", "pwd": "Wrong-Password-1", "captcha_id": id, "client_code": answer }))
            .await;
        expect_error(status, &failed, 401, "credentials_invalid", "wrong password");
        let (status, replay) = app
            .post("/users/signin", json!({ "number": "13800138000", "pwd": PASSWORD, "captcha_id": id, "client_code": answer }))
            .await;
        expect_error(status, &replay, 400, "captcha_invalid", "replayed after a failure");
        assert_unchanged(&before, &snapshot(&app).await, "replayed captchas");
    }

    async fn a_code_sent_to_another_number_is_rejected(app) {
        app.signup("13800138000").await;
        app.signup("13900139000").await;
        let mine = app.code_for("13800138000", Some("signin")).await;
        let theirs = app.code_for("13900139000", Some("signin")).await;
        let before = snapshot(&app).await;
        if mine != theirs {
            let (status, body) = app
                .post("/users/verify_code_sign_in", json!({ "number": "13900139000", "verify_code": mine }))
                .await;
            expect_error(status, &body, 400, "verify_code_invalid", "code sign-in with another number's code");
        }
        let (status, body) = app.signup_with("13700137000", PASSWORD, &mine).await;
        expect_error(status, &body, 400, "verify_code_invalid", "sign-up with another number's code");
        let (status, body) = app
            .send(Method::PATCH, "/users/verify_code_password", json!({ "number": "13700137000", "pwd": "Reset-Pass-99", "verify_code": mine }))
            .await;
        expect_error(status, &body, 400, "verify_code_invalid", "reset with another number's code");
        let (status, body) = app
            .post("/users/verify_code_sign_in", json!({ "number": "me@example.com", "verify_code": mine }))
            .await;
        expect_error(status, &body, 400, "verify_code_invalid", "an e-mail with a phone's code");
        assert_unchanged(&before, &snapshot(&app).await, "codes for other numbers");
        // +86 and the bare mainland number are the same phone: the code is still good there.
        let (status, body) = app
            .post("/users/verify_code_sign_in", json!({ "number": "+8613800138000", "verify_code": mine }))
            .await;
        assert_eq!(status, 200, "{body}");
        let _ = theirs;
    }

    async fn the_right_code_after_five_wrong_ones_is_rejected(app) {
        app.signup("13800138000").await;
        app.signup("13900139000").await;
        let wrong_for = |code: &str| if code == "000000" { "111111".to_owned() } else { "000000".to_owned() };

        let code = app.code_for("13800138000", Some("signin")).await;
        let before = snapshot(&app).await;
        for i in 0..5 {
            let (status, body) = app
                .post("/users/verify_code_sign_in", json!({ "number": "13800138000", "verify_code": wrong_for(&code) }))
                .await;
            expect_error(status, &body, 400, "verify_code_invalid", &format!("wrong try {}", i + 1));
        }
        let (status, body) = app
            .post("/users/verify_code_sign_in", json!({ "number": "13800138000", "verify_code": code }))
            .await;
        expect_error(status, &body, 400, "verify_code_invalid", "right code after five wrong ones");

        let code = app.code_for("13900139000", Some("reset_password")).await;
        for _ in 0..5 {
            app.send(Method::PATCH, "/users/verify_code_password", json!({ "number": "13900139000", "pwd": "Reset-Pass-99", "verify_code": wrong_for(&code) }))
                .await;
        }
        let (status, body) = app
            .send(Method::PATCH, "/users/verify_code_password", json!({ "number": "13900139000", "pwd": "Reset-Pass-99", "verify_code": code }))
            .await;
        expect_error(status, &body, 400, "verify_code_invalid", "reset with the right code after five wrong ones");
        assert_unchanged(&before, &snapshot(&app).await, "burnt codes");

        // Four wrong tries do not burn it.
        let code = app.code_for("13800138000", Some("signin")).await;
        for _ in 0..4 {
            app.post("/users/verify_code_sign_in", json!({ "number": "13800138000", "verify_code": wrong_for(&code) }))
                .await;
        }
        let (status, body) = app
            .post("/users/verify_code_sign_in", json!({ "number": "13800138000", "verify_code": code }))
            .await;
        assert_eq!(status, 200, "four wrong tries leave the code usable: {body}");
    }

    async fn passwords_over_72_bytes_are_refused_never_truncated(app) {
        let exactly_72 = "Aa1-".repeat(18);
        assert_eq!(exactly_72.len(), 72);
        let code = app.code_for("13800138000", Some("signup")).await;
        let (status, body) = app.signup_with("13800138000", &exactly_72, &code).await;
        assert_eq!(status, 201, "72 bytes is within the policy: {body}");
        let before = snapshot(&app).await;
        for longer in [format!("{exactly_72}x"), format!("{exactly_72}{}", huge("x"))] {
            let (status, body) = app.signin("13800138000", &longer).await;
            expect_error(status, &body, 401, "credentials_invalid", &format!("{} bytes", longer.len()));
        }
        assert_unchanged(&before, &snapshot(&app).await, "over-long passwords");
        let (status, body) = app.signin("13800138000", &exactly_72).await;
        assert_eq!(status, 200, "{body}");
    }
}
