//! E-mail codes through a real SMTP server (Python's aiosmtpd, started by the test on a free
//! port, writing what it receives to a maildir).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;

struct SmtpServer {
    port: u16,
    maildir: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    fn start() -> Option<Self> {
        let available = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
        if !available {
            skip_without("python3 -m aiosmtpd (pip install aiosmtpd)");
            return None;
        }
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("mail");
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox", maildir.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(SmtpServer {
            port,
            maildir,
            child,
            _dir: dir,
        })
    }

    fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.maildir.join(sub)) {
                for e in entries.flatten() {
                    out.push(std::fs::read_to_string(e.path()).unwrap_or_default());
                }
            }
        }
        out
    }

    async fn wait_for_message(&self, to: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(m) = self.messages().into_iter().find(|m| m.contains(to)) {
                return m;
            }
            assert!(Instant::now() < deadline, "no mail for {to}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The decoded text and HTML parts of a message, read with Python's `email` package (an
/// independent MIME parser).
fn decoded(message: &str) -> String {
    let script = "import email,sys\n\
        m = email.message_from_string(sys.stdin.read())\n\
        print(email.header.make_header(email.header.decode_header(m['Subject'])))\n\
        for p in m.walk():\n    \
            if p.get_content_maintype() == 'text':\n        \
                print(p.get_content_type()); print(p.get_payload(decode=True).decode('utf-8'))\n";
    let out = python(&["-c", script], message.as_bytes());
    String::from_utf8(out.stdout).unwrap()
}

/// The 6-digit code of a received message (it stands alone on its line in the text part).
fn code_in(message: &str) -> String {
    decoded(message)
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code in {message}"))
        .to_owned()
}

async fn app_with_smtp(port: u16) -> TestApp {
    let settings = json!({
        "smtp_url": format!("smtp://127.0.0.1:{port}"),
        "mail_from": "Gatehouse <noreply@gatehouse.test>"
    });
    TestApp::spawn_set(Backend::Sqlite, settings).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_up_with_a_code_received_by_email() {
    let Some(smtp) = SmtpServer::start() else {
        return;
    };
    let app = app_with_smtp(smtp.port).await;
    let (status, body) = app.request_code("Alice@Example.com", Some("signup")).await;
    assert_eq!(status, 200, "{body}");
    let message = smtp.wait_for_message("alice@example.com").await;
    let parts = decoded(&message);
    assert!(
        parts.contains("text/html") && parts.contains("text/plain"),
        "{parts}"
    );
    let code = code_in(&message);
    let (status, body) = app.signup_with("alice@example.com", PASSWORD, &code).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["email"], "alice@example.com");
    assert_eq!(app.signin("ALICE@example.com", PASSWORD).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mail_is_in_the_requests_language_and_says_what_and_how_long() {
    let Some(smtp) = SmtpServer::start() else {
        return;
    };
    let app = app_with_smtp(smtp.port).await;
    let res = app
        .client
        .post(app.url("/verify_code"))
        .header("accept-language", "en-US,en;q=0.9")
        .json(&json!({ "number": "bob@example.com", "purpose": "reset_password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let message = smtp.wait_for_message("bob@example.com").await;
    assert!(
        message.contains("Subject: Your Gatehouse password reset code"),
        "{message}"
    );
    assert!(message.contains("valid for 5 minutes"));
    app.request_code("carol@example.com", Some("signup")).await;
    let message = decoded(&smtp.wait_for_message("carol@example.com").await);
    assert!(message.starts_with("Gatehouse 注册验证码"), "{message}");
    assert!(message.contains("验证码 5 分钟内有效"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_smtp_server_is_503_and_costs_no_cooldown() {
    let app = app_with_smtp(free_port()).await;
    for _ in 0..2 {
        let (status, body) = app
            .post("/verify_code", json!({ "number": "dave@example.com" }))
            .await;
        assert_error(status, &body, 503, "unavailable");
    }
}
