//! The browser pages over plain HTTP (the real browser runs in `browser`): headers, CSRF,
//! redirects with tokens and tickets, silent SSO, sign-out, account and console.

use std::collections::BTreeMap;

use serde_json::json;

use crate::helpers::*;

mod account;
mod console;
mod signin;

/// A minimal browser: keeps cookies, never follows redirects.
pub(crate) struct Browser<'a> {
    pub(crate) app: &'a TestApp,
    pub(crate) cookies: BTreeMap<String, String>,
}

pub(crate) struct Page {
    pub(crate) status: u16,
    pub(crate) location: String,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: String,
}

impl<'a> Browser<'a> {
    pub(crate) fn new(app: &'a TestApp) -> Self {
        Browser {
            app,
            cookies: BTreeMap::new(),
        }
    }

    pub(crate) fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub(crate) async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
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

    pub(crate) async fn get(&mut self, path: &str) -> Page {
        let req = self.app.client.get(self.app.url(path));
        self.send(req).await
    }

    pub(crate) async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let req = self.app.client.post(self.app.url(path)).form(form);
        self.send(req).await
    }

    pub(crate) fn csrf(&self) -> String {
        self.cookies["gh_csrf"].clone()
    }

    /// Posts a form of `fields` as a page of this browser does: with its CSRF token first.
    pub(crate) async fn submit(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf();
        let form: Vec<(&str, &str)> = [("csrf", csrf.as_str())]
            .into_iter()
            .chain(fields.iter().copied())
            .collect();
        self.post(path, &form).await
    }

    /// Signs in through the form; returns the answer to the POST.
    pub(crate) async fn sign_in(&mut self, number: &str, callback: &str) -> Page {
        let page = self.get(&with_callback("/login", callback)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        self.submit_password(&page, number, callback).await
    }

    /// Posts the password form of a sign-in `page` this browser was shown.
    pub(crate) async fn submit_password(
        &mut self,
        page: &Page,
        number: &str,
        callback: &str,
    ) -> Page {
        let captcha_id = attr(&page.body, "name=\"captcha_id\" id=\"captcha_id\" value=\"");
        let answer = attr(&page.body, "data-test-answer=\"");
        self.submit(
            "/login",
            &[
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

pub(crate) fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn with_callback(path: &str, callback: &str) -> String {
    format!("{path}?callback_url={}", urlencode(callback))
}

pub(crate) fn attr(html: &str, prefix: &str) -> String {
    let start = html
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix} not in page"))
        + prefix.len();
    html[start..].split('"').next().unwrap().to_owned()
}

pub(crate) fn query_param(location: &str, name: &str) -> String {
    let url = url::Url::parse(location).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("{name} not in {location}"))
}

async fn partner(app: &TestApp, admin: &str, callback: &str, mode: &str) -> (String, String) {
    let client =
        json!({ "name": format!("Partner {mode}"), "callbacks": [callback], "mode": mode });
    app.register_partner(admin, client).await
}

const SHOP: &str = "https://shop.example/cb";

/// A server with an operator, the shop in token mode and a person with an account: (server,
/// operator's token, shop's client_id).
async fn shop_and_user() -> (TestApp, String, String) {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (_, admin) = app.admin("13700137000").await;
    let (shop_id, _) = partner(&app, &admin, SHOP, "token").await;
    app.signup("13800138000").await;
    (app, admin, shop_id)
}
