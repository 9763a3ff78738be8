use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

fn query(paginate: Option<&str>, filter: Option<&str>, sort: Option<&str>) -> String {
    let mut pairs = Vec::new();
    for (k, v) in [("paginate", paginate), ("filter", filter), ("sort", sort)] {
        if let Some(v) = v {
            pairs.push((k, v));
        }
    }
    format!("/users?{}", serde_urlencoded::to_string(pairs).unwrap())
}

both_backends! {
    async fn only_operators_may_list_users(app) {
        let (_, token) = app.user("13800138000").await;
        let (status, body) = app.get_with_token("/users", &token).await;
        assert_error(status, &body, 403, "forbidden");
        let (status, body) = app.get("/users").await;
        assert_error(status, &body, 401, "token_missing");
    }

    async fn list_filters_sorts_and_pages_with_a_total(app) {
        let (admin, token) = app.user("13800138000").await;
        app.make_admin(admin["id"].as_str().unwrap()).await;
        for (i, name) in ["张三", "张四", "李四"].iter().enumerate() {
            let (_, t) = app.user(&format!("1390013900{i}")).await;
            let (status, _) = app.send_with_token(reqwest::Method::PUT, "/users", &t, json!({ "username": name })).await;
            assert_eq!(status, 200);
        }
        let filter = r#"[{"fieldname":"username","option":"like","value":"张"}]"#;
        let sort = r#"[{"field":"username","direction":"desc"}]"#;
        let (status, body) = app.get_with_token(&query(Some(r#"{"page":1,"limit":1}"#), Some(filter), Some(sort)), &token).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["total"], 2);
        assert_eq!(body["data"].as_array().unwrap().len(), 1);
        assert_eq!(body["data"][0]["username"], "张四");
        let (_, body) = app.get_with_token(&query(Some(r#"{"page":2,"limit":1}"#), Some(filter), Some(sort)), &token).await;
        assert_eq!(body["data"][0]["username"], "张三");

        // The seed's two-key form searches like `like`.
        let (_, body) = app.get_with_token(&query(None, Some(r#"[{"fieldname":"username","option":"四"}]"#), None), &token).await;
        assert_eq!(body["total"], 2);
        // Filters combine with AND.
        let both = r#"[{"fieldname":"username","option":"like","value":"四"},{"fieldname":"phone","option":"prefix","value":"1390013900"}]"#;
        let (_, body) = app.get_with_token(&query(None, Some(both), None), &token).await;
        assert_eq!(body["total"], 2);
        let (_, body) = app.get_with_token(&query(None, Some(r#"[{"fieldname":"role","option":"eq","value":"admin"}]"#), None), &token).await;
        assert_eq!(body["total"], 1);
        let (_, body) = app.get_with_token(&query(None, Some(r#"[{"fieldname":"created_at","option":"gte","value":"2000-01-01"}]"#), None), &token).await;
        assert_eq!(body["total"], 4);
        // A wildcard in the value is literal.
        let (_, body) = app.get_with_token(&query(None, Some(r#"[{"fieldname":"username","option":"like","value":"%"}]"#), None), &token).await;
        assert_eq!(body["total"], 0);
    }

    async fn hostile_list_parameters_are_rejected(app) {
        let (admin, token) = app.user("13800138000").await;
        app.make_admin(admin["id"].as_str().unwrap()).await;
        let cases = [
            query(Some("not json"), None, None),
            query(Some(r#"{"page":1,"limit":-5}"#), None, None),
            query(Some(r#"{"page":1,"limit":100000}"#), None, None),
            query(None, Some(r#"[{"fieldname":"name;DROP TABLE users--","option":"eq","value":"x"}]"#), None),
            query(None, Some(r#"[{"fieldname":"password_hash","option":"like","value":"$2"}]"#), None),
            query(None, None, Some(r#"[{"field":"(CASE WHEN 1=1 THEN username END)","direction":"asc"}]"#)),
            query(None, None, Some(r#"[{"field":"username","direction":"sideways"}]"#)),
            query(None, Some(r#"[{"fieldname":"username","option":"regex","value":"x"}]"#), None),
        ];
        for path in cases {
            let (status, body) = app.get_with_token(&path, &token).await;
            assert_error(status, &body, 400, "invalid_params");
        }
        assert_eq!(app.count_rows().await.0, 1);
    }
}
