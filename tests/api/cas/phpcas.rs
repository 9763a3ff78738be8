//! phpCAS (Debian's `php-cas`, unchanged) in a PHP application (`tests/clients/phpcas/`) served
//! by PHP's own web server, with Gatehouse as its CAS server behind a TLS reverse proxy on an
//! https public URL (phpCAS only talks https, and checks the certificate against the test's
//! CA). Driven in headless Chromium with an SMS-code sign-in: `getUser`, `getAttributes`,
//! single logout destroying the PHP session, and the application's sign-out link through
//! `/cas/logout`.

use std::process::{Child, Command, Stdio};
use std::time::Instant;

use super::*;
use crate::browser::WAIT;
use crate::oidc::USER;
use crate::pages::urlencode;
use crate::tls::TlsProxy;

const SCENARIO: &str = "phpcas";
const APPLICATION: &str = "tests/clients/phpcas";

fn installed() -> bool {
    Command::new("php")
        .args([
            "-r",
            "require 'CAS.php'; exit(extension_loaded('curl') && extension_loaded('dom') ? 0 : 1);",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `php -S` serving the application, stopped on drop.
struct Php {
    child: Child,
    base: String,
    log: tempfile::NamedTempFile,
}

impl Php {
    fn start(proxy: &TlsProxy) -> Php {
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = Command::new("php")
            .arg("-S")
            .arg(format!("127.0.0.1:{port}"))
            .arg("-t")
            .arg(APPLICATION)
            .env("CAS_HOST", "127.0.0.1")
            .env("CAS_PORT", proxy.apache.port.to_string())
            .env("CAS_CA_CERT", &proxy.certs.ca)
            .env("SERVICE_BASE_URL", &base)
            .stdin(Stdio::null())
            .stdout(log.reopen().unwrap())
            .stderr(log.reopen().unwrap())
            .spawn()
            .expect("cannot start php -S");
        let php = Php { child, base, log };
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "php -S is not listening:\n{}",
                php.logs()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        php
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }
}

impl Drop for Php {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phpcas_gets_the_user_and_attributes_and_single_logout_destroys_its_session() {
    if !installed() {
        return skip_without("php with phpCAS (tests/clients/phpcas/install.sh)");
    }
    let Some(Stage {
        app,
        proxy,
        br,
        admin,
        user,
    }) = stage(SCENARIO).await
    else {
        return;
    };
    let user_id = user["id"].as_str().unwrap().to_owned();
    let php = Php::start(&proxy);
    let client_id = register_cas(&app, &admin, "phpCAS", &format!("{}/*", php.base)).await;
    let home = format!("{}/", php.base);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // phpCAS sends a visitor without a session to Gatehouse's https login URL.
    let res = http.get(&home).send().await.unwrap();
    assert_eq!(res.status(), 302, "{}", php.logs());
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        location,
        format!("{}?service={}", proxy.url("/cas/login"), urlencode(&home))
    );

    // In the browser: Gatehouse's sign-in page over https, an SMS code, and back with a ticket
    // phpCAS validates at /cas/p3/serviceValidate over https.
    br.goto(&home, "open-application").await;
    assert_on_sign_in(&br, &proxy).await;
    // The sign-up code was just sent: no waiting out the resend cooldown.
    app.skip_cooldown(USER).await;
    br.sign_in_with_code(USER, &app.sms).await;
    // Chromium shows a JSON answer in a <pre>, which Gatehouse's pages do not have.
    let shown: Value = serde_json::from_str(&br.text("pre").await)
        .unwrap_or_else(|e| panic!("{e}: not the application's JSON\n{}", php.logs()));
    br.shot("application").await;
    assert_eq!(br.url().await.as_str(), home, "phpCAS removes the ticket");
    assert_eq!(shown["user"], user_id.as_str(), "{shown}");
    let attributes = &shown["attributes"];
    assert_eq!(attributes["phone"], USER, "{shown}");
    assert_eq!(attributes["username"], user["username"], "{shown}");
    assert_eq!(attributes["isFromNewLogin"], "true", "{shown}");
    assert_eq!(
        attributes["longTermAuthenticationRequestTokenUsed"], "false",
        "{shown}"
    );

    // The PHP session alone keeps the person signed in to the application.
    let cookie = br.cookie_header().await;
    assert!(cookie.contains("PHPSESSID="), "{cookie}");
    let res = get_with_cookie(&home, &cookie).await;
    assert_eq!(res.status(), 200, "{}", php.logs());

    // The operator ends the person's sessions: Gatehouse sends phpCAS a logoutRequest for the
    // ticket it validated, which destroys that PHP session.
    let (status, body) = app
        .send_with_token(
            reqwest::Method::POST,
            &format!("/admin/api/users/{user_id}/signout"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let delivery = settled_deliveries(&app, &admin, &client_id, 1, || php.logs())
        .await
        .remove(0);
    assert_eq!(delivery["kind"], "cas_logout_request", "{delivery}");
    assert_eq!(delivery["state"], "delivered", "{delivery}");
    let res = get_with_cookie(&home, &cookie).await;
    assert_sent_to_cas_login(&res, &proxy, &php.logs());
    // And Gatehouse asks for a sign-in again.
    br.goto(&home, "after-logout").await;
    assert_on_sign_in(&br, &proxy).await;

    // Signed in again, then the application's own sign-out link: phpCAS sends the browser to
    // Gatehouse's /cas/logout with its page to come back to, which ends the Gatehouse session
    // and returns there; the ticket of this round gets its logoutRequest too.
    app.skip_cooldown(USER).await;
    br.sign_in_with_code(USER, &app.sms).await;
    br.wait_for("pre").await;
    br.shot("signed-in-again").await;
    assert_eq!(br.url().await.as_str(), home);
    br.goto(&format!("{home}?logout"), "application-logout")
        .await;
    br.wait_for("#bye").await;
    assert_eq!(br.url().await.as_str(), format!("{}/bye.php", php.base));
    let deliveries = settled_deliveries(&app, &admin, &client_id, 2, || php.logs()).await;
    assert!(
        deliveries.iter().all(|d| d["state"] == "delivered"),
        "{deliveries:?}"
    );
    br.goto(&home, "signed-out-everywhere").await;
    assert_on_sign_in(&br, &proxy).await;

    drop(php);
    br.close().await;
}
