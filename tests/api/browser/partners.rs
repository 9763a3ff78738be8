//! The partners: small HTTP sites the browser signs into through Gatehouse.

use super::*;

/// The compiled `examples/partner`, next to this test binary (`<target>/<profile>/deps/api-*`
/// → `<target>/<profile>/examples/partner`). `cargo test` builds examples; `cargo test --test
/// api` does not, so when it is missing or older than its source it is built here.
pub(super) fn partner_binary() -> PathBuf {
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
pub(super) struct Partner {
    pub(super) name: &'static str,
    pub(super) mode: &'static str,
    pub(super) host: &'static str,
    pub(super) port: u16,
    pub(super) client_id: String,
    pub(super) client_secret: String,
    pub(super) log: PathBuf,
    pub(super) process: Option<Child>,
    pub(super) http: reqwest::Client,
}

impl Partner {
    /// Registers the partner through the operators' API, as an integrator's operator would.
    pub(super) async fn register(
        app: &TestApp,
        admin: &str,
        name: &'static str,
        mode: &'static str,
        host: &'static str,
        shots: &Path,
    ) -> Partner {
        let port = crate::helpers::free_port_on(host);
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

    pub(super) fn base(&self) -> String {
        format!("http://{}:{}", self.host, self.port)
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    /// Starts the process against Gatehouse at `gatehouse` (whose issuer is `issuer`) and
    /// waits until it answers.
    pub(super) async fn start(&mut self, gatehouse: &str, issuer: &str) {
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
    pub(super) fn stop(&mut self) {
        if let Some(mut p) = self.process.take() {
            let _ = p.kill();
            let _ = p.wait();
        }
    }

    /// The session ids this partner received (and verified) by back-channel logout.
    pub(super) async fn logouts(&self) -> Vec<String> {
        let res = self.http.get(self.url("/logouts")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    pub(super) async fn wait_for_logout(&self, sid: &str, within: Duration) {
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
