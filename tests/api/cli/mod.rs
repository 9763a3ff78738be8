//! The `gatehouse` binary as operators run it (contract section 8): subcommands, configuration
//! sources and their error messages, the request log, and the documents served next to the API
//! (`/openapi.json`, `/docs/`, `/.well-known/jwks.json`).
//!
//! Most tests run the real executable as a subprocess with every inherited `GATEHOUSE_*`
//! variable removed, a fresh data dir and a working directory of their own, and bound every wait.

use std::fs::File;
use std::io::{Read, Write};
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
        let port = crate::helpers::free_port();
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

mod admin;
mod clients;
mod config;
mod documents;
mod keys;
mod request_log;
