//! Every route's parameter matrix, on both backends, and the database left as it was.

use super::*;

both_backends! {
    async fn anonymous_routes_reject_bad_parameters_and_leave_the_database_unchanged(app) {
        app.signup("13800138001").await; // password sign-in
        app.signup("13800138002").await; // code sign-in
        app.signup("13800138003").await; // password reset
        let digits = huge("1");
        let code_signin = app.code_for("13800138002", Some("signin")).await;
        let code_signup = app.code_for("13800138020", Some("signup")).await;
        let code_reset = app.code_for("13800138003", Some("reset_password")).await;
        let over_72 = "Aa1-".repeat(18) + "x";
        let wide = "密".repeat(25); // 25 characters, 75 bytes
        let routes = vec![
            Route::new(Method::POST, "/verify_code", json!({ "number": "13800138010", "purpose": "signup" }), 200, vec![
                Param::required("number", digits.clone(), Want::Invalid)
                    .and("not-a-number", Want::Invalid)
                    .and("a@b", Want::Invalid),
                Param::optional("purpose", huge("x"), Want::Invalid)
                    .and("admin", Want::Invalid),
            ]),
            Route::new(Method::POST, "/users/signin", json!({ "number": "13800138001", "pwd": PASSWORD }), 200, vec![
                Param::required("number", digits.clone(), Want::Invalid),
                Param::required("pwd", huge("p"), Want::Reason(401, "credentials_invalid")),
                Param::required("client_code", huge("A"), Want::Reason(400, "captcha_invalid")),
                Param::required("captcha_id", huge("i"), Want::Reason(400, "captcha_invalid")),
                Param::optional("callback_url", huge_url(), Want::Reason(400, "callback_not_registered")),
                Param::optional("terminal", huge("x"), Want::Invalid).and("toaster", Want::Invalid),
            ]).with_captcha(),
            Route::new(Method::POST, "/users/verify_code_sign_in", json!({ "number": "13800138002", "verify_code": code_signin }), 200, vec![
                Param::required("number", digits.clone(), Want::Invalid),
                Param::required("verify_code", digits.clone(), Want::Reason(400, "verify_code_invalid"))
                    .and("12345a", Want::Reason(400, "verify_code_invalid")),
                Param::optional("callback_url", huge_url(), Want::Reason(400, "callback_not_registered")),
                Param::optional("terminal", huge("x"), Want::Invalid),
            ]),
            Route::new(Method::POST, "/users/signup", json!({ "number": "13800138020", "pwd": PASSWORD, "verify_code": code_signup }), 201, vec![
                Param::required("number", digits.clone(), Want::Invalid),
                Param::required("pwd", huge("p"), Want::Reason(400, "password_weak"))
                    .and(&over_72, Want::Reason(400, "password_weak"))
                    .and(&wide, Want::Reason(400, "password_weak"))
                    .and("short", Want::Reason(400, "password_weak")),
                Param::required("verify_code", digits.clone(), Want::Reason(400, "verify_code_invalid")),
                Param::optional("username", huge("u"), Want::Invalid)
                    .and("a;DROP TABLE users--", Want::Invalid),
            ]),
            Route::new(Method::PATCH, "/users/verify_code_password", json!({ "number": "13800138003", "pwd": "Reset-Pass-99", "verify_code": code_reset }), 200, vec![
                Param::required("number", digits.clone(), Want::Invalid),
                Param::required("pwd", huge("p"), Want::Reason(400, "password_weak"))
                    .and(&over_72, Want::Reason(400, "password_weak")),
                Param::required("verify_code", digits.clone(), Want::Reason(400, "verify_code_invalid")),
            ]),
        ];
        for route in &routes {
            exercise(&app, route).await;
        }
    }

    async fn signed_in_routes_reject_bad_parameters_and_leave_the_database_unchanged(app) {
        app.add_client(&[CALLBACK]).await;
        let (_, changer) = app.user("13800138001").await;
        let (_, editor) = app.user("13800138002").await;
        let (_, leaver) = app.user("13800138003").await;
        let (_, checker) = app.user("13800138004").await;
        let code_contact = app.code_for("13700137000", Some("change_contact")).await;
        let over_72 = "Aa1-".repeat(18) + "x";
        let routes = vec![
            Route::new(Method::PATCH, "/users/password", json!({ "old_pwd": PASSWORD, "new_pwd": "Brand-New-Pass-7" }), 200, vec![
                Param::required("old_pwd", huge("p"), Want::Reason(401, "credentials_invalid")),
                Param::required("new_pwd", huge("p"), Want::Reason(400, "password_weak"))
                    .and(&over_72, Want::Reason(400, "password_weak")),
            ]).signed_in(changer),
            Route::new(Method::PUT, "/users", json!({ "phone": "13700137000", "verify_code": code_contact, "username": "new_name" }), 200, vec![
                // Required here because the phone changes.
                Param::required("verify_code", huge("1"), Want::Reason(400, "verify_code_invalid")),
                Param::optional("phone", huge("1"), Want::Invalid).and("not-a-phone", Want::Invalid),
                Param::optional("email", huge_email(), Want::Invalid).and("no-at-sign", Want::Invalid),
                Param::optional("username", huge("u"), Want::Invalid)
                    .and("12345678", Want::Invalid)
                    .and("name;DROP TABLE users--", Want::Invalid),
                Param::optional("head_img", format!("https://img.example/{}", huge("a")), Want::Invalid)
                    .and("javascript:alert(1)", Want::Invalid)
                    .and("https://user@img.example/a.png", Want::Invalid),
            ]).signed_in(editor),
            Route::new(Method::DELETE, "/users", json!({ "pwd": PASSWORD }), 200, vec![
                Param::required("pwd", huge("p"), Want::Reason(401, "credentials_invalid")),
            ]).signed_in(leaver),
            Route::new(Method::POST, "/token", json!({ "token": checker, "callback_url": CALLBACK }), 200, vec![
                Param::token(huge("t")),
                Param::required("callback_url", huge_url(), Want::Reason(400, "callback_not_registered")),
            ]),
        ];
        for route in &routes {
            exercise(&app, route).await;
        }

        // Empty optional profile fields count as absent: nothing changes.
        let (_, token) = app.user("13800138005").await;
        let (_, me) = app.get_with_token("/users/token", &token).await;
        let (status, body) = app
            .send_with_token(Method::PUT, "/users", &token, json!({ "username": "", "phone": "", "email": "", "head_img": "", "verify_code": "" }))
            .await;
        assert_eq!(status, 200, "{body}");
        for key in ["username", "phone", "email", "head_img"] {
            assert_eq!(body["data"][key], me["data"][key], "{key}: {body}");
        }
    }

    async fn every_token_route_rejects_a_missing_empty_wrong_type_or_huge_token(app) {
        let (user, token) = app.user("13800138000").await;
        let (_, admin_token) = app.admin("13900139000").await;
        let id = user["id"].as_str().unwrap();
        let by_id = format!("/users/{id}");
        let routes: Vec<(Method, &str, Option<Value>)> = vec![
            (Method::GET, "/token", None),
            (Method::GET, "/users/token", None),
            (Method::GET, &by_id, None),
            (Method::GET, "/users", None),
            (Method::PUT, "/users", Some(json!({ "username": "someone_new" }))),
            (Method::PATCH, "/users/password", Some(json!({ "old_pwd": PASSWORD, "new_pwd": "Brand-New-Pass-7" }))),
            (Method::PATCH, "/users/signout", Some(json!({}))),
            (Method::DELETE, "/users", Some(json!({ "pwd": PASSWORD }))),
        ];
        let missing = Want::Reason(401, "token_missing");
        let invalid = Want::Reason(401, "token_invalid");
        let before = snapshot(&app).await;
        for (method, path, body) in &routes {
            let cases: Vec<TokenCase> = vec![
                ("no token", None, None, missing),
                ("empty bearer", Some(("authorization", "Bearer ".into())), None, missing),
                ("bare `Bearer`", Some(("authorization", "Bearer".into())), None, missing),
                ("basic credentials", Some(("authorization", "Basic dXNlcjpwYXNz".into())), None, missing),
                ("empty token header", Some(("token", String::new())), None, missing),
                ("empty token parameter", None, Some(json!("")), missing),
                ("number token parameter", None, Some(json!(12345)), Want::NotAToken),
                ("object token parameter", None, Some(json!({ "a": 1 })), Want::NotAToken),
                ("garbage bearer", Some(("authorization", "Bearer not-a-jwt".into())), None, invalid),
                ("three dots", Some(("authorization", "Bearer a.b.c".into())), None, invalid),
                ("huge bearer", Some(("authorization", format!("Bearer {}", huge("t")))), None, invalid),
                ("huge token header", Some(("token", huge("t"))), None, invalid),
                ("huge token parameter", None, Some(json!(huge("t"))), invalid),
                // Bearer wins over the parameter, even when the parameter is the good one.
                ("garbage bearer, good parameter", Some(("authorization", "Bearer not-a-jwt".into())), Some(json!(token)), invalid),
            ];
            for (what, header, param, want) in cases {
                let mut url = path.to_string();
                let mut json_body = body.clone();
                if let Some(p) = &param {
                    match &mut json_body {
                        Some(b) => {
                            b["token"] = p.clone();
                        }
                        None => {
                            let text = match p {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            };
                            url = query(path, &[("token", text.as_str())]);
                        }
                    }
                }
                let mut rb = app.client.request(method.clone(), app.url(&url));
                if let Some((name, value)) = header {
                    rb = rb.header(name, value);
                }
                if let Some(b) = json_body {
                    rb = rb.json(&b);
                }
                let (status, answer) = go(rb).await;
                judge(status, &answer, want, "token", &format!("{method} {path} with {what}"));
            }
        }
        assert_unchanged(&before, &snapshot(&app).await, "bad tokens");
        assert_eq!(app.get_with_token("/token", &token).await.0, 200);
        assert_eq!(app.get_with_token("/users", &admin_token).await.0, 200);
    }

    async fn malformed_user_ids_are_404_not_found(app) {
        let (user, token) = app.user("13800138000").await;
        let id = user["id"].as_str().unwrap();
        let long = huge("a");
        let tail = format!("{id}x");
        for bad in [
            "not-a-uuid",
            "1",
            "0",
            "-1",
            "%00",
            "%27%20OR%20%271%27%3D%271",
            "null",
            "00000000-0000-0000-0000-000000000000",
            tail.as_str(),
            long.as_str(),
        ] {
            let path = format!("/users/{bad}");
            let (status, body) = app.get_with_token(&path, &token).await;
            let shown: String = path.chars().take(80).collect();
            expect_error(status, &body, 404, "not_found", &format!("GET {shown}"));
        }
        let (status, body) = app.get_with_token("/users/", &token).await;
        expect_error(status, &body, 404, "not_found", "GET /users/");
    }

    async fn list_rejects_hostile_fields_bad_page_sizes_and_non_json_parameters(app) {
        let (_, token) = app.admin("13800138000").await;
        app.signup("13900139000").await;
        let before = snapshot(&app).await;
        let hostile = [
            "name;DROP TABLE users--",
            "password_hash",
            "(CASE WHEN 1=1 THEN username END)",
            "username--",
            "username_lower",
            "wechat_profile",
            "openid; SELECT 1",
            "users.password_hash",
            "1",
            "",
        ];
        let mut cases: Vec<(&str, String)> = Vec::new();
        for name in hostile {
            cases.push(("filter", json!([{ "fieldname": name, "option": "eq", "value": "x" }]).to_string()));
            cases.push(("filter", json!([{ "fieldname": name, "option": "x" }]).to_string()));
            cases.push(("sort", json!([{ "field": name, "direction": "asc" }]).to_string()));
        }
        for p in [
            "not json",
            "{",
            "\"x\"",
            "5",
            "null",
            r#"{"page":1,"limit":-1}"#,
            r#"{"page":1,"limit":-100000}"#,
            r#"{"page":1,"limit":0}"#,
            r#"{"page":1,"limit":101}"#,
            r#"{"page":1,"limit":1000000}"#,
            r#"{"page":1,"limit":9223372036854775807}"#,
            r#"{"page":1,"limit":9223372036854775808}"#,
            r#"{"page":1,"limit":1e99}"#,
            r#"{"page":1,"limit":1.5}"#,
            r#"{"page":1,"limit":"20"}"#,
            r#"{"page":0,"limit":20}"#,
            r#"{"page":-1,"limit":20}"#,
            r#"{"page":"1"}"#,
        ] {
            cases.push(("paginate", p.to_owned()));
        }
        for f in [
            "not json",
            "{}",
            "[1]",
            r#"[{"fieldname":"username","option":"regex","value":"x"}]"#,
            r#"[{"fieldname":"username","option":"eq; DROP TABLE users","value":"x"}]"#,
            r#"[{"fieldname":"username","option":"eq","value":{"$ne":1}}]"#,
            r#"[{"fieldname":"username","option":"eq","value":["x"]}]"#,
            r#"[{"fieldname":"created_at","option":"gt","value":"yesterday'; --"}]"#,
        ] {
            cases.push(("filter", f.to_owned()));
        }
        for s in [
            "not json",
            "{}",
            r#"[{"field":"username","direction":"sideways"}]"#,
            r#"[{"field":"username","direction":"desc; DROP TABLE users"}]"#,
        ] {
            cases.push(("sort", s.to_owned()));
        }
        for name in ["paginate", "filter", "sort"] {
            cases.push((name, huge("9")));
            cases.push((name, huge("[")));
        }
        for (name, value) in &cases {
            let path = query("/users", &[(*name, value.as_str())]);
            let (status, body) = app.get_with_token(&path, &token).await;
            let shown: String = value.chars().take(80).collect();
            judge(status, &body, Want::Invalid, name, &format!("GET /users with {name}={shown}"));
        }
        // A page past the end is never a 5xx.
        let far = query("/users", &[("paginate", r#"{"page":9223372036854775807,"limit":100}"#)]);
        let (status, body) = app.get_with_token(&far, &token).await;
        assert_envelope(status, &body, "page i64::MAX");
        assert!(status == 200 || status == 400, "{body}");
        assert_unchanged(&before, &snapshot(&app).await, "hostile list parameters");
        // Empty parameters count as absent: the defaults apply.
        let (status, body) = app.get_with_token("/users?paginate=&filter=&sort=", &token).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["total"], 2, "{body}");
    }
}
