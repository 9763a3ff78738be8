//! Deliveries: every partner told, retried until it answers, kept across a restart, and no
//! partner able to hold up the others.

use super::*;

crate::both_backends_with! {
    few_slots_app;

    async fn a_hung_partner_does_not_hold_up_the_others(app) {
        let hung = HungPartner::start();
        let shop = Receiver::start();
        operator_with_partners(
            &app,
            [("https://hung.example/cb", &hung.url()), ("https://shop.example/cb", &shop.url())],
        )
        .await;
        app.signup("13800138000").await;
        let mut tokens = Vec::new();
        for _ in 0..6 {
            let token = app.partner_token("13800138000", "https://hung.example/cb").await;
            let (status, body) = app
                .post("/token", json!({ "token": token, "callback_url": "https://shop.example/cb" }))
                .await;
            assert_eq!(status, 200, "{body}");
            tokens.push(token);
        }
        let started = Instant::now();
        for token in &tokens {
            let (status, _) = app.send_with_token(Method::PATCH, "/users/signout", token, json!({})).await;
            assert_eq!(status, 200);
        }
        // Without a share per partner the hung one would fill all four slots for 5 s at a time.
        shop.wait_for(6).await;
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "the shop's logouts waited {:?} behind the hung partner",
            started.elapsed()
        );
    }
}

crate::both_backends_with! {
    fast_app;

    async fn sign_out_tells_every_partner_in_the_session(app) {
        let shop = Receiver::start();
        let blog = Receiver::start();
        let (admin, [(shop_id, _), (blog_id, blog_secret)]) = operator_with_partners(
            &app,
            [("https://shop.example/cb", &shop.url()), ("https://blog.example/cb", &blog.url())],
        )
        .await;
        app.signup("13800138000").await;
        let token = app.partner_token("13800138000", "https://shop.example/cb").await;
        // A token minted for the shop is not the blog's to present with its credentials.
        let form = [("token", token.as_str()), ("callback_url", "https://blog.example/cb")];
        let (status, body) = app.post_token_form(Some((&blog_id, &blog_secret)), &form).await;
        assert_error(status, &body, 403, "token_audience");
        let (status, body) = app.post_token_form(None, &form).await;
        assert_eq!(status, 200, "{body}");

        let started = Instant::now();
        let (status, _) = app.send_with_token(Method::PATCH, "/users/signout", &token, json!({})).await;
        assert_eq!(status, 200);
        assert!(started.elapsed() < Duration::from_secs(2), "sign-out waited for partners");

        let sid = sid_of(&token);
        for (receiver, client_id) in [(&shop, &shop_id), (&blog, &blog_id)] {
            let tokens = receiver.wait_for(1).await;
            let claims = verify_logout_token(&app, &tokens[0], client_id).await;
            assert_eq!(claims["sid"], sid.as_str());
        }
        let body = wait_for_state(&app, &admin, "delivered").await;
        assert_eq!(body["total"], 2);
    }

    async fn failing_partners_are_retried_until_they_answer(app) {
        let shop = Receiver::start();
        shop.status.store(503, Ordering::SeqCst);
        let (admin, _, token) = signed_in_at_shop(&app, &shop).await;
        app.send_with_token(Method::PATCH, "/users/signout", &token, json!({})).await;
        shop.wait_for(2).await;
        let body = deliveries(&app, &admin).await;
        assert_eq!(body["data"][0]["state"], "pending");
        assert_eq!(body["data"][0]["last_error"], "partner answered 503");
        shop.status.store(200, Ordering::SeqCst);
        let body = wait_for_state(&app, &admin, "delivered").await;
        assert!(body["data"][0]["attempts"].as_i64().unwrap() >= 3, "{body}");
    }

    async fn a_400_answer_is_final(app) {
        let shop = Receiver::start();
        shop.status.store(400, Ordering::SeqCst);
        let (admin, _, token) = signed_in_at_shop(&app, &shop).await;
        app.send_with_token(Method::PATCH, "/users/signout", &token, json!({})).await;
        let body = wait_for_state(&app, &admin, "failed").await;
        assert_eq!(body["data"][0]["attempts"], 1);
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(shop.received().len(), 1);
    }

    async fn deliveries_survive_a_restart_while_the_partner_is_down(app) {
        let mut shop = Receiver::start();
        let (admin, _, token) = signed_in_at_shop(&app, &shop).await;
        shop.down().await;
        app.send_with_token(Method::PATCH, "/users/signout", &token, json!({})).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let app = app.restart().await;
        shop.up();
        let tokens = shop.wait_for(1).await;
        let (_, jwks) = app.get("/.well-known/jwks.json").await;
        assert!(jwks["keys"].is_array());
        let body = wait_for_state(&app, &admin, "delivered").await;
        assert_eq!(body["total"], 1);
        assert!(!tokens.is_empty());
    }
}
