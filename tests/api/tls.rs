//! Gatehouse behind a TLS-terminating reverse proxy, as production runs it: Debian's Apache with
//! mod_ssl and mod_proxy_http on `https://127.0.0.1:<port>` in front of a test server whose
//! public URL is that https address and whose trusted proxy is loopback.
//!
//! The certificates come from a CA the test generates with the `openssl` command (one per
//! proxy, valid for two days); clients that check certificates are given the CA file, and
//! Chromium is told to accept the server key by its SPKI hash.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use serde_json::Value;
use sha2::Digest;

use crate::apache::{self, Apache};
use crate::helpers::*;

/// A CA and a server certificate it signed for `127.0.0.1` and `localhost`.
pub(crate) struct Certs {
    dir: tempfile::TempDir,
    /// The CA certificate (PEM), readable by www-data.
    pub(crate) ca: PathBuf,
    /// base64(SHA-256(server SubjectPublicKeyInfo)), for `--ignore-certificate-errors-spki-list`.
    pub(crate) spki: String,
}

impl Certs {
    pub(crate) fn generate() -> Certs {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        apache::set_mode(d, 0o755);
        let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
        openssl(
            d,
            &format!(
                "req -x509 {ec} -keyout ca.key -out ca.pem -days 2 -subj /CN=gatehouse-test-ca \
                 -addext basicConstraints=critical,CA:TRUE \
                 -addext keyUsage=critical,keyCertSign,cRLSign"
            ),
        );
        openssl(
            d,
            &format!("req {ec} -keyout server.key -out server.csr -subj /CN=127.0.0.1"),
        );
        std::fs::write(
            d.join("server.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n\
             basicConstraints=critical,CA:FALSE\n\
             keyUsage=critical,digitalSignature\n\
             extendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(
            d,
            "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
             -days 2 -extfile server.ext",
        );
        openssl(
            d,
            "pkey -in server.key -pubout -outform DER -out server.spki",
        );
        let spki = std::fs::read(d.join("server.spki")).unwrap();
        let spki = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(spki));
        apache::set_mode(&d.join("ca.pem"), 0o644);
        Certs {
            ca: d.join("ca.pem"),
            spki,
            dir,
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// Runs `openssl` in `dir` with these whitespace-separated arguments.
fn openssl(dir: &Path, args: &str) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args.split_whitespace())
        .output()
        .expect("cannot run openssl");
    assert!(
        out.status.success(),
        "openssl {args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Apache terminating TLS on `https://127.0.0.1:<port>` and passing everything to `upstream`
/// with `X-Forwarded-For` (mod_proxy adds it).
pub(crate) struct TlsProxy {
    pub(crate) certs: Certs,
    pub(crate) apache: Apache,
}

pub(crate) const MODULES: [&str; 5] = ["authz_core", "ssl", "socache_shmcb", "proxy", "proxy_http"];

impl TlsProxy {
    pub(crate) fn start(port: u16, upstream: &str, keep_log_at: PathBuf) -> TlsProxy {
        let certs = Certs::generate();
        let (cert, key) = (certs.file("server.pem"), certs.file("server.key"));
        let apache = Apache::start(
            port,
            &MODULES,
            |root| {
                format!(
                    r#"SSLSessionCache "shmcb:{root}/ssl_scache(512000)"
SSLEngine on
SSLProtocol -all +TLSv1.2 +TLSv1.3
SSLCertificateFile "{cert}"
SSLCertificateKeyFile "{key}"
ProxyRequests Off
ProxyPreserveHost On
ProxyPass / {upstream}/
ProxyPassReverse / {upstream}/
<Location />
    Require all granted
</Location>
"#,
                    root = root.display(),
                    cert = cert.display(),
                    key = key.display(),
                )
            },
            keep_log_at,
        );
        TlsProxy { certs, apache }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.apache.port)
    }
}

/// A test server (SQLite) reached only through a TLS proxy on its https public URL, with
/// these settings changed; `None` when Apache or mod_ssl is missing (a failure under
/// `GATEHOUSE_TEST_REQUIRE_ALL=1`). Captcha test answers are off (refused over https).
pub(crate) async fn behind_tls(
    mut changes: Value,
    keep_log_at: PathBuf,
) -> Option<(TestApp, TlsProxy)> {
    if !apache::installed(&MODULES) {
        skip_without("apache2 with mod_ssl and mod_proxy_http (tests/clients/*/install.sh)");
        return None;
    }
    let port = free_port();
    let public = format!("https://127.0.0.1:{port}");
    let object = changes
        .as_object_mut()
        .expect("settings changes are an object");
    object.insert("public_url".into(), public.clone().into());
    object.insert("trusted_proxies".into(), serde_json::json!(["127.0.0.1"]));
    object.insert("captcha_test_answers".into(), false.into());
    let app = TestApp::spawn_behind(Backend::Sqlite, changes).await?;
    assert_eq!(app.settings.issuer(), public);
    let proxy = TlsProxy::start(port, &app.address, keep_log_at);
    Some((app, proxy))
}

/// A fresh operator's token, signed in with an SMS code (no captcha answers over https).
pub(crate) async fn operator(app: &TestApp, number: &str) -> String {
    let user = app.signup(number).await;
    app.make_admin(user["id"].as_str().unwrap()).await;
    let code = app.code_for(number, Some("signin")).await;
    let (status, body) = app
        .post(
            "/users/verify_code_sign_in",
            serde_json::json!({ "number": number, "verify_code": code }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["data"].as_str().unwrap().to_owned()
}
