//! The `gatehouse` binary as operators run it (contract section 8): subcommands, configuration
//! sources and their error messages, the request log, and the documents served next to the API
//! (`/openapi.json`, `/docs/`, `/.well-known/jwks.json`).
//!
//! Most tests run the real executable as a subprocess with every inherited `GATEHOUSE_*`
//! variable removed, a fresh data dir and a working directory of their own, and bound every wait.

use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, SmsSink, TestApp};

const BIN: &str = env!("CARGO_BIN_EXE_gatehouse");
/// Upper bound for a one-shot command (`migrate`, `client add`, ...).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// A bad configuration must stop the server at once; this is the "at once".
const CONFIG_ERROR_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `gatehouse serve` may take to answer `/healthz`.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A data dir and a separate working directory (so a configuration that is ignored and falls
/// back to `./data` shows up there instead of in the repository).
struct Sandbox {
    data: tempfile::TempDir,
    cwd: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        Sandbox {
            data: tempfile::tempdir().unwrap(),
            cwd: tempfile::tempdir().unwrap(),
        }
    }

    fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// `gatehouse` with no configuration at all from the environment (not even a data dir).
    fn bare(&self) -> Command {
        let mut cmd = Command::new(BIN);
        for (name, _) in std::env::vars_os() {
            let inherited_setting = name
                .to_str()
                .is_some_and(|n| n.starts_with("GATEHOUSE_") || n == "RUST_LOG");
            if inherited_setting {
                cmd.env_remove(&name);
            }
        }
        cmd.current_dir(self.cwd.path());
        cmd
    }

    /// `gatehouse` with only `GATEHOUSE_DATA_DIR` set.
    fn gatehouse(&self) -> Command {
        let mut cmd = self.bare();
        cmd.env("GATEHOUSE_DATA_DIR", self.data_dir());
        cmd
    }

    fn data_entries(&self) -> Vec<String> {
        entries(self.data_dir())
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The outcome of a finished command.
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Runs `cmd` to completion (killing it after `timeout`), feeding `stdin` when given.
fn run_with(mut cmd: Command, stdin: Option<&str>, timeout: Duration) -> Run {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("cannot start the gatehouse binary");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        // The child may exit before reading; that is its answer, not a test failure.
        let _ = pipe.write_all(input.as_bytes());
        drop(pipe);
    }
    let drain = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let stdout = out.join().unwrap();
    let stderr = err.join().unwrap();
    let Some(status) = status else {
        panic!(
            "gatehouse did not exit within {timeout:?}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
        );
    };
    Run {
        status,
        stdout,
        stderr,
    }
}

fn run(cmd: Command) -> Run {
    run_with(cmd, None, COMMAND_TIMEOUT)
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A running `gatehouse serve`; killed when dropped, whatever the test's outcome.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
    client: reqwest::Client,
    /// `x-request-id` of each `/healthz` poll that got an answer.
    health_ids: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `cmd serve` on a free port (stderr into `log`) and waits for `/healthz`.
    async fn start(mut cmd: Command, log: PathBuf) -> Server {
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        cmd.arg("serve")
            .env("GATEHOUSE_LISTEN", format!("127.0.0.1:{port}"))
            .env("GATEHOUSE_PUBLIC_URL", &base)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap());
        let child = cmd.spawn().expect("cannot start gatehouse serve");
        let mut server = Server {
            child,
            base,
            log,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            health_ids: Vec::new(),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!(
                    "gatehouse serve exited during start-up ({status}):\n{}",
                    server.log_text()
                );
            }
            let poll = server
                .client
                .get(server.url("/healthz"))
                .timeout(Duration::from_secs(1))
                .send()
                .await;
            if let Ok(res) = poll {
                if let Some(id) = request_id(&res) {
                    server.health_ids.push(id);
                }
                if res.status() == 200 {
                    return server;
                }
            }
            assert!(
                Instant::now() < deadline,
                "gatehouse serve did not answer /healthz within {START_TIMEOUT:?}:\n{}",
                server.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn get_json(&self, path: &str) -> (u16, Value) {
        crate::helpers::into_parts(self.client.get(self.url(path)).send().await.unwrap()).await
    }

    /// A fresh captcha: (captcha_id, answer), the answer given out by test mode.
    async fn captcha(&self) -> (String, String) {
        let (status, body) = self.get_json("/client_code").await;
        assert_eq!(status, 200, "{body}");
        let answer = body["data"]["answer"].as_str().unwrap_or_else(|| {
            panic!("no test answer; is GATEHOUSE_CAPTCHA_TEST_ANSWERS on? {body}")
        });
        (
            body["data"]["captcha_id"].as_str().unwrap().to_owned(),
            answer.to_owned(),
        )
    }
}

fn request_id(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Exactly one JSON value in `text` (surrounding whitespace allowed).
#[track_caller]
fn single_json(text: &str) -> Value {
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let first = values
        .next()
        .unwrap_or_else(|| panic!("no JSON on stdout: {text:?}"))
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {text:?}"));
    assert!(
        values.next().is_none(),
        "more than one JSON value on stdout: {text:?}"
    );
    first
}

/// Drops terminal colour sequences (`ESC [ ... letter`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// `word` occurs in `text` not glued to other letters or digits.
fn contains_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

// ---------------------------------------------------------------------------------------------
// gatehouse client add / list
// ---------------------------------------------------------------------------------------------

#[test]
fn client_add_prints_id_and_secret_as_json() {
    let sandbox = Sandbox::new();
    let mut add = sandbox.gatehouse();
    add.args([
        "client",
        "add",
        "--name",
        "Shop",
        "--callback",
        "https://shop.example/sso/*",
        "--callback",
        "https://shop.example/cb",
        "--logout-url",
        "https://shop.example/logout",
        "--mode",
        "ticket",
    ]);
    let added = run(add);
    assert!(added.status.success(), "{added}");
    let created = single_json(&added.stdout);
    let object = created
        .as_object()
        .expect("client add prints a JSON object");
    let client_id = object["client_id"].as_str().expect("client_id string");
    let secret = object["client_secret"]
        .as_str()
        .expect("client_secret string");
    assert!(!client_id.is_empty(), "{created}");
    assert!(
        secret.len() >= 32,
        "a secret this short is guessable: {created}"
    );

    // Rules are stored normalised: scheme and host lower-cased, default port and dot segments
    // gone, `/*` kept.
    let mut second = sandbox.gatehouse();
    second.args([
        "client",
        "add",
        "--name",
        "Blog",
        "--callback",
        "HTTPS://Blog.EXAMPLE:443/a/../sso/*",
    ]);
    let second = run(second);
    assert!(second.status.success(), "{second}");
    let blog_id = single_json(&second.stdout)["client_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut list = sandbox.gatehouse();
    list.args(["client", "list"]);
    let listed = run(list);
    assert!(listed.status.success(), "{listed}");
    let clients = single_json(&listed.stdout);
    let clients = clients.as_array().expect("client list prints a JSON array");
    assert_eq!(clients.len(), 2, "{listed}");
    let shop = clients
        .iter()
        .find(|c| c["client_id"] == client_id)
        .unwrap_or_else(|| panic!("{client_id} not listed: {listed}"));
    assert_eq!(shop["name"], "Shop");
    assert_eq!(
        shop["callbacks"],
        json!(["https://shop.example/sso/*", "https://shop.example/cb"])
    );
    assert_eq!(shop["logout_url"], "https://shop.example/logout");
    assert_eq!(shop["mode"], "ticket");
    assert_eq!(shop["enabled"], true);
    assert!(shop["created_at"].is_string(), "{shop}");
    let blog = clients
        .iter()
        .find(|c| c["client_id"] == blog_id.as_str())
        .unwrap_or_else(|| panic!("{blog_id} not listed: {listed}"));
    assert_eq!(blog["callbacks"], json!(["https://blog.example/sso/*"]));
    assert_eq!(blog["mode"], "token", "token mode is the default");
    assert_eq!(blog["logout_url"], Value::Null);

    // The secret is shown once: never in the listing, nor its hash.
    assert!(!listed.stdout.contains(secret), "{listed}");
    let hash = gatehouse::partners::hash_secret(secret);
    assert!(!listed.stdout.contains(&hash), "{listed}");
    let lower = listed.stdout.to_ascii_lowercase();
    assert!(!lower.contains("secret"), "{listed}");
    assert!(!lower.contains("hash"), "{listed}");
}

/// A command must exit cleanly, not die at exit while the connection pool is still opening a
/// PostgreSQL connection in the background (libpq's OpenSSL state torn down under it: one run
/// in four segfaulted before the pool stopped keeping a spare connection).
#[test]
fn commands_on_postgres_exit_cleanly_every_time() {
    let Some(url) = crate::helpers::postgres_database() else {
        return;
    };
    let sandbox = Sandbox::new();
    for i in 0..24 {
        let mut cmd = sandbox.gatehouse();
        cmd.env("GATEHOUSE_DATABASE_URL", &url);
        if i % 2 == 0 {
            let callback = format!("https://p{i}.example/cb");
            cmd.args(["client", "add", "--name", "P", "--callback", &callback]);
        } else {
            cmd.args(["client", "list"]);
        }
        let out = run(cmd);
        assert!(out.status.success(), "run {i}: {out}");
    }
}

/// Set in the child process of `exiting_while_a_thread_is_inside_libpq_is_clean`.
const EXIT_RACE_URL: &str = "GATEHOUSE_TEST_EXIT_RACE_URL";

/// Any process that ends (the server on SIGTERM, a CLI command, this test binary) may still
/// have a thread inside libpq: a pool opening or closing a TLS connection to PostgreSQL. Its
/// exit must not tear OpenSSL down under that thread. The child keeps eight threads connecting
/// and disconnecting through `Db` and exits mid-flight; with OpenSSL's exit handler left in
/// place, about one such exit in ten died with SIGSEGV here, so forty of them catch it.
#[test]
fn exiting_while_a_thread_is_inside_libpq_is_clean() {
    let Some(url) = crate::helpers::postgres_database() else {
        return;
    };
    let exe = std::env::current_exe().unwrap();
    for i in 0..40 {
        let mut cmd = Command::new(&exe);
        cmd.args(["--exact", "cli::exit_race_child", "--nocapture"])
            .env(EXIT_RACE_URL, &url);
        let out = run(cmd);
        assert!(out.status.success(), "exit {i}: {out}");
        assert!(out.stdout.contains("connected"), "exit {i}: {out}");
    }
}

/// Not a test on its own: the child of the one above, idle unless [`EXIT_RACE_URL`] is set.
#[test]
fn exit_race_child() {
    let Ok(url) = std::env::var(EXIT_RACE_URL) else {
        return;
    };
    let url = gatehouse::config::DatabaseUrl::Postgres(url);
    let (connected, first) = std::sync::mpsc::channel();
    for _ in 0..8 {
        let url = url.clone();
        let connected = connected.clone();
        thread::spawn(move || {
            loop {
                let db = gatehouse::db::Db::connect(&url, 1).unwrap();
                db.migrate().unwrap();
                let _ = connected.send(());
            }
        });
    }
    first.recv().unwrap();
    println!("connected");
    thread::sleep(Duration::from_millis(40));
    std::process::exit(0);
}

#[test]
fn client_add_rejects_bad_callback_rules() {
    let sandbox = Sandbox::new();
    let bad_sets: &[&[&str]] = &[
        &["javascript:alert(1)"],
        &["https://a@b.example/cb"],
        &["https://x.example/cb#f"],
        &["https://x.example/cb?next=1"],
        &["https://x.example\\cb"],
        &["ftp://x.example/cb"],
        &["https://x.example/*/cb"],
        // One bad rule spoils the whole registration: nothing half-stored.
        &["https://ok.example/cb", "https://ok.example/a#b"],
    ];
    for rules in bad_sets {
        let mut cmd = sandbox.gatehouse();
        cmd.args(["client", "add", "--name", "Evil"]);
        for rule in *rules {
            cmd.arg("--callback").arg(rule);
        }
        let out = run(cmd);
        assert!(!out.status.success(), "{rules:?} was accepted:\n{out}");
        assert!(
            out.stdout.trim().is_empty(),
            "{rules:?}: a refused registration prints no credentials:\n{out}"
        );
        assert!(
            !out.stderr.trim().is_empty(),
            "{rules:?}: a refusal says why:\n{out}"
        );
    }
    // Also refused: a logout URL that is not http(s).
    let mut cmd = sandbox.gatehouse();
    cmd.args([
        "client",
        "add",
        "--name",
        "Evil",
        "--callback",
        "https://ok.example/cb",
        "--logout-url",
        "javascript:alert(1)",
    ]);
    let out = run(cmd);
    assert!(!out.status.success(), "bad logout URL accepted:\n{out}");

    let mut list = sandbox.gatehouse();
    list.args(["client", "list"]);
    let listed = run(list);
    assert!(listed.status.success(), "{listed}");
    assert_eq!(single_json(&listed.stdout), json!([]), "{listed}");
}

// ---------------------------------------------------------------------------------------------
// gatehouse admin create
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_create_reads_password_from_stdin() {
    let sandbox = Sandbox::new();
    let password = "Operator-Pass-2024";
    let admin = |number: &str| {
        let mut cmd = sandbox.gatehouse();
        cmd.env("GATEHOUSE_BCRYPT_COST", "4").args([
            "admin",
            "create",
            "--number",
            number,
            "--password-stdin",
        ]);
        cmd
    };

    let weak = run_with(admin("13900139000"), Some("password\n"), COMMAND_TIMEOUT);
    assert!(
        !weak.status.success(),
        "a common password was accepted:\n{weak}"
    );
    let own_number = run_with(admin("13700137000"), Some("13700137000\n"), COMMAND_TIMEOUT);
    assert!(
        !own_number.status.success(),
        "a password equal to the phone was accepted:\n{own_number}"
    );

    let created = run_with(
        admin("13800138000"),
        Some(&format!("{password}\n")),
        COMMAND_TIMEOUT,
    );
    assert!(created.status.success(), "{created}");
    assert!(
        !created.stdout.contains(password) && !created.stderr.contains(password),
        "the password is echoed:\n{created}"
    );

    let mut serve = sandbox.gatehouse();
    serve
        .env("GATEHOUSE_CAPTCHA_TEST_ANSWERS", "true")
        .env("GATEHOUSE_BCRYPT_COST", "4");
    let server = Server::start(serve, sandbox.cwd.path().join("serve.log")).await;
    let (captcha_id, answer) = server.captcha().await;
    let (status, body) = crate::helpers::into_parts(
        server
            .client
            .post(server.url("/users/signin"))
            .json(&json!({
                "number": "13800138000",
                "pwd": password,
                "client_code": answer,
                "captcha_id": captcha_id,
            }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = body["data"].as_str().expect("token string").to_owned();

    let (status, body) = crate::helpers::into_parts(
        server
            .client
            .get(server.url("/users"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "operators may list users: {body}");
    // The refused invocations stored nothing.
    assert_eq!(body["total"], 1, "{body}");
    assert_eq!(body["data"][0]["phone"], "13800138000", "{body}");
    assert_eq!(body["data"][0]["role"], "admin", "{body}");
}

crate::both_backends! {
    async fn admin_create_refuses_a_number_that_already_has_an_account(app) {
        let user = app.signup("13800138000").await;
        let token = app.token("13800138000").await;
        let mut cmd = Command::new(BIN);
        for (name, _) in std::env::vars_os() {
            if name.to_str().is_some_and(|n| n.starts_with("GATEHOUSE_")) {
                cmd.env_remove(&name);
            }
        }
        cmd.env("GATEHOUSE_DATA_DIR", &app.settings.data_dir)
            .env("GATEHOUSE_BCRYPT_COST", "4")
            .args(["admin", "create", "--number", "+8613800138000", "--password-stdin"]);
        if let Some(url) = &app.settings.database_url {
            cmd.env("GATEHOUSE_DATABASE_URL", url);
        }
        let out = tokio::task::spawn_blocking(move || {
            run_with(cmd, Some("Taken-Over-Pass-1\n"), COMMAND_TIMEOUT)
        })
        .await
        .unwrap();
        assert!(!out.status.success(), "an existing account was made an operator:\n{out}");
        assert!(out.stdout.trim().is_empty(), "{out}");
        assert!(out.stderr.contains("already exists"), "{out}");
        // Untouched: not an operator, same password, its session still live.
        let (status, me) = app.get_with_token("/users/token", &token).await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["data"]["role"], "user");
        assert_eq!(me["data"]["id"], user["id"]);
        assert_eq!(app.signin("13800138000", PASSWORD).await.0, 200);
        let (status, _) = app.signin("13800138000", "Taken-Over-Pass-1").await;
        assert_eq!(status, 401);
    }
}

// ---------------------------------------------------------------------------------------------
// gatehouse migrate and configuration sources
// ---------------------------------------------------------------------------------------------

fn toml_string(s: &Path) -> String {
    // A JSON string literal is a valid TOML basic string for the paths used here.
    serde_json::to_string(&s.to_string_lossy()).unwrap()
}

#[test]
fn migrate_creates_the_sqlite_file() {
    let sandbox = Sandbox::new();
    let mut migrate = sandbox.gatehouse();
    migrate.arg("migrate");
    let out = run(migrate);
    assert!(out.status.success(), "{out}");
    assert!(
        sandbox.data_dir().join("gatehouse.db").is_file(),
        "no gatehouse.db in the data dir: {:?}\n{out}",
        sandbox.data_entries()
    );
    // Applying them again is harmless.
    let mut again = sandbox.gatehouse();
    again.arg("migrate");
    let out = run(again);
    assert!(out.status.success(), "{out}");

    // `--config FILE` (a global option, before the subcommand) is read.
    let from_file = tempfile::tempdir().unwrap();
    let config = sandbox.cwd.path().join("gatehouse.toml");
    std::fs::write(
        &config,
        format!("data_dir = {}\n", toml_string(from_file.path())),
    )
    .unwrap();
    let mut migrate = sandbox.bare();
    migrate.arg("--config").arg(&config).arg("migrate");
    let out = run(migrate);
    assert!(out.status.success(), "{out}");
    assert!(
        from_file.path().join("gatehouse.db").is_file(),
        "--config data_dir ignored: {:?}\n{out}",
        entries(from_file.path())
    );
    assert!(
        !sandbox.cwd.path().join("data").exists(),
        "fell back to ./data despite the config file"
    );

    // ... and so is `GATEHOUSE_CONFIG`.
    let via_env = tempfile::tempdir().unwrap();
    let config2 = sandbox.cwd.path().join("other.toml");
    std::fs::write(
        &config2,
        format!("data_dir = {}\n", toml_string(via_env.path())),
    )
    .unwrap();
    let mut migrate = sandbox.bare();
    migrate.env("GATEHOUSE_CONFIG", &config2).arg("migrate");
    let out = run(migrate);
    assert!(out.status.success(), "{out}");
    assert!(
        via_env.path().join("gatehouse.db").is_file(),
        "GATEHOUSE_CONFIG ignored: {:?}\n{out}",
        entries(via_env.path())
    );

    // Environment variables override the file.
    let overriding = tempfile::tempdir().unwrap();
    let mut migrate = sandbox.bare();
    migrate
        .env("GATEHOUSE_DATA_DIR", overriding.path())
        .arg("--config")
        .arg(&config)
        .arg("migrate");
    let before = entries(from_file.path());
    let out = run(migrate);
    assert!(out.status.success(), "{out}");
    assert!(
        overriding.path().join("gatehouse.db").is_file(),
        "GATEHOUSE_DATA_DIR did not override the file: {:?}\n{out}",
        entries(overriding.path())
    );
    assert_eq!(entries(from_file.path()), before);
}

#[test]
fn bad_configuration_names_the_variable() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("GATEHOUSE_BCRYPT_COST", "abc")], "GATEHOUSE_BCRYPT_COST"),
        (&[("GATEHOUSE_BCRYPT_COST", "99")], "GATEHOUSE_BCRYPT_COST"),
        (&[("GATEHOUSE_LISTEN", "nope")], "GATEHOUSE_LISTEN"),
        (
            &[("GATEHOUSE_DATABASE_URL", "mysql://x/y")],
            "GATEHOUSE_DATABASE_URL",
        ),
        (
            &[("GATEHOUSE_PUBLIC_URL", "https://sso.example")],
            "GATEHOUSE_SMS_PROVIDER",
        ),
        // An unknown provider never falls back to writing codes to the log.
        (
            &[("GATEHOUSE_SMS_PROVIDER", "carrier-pigeon")],
            "GATEHOUSE_SMS_PROVIDER",
        ),
        (
            &[("GATEHOUSE_PUBLIC_URL", "HTTPS://SSO.Example")],
            "GATEHOUSE_SMS_PROVIDER",
        ),
        (
            &[
                ("GATEHOUSE_PUBLIC_URL", "https://sso.example"),
                ("GATEHOUSE_SMS_PROVIDER", "webhook"),
                ("GATEHOUSE_SMS_WEBHOOK_URL", "http://127.0.0.1:9/sms"),
                ("GATEHOUSE_CAPTCHA_TEST_ANSWERS", "true"),
            ],
            "GATEHOUSE_CAPTCHA_TEST_ANSWERS",
        ),
    ];
    for (vars, named) in cases {
        let sandbox = Sandbox::new();
        let mut serve = sandbox.gatehouse();
        // Should a bad value be accepted, the server must not take a shared port.
        serve.env("GATEHOUSE_LISTEN", format!("127.0.0.1:{}", free_port()));
        for (k, v) in *vars {
            serve.env(k, v);
        }
        serve.arg("serve");
        let out = run_with(serve, None, CONFIG_ERROR_TIMEOUT);
        assert!(!out.status.success(), "{vars:?} was accepted:\n{out}");
        assert!(
            out.stderr.contains(named),
            "{vars:?}: stderr does not name {named}:\n{out}"
        );
        // A refused configuration touches nothing; in particular an unknown database scheme
        // never falls back to a SQLite file.
        let stray: Vec<String> = sandbox
            .data_entries()
            .into_iter()
            .filter(|n| n.contains(".db") || n.contains("sqlite"))
            .collect();
        assert!(stray.is_empty(), "{vars:?}: created {stray:?}");
        assert!(
            entries(sandbox.cwd.path()).is_empty(),
            "{vars:?}: wrote into the working directory: {:?}",
            entries(sandbox.cwd.path())
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The request log
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_logged_once_with_a_request_id_and_no_secrets() {
    let sms = SmsSink::start();
    let sandbox = Sandbox::new();
    let mut serve = sandbox.gatehouse();
    serve
        .env("GATEHOUSE_LOG", "info")
        .env("GATEHOUSE_BCRYPT_COST", "4")
        .env("GATEHOUSE_CAPTCHA_TEST_ANSWERS", "true")
        .env("GATEHOUSE_SMS_PROVIDER", "webhook")
        .env("GATEHOUSE_SMS_WEBHOOK_URL", &sms.url);
    let server = Server::start(serve, sandbox.cwd.path().join("serve.log")).await;

    let phone = "13600136000";
    let password = "Quiet-Lantern-7731";
    // (request id, path) of every request of the flow.
    let mut requests: Vec<(String, &str)> = Vec::new();
    let mut send = async |req: reqwest::RequestBuilder, path: &'static str| {
        let res = req.send().await.unwrap();
        let id = request_id(&res).unwrap_or_else(|| panic!("{path}: no x-request-id header"));
        requests.push((id, path));
        crate::helpers::into_parts(res).await
    };

    let (status, body) = send(
        server
            .client
            .post(server.url("/verify_code"))
            .json(&json!({ "number": phone, "purpose": "signup" })),
        "/verify_code",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let code = sms.last_code(phone).expect("the sink got no code");

    let (status, body) = send(
        server
            .client
            .post(server.url("/users/signup"))
            .json(&json!({ "number": phone, "pwd": password, "verify_code": code })),
        "/users/signup",
    )
    .await;
    assert_eq!(status, 201, "{body}");

    let (status, body) = send(
        server.client.get(server.url("/client_code")),
        "/client_code",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let captcha_id = body["data"]["captcha_id"].as_str().unwrap().to_owned();
    let answer = body["data"]["answer"].as_str().unwrap().to_owned();

    let (status, body) = send(
        server
            .client
            .post(server.url("/users/signin"))
            .json(&json!({
                "number": phone, "pwd": password, "client_code": answer, "captcha_id": captcha_id,
            })),
        "/users/signin",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = body["data"].as_str().unwrap().to_owned();

    // The token in the query string on purpose: only the path may be logged.
    let (status, body) = send(
        server
            .client
            .get(server.url(&format!("/token?token={token}"))),
        "/token",
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = send(
        server
            .client
            .request(Method::PATCH, server.url("/users/signout"))
            .bearer_auth(&token)
            .json(&json!({})),
        "/users/signout",
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let log = strip_ansi(&server.log_text());
    let lines: Vec<&str> = log.lines().collect();
    // The per-request lines carry the method, path and status of the request.
    let access: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.contains("path=") && l.contains("status="))
        .collect();
    let expected = requests.len() + server.health_ids.len();
    assert_eq!(
        access.len(),
        expected,
        "want one log line per request ({} flow + {} health polls):\n{log}",
        requests.len(),
        server.health_ids.len()
    );
    for (id, path) in &requests {
        let mine: Vec<&str> = access
            .iter()
            .copied()
            .filter(|l| l.contains(id.as_str()))
            .collect();
        assert_eq!(
            mine.len(),
            1,
            "request {path} (id {id}) should be logged exactly once:\n{log}"
        );
        assert!(
            contains_word(mine[0], &format!("path={path}")),
            "the line of {id} does not name {path}: {}",
            mine[0]
        );
    }
    for id in &server.health_ids {
        let mine = access.iter().filter(|l| l.contains(id.as_str())).count();
        assert_eq!(mine, 1, "/healthz (id {id}) should be logged once:\n{log}");
    }

    // No secrets, in any line.
    let signature = token.rsplit('.').next().unwrap();
    assert!(!log.contains(password), "the password is logged:\n{log}");
    assert!(!log.contains(&token), "the token is logged:\n{log}");
    assert!(
        !log.contains(signature),
        "the token's signature is logged:\n{log}"
    );
    assert!(!log.contains("token="), "a query string is logged:\n{log}");
    // Short values are looked for as whole words, outside the timestamp and level columns
    // (a 4-letter captcha answer could be `WARN`).
    for line in &lines {
        let text: Vec<&str> = line.split_whitespace().skip(2).collect();
        let text = text.join(" ");
        assert!(
            !contains_word(&text, &code),
            "the verification code {code} is logged: {line}"
        );
        assert!(
            !contains_word(&text, &answer),
            "the captcha answer {answer} is logged: {line}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Documents served beside the API
// ---------------------------------------------------------------------------------------------

/// The value of `attr="..."` (or `'...'`) inside one tag's text.
fn attribute(tag: &str, attr: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = lower[from..].find(attr) {
        let start = from + at;
        from = start + attr.len();
        let preceded_by_space = lower[..start]
            .chars()
            .next_back()
            .is_some_and(char::is_whitespace);
        let rest = lower[from..].trim_start();
        if !preceded_by_space || !rest.starts_with('=') {
            continue;
        }
        let offset = tag.len() - rest.len() + 1;
        let value = tag[offset..].trim_start();
        let (quote, body) = match value.chars().next() {
            Some(q @ ('"' | '\'')) => (Some(q), &value[1..]),
            _ => (None, value),
        };
        let end = match quote {
            Some(q) => body.find(q).unwrap_or(body.len()),
            None => body
                .find(|c: char| c.is_whitespace() || c == '>')
                .unwrap_or(body.len()),
        };
        return Some(body[..end].to_owned());
    }
    None
}

/// Each `<name ...>` opening tag of `html`.
fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let lower = html.to_ascii_lowercase();
    let open = format!("<{name}");
    lower
        .match_indices(&open)
        .filter(|(at, _)| {
            lower[at + open.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_whitespace() || c == '>')
        })
        .map(|(at, _)| {
            let end = html[at..].find('>').map_or(html.len(), |e| at + e + 1);
            &html[at..end]
        })
        .collect()
}

fn is_remote(url: &str) -> bool {
    let url = url.trim().to_ascii_lowercase();
    url.starts_with("http:") || url.starts_with("https:") || url.starts_with("//")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_every_route() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let res = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.expect("/openapi.json is JSON");
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "not an OpenAPI 3 document: {}",
        doc["openapi"]
    );
    for envelope_key in ["code", "message", "data", "total"] {
        assert!(
            doc.get(envelope_key).is_none(),
            "/openapi.json is wrapped in the envelope"
        );
    }
    assert!(doc["info"]["title"].is_string(), "{}", doc["info"]);
    let paths = doc["paths"].as_object().expect("paths object");
    let routes: &[(&str, &[&str])] = &[
        ("/verify_code", &["post"]),
        ("/users/signin", &["post"]),
        ("/users/verify_code_sign_in", &["post"]),
        ("/users/signup", &["post"]),
        ("/users/password", &["patch"]),
        ("/users/verify_code_password", &["patch"]),
        ("/users/{user_id}", &["get"]),
        ("/users", &["get", "put", "delete"]),
        ("/users/token", &["get"]),
        ("/users/signout", &["patch"]),
        ("/client_code", &["get"]),
        ("/token", &["get", "post"]),
        ("/healthz", &["get"]),
        ("/readyz", &["get"]),
        ("/.well-known/jwks.json", &["get"]),
    ];
    let mut missing = Vec::new();
    for (path, methods) in routes {
        for method in *methods {
            if paths.get(*path).and_then(|p| p.get(*method)).is_none() {
                missing.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "undocumented routes: {missing:?}; documented: {:?}",
        paths.keys().collect::<Vec<_>>()
    );

    // The interactive docs work offline: HTML whose scripts and styles come from Gatehouse.
    let res = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = res.text().await.unwrap();
    assert!(html.to_ascii_lowercase().contains("<html"), "{html}");
    let mut assets = Vec::new();
    for tag in tags(&html, "script") {
        if let Some(src) = attribute(tag, "src") {
            assert!(!is_remote(&src), "a script from the network: {tag}");
            assets.push(src);
        }
    }
    for tag in tags(&html, "link") {
        if let Some(href) = attribute(tag, "href") {
            assert!(
                !is_remote(&href),
                "a stylesheet/icon from the network: {tag}"
            );
            assets.push(href);
        }
    }
    assert!(!assets.is_empty(), "no scripts at all? {html}");
    let base = url::Url::parse(&app.url("/docs/")).unwrap();
    let mut served = html.clone();
    for asset in &assets {
        let url = base.join(asset).unwrap();
        let res = app.client.get(url.as_str()).send().await.unwrap();
        assert_eq!(
            res.status(),
            200,
            "{url} referenced by /docs/ is not served"
        );
        if asset.ends_with(".js") && !asset.contains("bundle") && !asset.contains("preset") {
            served.push_str(&res.text().await.unwrap());
        }
    }
    assert!(
        served.contains("/openapi.json"),
        "/docs/ does not load /openapi.json"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_is_a_plain_jwk_set() {
    let sandbox = Sandbox::new();
    let server = Server::start(sandbox.gatehouse(), sandbox.cwd.path().join("serve.log")).await;
    let res = server
        .client
        .get(server.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let set: Value = res.json().await.expect("JWK Set is JSON");
    let top: Vec<&String> = set.as_object().expect("a JSON object").keys().collect();
    assert_eq!(top, vec!["keys"], "a plain JWK Set, no envelope: {set}");
    let keys = set["keys"].as_array().expect("keys array");
    assert_eq!(keys.len(), 1, "{set}");
    let key = &keys[0];
    assert_eq!(key["kty"], "OKP", "{key}");
    assert_eq!(key["crv"], "Ed25519", "{key}");
    assert_eq!(key["alg"], "EdDSA", "{key}");
    let kid = key["kid"].as_str().expect("kid").to_owned();
    assert!(!kid.is_empty(), "{key}");
    let x = URL_SAFE_NO_PAD
        .decode(key["x"].as_str().expect("x"))
        .expect("x is base64url without padding");
    assert_eq!(x.len(), 32, "an Ed25519 public key is 32 bytes: {key}");
    assert!(
        key.get("d").is_none(),
        "the private key is published: {key}"
    );

    // The keys (token signing, word-info) live in the data dir, readable by their owner only.
    let key_files: Vec<String> = sandbox
        .data_entries()
        .into_iter()
        .filter(|n| !n.starts_with("gatehouse.db"))
        .collect();
    assert_eq!(
        key_files,
        ["signing-ed25519.pk8", "word-info-rsa.pk8"],
        "key files besides the database: {:?}",
        sandbox.data_entries()
    );
    #[cfg(unix)]
    for file in &key_files {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(sandbox.data_dir().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file} mode is {:o}", mode & 0o777);
    }

    // The key is kept: a restart publishes the same one.
    drop(server);
    let server = Server::start(sandbox.gatehouse(), sandbox.cwd.path().join("serve2.log")).await;
    let (status, again) = server.get_json("/.well-known/jwks.json").await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["keys"][0]["kid"], kid.as_str(), "{again}");
}
