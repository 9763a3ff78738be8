use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

both_backends! {
    async fn signin_with_a_callback_mints_a_token_for_that_partner(app) {
        let (client_id, _) = app.add_client(&["https://shop.example/sso/*"]).await;
        app.signup("13800138000").await;
        let token = app.partner_token("13800138000", "https://shop.example/sso/callback?next=/cart").await;
        let claims = claims(&token);
        assert_eq!(claims["aud"], client_id);
        assert_eq!(claims["terminal"], "PC");
        let sid = claims["sid"].as_str().unwrap().to_owned();
        let recorded = app
            .db(move |conn| {
                use diesel::prelude::*;
                use gatehouse::db::schema::session_clients;
                session_clients::table
                    .filter(session_clients::session_id.eq(sid))
                    .select(session_clients::client_id)
                    .load::<String>(conn)
                    .unwrap()
            })
            .await;
        assert_eq!(recorded, vec![client_id]);
    }

    async fn post_token_records_the_partner_and_checks_its_credentials(app) {
        let (client_id, secret) = app.add_client(&["https://shop.example/cb"]).await;
        let (other_id, other_secret) = app.add_client(&["https://blog.example/cb"]).await;
        let (user, token) = app.user("13800138000").await;
        let post = |auth: Option<String>| {
            let mut req = app
                .client
                .post(app.url("/token"))
                .form(&[("token", token.as_str()), ("callback_url", "https://shop.example/cb?x=1")]);
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            go(req)
        };
        let (status, body) = post(None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["user_id"], user["id"]);
        let (status, body) = post(Some(basic(&client_id, &secret))).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = post(Some(basic(&client_id, "wrong"))).await;
        assert_error(status, &body, 401, "client_auth_failed");
        let (status, body) = post(Some(basic(&other_id, &other_secret))).await;
        assert_error(status, &body, 401, "client_auth_failed");
    }

    async fn unregistered_callbacks_get_no_token(app) {
        app.add_client(&["https://good.example/cb"]).await;
        let (_, token) = app.user("13800138000").await;
        for cb in [
            "https://good.example@evil.example/cb",
            "https://good.example.evil.example/cb",
            "//evil.example/cb",
            "https://good.example\\@evil.example/cb",
            "javascript:alert(1)",
            "https://good.example/cb#frag",
            "HTTPS://GOOD.EXAMPLE:8443/cb",
            "http://good.example/cb",
        ] {
            let (status, body) = app
                .post("/token", json!({ "token": token, "callback_url": cb }))
                .await;
            assert_error(status, &body, 400, "callback_not_registered");
        }
        let (status, _) = app
            .post("/token", json!({ "token": token, "callback_url": "HTTPS://GOOD.EXAMPLE/cb" }))
            .await;
        assert_eq!(status, 200, "scheme and host compare case-insensitively");
    }
}
