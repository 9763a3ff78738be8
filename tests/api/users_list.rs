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

    async fn totals_from_kept_counts_match_counting_through_signup_disable_and_delete(app) {
        let (admin, token) = app.user("13800138000").await;
        app.make_admin(admin["id"].as_str().unwrap()).await;
        let mut users = Vec::new();
        for i in 0..4 {
            users.push(app.user(&format!("1390013900{i}")).await);
        }
        let status_is = |s: &str| format!(r#"[{{"fieldname":"status","option":"eq","value":"{s}"}}]"#);
        // A second filter that matches everyone forces a real count to compare with.
        let counted = |s: &str| format!(
            r#"[{{"fieldname":"status","option":"eq","value":"{s}"}},{{"fieldname":"created_at","option":"gte","value":"2000-01-01"}}]"#
        );
        let totals = || async {
            let mut out = Vec::new();
            let (status, body) = app.get_with_token("/users", &token).await;
            assert_eq!(status, 200, "{body}");
            out.push(body["total"].as_i64().unwrap());
            for s in ["active", "disabled"] {
                let (_, kept) = app.get_with_token(&query(None, Some(&status_is(s)), None), &token).await;
                let (_, real) = app.get_with_token(&query(None, Some(&counted(s)), None), &token).await;
                assert_eq!(kept["total"], real["total"], "{s}: kept count differs from counting");
                out.push(kept["total"].as_i64().unwrap());
            }
            out
        };
        assert_eq!(totals().await, vec![5, 5, 0]);

        let victim = users[1].0["id"].as_str().unwrap().to_owned();
        let path = format!("/admin/api/users/{victim}");
        let (status, body) = app.send_with_token(reqwest::Method::PATCH, &path, &token, json!({ "status": "disabled" })).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(totals().await, vec![5, 4, 1]);
        // Setting the status it already has moves nothing.
        app.send_with_token(reqwest::Method::PATCH, &path, &token, json!({ "status": "disabled" })).await;
        assert_eq!(totals().await, vec![5, 4, 1]);

        let (status, body) = app.send_with_token(reqwest::Method::DELETE, "/users", &users[2].1, json!({ "pwd": PASSWORD })).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(totals().await, vec![4, 3, 1]);
        // The page still comes with the kept total.
        let (_, body) = app.get_with_token(&query(Some(r#"{"page":2,"limit":3}"#), None, None), &token).await;
        assert_eq!(body["data"].as_array().unwrap().len(), 1);
        assert_eq!(body["total"], 4);
    }

    async fn few_matches_sort_the_same_as_many_nulls_included(app) {
        let (admin, token) = app.user("13800138000").await;
        app.make_admin(admin["id"].as_str().unwrap()).await;
        for (i, name) in ["bo", "", "al", "", "cy"].iter().enumerate() {
            let (_, t) = app.user(&format!("1390013900{i}")).await;
            if !name.is_empty() {
                app.send_with_token(reqwest::Method::PUT, "/users", &t, json!({ "username": name })).await;
            }
        }
        let ids = |body: serde_json::Value| -> Vec<String> {
            body["data"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_owned()).collect()
        };
        // Without a filter the sort key's index serves the order; with a filter few rows
        // pass, they are filtered first and sorted from an expression no index matches.
        let everyone = r#"[{"fieldname":"created_at","option":"gte","value":"2000-01-01"}]"#;
        for field in ["username", "phone", "email", "created_at", "updated_at", "id"] {
            for direction in ["asc", "desc"] {
                let sort = format!(r#"[{{"field":"{field}","direction":"{direction}"}}]"#);
                let page = Some(r#"{"page":1,"limit":100}"#);
                let (_, indexed) = app.get_with_token(&query(page, None, Some(&sort)), &token).await;
                let (_, fenced) = app.get_with_token(&query(page, Some(everyone), Some(&sort)), &token).await;
                assert_eq!(fenced["total"], 6);
                assert_eq!(ids(indexed), ids(fenced), "{field} {direction}");
            }
        }
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
            // PostgreSQL text cannot hold NUL (SQLite can): refused alike on both, as input.
            query(None, Some(r#"[{"fieldname":"username","option":"eq","value":"\u0000"}]"#), None),
            query(None, Some(r#"[{"fieldname":"phone","option":"like","value":"1\u00002"}]"#), None),
            query(None, Some("[{\"fieldname\":\"username\",\"option\":\"a\u{0}\"}]"), None),
        ];
        for path in cases {
            let (status, body) = app.get_with_token(&path, &token).await;
            assert_error(status, &body, 400, "invalid_params");
        }
        assert_eq!(app.count_rows().await.0, 1);
    }
}
