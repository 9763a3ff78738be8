//! A token issued for a partner (`aud`) proves the user to that partner and nothing more: it
//! passes the token checks, the user's own reads and sign-out, and every route that changes
//! the account or needs the operator role refuses it with 403 `token_audience`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;

const SHOP: &str = "https://shop.example/sso/callback";
const BLOG: &str = "https://blog.example/cb";

both_backends! {
    async fn a_partner_token_cannot_change_the_account(app) {
        let (shop_id, _) = app.add_client(&[SHOP]).await;
        let user = app.signup("13800138000").await;
        let token = app.partner_token("13800138000", SHOP).await;
        assert_eq!(claims(&token)["aud"], shop_id);

        let attempts = [
            (Method::PUT, "/users", json!({ "email": "attacker@example.com", "verify_code": "123456" })),
            (Method::PUT, "/users", json!({ "username": "taken_over" })),
            (Method::PATCH, "/users/password", json!({ "old_pwd": PASSWORD, "new_pwd": "Brand-New-Pass-7" })),
            (Method::DELETE, "/users", json!({ "pwd": PASSWORD })),
        ];
        for (method, path, body) in attempts {
            let (status, answer) = app.send_with_token(method.clone(), path, &token, body).await;
            assert_error(status, &answer, 403, "token_audience");
            // The same refusal whichever way the token travels.
            let rb = app.client.request(method.clone(), app.url(path)).header("token", &token);
            let (status, answer) = go(rb.json(&json!({ "username": "x_y" }))).await;
            assert_error(status, &answer, 403, "token_audience");
            let (status, answer) = app
                .send(method, path, json!({ "token": token, "old_pwd": PASSWORD, "new_pwd": "Brand-New-Pass-7", "pwd": PASSWORD }))
                .await;
            assert_error(status, &answer, 403, "token_audience");
        }

        // Nothing changed: the password still works, the profile is as it was.
        let first_party = app.token("13800138000").await;
        let (status, me) = app.get_with_token("/users/token", &first_party).await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["data"]["username"], user["username"]);
        assert!(me["data"]["email"].is_null());
    }

    async fn a_partner_token_still_proves_the_user_reads_and_signs_out(app) {
        let (shop_id, _) = app.add_client(&[SHOP]).await;
        let user = app.signup("13800138000").await;
        let id = user["id"].as_str().unwrap();
        let token = app.partner_token("13800138000", SHOP).await;

        let (status, check) = app.get_with_token("/token", &token).await;
        assert_eq!(status, 200, "{check}");
        assert_eq!(check["data"]["aud"], shop_id);
        assert_eq!(check["data"]["user_id"], id);
        for path in ["/users/token".to_owned(), format!("/users/{id}"), "/users/info/self".to_owned(), format!("/users/info/{id}")] {
            let (status, body) = app.get_with_token(&path, &token).await;
            assert_eq!(status, 200, "{path}: {body}");
        }
        // A refreshed partner token keeps its audience, and stays a partner token.
        let (status, refreshed) = app.get_with_token("/users/token/refresh", &token).await;
        assert_eq!(status, 200, "{refreshed}");
        let refreshed = refreshed["data"].as_str().unwrap().to_owned();
        assert_eq!(claims(&refreshed)["aud"], shop_id);
        let (status, answer) = app
            .send_with_token(Method::PUT, "/users", &refreshed, json!({ "username": "x_y" }))
            .await;
        assert_error(status, &answer, 403, "token_audience");

        let (status, body) = app.send_with_token(Method::PATCH, "/users/signout", &refreshed, json!({})).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = app.get_with_token("/token", &refreshed).await;
        assert_error(status, &body, 401, "token_revoked");

        // First-party tokens say so: no audience.
        let first_party = app.token("13800138000").await;
        let (_, check) = app.get_with_token("/token", &first_party).await;
        assert!(check["data"]["aud"].is_null(), "{check}");
        let (status, exit) = app.get_with_token("/users/exit", &app.partner_token("13800138000", SHOP).await).await;
        assert_eq!(status, 200, "{exit}");
    }

    async fn an_operators_partner_token_does_not_drive_the_admin_api(app) {
        let (shop_id, _) = app.add_client(&[SHOP]).await;
        let operator = app.signup("13700137000").await;
        app.make_admin(operator["id"].as_str().unwrap()).await;
        let victim = app.signup("13800138000").await;
        let victim_id = victim["id"].as_str().unwrap();
        let token = app.partner_token("13700137000", SHOP).await;

        let routes: Vec<(Method, String, Value)> = vec![
            (Method::GET, "/users".into(), json!({})),
            (Method::GET, "/admin/api/clients".into(), json!({})),
            (Method::POST, "/admin/api/clients".into(), json!({ "name": "Evil", "callbacks": ["https://evil.example/cb"] })),
            (Method::GET, format!("/admin/api/clients/{shop_id}"), json!({})),
            (Method::PUT, format!("/admin/api/clients/{shop_id}"), json!({ "name": "Evil", "callbacks": ["https://evil.example/cb"] })),
            (Method::DELETE, format!("/admin/api/clients/{shop_id}"), json!({})),
            (Method::POST, format!("/admin/api/clients/{shop_id}/secret"), json!({})),
            (Method::PATCH, format!("/admin/api/users/{victim_id}"), json!({ "role": "admin" })),
            (Method::POST, format!("/admin/api/users/{victim_id}/signout"), json!({})),
            (Method::GET, "/admin/api/deliveries".into(), json!({})),
            (Method::GET, "/admin/api/sms".into(), json!({})),
        ];
        for (method, path, body) in &routes {
            let (status, answer) = if *method == Method::GET {
                app.get_with_token(path, &token).await
            } else {
                app.send_with_token(method.clone(), path, &token, body.clone()).await
            };
            assert_error(status, &answer, 403, "token_audience");
        }
        // The same operator's own first-party token works, and nothing above took effect.
        let first_party = app.token("13700137000").await;
        let (status, clients) = app.get_with_token("/admin/api/clients", &first_party).await;
        assert_eq!(status, 200, "{clients}");
        assert_eq!(clients["total"], 1);
        assert_eq!(clients["data"][0]["name"], "Partner");
        let (_, user) = app.get_with_token(&format!("/users/{victim_id}"), &first_party).await;
        assert_eq!(user["data"]["role"], "user");
    }

    async fn a_partner_checking_with_its_credentials_never_accepts_another_partners_token(app) {
        let (shop_id, shop_secret) = app.add_client(&[SHOP]).await;
        let (blog_id, blog_secret) = app.add_client(&[BLOG]).await;
        app.signup("13800138000").await;
        let shop_token = app.partner_token("13800138000", SHOP).await;
        let first_party = app.token("13800138000").await;

        let check = |auth: String, token: String| {
            let req = app.client.get(app.url("/token")).header("authorization", auth).header("token", token);
            go(req)
        };
        let (status, body) = check(basic(&shop_id, &shop_secret), shop_token.clone()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["aud"], shop_id);
        let (status, body) = check(basic(&blog_id, &blog_secret), shop_token.clone()).await;
        assert_error(status, &body, 403, "token_audience");
        let (status, body) = check(basic(&blog_id, "not-the-secret"), shop_token.clone()).await;
        assert_error(status, &body, 401, "client_auth_failed");
        let (status, body) = check(basic(&blog_id, &blog_secret), first_party).await;
        assert_eq!(status, 200, "a first-party token is no partner's: {body}");

        // POST /token: the blog, with its own credentials, cannot take the shop's token.
        let form = |callback| [("token", shop_token.as_str()), ("callback_url", callback)];
        let (status, body) = app.post_token_form(Some((&blog_id, &blog_secret)), &form(BLOG)).await;
        assert_error(status, &body, 403, "token_audience");
        let (status, body) = app.post_token_form(Some((&shop_id, &shop_secret)), &form(SHOP)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["aud"], shop_id);
    }
}
