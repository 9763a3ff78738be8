//! WeChat mini-program login against a local jscode2session that speaks WeChat's protocol.

use super::*;

/// A stand-in for `api.weixin.qq.com`'s `jscode2session`: WeChat's JSON (served as
/// `text/plain`, as WeChat does), every query recorded.
struct WeChat {
    base: String,
    calls: Arc<Mutex<Vec<HashMap<String, String>>>>,
}

async fn jscode2session(
    query: web::Query<HashMap<String, String>>,
    calls: web::Data<Mutex<Vec<HashMap<String, String>>>>,
) -> HttpResponse {
    let q = query.into_inner();
    calls.lock().unwrap().push(q.clone());
    let param = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let answer = if param("appid") != "wx-test" {
        json!({ "errcode": 40013, "errmsg": "invalid appid" })
    } else if param("secret") != "s3cret" {
        json!({ "errcode": 40125, "errmsg": "invalid appsecret" })
    } else if param("grant_type") != "authorization_code" {
        json!({ "errcode": 40002, "errmsg": "invalid grant_type" })
    } else {
        match param("js_code") {
            "ok-1" => json!({ "openid": "o-1", "session_key": "sk-secret-1" }),
            "union-2" => json!({ "openid": "o-2", "session_key": "sk-secret-2", "unionid": "u-2" }),
            "zero-3" => {
                json!({ "openid": "o-3", "session_key": "sk-secret-3", "errcode": 0, "errmsg": "ok" })
            }
            "limit" => json!({ "errcode": 45011, "errmsg": "api minute-quota reach limit" }),
            "busy" => json!({ "errcode": -1, "errmsg": "system error" }),
            "hang" => {
                tokio::time::sleep(Duration::from_secs(8)).await;
                json!({ "openid": "o-hang", "session_key": "sk-secret-hang" })
            }
            _ => json!({ "errcode": 40029, "errmsg": "invalid code" }),
        }
    };
    HttpResponse::Ok()
        .content_type("text/plain")
        .body(answer.to_string())
}

impl WeChat {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let calls = web::Data::new(Mutex::new(Vec::new()));
        let shared = calls.clone();
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .app_data(shared.clone())
                .route("/sns/jscode2session", web::get().to(jscode2session))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        WeChat {
            base: format!("http://127.0.0.1:{port}"),
            calls: calls.into_inner(),
        }
    }

    fn calls(&self) -> Vec<HashMap<String, String>> {
        self.calls.lock().unwrap().clone()
    }
}

async fn wechat_app(backend: Backend, wx: &WeChat) -> Option<TestApp> {
    let base = wx.base.clone();
    TestApp::spawn_with(backend, move |f| {
        f.merge(("wechat_appid", "wx-test"))
            .merge(("wechat_secret", "s3cret"))
            .merge(("wechat_api_base", base))
    })
    .await
}

async fn wechat_login(app: &TestApp, body: Value) -> (u16, Value) {
    send(app, Method::POST, "/users/login", &[], Some(body)).await
}

/// Like `both_backends!`, each scenario getting a server wired to its own WeChat stand-in.
macro_rules! with_wechat {
    ($(async fn $name:ident($app:ident, $wx:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                async fn scenario($app: TestApp, $wx: WeChat) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let wx = WeChat::start();
                    let app = wechat_app(Backend::Sqlite, &wx).await.unwrap();
                    scenario(app, wx).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let wx = WeChat::start();
                    if let Some(app) = wechat_app(Backend::Postgres, &wx).await {
                        scenario(app, wx).await;
                    }
                }
            }
        )*
    };
}

with_wechat! {
    async fn the_first_wechat_login_creates_the_account_and_later_ones_update_it(app, wx) {
        let mut seen = Vec::new();
        let profile = json!({
            "code": "ok-1",
            "avatarUrl": "https://thirdwx.qlogo.cn/mmopen/vi_32/abc/132",
            "nickName": "零陵上将军",
            "country": "China",
            "province": "Guangdong",
            "city": "Shenzhen",
            "language": "zh_CN",
        });
        let (status, body) = wechat_login(&app, profile.clone()).await;
        seen.push(body.to_string());
        let first = token_of(status, &body);
        let c = claims(&first);
        assert_eq!(c["terminal"], "WECHAT");
        assert_eq!(c["openid"], "o-1");
        assert_eq!(app.count_rows().await.0, 1);

        let calls = wx.calls();
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert_eq!(calls[0]["appid"], "wx-test");
        assert_eq!(calls[0]["secret"], "s3cret");
        assert_eq!(calls[0]["js_code"], "ok-1");
        assert_eq!(calls[0]["grant_type"], "authorization_code");

        let (status, body) = get_bearer(&app, "/users/info/self", &first).await;
        seen.push(body.to_string());
        assert_eq!(status, 200, "{body}");
        let data = &body["data"];
        assert_eq!(keys(data), wechat_user_keys(), "{data}");
        assert_eq!(data["id"], c["id"]);
        assert_eq!(data["openid"], "o-1");
        for k in WECHAT_KEYS {
            assert_eq!(data[*k], profile[*k], "{k}: {data}");
        }

        // The same openid again, with a new nickname: the same account, updated.
        let (status, body) = wechat_login(&app, json!({ "code": "ok-1", "nickName": "新昵称" })).await;
        seen.push(body.to_string());
        let second = token_of(status, &body);
        assert_eq!(claims(&second)["id"], c["id"]);
        assert_ne!(claims(&second)["sid"], c["sid"]);
        assert_eq!(app.count_rows().await.0, 1);
        let (status, body) = get_bearer(&app, "/users/info/self", &second).await;
        seen.push(body.to_string());
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["nickName"], "新昵称");
        assert_eq!(body["data"]["city"], "Shenzhen", "fields not sent are kept: {body}");

        // Other ways of reading the account, none of which may show the session key.
        let id = c["id"].as_str().unwrap();
        for path in [format!("/users/info/{id}"), "/users/token".to_owned(), format!("/users/{id}"), "/token".to_owned()] {
            let (status, body) = get_bearer(&app, &path, &second).await;
            assert_eq!(status, 200, "{path}: {body}");
            seen.push(body.to_string());
        }
        let (status, body) = refresh(&app, &second).await;
        let third = token_of(status, &body);
        seen.push(body.to_string());
        assert_eq!(claims(&third)["openid"], "o-1");
        for body in &seen {
            assert!(!body.contains("sk-secret") && !body.contains("session_key"), "session_key leaked: {body}");
        }
    }

    async fn wechat_users_show_their_wechat_fields_to_admins_only(app, wx) {
        let (status, body) = wechat_login(&app, json!({ "code": "union-2", "nickName": "小程序用户" })).await;
        let wechat = token_of(status, &body);
        assert_eq!(claims(&wechat)["openid"], "o-2");
        assert_eq!(wx.calls().len(), 1);
        let id = claims(&wechat)["id"].as_str().unwrap().to_owned();
        let path = format!("/users/info/{id}");

        registered(&app, "13800138000").await;
        let phone_user = logged_in(&app, "13800138000").await;
        let (status, body) = get_bearer(&app, &path, &phone_user).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(keys(&body["data"]), sorted(OTHERS_KEYS), "{body}");

        app.make_admin(claims(&phone_user)["id"].as_str().unwrap()).await;
        let (status, body) = get_bearer(&app, &path, &phone_user).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(keys(&body["data"]), wechat_user_keys(), "{body}");
        assert_eq!(body["data"]["nickName"], "小程序用户");
        assert!(!body.to_string().contains("sk-secret"));

        // errcode 0 is success.
        let (status, body) = wechat_login(&app, json!({ "code": "zero-3" })).await;
        assert_eq!(claims(&token_of(status, &body))["openid"], "o-3");
    }

    async fn wechat_errors_are_wechat_code_invalid_or_unavailable_and_create_nothing(app, wx) {
        for (code, status_want, reason) in [
            ("bad", 401, "wechat_code_invalid"),
            ("limit", 401, "wechat_code_invalid"),
            ("busy", 503, "unavailable"),
        ] {
            let (status, body) = wechat_login(&app, json!({ "code": code, "nickName": "x" })).await;
            assert_eq!(status, status_want, "{code}: {body}");
            assert_error(status, &body, status_want, reason);
        }
        assert_eq!(wx.calls().len(), 3);
        assert_eq!(app.count_rows().await, (0, 0));
        let (status, body) = wechat_login(&app, json!({})).await;
        assert_error(status, &body, 400, "invalid_params");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wechat_that_does_not_answer_is_unavailable_within_six_seconds() {
    let wx = WeChat::start();
    let app = wechat_app(Backend::Sqlite, &wx).await.unwrap();
    let started = Instant::now();
    let (status, body) = wechat_login(&app, json!({ "code": "hang" })).await;
    let took = started.elapsed();
    assert_error(status, &body, 503, "unavailable");
    assert!(
        took < Duration::from_millis(6_500),
        "answered after {took:?}"
    );
    assert_eq!(wx.calls().len(), 1);
    assert_eq!(app.count_rows().await, (0, 0));
}
