//! The user-info shapes, and one session per terminal where configured.

use super::*;

crate::both_backends! {
    async fn info_self_has_the_seed_shape_for_phone_users(app) {
        registered(&app, "13800138000").await;
        let token = logged_in(&app, "13800138000").await;
        let (status, body) = get_bearer(&app, "/users/info/self", &token).await;
        assert_eq!(status, 200, "{body}");
        let data = &body["data"];
        assert_eq!(keys(data), sorted(SELF_KEYS), "{data}");
        assert_eq!(data["id"], claims(&token)["id"]);
        assert_eq!(data["phone"], "13800138000");
        assert!(data["openid"].is_null());
        assert!(!body.to_string().contains("$2"), "a bcrypt hash leaked: {body}");
        // With the `token` header too.
        let (status, again) = send(&app, Method::GET, "/users/info/self", &[("token", &token)], None).await;
        assert_eq!(status, 200);
        assert_eq!(again["data"], *data);

        let (status, body) = send(&app, Method::GET, "/users/info/self", &[], None).await;
        assert_error(status, &body, 401, "token_missing");
    }

    async fn info_of_another_user_is_limited_unless_self_or_admin(app) {
        registered(&app, "13800138000").await;
        registered(&app, "13900139000").await;
        let alice = logged_in(&app, "13800138000").await;
        let bob = logged_in(&app, "13900139000").await;
        let bob_id = claims(&bob)["id"].as_str().unwrap().to_owned();
        let path = format!("/users/info/{bob_id}");

        let (status, body) = get_bearer(&app, &path, &bob).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(keys(&body["data"]), sorted(SELF_KEYS), "self: {body}");
        assert_eq!(body["data"]["phone"], "13900139000");

        let (status, body) = get_bearer(&app, &path, &alice).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(keys(&body["data"]), sorted(OTHERS_KEYS), "another user: {body}");
        assert_eq!(body["data"]["id"], bob_id.as_str());
        assert!(!body.to_string().contains("13900139000"));

        let alice_id = claims(&alice)["id"].as_str().unwrap().to_owned();
        app.make_admin(&alice_id).await;
        let (status, body) = get_bearer(&app, &path, &alice).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(keys(&body["data"]), sorted(SELF_KEYS), "admin: {body}");
        assert_eq!(body["data"]["phone"], "13900139000");

        for unknown in [
            "/users/info/00000000-0000-4000-8000-000000000000".to_owned(),
            "/users/info/not-a-uuid".to_owned(),
            format!("/users/info/{bob_id}x"),
        ] {
            let (status, body) = get_bearer(&app, &unknown, &alice).await;
            assert_error(status, &body, 404, "not_found");
        }
        let (status, body) = send(&app, Method::GET, &path, &[], None).await;
        assert_error(status, &body, 401, "token_missing");
    }
}

async fn mobile_single_session(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_set(backend, json!({ "single_session_terminals": "mobile" })).await
}

crate::both_backends_with! {
    mobile_single_session;

    async fn a_new_sign_in_on_a_single_session_terminal_ends_the_older_one_there(app) {
        registered(&app, "13800138000").await;
        registered(&app, "13900139000").await;
        let m1 = logged_in_on(&app, "13800138000", "mobile").await;
        let p1 = logged_in_on(&app, "13800138000", "pc").await;
        let a1 = logged_in_on(&app, "13800138000", "app").await;
        let other_user = logged_in_on(&app, "13900139000", "mobile").await;
        // A refresh stays in its session and ends nothing.
        let m1 = refreshed(&app, &m1).await;

        let m2 = logged_in_on(&app, "13800138000", "mobile").await;
        assert_token_fails(&app, &m1, "token_revoked").await;
        for live in [&m2, &p1, &a1, &other_user] {
            let (status, body) = check(&app, live).await;
            assert_live(status, &body);
        }
        // Terminals not listed keep several sessions.
        let p2 = logged_in_on(&app, "13800138000", "pc").await;
        for live in [&p1, &p2] {
            let (status, body) = check(&app, live).await;
            assert_live(status, &body);
        }
        // The seed-000 sign-in on that terminal counts as a sign-in too.
        let (status, body) = app
            .signin_with("13800138000", PASSWORD, json!({ "terminal": "mobile" }))
            .await;
        let m3 = token_of(status, &body);
        assert_eq!(claims(&m3)["terminal"], "MOBILE");
        assert_token_fails(&app, &m2, "token_revoked").await;
        let (status, body) = check(&app, &m3).await;
        assert_live(status, &body);
    }
}
