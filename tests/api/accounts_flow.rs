use reqwest::Method;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

both_backends! {
    async fn signup_signin_check_signout_walkthrough(app) {
        let user = app.signup("13800138000").await;
        assert_eq!(user["phone"], "13800138000");
        assert_eq!(user["role"], "user");
        assert!(user.get("password_hash").is_none());

        let token = app.token("+8613800138000").await;
        let (status, body) = app.get_with_token("/token", &token).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["valid"], true);
        assert_eq!(body["data"]["user_id"], user["id"]);

        let (status, _) = app.send_with_token(Method::PATCH, "/users/signout", &token, json!({})).await;
        assert_eq!(status, 200);
        let (status, body) = app.get_with_token("/token", &token).await;
        assert_error(status, &body, 401, "token_revoked");
    }

    async fn sessions_survive_a_restart(app) {
        let (_, token) = app.user("13900139000").await;
        let app = app.restart().await;
        let (status, body) = app.get_with_token("/token", &token).await;
        assert_eq!(status, 200, "{body}");
    }
}
