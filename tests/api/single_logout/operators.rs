//! Operators: disabling accounts, forcing sign-out, managing partner systems.

use super::*;

crate::both_backends_with! {
    fast_app;

    async fn disabling_an_account_signs_it_out_everywhere(app) {
        let shop = Receiver::start();
        let (admin, user, token) = signed_in_at_shop(&app, &shop).await;
        let id = user["id"].as_str().unwrap();
        let (status, body) = app
            .send_with_token(Method::PATCH, &format!("/admin/api/users/{id}"), &admin, json!({ "status": "disabled" }))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_error_at(&app, &token, "token_revoked").await;
        shop.wait_for(1).await;
        let (status, body) = app.signin("13800138000", PASSWORD).await;
        assert_error(status, &body, 403, "account_disabled");
    }

    async fn operators_can_force_sign_out_and_password_changes_notify_partners(app) {
        let shop = Receiver::start();
        let (admin, user, first) = signed_in_at_shop(&app, &shop).await;
        // The password changes through Gatehouse's own client: a partner's token may not.
        let second = app.token("13800138000").await;
        let (status, body) = app
            .post("/token", json!({ "token": second, "callback_url": "https://shop.example/cb" }))
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, _) = app
            .send_with_token(Method::PATCH, "/users/password", &second, json!({ "old_pwd": PASSWORD, "new_pwd": "Brand-New-Pass-7" }))
            .await;
        assert_eq!(status, 200);
        let tokens = shop.wait_for(1).await;
        let claims = verify_logout_token(&app, &tokens[0], &tokens_aud(&tokens[0])).await;
        assert_eq!(claims["sid"], sid_of(&first).as_str());

        let id = user["id"].as_str().unwrap();
        let (status, _) = app
            .send_with_token(Method::POST, &format!("/admin/api/users/{id}/signout"), &admin, json!({}))
            .await;
        assert_eq!(status, 200);
        assert_error_at(&app, &second, "token_revoked").await;
        shop.wait_for(2).await;
    }

    async fn operators_manage_partner_systems(app) {
        let admin = app.admin("13700137000").await.1;
        let (_, plain) = app.user("13800138000").await;
        let (status, body) = app.get_with_token("/admin/api/clients", &plain).await;
        assert_error(status, &body, 403, "forbidden");

        let (client_id, secret) = register(&app, &admin, "https://shop.example/sso/*", "https://shop.example/logout").await;
        let (status, body) = app.get_with_token("/admin/api/clients", &admin).await;
        assert_eq!(status, 200);
        assert_eq!(body["total"], 1);
        assert!(!body.to_string().contains(&secret));
        let path = format!("/admin/api/clients/{client_id}");
        let (status, body) = app.get_with_token(&path, &admin).await;
        assert_eq!(status, 200);
        assert_eq!(body["data"]["callbacks"][0], "https://shop.example/sso/*");

        let (status, body) = app
            .send_with_token(Method::PUT, &path, &admin, json!({ "name": "Shop", "callbacks": ["https://shop.example/cb"], "mode": "ticket" }))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["mode"], "ticket");
        assert!(body["data"]["logout_url"].is_null());
        let (status, body) = app
            .send_with_token(Method::PUT, &path, &admin, json!({ "name": "Shop", "callbacks": ["javascript:alert(1)"] }))
            .await;
        assert_error(status, &body, 400, "invalid_params");

        let token = app.token("13800138000").await;
        let form = [("token", token.as_str()), ("callback_url", "https://shop.example/cb")];
        let check = |secret: String| {
            let (app, client_id, form) = (&app, client_id.clone(), &form);
            async move { app.post_token_form(Some((&client_id, &secret)), form).await.0 }
        };
        assert_eq!(check(secret.clone()).await, 200);
        let (status, body) = app.send_with_token(Method::POST, &format!("{path}/secret"), &admin, json!({})).await;
        assert_eq!(status, 200, "{body}");
        let rotated = body["data"]["client_secret"].as_str().unwrap().to_owned();
        assert_eq!(check(secret).await, 401);
        assert_eq!(check(rotated).await, 200);

        let (status, _) = app.send_with_token(Method::PUT, &path, &admin, json!({ "name": "Shop", "callbacks": ["https://shop.example/cb"], "enabled": false })).await;
        assert_eq!(status, 200);
        let (status, body) = app.post("/token", json!({ "token": token, "callback_url": "https://shop.example/cb" })).await;
        assert_error(status, &body, 400, "callback_not_registered");

        let (status, _) = app.send_with_token(Method::DELETE, &path, &admin, json!({})).await;
        assert_eq!(status, 200);
        let (status, body) = app.get_with_token(&path, &admin).await;
        assert_error(status, &body, 404, "not_found");
    }
}
