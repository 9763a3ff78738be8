//! End to end in a real browser: headless Chromium over WebDriver signs in on Gatehouse's own
//! pages, travels between two partner sites (the `examples/partner` program, run as separate
//! processes, one in `token` mode and one in `ticket` mode) and is signed out everywhere.
//!
//! Needs Debian's `chromium` and `chromium-driver`; without them the scenarios are skipped,
//! or fail under `GATEHOUSE_TEST_REQUIRE_ALL=1`. Each page visited is saved as a screenshot
//! under `$CARGO_TARGET_TMPDIR/screenshots/<scenario>/`.
//!
//! The partners listen on their own loopback addresses (127.0.0.2, 127.0.0.3) while
//! Gatehouse is on 127.0.0.1: cookies are kept per host, not per port, so sites sharing one
//! address would see (and overwrite) each other's cookies.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// How long anything the browser or a partner waits for may take.
const WAIT: Duration = Duration::from_secs(15);
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const USER: &str = "13912345678";

fn free_port(host: &str) -> u16 {
    std::net::TcpListener::bind((host, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Ends a process group this test started (chromedriver and the browser it launched).
fn kill_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

// ---------------------------------------------------------------------------------------
// The browser

/// chromedriver, ended with everything it started when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        kill_group(&mut self.0);
    }
}

struct Browser {
    client: Client,
    driver: Driver,
    _profile: tempfile::TempDir,
    shots: PathBuf,
    taken: AtomicU32,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session, or None when they are not
    /// installed (a failure under `GATEHOUSE_TEST_REQUIRE_ALL=1`).
    async fn start(scenario: &str) -> Option<Browser> {
        let missing: Vec<&str> = [CHROMEDRIVER, CHROMIUM]
            .into_iter()
            .filter(|p| !Path::new(p).exists())
            .collect();
        if !missing.is_empty() {
            assert!(
                !require_all(),
                "GATEHOUSE_TEST_REQUIRE_ALL=1 but {missing:?} missing (apt-get install chromium chromium-driver)"
            );
            eprintln!("skipping the browser scenario {scenario}: {missing:?} missing");
            return None;
        }
        let shots = Path::new(concat!(env!("CARGO_TARGET_TMPDIR"), "/screenshots")).join(scenario);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).unwrap();

        let port = free_port("127.0.0.1");
        let log = std::fs::File::create(shots.join("chromedriver.log")).unwrap();
        let driver = Driver({
            use std::os::unix::process::CommandExt;
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                // Its own process group, so the browser it starts goes away with it.
                .process_group(0)
                .spawn()
                .expect("cannot start chromedriver")
        });
        let profile = tempfile::tempdir().unwrap();
        let client = connect(port, profile.path()).await;
        client.set_window_size(1280, 900).await.unwrap();
        Some(Browser {
            client,
            driver,
            _profile: profile,
            shots,
            taken: AtomicU32::new(0),
        })
    }

    async fn goto(&self, url: &str, name: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
        self.shot(name).await;
    }

    /// Saves a screenshot of the current page as `<nn>-<name>.png`.
    async fn shot(&self, name: &str) {
        let n = self.taken.fetch_add(1, Ordering::SeqCst) + 1;
        match self.client.screenshot().await {
            Ok(png) => std::fs::write(self.shots.join(format!("{n:02}-{name}.png")), png).unwrap(),
            Err(e) => eprintln!("screenshot {name} failed: {e}"),
        }
    }

    async fn url(&self) -> url::Url {
        self.client.current_url().await.unwrap()
    }

    /// Waits for an element on the current page (following redirects and navigation).
    async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => {
                self.shot("missing-element").await;
                let at = self.url().await;
                let source = self.client.source().await.unwrap_or_default();
                panic!("no `{css}` at {at} within {WAIT:?}: {e}\n{source}");
            }
        }
    }

    async fn has(&self, css: &str) -> bool {
        self.client.find(Locator::Css(css)).await.is_ok()
    }

    async fn text(&self, css: &str) -> String {
        self.wait_for(css).await.text().await.unwrap()
    }

    /// A `Cookie` header with the cookies the browser holds for the current page's host.
    async fn cookie_header(&self) -> String {
        self.client
            .get_all_cookies()
            .await
            .unwrap()
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Fills in and submits Gatehouse's password sign-in form on the current page.
    async fn sign_in(&self, number: &str, password: &str) {
        self.wait_for("#password-form").await;
        self.shot("gatehouse-login").await;
        self.wait_for("#number")
            .await
            .send_keys(number)
            .await
            .unwrap();
        self.wait_for("#pwd")
            .await
            .send_keys(password)
            .await
            .unwrap();
        // The test server runs with captcha test answers on; the image carries the answer.
        let answer = self
            .wait_for("#captcha-img")
            .await
            .attr("data-test-answer")
            .await
            .unwrap()
            .expect("the captcha image has no data-test-answer");
        self.wait_for("#client_code")
            .await
            .send_keys(&answer)
            .await
            .unwrap();
        self.shot("gatehouse-login-filled").await;
        self.wait_for("#password-submit")
            .await
            .click()
            .await
            .unwrap();
    }

    /// Ends the WebDriver session cleanly, then chromedriver.
    async fn close(self) {
        let _ = self.client.clone().close().await;
        drop(self.driver);
    }
}

async fn connect(port: u16, profile: &Path) -> Client {
    let options = json!({
        "binary": CHROMIUM,
        "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--disable-quic",
            format!("--user-data-dir={}", profile.display()),
        ],
    });
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + WAIT;
    loop {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return client,
            // chromedriver may not be listening yet.
            Err(_) if Instant::now() < deadline => sleep_ms(100).await,
            Err(e) => panic!("cannot start a browser session through chromedriver: {e}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The partners

/// The compiled `examples/partner`, next to this test binary (`<target>/<profile>/deps/api-*`
/// → `<target>/<profile>/examples/partner`). `cargo test` builds examples; `cargo test --test
/// api` does not, so when it is missing or older than its source it is built here.
fn partner_binary() -> PathBuf {
    static BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BINARY
        .get_or_init(|| {
            let exe = std::env::current_exe().unwrap();
            let profile_dir = exe.parent().unwrap().parent().unwrap();
            let binary = profile_dir.join("examples").join("partner");
            let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/partner/main.rs");
            let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
            let fresh = matches!(
                (modified(&binary), modified(&source)),
                (Some(b), Some(s)) if b >= s
            );
            if !fresh {
                let mut cargo = Command::new(env!("CARGO"));
                cargo
                    .args(["build", "--example", "partner"])
                    .current_dir(env!("CARGO_MANIFEST_DIR"))
                    .env("CARGO_TARGET_DIR", profile_dir.parent().unwrap());
                if profile_dir.file_name().is_some_and(|n| n == "release") {
                    cargo.arg("--release");
                }
                let out = cargo.output().expect("cannot run cargo");
                assert!(
                    out.status.success(),
                    "building examples/partner failed:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            binary
        })
        .clone()
}

/// One partner site: a registered client and its process, which can be stopped and started
/// again on the same address.
struct Partner {
    name: &'static str,
    mode: &'static str,
    host: &'static str,
    port: u16,
    client_id: String,
    client_secret: String,
    log: PathBuf,
    process: Option<Child>,
    http: reqwest::Client,
}

impl Partner {
    /// Registers the partner through the operators' API, as an integrator's operator would.
    async fn register(
        app: &TestApp,
        admin: &str,
        name: &'static str,
        mode: &'static str,
        host: &'static str,
        shots: &Path,
    ) -> Partner {
        let port = free_port(host);
        let base = format!("http://{host}:{port}");
        let (status, body) = app
            .send_with_token(
                Method::POST,
                "/admin/api/clients",
                admin,
                json!({
                    "name": format!("Partner {}", name.to_uppercase()),
                    // The callback, and the home page Gatehouse may send the browser back to
                    // after signing out there.
                    "callbacks": [format!("{base}/callback"), format!("{base}/")],
                    "logout_url": format!("{base}/backchannel-logout"),
                    "mode": mode,
                }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        Partner {
            name,
            mode,
            host,
            port,
            client_id: body["data"]["client_id"].as_str().unwrap().to_owned(),
            client_secret: body["data"]["client_secret"].as_str().unwrap().to_owned(),
            log: shots.join(format!("partner-{name}.log")),
            process: None,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    fn base(&self) -> String {
        format!("http://{}:{}", self.host, self.port)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    /// Starts the process against Gatehouse at `gatehouse` (whose issuer is `issuer`) and
    /// waits until it answers.
    async fn start(&mut self, gatehouse: &str, issuer: &str) {
        assert!(self.process.is_none(), "{} is already running", self.name);
        let binary = tokio::task::spawn_blocking(partner_binary).await.unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(binary)
            .env("GATEHOUSE_URL", gatehouse)
            .env("GATEHOUSE_ISSUER", issuer)
            .env("PARTNER_LISTEN", format!("{}:{}", self.host, self.port))
            .env("PARTNER_PUBLIC_URL", self.base())
            .env("CLIENT_ID", &self.client_id)
            .env("CLIENT_SECRET", &self.client_secret)
            .env("PARTNER_MODE", self.mode)
            .env(
                "PARTNER_NAME",
                format!("Partner {}", self.name.to_uppercase()),
            )
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("cannot start the partner example");
        self.process = Some(child);
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(res) = self.http.get(self.url("/logouts")).send().await
                && res.status() == 200
            {
                return;
            }
            if let Some(Ok(Some(exit))) = self.process.as_mut().map(|p| p.try_wait()) {
                panic!(
                    "partner {} exited: {exit}; see {}",
                    self.name,
                    self.log.display()
                );
            }
            assert!(
                Instant::now() < deadline,
                "partner {} never came up",
                self.name
            );
            sleep_ms(50).await;
        }
    }

    /// Takes the site down (its in-memory sessions and records go with it).
    fn stop(&mut self) {
        if let Some(mut p) = self.process.take() {
            let _ = p.kill();
            let _ = p.wait();
        }
    }

    /// The session ids this partner received (and verified) by back-channel logout.
    async fn logouts(&self) -> Vec<String> {
        let res = self.http.get(self.url("/logouts")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    async fn wait_for_logout(&self, sid: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let got = self.logouts().await;
            if got.iter().any(|s| s == sid) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "partner {} never received the logout of {sid} (has {got:?}); see {}",
                self.name,
                self.log.display()
            );
            sleep_ms(100).await;
        }
    }
}

impl Drop for Partner {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---------------------------------------------------------------------------------------
// The scene every scenario starts from

/// Gatehouse with fast single-logout retries, an operator (returns the operator's token), a
/// person with an account (returns the id), and the two partners registered and running, A
/// in `token` mode and B in `ticket` mode; partner logs go to `logs`.
async fn gatehouse_and_partners(logs: &Path) -> (TestApp, String, String, Partner, Partner) {
    let app = TestApp::spawn_with(Backend::Sqlite, |f| {
        f.merge(("logout_retry_base_ms", 100))
            .merge(("logout_poll_ms", 50))
    })
    .await
    .unwrap();
    let (admin_user, admin) = app.user("13700137000").await;
    app.make_admin(admin_user["id"].as_str().unwrap()).await;
    let user_id = app.signup(USER).await["id"].as_str().unwrap().to_owned();
    let issuer = app.settings.issuer();
    let mut a = Partner::register(&app, &admin, "a", "token", "127.0.0.2", logs).await;
    let mut b = Partner::register(&app, &admin, "b", "ticket", "127.0.0.3", logs).await;
    a.start(&app.address, &issuer).await;
    b.start(&app.address, &issuer).await;
    (app, admin, user_id, a, b)
}

struct Scene {
    app: TestApp,
    browser: Browser,
    admin: String,
    user_id: String,
    /// `token` mode.
    a: Partner,
    /// `ticket` mode.
    b: Partner,
}

impl Scene {
    /// [`gatehouse_and_partners`] and a fresh browser.
    async fn start(scenario: &str) -> Option<Scene> {
        let browser = Browser::start(scenario).await?;
        let (app, admin, user_id, a, b) = gatehouse_and_partners(&browser.shots).await;
        Some(Scene {
            app,
            browser,
            admin,
            user_id,
            a,
            b,
        })
    }

    /// Opens a partner signed out and signs in on Gatehouse's page; ends back at the partner.
    async fn sign_in_at(&self, partner: &Partner) {
        let br = &self.browser;
        br.goto(&partner.url("/"), &format!("open-{}", partner.name))
            .await;
        let at = br.url().await;
        assert_eq!(
            at.origin().ascii_serialization(),
            self.app.address,
            "opening {} did not lead to Gatehouse",
            partner.name
        );
        assert_eq!(at.path(), "/login");
        br.sign_in(USER, PASSWORD).await;
        self.assert_signed_in_at(partner).await;
    }

    /// The browser is on the partner's home page, signed in as the person.
    async fn assert_signed_in_at(&self, partner: &Partner) {
        let br = &self.browser;
        let who = br.text("#who").await;
        br.shot(&format!("signed-in-at-{}", partner.name)).await;
        assert_eq!(who, format!("Signed in as {}", self.user_id));
        let at = br.url().await;
        assert_eq!(at.origin().ascii_serialization(), partner.base());
        assert_eq!(at.path(), "/");
        assert!(at.query().is_none(), "{at}");
    }

    /// The browser shows Gatehouse's sign-in form.
    async fn assert_on_login_form(&self, name: &str) {
        let br = &self.browser;
        br.wait_for("#password-form").await;
        br.shot(name).await;
        let at = br.url().await;
        assert_eq!(at.origin().ascii_serialization(), self.app.address);
        assert_eq!(at.path(), "/login");
    }

    /// The person's Gatehouse sessions (the browser signed in once, so one).
    async fn sid(&self) -> String {
        let user = self.user_id.clone();
        let sids: Vec<String> = self
            .app
            .db(move |conn| {
                use diesel::prelude::*;
                use gatehouse::db::schema::sessions;
                sessions::table
                    .filter(sessions::user_id.eq(user))
                    .select(sessions::id)
                    .load(conn)
                    .unwrap()
            })
            .await;
        assert_eq!(sids.len(), 1, "{sids:?}");
        sids.into_iter().next().unwrap()
    }

    async fn finish(self) {
        self.browser.close().await;
    }
}

// ---------------------------------------------------------------------------------------
// Scenarios

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_from_a_partner_lands_back_signed_in() {
    let Some(scene) = Scene::start("signing_in_from_a_partner_lands_back_signed_in").await else {
        return;
    };
    scene.sign_in_at(&scene.a).await;
    // Reloading keeps the partner's own session: no trip to Gatehouse.
    scene.browser.goto(&scene.a.url("/"), "a-again").await;
    scene.assert_signed_in_at(&scene.a).await;
    scene.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_partner_gets_in_without_a_password() {
    let Some(scene) = Scene::start("a_second_partner_gets_in_without_a_password").await else {
        return;
    };
    scene.sign_in_at(&scene.a).await;
    // Partner B (ticket mode) sends the browser to Gatehouse, which sends it straight back.
    scene.browser.goto(&scene.b.url("/"), "open-b").await;
    assert!(!scene.browser.has("#password-form").await);
    scene.assert_signed_in_at(&scene.b).await;
    // Both partners share the one Gatehouse session, which the person's account page lists
    // with the two systems it is logged into.
    scene.sid().await;
    let br = &scene.browser;
    br.goto(&scene.app.url("/account"), "account").await;
    br.wait_for("#account").await;
    assert_eq!(br.text("#user-id").await, scene.user_id);
    let sessions = br.text("#sessions").await;
    assert!(
        sessions.contains("Partner A") && sessions.contains("Partner B"),
        "{sessions}"
    );
    br.wait_for("#signout").await;
    scene.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_at_one_partner_signs_out_everywhere() {
    let Some(scene) = Scene::start("signing_out_at_one_partner_signs_out_everywhere").await else {
        return;
    };
    let br = &scene.browser;
    scene.sign_in_at(&scene.a).await;
    br.goto(&scene.b.url("/"), "open-b").await;
    scene.assert_signed_in_at(&scene.b).await;
    let sid = scene.sid().await;

    br.goto(&scene.a.url("/"), "back-at-a").await;
    scene.assert_signed_in_at(&scene.a).await;
    br.wait_for("#signout").await.click().await.unwrap();
    // Gatehouse ends the session and sends the browser back to A, which, signed out, sends
    // it on to the sign-in form.
    scene.assert_on_login_form("after-signout").await;

    // Each partner verified its back-channel logout token itself.
    scene.a.wait_for_logout(&sid, WAIT).await;
    scene.b.wait_for_logout(&sid, WAIT).await;

    br.goto(&scene.a.url("/"), "open-a-after-signout").await;
    scene.assert_on_login_form("a-asks-to-sign-in").await;
    br.goto(&scene.b.url("/"), "open-b-after-signout").await;
    scene.assert_on_login_form("b-asks-to-sign-in").await;

    // Signing out with no partner to return to shows Gatehouse's own signed-out page.
    br.goto(&scene.app.url("/logout"), "logout-page").await;
    br.wait_for("#signed-out").await;
    scene.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_that_was_down_still_gets_its_logout_after_a_restart() {
    let Some(scene) =
        Scene::start("a_partner_that_was_down_still_gets_its_logout_after_a_restart").await
    else {
        return;
    };
    scene.sign_in_at(&scene.a).await;
    scene.browser.goto(&scene.b.url("/"), "open-b").await;
    scene.assert_signed_in_at(&scene.b).await;
    let sid = scene.sid().await;
    scene.browser.goto(&scene.a.url("/"), "back-at-a").await;
    scene.assert_signed_in_at(&scene.a).await;

    let Scene {
        app,
        browser,
        admin,
        a,
        mut b,
        ..
    } = scene;
    b.stop();
    browser.wait_for("#signout").await.click().await.unwrap();
    browser.wait_for("#password-form").await;
    browser.shot("after-signout").await;
    a.wait_for_logout(&sid, WAIT).await;

    // B's delivery has failed at least once and is still owed.
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, body) = app
            .get_with_token("/admin/api/deliveries?limit=100", &admin)
            .await;
        assert_eq!(status, 200, "{body}");
        let to_b = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["client_id"] == b.client_id.as_str())
            .cloned()
            .unwrap_or(Value::Null);
        if to_b["attempts"].as_i64().unwrap_or(0) >= 1 {
            assert_eq!(to_b["state"], "pending", "{to_b}");
            assert_eq!(to_b["sid"], sid.as_str(), "{to_b}");
            break;
        }
        assert!(Instant::now() < deadline, "no failed attempt to B: {body}");
        sleep_ms(50).await;
    }

    // The operator restarts Gatehouse; then B comes back on its old address.
    let app = app.restart().await;
    b.start(&app.address, &app.settings.issuer()).await;
    // Retries back off (100 ms doubling here), so allow for a few rounds.
    b.wait_for_logout(&sid, WAIT * 2).await;
    drop(a);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_callback_shows_the_error_page() {
    let Some(scene) = Scene::start("a_tampered_callback_shows_the_error_page").await else {
        return;
    };
    let br = &scene.browser;
    let other_port = free_port("127.0.0.2");
    let tampered = [
        ("evil", "https://evil.example/callback".to_owned()),
        (
            "other-port",
            format!("http://127.0.0.2:{other_port}/callback"),
        ),
        (
            "other-host",
            format!("http://127.0.0.9:{}/callback", scene.a.port),
        ),
        (
            "userinfo",
            format!("http://127.0.0.2:{}@evil.example/callback", scene.a.port),
        ),
    ];

    let check = |signed_in: bool| {
        let tampered = &tampered;
        let scene = &scene;
        async move {
            for (name, callback) in tampered {
                let login = url::Url::parse_with_params(
                    &scene.app.url("/login"),
                    [("callback_url", callback)],
                )
                .unwrap();
                let label = format!(
                    "{}-{name}",
                    if signed_in { "signed-in" } else { "anonymous" }
                );
                br.goto(login.as_str(), &label).await;
                let error = br.text("#error").await;
                assert!(
                    error.contains("callback_not_registered"),
                    "{label}: the error says {error:?}"
                );
                let at = br.url().await;
                assert_eq!(
                    at.origin().ascii_serialization(),
                    scene.app.address,
                    "{label}: left Gatehouse for {at}"
                );
                assert!(!at.as_str().contains("token=") && !at.as_str().contains("ticket="));
                // The same request outside the browser, with its cookies: a 400 page, no
                // redirect.
                let res = scene
                    .app
                    .client
                    .get(login.as_str())
                    .header("Cookie", br.cookie_header().await)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 400, "{label}");
                assert!(res.headers().get("location").is_none(), "{label}");
                let page = res.text().await.unwrap();
                assert!(page.contains("id=\"error\""), "{label}: {page}");
            }
        }
    };
    check(false).await;
    // Even with a live Gatehouse session, a tampered callback never gets a token.
    scene.sign_in_at(&scene.a).await;
    check(true).await;
    scene.finish().await;
}

/// The example's own checks, without a browser: what reaches its callback or its back-channel
/// endpoint is only believed once verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_partner_example_refuses_what_was_not_meant_for_it() {
    let logs = Path::new(concat!(env!("CARGO_TARGET_TMPDIR"), "/screenshots"))
        .join("the_partner_example_refuses_what_was_not_meant_for_it");
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs).unwrap();
    let (app, _admin, _user_id, a, b) = gatehouse_and_partners(&logs).await;
    // Tokens minted for each partner, as Gatehouse's JSON sign-in issues them.
    let mut minted = Vec::new();
    for partner in [&a, &b] {
        let (captcha_id, answer) = app.captcha().await;
        let (status, body) = app
            .post(
                "/users/signin",
                json!({ "number": USER, "pwd": PASSWORD, "captcha_id": captcha_id,
                        "client_code": answer, "callback_url": partner.url("/callback") }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        minted.push(body["data"].as_str().unwrap().to_owned());
    }
    let (for_a, for_b) = (&minted[0], &minted[1]);

    let callback = |partner: &Partner, query: &[(&str, &str)]| {
        let url = url::Url::parse_with_params(&partner.url("/callback"), query).unwrap();
        partner.http.get(url).send()
    };
    // A's own token opens a session at A ...
    let res = callback(&a, &[("token", for_a)]).await.unwrap();
    assert_eq!(res.status(), 302);
    assert!(res.headers().get("set-cookie").is_some());
    // ... B's token does not (its `aud` is B), nor does garbage, nor a ticket at a token-mode
    // partner, nor a made-up ticket at B.
    for (partner, query) in [
        (&a, ("token", for_b.as_str())),
        (&a, ("token", "not.a.token")),
        (&a, ("ticket", "whatever")),
        (&b, ("ticket", "made-up")),
        (&b, ("token", for_b.as_str())),
    ] {
        let res = callback(partner, &[query]).await.unwrap();
        assert_eq!(res.status(), 401, "{} {query:?}", partner.name);
        assert!(res.headers().get("set-cookie").is_none());
    }

    // Back-channel: an access token is not a logout token (its `typ` is `JWT`), even though
    // Gatehouse signed it for this very partner; nor is garbage. Both are final 400s.
    for bad in [for_a.as_str(), "not.a.token", ""] {
        let res = a
            .http
            .post(a.url("/backchannel-logout"))
            .form(&[("logout_token", bad)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{bad}");
    }
    assert!(a.logouts().await.is_empty());
    drop((a, b));
}

/// Swagger UI still works under the CSP `/docs/` now carries (its own scripts only): if the
/// policy blocked what it needs, no operation would be drawn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_docs_render_under_their_content_security_policy() {
    let Some(browser) =
        Browser::start("the_api_docs_render_under_their_content_security_policy").await
    else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    browser.goto(&app.url("/docs/"), "docs").await;
    browser.wait_for(".opblock").await;
    let drawn = browser
        .client
        .execute(
            "return document.querySelectorAll('.opblock').length",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        drawn.as_u64().unwrap() >= 30,
        "only {drawn} operations drawn"
    );
    browser.shot("docs-rendered").await;
    browser.close().await;
}
