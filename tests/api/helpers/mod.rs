//! The test harness: each test gets its own server on a free port, its own database (a temp
//! SQLite file, or a fresh PostgreSQL database when `GATEHOUSE_TEST_DATABASE_URL` is set) and
//! its own SMS webhook sink that receives codes over the real webhook protocol.

use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use diesel::prelude::*;
use diesel::{Connection, PgConnection};
use figment::Figment;
use figment::providers::Serialized;
use gatehouse::Settings;
use serde_json::Value;

mod accounts;
mod app;
mod macros;
mod sms_sink;

pub use app::TestApp;
pub use sms_sink::SmsSink;

pub const PASSWORD: &str = "Correct-Horse-42";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn require_all() -> bool {
    std::env::var("GATEHOUSE_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1")
}

/// Gives way for a tool or service this machine lacks: says the test is skipped, or fails
/// under `GATEHOUSE_TEST_REQUIRE_ALL=1`, where nothing may be skipped.
pub fn skip_without(what: &str) {
    assert!(
        !require_all(),
        "GATEHOUSE_TEST_REQUIRE_ALL=1 but {what} is not available"
    );
    eprintln!("skipping: {what} is not available");
}

/// Runs `python3 args…` with `input` on its standard input; its whole output.
pub fn python(args: &[&str], input: &[u8]) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("python3")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .expect("a piped stdin")
        .write_all(input)
        .expect("python3 reads its input");
    child.wait_with_output().expect("python3 finishes")
}

/// A port nothing listens on now, for a server started after this returns.
///
/// Taken from 10000–19999, below the kernel's ephemeral range (32768 and up by default), from
/// which every `127.0.0.1:0` listener and every outgoing connection of the whole run takes its
/// port: a port from there, free when asked, was once taken by one of those before the server
/// bound it ("address already in use"). The Redis Cluster pass's servers use 20000 and up.
/// Each port is handed out once per run, starting at a place that depends on the process.
pub fn free_port() -> u16 {
    free_port_on("127.0.0.1")
}

/// [`free_port`] on another loopback address (the browser tests' partners each have one).
pub fn free_port_on(host: &str) -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 10_000;
    const COUNT: u32 = 10_000;
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let _ = NEXT.compare_exchange(
        u32::MAX,
        std::process::id().wrapping_mul(7_919) % COUNT,
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    for _ in 0..COUNT {
        let port = (FIRST + NEXT.fetch_add(1, Ordering::Relaxed) % COUNT) as u16;
        if std::net::TcpListener::bind((host, port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {FIRST}..{}", FIRST + COUNT);
}

/// Runs a one-worker stand-in (an SMS gateway, a vendor, a partner) on `listener`, answering
/// every path with `route()`.
pub fn serve_every_path(
    listener: std::net::TcpListener,
    route: impl Fn() -> actix_web::Route + Send + Clone + 'static,
) {
    let server = actix_web::HttpServer::new(move || actix_web::App::new().default_service(route()))
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
    tokio::spawn(server);
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

/// Sends a request built by hand (for headers, forms or credentials the shortcuts do not set).
pub async fn go(rb: reqwest::RequestBuilder) -> (u16, Value) {
    into_parts(rb.send().await.unwrap()).await
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

/// A JWT's claims, read without checking the signature (the tests that forge tokens check that).
pub fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// An `Authorization: Basic` value, as a partner sends its credentials.
pub fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

pub async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}
