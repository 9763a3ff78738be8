//! django-cas-ng (PyPI, unchanged) in a minimal Django project (`tests/clients/django-cas-ng/`):
//! signing in through Gatehouse creates the Django user, and Gatehouse's single logout deletes
//! the Django session.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::*;
use crate::oidc::{follow_authorization, local, prepare};

const PROJECT: &str = "tests/clients/django-cas-ng/project";

fn installed() -> bool {
    Command::new("python3")
        // django_cas_ng reads Django's settings when imported, so it is only looked for.
        .args([
            "-c",
            "import importlib.util as u, sys; \
             sys.exit(not (u.find_spec('django') and u.find_spec('django_cas_ng')))",
        ])
        .status()
        .is_ok_and(|s| s.success())
}

/// The Django development server, stopped with the test.
struct Django {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Django {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Django {
    async fn start(cas_server: &str) -> Django {
        let dir = tempfile::tempdir().unwrap();
        let env = [
            (
                "DJANGO_DB",
                dir.path().join("db.sqlite3").display().to_string(),
            ),
            ("GATEHOUSE_CAS_SERVER_URL", cas_server.to_owned()),
            ("PYTHONPATH", ".".to_owned()),
        ];
        let migrated = Command::new("python3")
            .args(["-m", "django", "migrate", "--settings=settings"])
            .current_dir(PROJECT)
            .envs(env.clone())
            .output()
            .expect("python3 runs");
        assert!(
            migrated.status.success(),
            "{}",
            String::from_utf8_lossy(&migrated.stderr)
        );
        let port = free_port();
        let child = Command::new("python3")
            .args([
                "-m",
                "django",
                "runserver",
                "--noreload",
                "--settings=settings",
            ])
            .arg(format!("127.0.0.1:{port}"))
            .current_dir(PROJECT)
            .envs(env)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the Django server starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "Django never listened");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Django {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }
}

/// What Django's page says about the visitor with the `sessionid` cookie.
async fn whoami(http: &reqwest::Client, django: &Django, cookie: &str) -> String {
    http.get(format!("{}/", django.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn django_cas_ng_creates_the_user_and_single_logout_ends_its_session() {
    if !installed() {
        return skip_without("python3 with django-cas-ng (tests/clients/django-cas-ng/install.sh)");
    }
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let admin = prepare(&app).await;
    let django = Django::start(&format!("{}/cas/", app.address)).await;
    let (status, body) = app
        .send_with_token(
            reqwest::Method::POST,
            "/admin/api/clients",
            &admin,
            json!({ "name": "Django", "mode": "cas", "callbacks": [format!("{}/*", django.base)] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // Django sends the browser to Gatehouse with its service URL.
    let res = http
        .get(format!("{}/accounts/login?next=/", django.base))
        .send()
        .await
        .unwrap();
    let to_gatehouse = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        to_gatehouse.starts_with(&format!("{}/cas/login?service=", app.address)),
        "{to_gatehouse}"
    );
    let mut browser = Browser::new(&app);
    let back = follow_authorization(&mut browser, &local(&to_gatehouse)).await;
    assert!(back.starts_with(&django.base), "{back}");
    // Django validates the ticket with Gatehouse and signs the person in.
    let res = http.get(&back).send().await.unwrap();
    assert_eq!(res.status(), 302, "{}", res.text().await.unwrap());
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("sessionid="))
        .expect("a Django session")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let user = whoami(&http, &django, &cookie).await;
    assert!(
        user.starts_with("user_"),
        "the username attribute names the Django user: {user}"
    );

    // Signing out at Gatehouse reaches Django, which deletes that session.
    let out = browser.get("/cas/logout").await;
    assert_eq!(out.status, 200);
    let deadline = Instant::now() + Duration::from_secs(15);
    while whoami(&http, &django, &cookie).await != "anonymous" {
        assert!(
            Instant::now() < deadline,
            "Django's session outlived the sign-out"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, deliveries) = app
        .get_with_token("/admin/api/deliveries?limit=10", &admin)
        .await;
    let row = &deliveries["data"][0];
    assert_eq!(row["kind"], "cas_logout_request", "{deliveries}");
}
