//! Login by phone, refresh inside the grace window, exit, and reuse of a refreshed token.

use super::*;

crate::both_backends! {
    async fn login_with_a_wrong_password_is_credentials_invalid(app) {
        registered(&app, "13800138000").await;
        let wi = word_info(&app, "Wrong-Horse-41").await;
        let (s1, b1) = login(&app, "13800138000", &wi).await;
        assert_error(s1, &b1, 401, "credentials_invalid");
        let (s2, b2) = login(&app, "13900139000", &wi).await;
        assert_error(s2, &b2, 401, "credentials_invalid");
        assert_eq!(b1["message"], b2["message"], "an unknown phone looks like a wrong password");
    }

    async fn the_token_carries_the_terminal_and_the_user_agent(app) {
        registered(&app, "13800138000").await;
        let token = logged_in(&app, "13800138000").await;
        let c = claims(&token);
        assert_eq!(c["terminal"], "PC", "pc is the default");
        assert_eq!(c["userAgent"], UA);
        assert_eq!(c["sub"], c["id"]);
        for claim in ["iss", "sid", "jti"] {
            assert!(c[claim].is_string(), "{claim}: {c}");
        }
        let iat = c["iat"].as_i64().unwrap();
        let exp = c["exp"].as_i64().unwrap();
        assert_eq!(exp - iat, 86_400, "{c}");
        assert_eq!(c["delayTime"].as_i64().unwrap() - exp, 7_200, "{c}");

        for terminal in ["management", "pc", "mobile", "app", "wechat"] {
            let token = logged_in_on(&app, "13800138000", terminal).await;
            assert_eq!(claims(&token)["terminal"], terminal.to_ascii_uppercase());
        }
        // As a body parameter, and with another User-Agent.
        let wi = word_info(&app, PASSWORD).await;
        let res = app
            .client
            .post(app.url("/users/login"))
            .header("word-info", &wi)
            .header("user-agent", "MiniApp/2.0")
            .json(&json!({ "phone": "13800138000", "terminal": "app" }))
            .send()
            .await
            .unwrap();
        let (status, body) = into_parts(res).await;
        let c = claims(&token_of(status, &body));
        assert_eq!(c["terminal"], "APP");
        assert_eq!(c["userAgent"], "MiniApp/2.0");

        let (status, body) = send(
            &app,
            Method::POST,
            "/users/login",
            &[("word-info", &wi), ("terminal", "tv")],
            Some(json!({ "phone": "13800138000" })),
        )
        .await;
        assert_error(status, &body, 400, "invalid_params");
    }

    async fn each_login_is_its_own_session(app) {
        registered(&app, "13800138000").await;
        let a = logged_in(&app, "13800138000").await;
        let b = logged_in(&app, "13800138000").await;
        assert_ne!(claims(&a)["sid"], claims(&b)["sid"]);
    }
}

crate::both_backends! {
    async fn refresh_gives_a_new_token_in_the_same_session_and_revokes_the_old(app) {
        registered(&app, "13800138000").await;
        let t0 = logged_in_on(&app, "13800138000", "mobile").await;
        let t1 = refreshed(&app, &t0).await;
        let (c0, c1) = (claims(&t0), claims(&t1));
        assert_eq!(c1["sid"], c0["sid"]);
        assert_ne!(c1["jti"], c0["jti"]);
        assert_eq!(c1["id"], c0["id"]);
        assert_eq!(c1["terminal"], "MOBILE", "{c1}");
        let (status, body) = check(&app, &t1).await;
        assert_live(status, &body);
        assert_eq!(body["data"]["sid"], c0["sid"]);
        assert_token_fails(&app, &t0, "token_revoked").await;

        // The old token may also come in the `token` header.
        let (status, body) = send(&app, Method::GET, "/users/token/refresh", &[("token", &t1)], None).await;
        let t2 = token_of(status, &body);
        assert_eq!(claims(&t2)["sid"], c0["sid"]);
        assert_token_fails(&app, &t1, "token_revoked").await;
        let (status, body) = check(&app, &t2).await;
        assert_live(status, &body);
        let (status, body) = get_bearer(&app, "/users/info/self", &t2).await;
        assert_eq!(status, 200, "{body}");
    }

    async fn refresh_without_a_usable_token_is_refused(app) {
        let (status, body) = send(&app, Method::GET, "/users/token/refresh", &[], None).await;
        assert_error(status, &body, 401, "token_missing");
        let (status, body) = refresh(&app, "not.a.token").await;
        assert_error(status, &body, 401, "token_invalid");
    }

    async fn exit_signs_the_token_out_and_leaves_other_sessions(app) {
        registered(&app, "13800138000").await;
        let out = logged_in(&app, "13800138000").await;
        let other = logged_in(&app, "13800138000").await;
        let (status, body) = get_bearer(&app, "/users/exit", &out).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"], "已退出");
        assert_token_fails(&app, &out, "token_revoked").await;
        let (status, body) = get_bearer(&app, "/users/info/self", &out).await;
        assert_error(status, &body, 401, "token_revoked");
        let (status, body) = check(&app, &other).await;
        assert_live(status, &body);
        // With the `token` header.
        let (status, body) = send(&app, Method::GET, "/users/exit", &[("token", &other)], None).await;
        assert_eq!(status, 200, "{body}");
        assert_token_fails(&app, &other, "token_revoked").await;
    }

    async fn a_signed_out_token_cannot_be_refreshed(app) {
        registered(&app, "13800138000").await;
        let token = logged_in(&app, "13800138000").await;
        let (status, _) = get_bearer(&app, "/users/exit", &token).await;
        assert_eq!(status, 200);
        let (status, body) = refresh(&app, &token).await;
        assert_error(status, &body, 401, "token_revoked");
        // Nor after the seed-000 sign-out.
        let token = logged_in(&app, "13800138000").await;
        let (status, _) = app.send_with_token(Method::PATCH, "/users/signout", &token, json!({})).await;
        assert_eq!(status, 200);
        let (status, body) = refresh(&app, &token).await;
        assert_error(status, &body, 401, "token_revoked");
    }
}

async fn short_tokens() -> TestApp {
    TestApp::spawn_set(
        Backend::Sqlite,
        json!({ "token_ttl_secs": 2, "refresh_grace_secs": 3 }),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_can_be_refreshed_until_its_delay_time() {
    let app = short_tokens().await;
    registered(&app, "13800138000").await;
    let t0 = logged_in(&app, "13800138000").await;
    let c0 = claims(&t0);
    let exp = c0["exp"].as_i64().unwrap();
    assert_eq!(exp - c0["iat"].as_i64().unwrap(), 2);
    assert_eq!(c0["delayTime"].as_i64().unwrap() - exp, 3);
    // Before exp.
    let t1 = refreshed(&app, &t0).await;
    // Between exp and delayTime: expired for use, still good for a refresh.
    let c1 = claims(&t1);
    sleep_until_epoch(c1["exp"].as_f64().unwrap() + 1.0).await;
    assert!(now_secs() < c1["delayTime"].as_f64().unwrap());
    assert_token_fails(&app, &t1, "token_expired").await;
    let t2 = refreshed(&app, &t1).await;
    assert_eq!(claims(&t2)["sid"], c0["sid"]);
    let (status, body) = check(&app, &t2).await;
    assert_live(status, &body);
    // The replaced token, presented again inside its window, is theft there too.
    let (status, body) = refresh(&app, &t1).await;
    assert_error(status, &body, 401, "token_revoked");
    assert_token_fails(&app, &t2, "token_revoked").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_delay_time_refresh_is_refresh_window_passed() {
    let app = short_tokens().await;
    registered(&app, "13800138000").await;
    let token = logged_in(&app, "13800138000").await;
    sleep_until_epoch(claims(&token)["delayTime"].as_f64().unwrap() + 1.0).await;
    let (status, body) = refresh(&app, &token).await;
    assert_error(status, &body, 401, "refresh_window_passed");
}

/// A partner's back-channel logout endpoint: records each `logout_token`.
struct LogoutReceiver {
    url: String,
    tokens: Arc<Mutex<Vec<String>>>,
}

impl LogoutReceiver {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let tokens: Arc<Mutex<Vec<String>>> = Arc::default();
        let store = tokens.clone();
        serve_every_path(listener, move || {
            let store = store.clone();
            web::to(move |form: web::Form<Vec<(String, String)>>| {
                let store = store.clone();
                async move {
                    if let Some((_, t)) = form.iter().find(|(k, _)| k == "logout_token") {
                        store.lock().unwrap().push(t.clone());
                    }
                    HttpResponse::Ok().finish()
                }
            })
        });
        LogoutReceiver {
            url: format!("http://127.0.0.1:{port}/backchannel-logout"),
            tokens,
        }
    }

    async fn wait_for_one(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(t) = self.tokens.lock().unwrap().first() {
                return t.clone();
            }
            assert!(Instant::now() < deadline, "no back-channel logout arrived");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn fast_logout(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_set(
        backend,
        json!({ "logout_retry_base_ms": 100, "logout_poll_ms": 50 }),
    )
    .await
}

crate::both_backends_with! {
    fast_logout;

    async fn refreshing_an_already_refreshed_token_ends_the_whole_session(app) {
        // An operator registers a partner with a back-channel logout URL.
        let (admin, _) = app.user("13700137000").await;
        app.make_admin(admin["id"].as_str().unwrap()).await;
        let admin_token = app.token("13700137000").await;
        let partner = LogoutReceiver::start();
        let (status, body) = app
            .send_with_token(
                Method::POST,
                "/admin/api/clients",
                &admin_token,
                json!({ "name": "Shop", "callbacks": ["https://shop.example/cb"], "logout_url": partner.url, "mode": "token" }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let client_id = body["data"]["client_id"].as_str().unwrap().to_owned();

        registered(&app, "13800138000").await;
        let bystander = logged_in(&app, "13800138000").await;
        let shop = json!({ "callback_url": "https://shop.example/cb" });
        let (status, body) = app.signin_with("13800138000", PASSWORD, shop).await;
        let stolen = token_of(status, &body);
        let sid = claims(&stolen)["sid"].clone();

        let fresh = refreshed(&app, &stolen).await;
        assert_eq!(claims(&fresh)["sid"], sid);
        assert!(partner.tokens.lock().unwrap().is_empty(), "a normal refresh ends nothing");
        // The thief (or the victim) presents the replaced token again.
        let (status, body) = refresh(&app, &stolen).await;
        assert_error(status, &body, 401, "token_revoked");
        assert_token_fails(&app, &fresh, "token_revoked").await;
        let (status, body) = refresh(&app, &fresh).await;
        assert_error(status, &body, 401, "token_revoked");

        let logout = claims(&partner.wait_for_one().await);
        assert_eq!(logout["sid"], sid);
        assert_eq!(logout["aud"], client_id.as_str());
        // Only that session ended.
        let (status, body) = check(&app, &bystander).await;
        assert_live(status, &body);
    }
}
