//! The browser pages over plain HTTP (the real browser runs in `browser.rs`): headers, CSRF,
//! redirects with tokens and tickets, silent SSO, sign-out, account and console.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

/// A minimal browser: keeps cookies, never follows redirects.
struct Browser<'a> {
    app: &'a TestApp,
    cookies: BTreeMap<String, String>,
}

struct Page {
    status: u16,
    location: String,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        Browser {
            app,
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let res = req
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        for c in res.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap();
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") || v.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        Page {
            status: res.status().as_u16(),
            location: res
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default(),
            headers: res.headers().clone(),
            body: res.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let req = self.app.client.get(self.app.url(path));
        self.send(req).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let req = self.app.client.post(self.app.url(path)).form(form);
        self.send(req).await
    }

    fn csrf(&self) -> String {
        self.cookies["gh_csrf"].clone()
    }

    /// Signs in through the form; returns the answer to the POST.
    async fn sign_in(&mut self, number: &str, callback: &str) -> Page {
        let page = self
            .get(&format!("/login?callback_url={}", urlencode(callback)))
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        let captcha_id = attr(&page.body, "name=\"captcha_id\" id=\"captcha_id\" value=\"");
        let answer = attr(&page.body, "data-test-answer=\"");
        let csrf = self.csrf();
        self.post(
            "/login",
            &[
                ("csrf", &csrf),
                ("method", "password"),
                ("number", number),
                ("pwd", PASSWORD),
                ("captcha_id", &captcha_id),
                ("client_code", &answer),
                ("callback_url", callback),
            ],
        )
        .await
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn attr(html: &str, prefix: &str) -> String {
    let start = html
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix} not in page"))
        + prefix.len();
    html[start..].split('"').next().unwrap().to_owned()
}

fn query_param(location: &str, name: &str) -> String {
    let url = url::Url::parse(location).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("{name} not in {location}"))
}

async fn partner(app: &TestApp, admin: &str, callback: &str, mode: &str) -> (String, String) {
    let (status, body) = app
        .send_with_token(
            Method::POST,
            "/admin/api/clients",
            admin,
            json!({ "name": format!("Partner {mode}"), "callbacks": [callback], "mode": mode }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    (
        body["data"]["client_id"].as_str().unwrap().to_owned(),
        body["data"]["client_secret"].as_str().unwrap().to_owned(),
    )
}

async fn admin(app: &TestApp) -> String {
    let (user, token) = app.user("13700137000").await;
    app.make_admin(user["id"].as_str().unwrap()).await;
    token
}

#[tokio::test]
async fn pages_carry_strict_security_headers() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let mut b = Browser::new(&app);
    let page = b.get("/login").await;
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    assert!(!page.body.contains("<script>") && !page.body.contains("style="));
    assert!(b.cookies.contains_key("gh_csrf"));
}

#[tokio::test]
async fn forms_without_the_csrf_token_or_from_another_origin_are_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.signup("13800138000").await;
    let mut b = Browser::new(&app);
    b.get("/login").await;
    let page = b
        .post("/login", &[("number", "13800138000"), ("pwd", PASSWORD)])
        .await;
    assert_eq!(page.status, 403);
    let csrf = b.csrf();
    let req = app
        .client
        .post(app.url("/login"))
        .header("origin", "https://evil.example")
        .form(&[
            ("csrf", csrf.as_str()),
            ("number", "13800138000"),
            ("pwd", PASSWORD),
        ]);
    assert_eq!(b.send(req).await.status, 403);
}

#[tokio::test]
async fn unregistered_callbacks_get_an_error_page_never_a_redirect() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let admin = admin(&app).await;
    partner(&app, &admin, "https://shop.example/cb", "token").await;
    app.signup("13800138000").await;
    let mut b = Browser::new(&app);
    for cb in [
        "https://evil.example/cb",
        "https://shop.example.evil.example/cb",
        "javascript:alert(1)",
    ] {
        let page = b
            .get(&format!("/login?callback_url={}", urlencode(cb)))
            .await;
        assert_eq!(page.status, 400);
        assert!(page.location.is_empty());
        assert!(
            page.body.contains("id=\"error\"") && page.body.contains("callback_not_registered")
        );
    }
    let signed_in = b.sign_in("13800138000", "https://shop.example/cb").await;
    assert_eq!(signed_in.status, 303);
    let page = b
        .get(&format!(
            "/login?callback_url={}",
            urlencode("https://evil.example/cb")
        ))
        .await;
    assert_eq!(page.status, 400, "a live session does not change that");
}

#[tokio::test]
async fn token_mode_sign_in_redirects_back_with_a_token_for_that_partner() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let admin = admin(&app).await;
    let (client_id, _) = partner(&app, &admin, "https://shop.example/cb", "token").await;
    app.signup("13800138000").await;
    let mut b = Browser::new(&app);
    let page = b
        .sign_in("13800138000", "https://shop.example/cb?next=%2Fcart")
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(
        page.location
            .starts_with("https://shop.example/cb?next=%2Fcart&token="),
        "{}",
        page.location
    );
    let cookie = page
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap())
        .find(|c| c.starts_with("gh_session="))
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let token = query_param(&page.location, "token");
    let (status, body) = app.get_with_token("/token", &token).await;
    assert_eq!(status, 200, "{body}");
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            token.split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["aud"], client_id);
}

#[tokio::test]
async fn a_second_partner_gets_a_ticket_without_a_password_and_redeems_it_once() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let admin = admin(&app).await;
    partner(&app, &admin, "https://shop.example/cb", "token").await;
    let (blog_id, blog_secret) =
        partner(&app, &admin, "https://blog.example/sso/*", "ticket").await;
    let (shop_other, shop_secret) =
        partner(&app, &admin, "https://other.example/cb", "ticket").await;
    app.signup("13800138000").await;
    let mut b = Browser::new(&app);
    b.sign_in("13800138000", "https://shop.example/cb").await;
    let page = b
        .get(&format!(
            "/login?callback_url={}",
            urlencode("https://blog.example/sso/back")
        ))
        .await;
    assert_eq!(page.status, 302, "silent SSO: {}", page.body);
    let ticket = query_param(&page.location, "ticket");
    assert!(!page.location.contains("token="));

    let redeem = |id: String, secret: String, ticket: String, cb: &'static str| {
        let app = &app;
        async move {
            into_parts(
                app.client
                    .post(app.url("/token"))
                    .basic_auth(id, Some(secret))
                    .form(&[("ticket", ticket.as_str()), ("callback_url", cb)])
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    // Another partner cannot use it (and using it up that way is not possible either).
    let (status, body) = redeem(
        shop_other.clone(),
        shop_secret,
        ticket.clone(),
        "https://other.example/cb",
    )
    .await;
    assert_error(status, &body, 401, "token_invalid");

    let page = b
        .get(&format!(
            "/login?callback_url={}",
            urlencode("https://blog.example/sso/back")
        ))
        .await;
    let ticket = query_param(&page.location, "ticket");
    let (status, body) = redeem(
        blog_id.clone(),
        blog_secret.clone(),
        ticket.clone(),
        "https://blog.example/sso/back",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = body["data"]["token"].as_str().unwrap().to_owned();
    assert_eq!(app.get_with_token("/token", &token).await.0, 200);
    let (status, body) = redeem(
        blog_id,
        blog_secret,
        ticket,
        "https://blog.example/sso/back",
    )
    .await;
    assert_error(status, &body, 401, "token_invalid");
}

#[tokio::test]
async fn logout_ends_the_session_and_returns_to_a_registered_callback() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let admin = admin(&app).await;
    partner(&app, &admin, "https://shop.example/cb", "token").await;
    app.signup("13800138000").await;
    let mut b = Browser::new(&app);
    let page = b.sign_in("13800138000", "https://shop.example/cb").await;
    let token = query_param(&page.location, "token");
    let page = b
        .get(&format!(
            "/logout?callback_url={}",
            urlencode("https://shop.example/cb")
        ))
        .await;
    assert_eq!(page.status, 302);
    assert_eq!(page.location, "https://shop.example/cb");
    let (status, body) = app.get_with_token("/token", &token).await;
    assert_error(status, &body, 401, "token_revoked");
    assert!(!b.cookies.contains_key("gh_session"));
    let page = b.get("/login").await;
    assert_eq!(page.status, 200, "signed out: the form again");
    let page = b
        .get(&format!(
            "/logout?callback_url={}",
            urlencode("https://evil.example/")
        ))
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"signed-out\""));
}

#[tokio::test]
async fn a_new_sign_in_replaces_the_browser_session() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let admin = admin(&app).await;
    partner(&app, &admin, "https://shop.example/cb", "token").await;
    app.signup("13800138000").await;
    let mut b = Browser::new(&app);
    let first = b.sign_in("13800138000", "https://shop.example/cb").await;
    let old_cookie = b.cookies["gh_session"].clone();
    // Signing in again from the same browser (a live session would be used silently, so the
    // form comes from a fresh page and is posted with the old cookie).
    let mut again = Browser::new(&app);
    let page = again.get("/login").await;
    let captcha_id = attr(&page.body, "name=\"captcha_id\" id=\"captcha_id\" value=\"");
    let answer = attr(&page.body, "data-test-answer=\"");
    let csrf = again.csrf();
    again
        .cookies
        .insert("gh_session".into(), old_cookie.clone());
    let second = again
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("method", "password"),
                ("number", "13800138000"),
                ("pwd", PASSWORD),
                ("captcha_id", &captcha_id),
                ("client_code", &answer),
                ("callback_url", "https://shop.example/cb"),
            ],
        )
        .await;
    assert_eq!(second.status, 303);
    assert_ne!(again.cookies["gh_session"], old_cookie);
    let old = query_param(&first.location, "token");
    let (status, body) = app.get_with_token("/token", &old).await;
    assert_error(status, &body, 401, "token_revoked");
    assert_eq!(
        app.get_with_token("/token", &query_param(&second.location, "token"))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn the_account_page_lists_sessions_and_signs_out_everywhere() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let admin = admin(&app).await;
    partner(&app, &admin, "https://shop.example/cb", "token").await;
    app.signup("13800138000").await;
    let api_token = app.token("13800138000").await;
    let mut b = Browser::new(&app);
    b.sign_in("13800138000", "https://shop.example/cb").await;
    let page = b.get("/account").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"account\"") && page.body.contains("Partner token"));
    let csrf = b.csrf();
    let page = b.post("/account/signout-all", &[("csrf", &csrf)]).await;
    assert_eq!(page.status, 303);
    let (status, body) = app.get_with_token("/token", &api_token).await;
    assert_error(status, &body, 401, "token_revoked");
    assert_eq!(b.get("/account").await.location, "/login");
}

#[tokio::test]
async fn signing_up_through_the_page_uses_a_code() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let mut b = Browser::new(&app);
    b.get("/signup").await;
    let code = app.code_for("13800138000", Some("signup")).await;
    let csrf = b.csrf();
    let page = b
        .post(
            "/signup",
            &[
                ("csrf", &csrf),
                ("number", "13800138000"),
                ("verify_code", &code),
                ("pwd", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location, "/login?notice=signed_up");
    assert_eq!(app.signin("13800138000", PASSWORD).await.0, 200);
}

#[tokio::test]
async fn operators_register_partners_from_the_console() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    admin(&app).await;
    app.signup("13800138000").await;
    let mut plain = Browser::new(&app);
    plain.sign_in("13800138000", "").await;
    assert_eq!(plain.get("/admin").await.status, 403);

    let mut b = Browser::new(&app);
    b.sign_in("13700137000", "").await;
    assert_eq!(b.get("/admin").await.status, 200);
    let csrf = b.csrf();
    let page = b
        .post(
            "/admin/clients/new/create",
            &[
                ("csrf", &csrf),
                ("name", "Wiki"),
                (
                    "callbacks",
                    "https://wiki.example/sso/*\nhttps://wiki.example/cb",
                ),
                ("logout_url", "https://wiki.example/logout"),
                ("mode", "ticket"),
                ("enabled", "1"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "post/redirect/get: {}", page.body);
    assert_eq!(page.location, "/admin");
    let page = b.get("/admin").await;
    assert!(
        page.body.contains("id=\"client-secret\""),
        "{}",
        &page.body[page.body.find("<h1>").unwrap_or(0)..][..600]
    );
    let page = b.get("/admin").await;
    assert!(
        !page.body.contains("id=\"client-secret\""),
        "the secret is shown once"
    );
    let (_, list) = app
        .get_with_token("/admin/api/clients", &app.token("13700137000").await)
        .await;
    assert_eq!(list["data"][0]["name"], "Wiki");
    assert_eq!(list["data"][0]["callbacks"].as_array().unwrap().len(), 2);
}
