//! The test harness: each test gets its own server on a free port, its own database (a temp
//! SQLite file, or a fresh PostgreSQL database when `GATEHOUSE_TEST_DATABASE_URL` is set) and
//! its own SMS webhook sink that receives codes over the real webhook protocol.

use std::net::TcpListener;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use diesel::prelude::*;
use diesel::{Connection, PgConnection};
use figment::Figment;
use figment::providers::Serialized;
use gatehouse::{Application, Settings};
use serde_json::{Value, json};

pub const PASSWORD: &str = "Correct-Horse-42";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A webhook receiver standing in for an SMS gateway.
#[derive(Clone)]
pub struct SmsSink {
    pub url: String,
    pub received: Arc<Mutex<Vec<Value>>>,
}

impl SmsSink {
    pub fn start() -> Self {
        let received: Arc<Mutex<Vec<Value>>> = Arc::default();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let store = received.clone();
        let server = actix_web::HttpServer::new(move || {
            let store = store.clone();
            actix_web::App::new().default_service(actix_web::web::to(
                move |body: actix_web::web::Json<Value>| {
                    let store = store.clone();
                    async move {
                        store.lock().unwrap().push(body.into_inner());
                        actix_web::HttpResponse::Ok().finish()
                    }
                },
            ))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        SmsSink {
            url: format!("http://127.0.0.1:{port}/sms"),
            received,
        }
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    /// The last code sent to `phone` (as the server normalised it).
    pub fn last_code(&self, phone: &str) -> Option<String> {
        let want = phone.trim_start_matches("+86");
        self.received
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|m| m["phone"].as_str() == Some(want))
            .and_then(|m| m["code"].as_str().map(str::to_owned))
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub sms: SmsSink,
    pub settings: Settings,
    pub backend: Backend,
    pub data_dir: Arc<tempfile::TempDir>,
    pub state: actix_web::web::Data<gatehouse::state::AppState>,
    handle: actix_web::dev::ServerHandle,
}

pub fn require_all() -> bool {
    std::env::var("GATEHOUSE_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1")
}

static PG_CLEANUP: OnceLock<()> = OnceLock::new();

fn with_database(base: &str, name: &str) -> String {
    let mut url = url::Url::parse(base).expect("GATEHOUSE_TEST_DATABASE_URL is not a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// Creates a fresh PostgreSQL database, or None when PostgreSQL is not configured (a failure
/// instead under `GATEHOUSE_TEST_REQUIRE_ALL=1`).
pub fn postgres_database() -> Option<String> {
    let Ok(base) = std::env::var("GATEHOUSE_TEST_DATABASE_URL") else {
        assert!(
            !require_all(),
            "GATEHOUSE_TEST_REQUIRE_ALL=1 but GATEHOUSE_TEST_DATABASE_URL is not set"
        );
        eprintln!("skipping the PostgreSQL run: GATEHOUSE_TEST_DATABASE_URL is not set");
        return None;
    };
    gatehouse::db::init_libpq_tls();
    let mut admin = PgConnection::establish(&base).expect("cannot reach the test PostgreSQL");
    PG_CLEANUP.get_or_init(|| {
        // Databases left by earlier runs; this run's are created after this point.
        #[derive(QueryableByName)]
        struct Name {
            #[diesel(sql_type = diesel::sql_types::Text)]
            datname: String,
        }
        let old: Vec<Name> =
            diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE 'gh\\_test\\_%'")
                .load(&mut admin)
                .unwrap_or_default();
        for n in old {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                n.datname
            ))
            .execute(&mut admin);
        }
    });
    let name = format!("gh_test_{}", uuid::Uuid::new_v4().simple());
    diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .unwrap();
    Some(with_database(&base, &name))
}

pub fn test_settings(data_dir: &std::path::Path, sms: &SmsSink) -> Figment {
    Figment::from(Serialized::defaults(Settings::default()))
        .merge(("listen", "127.0.0.1:0"))
        .merge(("data_dir", data_dir.to_string_lossy().to_string()))
        .merge(("bcrypt_cost", 4))
        .merge(("captcha_test_answers", true))
        .merge(("sms_provider", "webhook"))
        .merge(("sms_webhook_url", sms.url.clone()))
        // Most tests send several codes; the captcha step has tests of its own.
        .merge(("code_captcha_after", 1000))
        .merge(("code_limit_per_ip_hour", 1000))
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |f| f).await
    }

    pub async fn spawn_with(
        backend: Backend,
        tweak: impl FnOnce(Figment) -> Figment,
    ) -> Option<TestApp> {
        let sms = SmsSink::start();
        let data_dir = Arc::new(tempfile::tempdir().unwrap());
        let mut figment = test_settings(data_dir.path(), &sms);
        if backend == Backend::Postgres {
            let url = tokio::task::spawn_blocking(postgres_database)
                .await
                .unwrap()?;
            figment = figment.merge(("database_url", url));
        }
        if let Ok(redis) = std::env::var("GATEHOUSE_TEST_REDIS_URL") {
            // One Redis for the whole run; each test keeps to its own keys.
            let prefix = format!("ghtest:{}:", uuid::Uuid::new_v4().simple());
            figment = figment
                .merge(("redis_url", redis))
                .merge(("redis_key_prefix", prefix));
        }
        let settings = Settings::from_figment(tweak(figment)).unwrap();
        Some(Self::start(settings, backend, sms, data_dir, true).await)
    }

    /// Starts one server on `settings`; `fresh_identity` makes its own address the public URL.
    pub async fn start(
        settings: Settings,
        backend: Backend,
        sms: SmsSink,
        data_dir: Arc<tempfile::TempDir>,
        fresh_identity: bool,
    ) -> TestApp {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut settings = settings;
        if fresh_identity {
            settings.public_url = format!("http://127.0.0.1:{port}").parse().unwrap();
        }
        let app = Application::build_with_listener(settings.clone(), listener)
            .await
            .unwrap();
        let handle = app.server_handle();
        let state = app.state();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            sms,
            settings,
            backend,
            data_dir,
            state,
            handle,
        }
    }

    /// Stops this server and starts a new one on the same data dir, database and public URL
    /// (the issuer), as an operator restarting the service would.
    pub async fn restart(self) -> TestApp {
        self.handle.stop(true).await;
        let settings = self.settings.clone();
        Self::start(
            settings,
            self.backend,
            self.sms.clone(),
            self.data_dir.clone(),
            false,
        )
        .await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        into_parts(self.client.get(self.url(path)).send().await.unwrap()).await
    }

    pub async fn get_with_token(&self, path: &str, token: &str) -> (u16, Value) {
        into_parts(
            self.client
                .get(self.url(path))
                .bearer_auth(token)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        into_parts(
            self.client
                .request(method, self.url(path))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn send_with_token(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Value,
    ) -> (u16, Value) {
        into_parts(
            self.client
                .request(method, self.url(path))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, body).await
    }

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
        let mut body = json!({ "number": number });
        if let Some(p) = purpose {
            body["purpose"] = json!(p);
        }
        let (status, answer) = self.post("/verify_code", body).await;
        assert_eq!(status, 200, "{answer}");
        self.sms.last_code(number).expect("no code received")
    }

    /// Registers an account with [`PASSWORD`] and returns its user object.
    pub async fn signup(&self, number: &str) -> Value {
        let code = self.code_for(number, Some("signup")).await;
        let (status, body) = self
            .post(
                "/users/signup",
                json!({ "number": number, "pwd": PASSWORD, "verify_code": code }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["data"].clone()
    }

    pub async fn signin(&self, number: &str, pwd: &str) -> (u16, Value) {
        let (captcha_id, answer) = self.captcha().await;
        self.post(
            "/users/signin",
            json!({ "number": number, "pwd": pwd, "captcha_id": captcha_id, "client_code": answer }),
        )
        .await
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

    /// Registers a partner system the way `gatehouse client add` does.
    pub async fn add_client(&self, callbacks: &[&str]) -> (String, String) {
        let new = gatehouse::partners::NewClient {
            name: "Partner".into(),
            callbacks: callbacks.iter().map(|s| s.to_string()).collect(),
            logout_url: None,
            mode: gatehouse::partners::ClientMode::Token,
        }
        .validate()
        .unwrap();
        self.db(move |conn| {
            let (row, secret) = gatehouse::partners::insert(conn, new).unwrap();
            (row.client_id, secret)
        })
        .await
    }
}

pub async fn into_parts(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// Asserts a failure envelope with the given status and reason.
#[track_caller]
pub fn assert_error(status: u16, body: &Value, want_status: u16, reason: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["code"], want_status, "{body}");
    assert_eq!(body["data"]["error"], reason, "{body}");
}

pub async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// Declares each scenario twice: on SQLite, and on PostgreSQL when it is configured.
#[macro_export]
macro_rules! both_backends {
    ($(async fn $name:ident($app:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                async fn scenario($app: $crate::helpers::TestApp) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await.unwrap();
                    scenario(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await {
                        scenario(app).await;
                    }
                }
            }
        )*
    };
}

/// Like `both_backends!`, with a custom spawner `async fn(Backend) -> Option<TestApp>`.
#[macro_export]
macro_rules! both_backends_with {
    ($spawn:ident; $(async fn $name:ident($app:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                async fn scenario($app: $crate::helpers::TestApp) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = super::$spawn($crate::helpers::Backend::Sqlite).await.unwrap();
                    scenario(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = super::$spawn($crate::helpers::Backend::Postgres).await {
                        scenario(app).await;
                    }
                }
            }
        )*
    };
}
