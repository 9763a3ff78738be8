//! Accounts, codes and partners, made the way a person or an operator would make them.

use diesel::prelude::*;
use serde_json::{Value, json};

use super::{PASSWORD, TestApp};

impl TestApp {
    pub async fn captcha(&self) -> (String, String) {
        let (status, body) = self.get("/client_code").await;
        assert_eq!(status, 200, "{body}");
        (
            body["data"]["captcha_id"].as_str().unwrap().to_owned(),
            body["data"]["answer"].as_str().unwrap().to_owned(),
        )
    }

    /// Lets the per-number resend cooldown pass, as waiting 60 s would.
    pub async fn skip_cooldown(&self, number: &str) {
        let number = gatehouse::domain::Number::parse(number).unwrap();
        self.state
            .store
            .del(&format!("code_cd:{number}"))
            .await
            .unwrap();
    }

    /// Requests a code for `number` and returns it as the SMS gateway received it.
    pub async fn code_for(&self, number: &str, purpose: Option<&str>) -> String {
        self.skip_cooldown(number).await;
        let (status, answer) = self.request_code(number, purpose).await;
        assert_eq!(status, 200, "{answer}");
        self.sms.last_code(number).expect("no code received")
    }

    pub async fn request_code(&self, number: &str, purpose: Option<&str>) -> (u16, Value) {
        let mut body = json!({ "number": number });
        if let Some(p) = purpose {
            body["purpose"] = json!(p);
        }
        self.post("/verify_code", body).await
    }

    /// Asks for a code past the captcha threshold, with a captcha (id, answer) of the caller's.
    pub async fn request_code_with_captcha(
        &self,
        number: &str,
        (id, answer): (&str, &str),
    ) -> (u16, Value) {
        let body = json!({ "number": number, "captcha_id": id, "client_code": answer });
        self.post("/verify_code", body).await
    }

    pub async fn signup_with(&self, number: &str, pwd: &str, code: &str) -> (u16, Value) {
        let body = json!({ "number": number, "pwd": pwd, "verify_code": code });
        self.post("/users/signup", body).await
    }

    /// Registers an account with [`PASSWORD`] and returns its user object.
    pub async fn signup(&self, number: &str) -> Value {
        let code = self.code_for(number, Some("signup")).await;
        let (status, body) = self.signup_with(number, PASSWORD, &code).await;
        assert_eq!(status, 201, "{body}");
        body["data"].clone()
    }

    pub async fn signin(&self, number: &str, pwd: &str) -> (u16, Value) {
        self.signin_with(number, pwd, json!({})).await
    }

    /// Signs in with a fresh captcha and `extra` fields (`callback_url`, `terminal`).
    pub async fn signin_with(&self, number: &str, pwd: &str, extra: Value) -> (u16, Value) {
        let (captcha_id, answer) = self.captcha().await;
        let mut body = json!({ "number": number, "pwd": pwd, "captcha_id": captcha_id, "client_code": answer });
        body.as_object_mut().unwrap().extend(
            extra
                .as_object()
                .expect("extra fields are an object")
                .clone(),
        );
        self.post("/users/signin", body).await
    }

    /// Signs in with [`PASSWORD`] for the partner owning `callback`; returns the token it gets.
    pub async fn partner_token(&self, number: &str, callback: &str) -> String {
        let extra = json!({ "callback_url": callback });
        let (status, body) = self.signin_with(number, PASSWORD, extra).await;
        assert_eq!(status, 200, "{body}");
        body["data"].as_str().unwrap().to_owned()
    }

    /// Signs in with [`PASSWORD`] and returns the token.
    pub async fn token(&self, number: &str) -> String {
        let (status, body) = self.signin(number, PASSWORD).await;
        assert_eq!(status, 200, "{body}");
        body["data"].as_str().unwrap().to_owned()
    }

    /// A fresh account, signed in: (user object, token).
    pub async fn user(&self, number: &str) -> (Value, String) {
        let user = self.signup(number).await;
        let token = self.token(number).await;
        (user, token)
    }

    /// Runs SQL-level checks through the server's own pool.
    pub async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut gatehouse::db::DbConnection) -> T + Send + 'static,
    ) -> T {
        let db = gatehouse::startup::open_database(&self.settings)
            .await
            .unwrap();
        db.run(move |conn| Ok(f(conn))).await.unwrap()
    }

    pub async fn count_rows(&self) -> (i64, i64) {
        self.db(|conn| {
            use gatehouse::db::schema::{sessions, users};
            (
                users::table.count().get_result::<i64>(conn).unwrap(),
                sessions::table.count().get_result::<i64>(conn).unwrap(),
            )
        })
        .await
    }

    /// Makes an account an operator, as `gatehouse admin create` would.
    pub async fn make_admin(&self, user_id: &str) {
        let id = user_id.to_owned();
        self.db(move |conn| {
            use gatehouse::db::schema::users;
            diesel::update(users::table.find(id))
                .set(users::role.eq("admin"))
                .execute(conn)
                .unwrap();
        })
        .await;
    }

    /// A fresh operator, signed in: (user object, token).
    pub async fn admin(&self, number: &str) -> (Value, String) {
        let (user, token) = self.user(number).await;
        self.make_admin(user["id"].as_str().unwrap()).await;
        (user, token)
    }

    /// Registers a partner through the operators' API; returns (client_id, client_secret).
    pub async fn register_partner(&self, admin: &str, client: Value) -> (String, String) {
        let (status, body) = self
            .send_with_token(reqwest::Method::POST, "/admin/api/clients", admin, client)
            .await;
        assert_eq!(status, 201, "{body}");
        let data = &body["data"];
        let field = |k: &str| data[k].as_str().unwrap().to_owned();
        (field("client_id"), field("client_secret"))
    }

    /// POST /token as a partner's back end does: a form, with its credentials when it has them.
    pub async fn post_token_form(
        &self,
        credentials: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut rb = self.client.post(self.url("/token")).form(form);
        if let Some((id, secret)) = credentials {
            rb = rb.basic_auth(id, Some(secret));
        }
        super::go(rb).await
    }

    /// Registers a partner system the way `gatehouse client add` does.
    pub async fn add_client(&self, callbacks: &[&str]) -> (String, String) {
        let new = gatehouse::partners::NewClient {
            name: "Partner".into(),
            callbacks: callbacks.iter().map(|s| s.to_string()).collect(),
            mode: gatehouse::partners::ClientMode::Token,
            ..Default::default()
        }
        .validate()
        .unwrap();
        self.db(move |conn| {
            let (row, secret) = gatehouse::partners::insert(conn, new).unwrap();
            (row.client_id, secret.expect("token partners have a secret"))
        })
        .await
    }
}
