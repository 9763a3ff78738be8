//! One server under test and the plain requests made to it.

use std::net::TcpListener;
use std::sync::Arc;

use figment::Figment;
use gatehouse::{Application, Settings};
use serde_json::Value;

use super::{Backend, SmsSink, into_parts, postgres_database, test_settings};

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

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |f| f).await
    }

    /// A server with these settings changed (a JSON object of setting names and values).
    pub async fn spawn_set(backend: Backend, changes: Value) -> Option<TestApp> {
        Self::spawn_with(backend, merging(changes)).await
    }

    /// A server with these settings changed that keeps the public URL they give: one reached
    /// through a reverse proxy.
    pub async fn spawn_behind(backend: Backend, changes: Value) -> Option<TestApp> {
        let (settings, sms, data_dir) = Self::prepare(backend, merging(changes)).await?;
        Some(Self::start(settings, backend, sms, data_dir, false).await)
    }

    pub async fn spawn_with(
        backend: Backend,
        tweak: impl FnOnce(Figment) -> Figment,
    ) -> Option<TestApp> {
        let (settings, sms, data_dir) = Self::prepare(backend, tweak).await?;
        Some(Self::start(settings, backend, sms, data_dir, true).await)
    }

    /// The settings of a test server (its own data dir, SMS sink, database and Redis prefix).
    async fn prepare(
        backend: Backend,
        tweak: impl FnOnce(Figment) -> Figment,
    ) -> Option<(Settings, SmsSink, Arc<tempfile::TempDir>)> {
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
        Some((settings, sms, data_dir))
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

    /// The whole response, for its headers or a body that is not JSON.
    pub async fn get_response(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
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
}

/// One figment merge per setting of a JSON object, as `spawn_with` callers write them.
fn merging(changes: Value) -> impl FnOnce(Figment) -> Figment {
    let changes = changes
        .as_object()
        .expect("settings changes are an object")
        .clone();
    move |f| changes.into_iter().fold(f, |f, kv| f.merge(kv))
}
