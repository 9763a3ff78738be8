//! Several instances on one PostgreSQL and one Redis behave as one server, and survive either
//! backing service going away. The test starts its own `redis-server` on a free port and
//! reaches PostgreSQL through a TCP proxy it can cut, so both can fail on demand.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use figment::Figment;
use gatehouse::Settings;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::helpers::*;

/// A private `redis-server` that can be stopped and started again on the same port.
pub(crate) struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    pub(crate) fn start() -> Option<Self> {
        let mut server = RedisServer {
            port: free_port(),
            child: None,
        };
        if !server.spawn() {
            skip_without("redis-server");
            return None;
        }
        Some(server)
    }

    fn spawn(&mut self) -> bool {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(child) = child else { return false };
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A TCP proxy in front of PostgreSQL; `cut` drops every connection and refuses new ones.
struct Proxy {
    port: u16,
    target: SocketAddr,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Self {
        let proxy = Proxy {
            port: free_port(),
            target,
            tasks: Arc::default(),
        };
        proxy.restore().await;
        proxy
    }

    async fn restore(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        let target = self.target;
        let tasks = self.tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let pipe = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().unwrap().push(pipe);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

struct Cluster {
    a: TestApp,
    b: TestApp,
    redis: RedisServer,
    proxy: Option<Proxy>,
}

async fn cluster(through_proxy: bool) -> Option<Cluster> {
    cluster_with(through_proxy, 4).await
}

async fn cluster_with(through_proxy: bool, bcrypt_cost: u32) -> Option<Cluster> {
    let redis = RedisServer::start()?;
    let mut database = tokio::task::spawn_blocking(postgres_database)
        .await
        .unwrap()?;
    let proxy = if through_proxy {
        let mut url = url::Url::parse(&database).unwrap();
        let target: SocketAddr = format!(
            "{}:{}",
            url.host_str().unwrap().replace("localhost", "127.0.0.1"),
            url.port().unwrap_or(5432)
        )
        .parse()
        .unwrap();
        let proxy = Proxy::start(target).await;
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(proxy.port)).unwrap();
        database = url.to_string();
        Some(proxy)
    } else {
        None
    };
    let sms = SmsSink::start();
    let data_dir = Arc::new(tempfile::tempdir().unwrap());
    let figment: Figment = test_settings(data_dir.path(), &sms)
        .merge(("database_url", database))
        .merge(("redis_url", redis.url()))
        .merge(("redis_key_prefix", "cluster:"))
        .merge(("bcrypt_cost", bcrypt_cost));
    let settings = Settings::from_figment(figment).unwrap();
    let a = TestApp::start(
        settings,
        Backend::Postgres,
        sms.clone(),
        data_dir.clone(),
        true,
    )
    .await;
    // B shares A's public URL: both stand behind one address and issue the same tokens.
    let b = TestApp::start(a.settings.clone(), Backend::Postgres, sms, data_dir, false).await;
    Some(Cluster { a, b, redis, proxy })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_captcha_is_accepted_exactly_once_across_instances() {
    let Some(c) = cluster(false).await else {
        return;
    };
    c.a.signup("13800138000").await;
    let (id, answer) = c.a.captcha().await;
    let attempts = (0..50).map(|i| {
        let app = if i % 2 == 0 { &c.a } else { &c.b };
        app.post(
            "/users/signin",
            json!({ "number": "13800138000", "pwd": PASSWORD, "captcha_id": id, "client_code": answer }),
        )
    });
    let results = futures_util::future::join_all(attempts).await;
    let accepted = results.iter().filter(|(s, _)| *s == 200).count();
    let refused = results
        .iter()
        .filter(|(s, b)| *s == 400 && b["data"]["error"] == "captcha_invalid")
        .count();
    assert_eq!((accepted, refused), (1, 49));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_started_on_one_instance_ends_on_all() {
    let Some(c) = cluster(false).await else {
        return;
    };
    let (_, token) = c.a.user("13800138000").await;
    assert_eq!(c.b.get_with_token("/token", &token).await.0, 200);
    let (status, _) =
        c.b.send_with_token(reqwest::Method::PATCH, "/users/signout", &token, json!({}))
            .await;
    assert_eq!(status, 200);
    let (status, body) = c.a.get_with_token("/token", &token).await;
    assert_error(status, &body, 401, "token_revoked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_sign_ins_split_across_instances_lock_the_account_on_both() {
    let Some(c) = cluster(false).await else {
        return;
    };
    c.a.signup("13800138000").await;
    for i in 0..5 {
        let app = if i % 2 == 0 { &c.a } else { &c.b };
        let (status, body) = app.signin("13800138000", "Wrong-Password-1").await;
        assert_error(status, &body, 401, "credentials_invalid");
    }
    for app in [&c.a, &c.b] {
        let (status, body) = app.signin("13800138000", PASSWORD).await;
        assert_error(status, &body, 429, "rate_limited");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_code_sent_through_one_instance_works_once_on_another() {
    let Some(c) = cluster(false).await else {
        return;
    };
    let code = c.a.code_for("13800138000", Some("signup")).await;
    let body = json!({ "number": "13800138000", "pwd": PASSWORD, "verify_code": code });
    assert_eq!(c.b.post("/users/signup", body.clone()).await.0, 201);
    let (status, answer) = c.a.post("/users/signup", body).await;
    assert_error(status, &answer, 400, "verify_code_invalid");
}

/// Polls until `check` holds or 15 s pass.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what} did not happen within 15 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_going_away_gives_quick_503s_and_service_resumes_when_it_returns() {
    let Some(mut c) = cluster(false).await else {
        return;
    };
    let (_, token) = c.a.user("13800138000").await;
    c.redis.stop();

    let started = Instant::now();
    let (status, body) = c.a.get_with_token("/token", &token).await;
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "took {:?}",
        started.elapsed()
    );
    assert_error(status, &body, 503, "unavailable");
    let (status, body) = c.b.get("/client_code").await;
    assert_error(status, &body, 503, "unavailable");
    assert_eq!(c.a.get("/healthz").await.0, 200);
    assert_eq!(c.a.get("/readyz").await.0, 503);

    assert!(c.redis.spawn(), "redis did not come back");
    // The new Redis is empty: live sessions are found again in the database.
    eventually("token checks resuming", async || {
        c.b.get_with_token("/token", &token).await.0 == 200
    })
    .await;
    assert_eq!(c.a.get("/readyz").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_going_away_gives_quick_503s_and_service_resumes_when_it_returns() {
    let Some(c) = cluster(true).await else { return };
    let proxy = c.proxy.as_ref().unwrap();
    let (_, token) = c.a.user("13800138000").await;
    proxy.cut();

    let started = Instant::now();
    let (status, body) = c.a.signin("13800138000", PASSWORD).await;
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "took {:?}",
        started.elapsed()
    );
    assert_error(status, &body, 503, "unavailable");
    assert_eq!(c.b.get("/healthz").await.0, 200);
    assert_eq!(c.b.get("/readyz").await.0, 503);
    // Token checks need no database while the store knows the session.
    assert_eq!(c.b.get_with_token("/token", &token).await.0, 200);

    proxy.restore().await;
    eventually("sign-in resuming", async || {
        c.b.signin("13800138000", PASSWORD).await.0 == 200
    })
    .await;
    assert_eq!(c.a.get("/readyz").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restarting_every_instance_loses_no_user_partner_or_session() {
    let Some(c) = cluster(false).await else {
        return;
    };
    let (client_id, secret) = c.a.add_client(&["https://shop.example/cb"]).await;
    let (_, token) = c.a.user("13800138000").await;
    let Cluster { a, b, redis, .. } = c;
    let b = b.restart().await;
    let a = a.restart().await;
    assert_eq!(a.get_with_token("/token", &token).await.0, 200);
    assert_eq!(a.signin("13800138000", PASSWORD).await.0, 200);
    let res = b
        .client
        .post(b.url("/token"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[
            ("token", token.as_str()),
            ("callback_url", "https://shop.example/cb"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    drop(redis);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sign_in_storm_on_one_instance_does_not_fail_token_checks_on_another() {
    // A realistic cost, so the storm really occupies the CPUs.
    let Some(c) = cluster_with(false, 10).await else {
        return;
    };
    let (_, token) = c.a.user("13800138000").await;
    let storm = async {
        let attempts = (0..30).map(|_| c.a.signin("13800138000", "Wrong-Password-1"));
        futures_util::future::join_all(attempts).await
    };
    let checks = async {
        let mut statuses = Vec::new();
        for _ in 0..50 {
            statuses.push(c.b.get_with_token("/token", &token).await.0);
        }
        statuses
    };
    let (_, statuses) = tokio::join!(storm, checks);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
}
