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
pub(crate) const WAIT: Duration = Duration::from_secs(15);
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const USER: &str = "13912345678";

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

/// Where a scenario's screenshots (and the logs of the servers it started) are kept; emptied
/// when its browser starts.
pub(crate) fn shots_dir(scenario: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_TARGET_TMPDIR"), "/screenshots")).join(scenario)
}

pub(crate) struct Browser {
    client: Client,
    driver: Driver,
    _profile: tempfile::TempDir,
    pub(crate) shots: PathBuf,
    taken: AtomicU32,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session, or None when they are not
    /// installed (a failure under `GATEHOUSE_TEST_REQUIRE_ALL=1`).
    pub(crate) async fn start(scenario: &str) -> Option<Browser> {
        Self::start_with(scenario, &[]).await
    }

    /// As `start`, with a TLS server key the browser accepts without a chain it knows: `spki`
    /// is base64(SHA-256(SubjectPublicKeyInfo)), as Chromium's
    /// `--ignore-certificate-errors-spki-list` takes it (honoured with a `--user-data-dir`).
    pub(crate) async fn start_trusting(scenario: &str, spki: &str) -> Option<Browser> {
        Self::start_with(
            scenario,
            &[format!("--ignore-certificate-errors-spki-list={spki}")],
        )
        .await
    }

    async fn start_with(scenario: &str, extra_args: &[String]) -> Option<Browser> {
        let missing: Vec<&str> = [CHROMEDRIVER, CHROMIUM]
            .into_iter()
            .filter(|p| !Path::new(p).exists())
            .collect();
        if !missing.is_empty() {
            skip_without(&format!(
                "{missing:?} (apt-get install chromium chromium-driver), for the browser scenario {scenario}"
            ));
            return None;
        }
        let shots = shots_dir(scenario);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).unwrap();

        let port = crate::helpers::free_port();
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
        let client = connect(port, profile.path(), extra_args).await;
        client.set_window_size(1280, 900).await.unwrap();
        Some(Browser {
            client,
            driver,
            _profile: profile,
            shots,
            taken: AtomicU32::new(0),
        })
    }

    pub(crate) async fn goto(&self, url: &str, name: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
        self.shot(name).await;
    }

    /// Saves a screenshot of the current page as `<nn>-<name>.png`.
    pub(crate) async fn shot(&self, name: &str) {
        let n = self.taken.fetch_add(1, Ordering::SeqCst) + 1;
        match self.client.screenshot().await {
            Ok(png) => std::fs::write(self.shots.join(format!("{n:02}-{name}.png")), png).unwrap(),
            Err(e) => eprintln!("screenshot {name} failed: {e}"),
        }
    }

    pub(crate) async fn url(&self) -> url::Url {
        self.client.current_url().await.unwrap()
    }

    /// Waits for an element on the current page (following redirects and navigation).
    pub(crate) async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
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

    pub(crate) async fn has(&self, css: &str) -> bool {
        self.client.find(Locator::Css(css)).await.is_ok()
    }

    /// The text of an element on the current page; found again when a navigation still under
    /// way replaced the one found first.
    pub(crate) async fn text(&self, css: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.wait_for(css).await.text().await {
                Ok(text) => return text,
                Err(fantoccini::error::CmdError::Standard(e))
                    if e.error == fantoccini::error::ErrorStatus::StaleElementReference
                        && Instant::now() < deadline =>
                {
                    sleep_ms(50).await;
                }
                Err(e) => panic!("cannot read `{css}`: {e}"),
            }
        }
    }

    /// A `Cookie` header with the cookies the browser holds for the current page's host.
    pub(crate) async fn cookie_header(&self) -> String {
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
    pub(crate) async fn sign_in(&self, number: &str, password: &str) {
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

    /// Signs in on Gatehouse's sign-in page with a code sent by SMS: the code tab, the number,
    /// "send code", and the code the SMS gateway stand-in received.
    pub(crate) async fn sign_in_with_code(&self, number: &str, sms: &SmsSink) {
        self.wait_for("[data-tab=code-form]")
            .await
            .click()
            .await
            .unwrap();
        self.wait_for("#code-number")
            .await
            .send_keys(number)
            .await
            .unwrap();
        let before = sms.count();
        self.wait_for("#send-code").await.click().await.unwrap();
        let deadline = Instant::now() + WAIT;
        while sms.count() == before {
            if Instant::now() > deadline {
                self.shot("no-code-sent").await;
                let said = self.text("#send-code-status").await;
                panic!("no code was sent to {number}: {said}");
            }
            sleep_ms(50).await;
        }
        let code = sms.last_code(number).expect("a code for the number");
        self.wait_for("#verify_code")
            .await
            .send_keys(&code)
            .await
            .unwrap();
        self.shot("gatehouse-code-filled").await;
        self.wait_for("#code-submit").await.click().await.unwrap();
    }

    /// Ends the WebDriver session cleanly, then chromedriver.
    pub(crate) async fn close(self) {
        let _ = self.client.clone().close().await;
        drop(self.driver);
    }
}

async fn connect(port: u16, profile: &Path, extra_args: &[String]) -> Client {
    let mut args = json!([
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        format!("--user-data-dir={}", profile.display()),
    ]);
    args.as_array_mut()
        .unwrap()
        .extend(extra_args.iter().map(|a| json!(a)));
    let options = json!({ "binary": CHROMIUM, "args": args });
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

/// Browser scenarios: each `async fn name(scene) { ... }` becomes a test that starts a
/// [`Scene`] named after it (or skips where there is no Chromium) and runs the body with it.
macro_rules! scene_tests {
    ($($(#[doc = $doc:literal])* async fn $name:ident($scene:ident) $body:block)*) => {
        $(
            $(#[doc = $doc])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some($scene) = Scene::start(stringify!($name)).await else {
                    return;
                };
                $body
            }
        )*
    };
}

mod partners;
mod scenarios;
mod scene;

use partners::*;
use scene::*;
