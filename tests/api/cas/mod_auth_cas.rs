//! mod_auth_cas (Debian's `apache2` and `libapache2-mod-auth-cas`, unchanged) protects an Apache
//! location in front of an application, with Gatehouse as its CAS server behind a TLS reverse
//! proxy on an https public URL (the module refuses a validation URL that is not https), driven
//! in headless Chromium with an SMS-code sign-in.
//!
//! The application is a stand-in behind the module (mod_proxy_http) that shows the request
//! headers it receives: `REMOTE_USER` (passed on with mod_headers), the module's user header and
//! its `CAS_*` attribute headers. Single logout: Gatehouse's SAML `logoutRequest` to the service
//! URL makes the module drop its session, which the same module cookie then proves.

use std::path::{Path, PathBuf};

use actix_web::{HttpRequest, HttpResponse};

use super::*;
use crate::apache::{self, Apache};
use crate::browser::{Browser as Chromium, shots_dir};
use crate::oidc::USER;
use crate::pages::query_param;
use crate::tls::TlsProxy;

const SCENARIO: &str = "mod_auth_cas";
const MODULES: [&str; 7] = [
    "authn_core",
    "authz_core",
    "authz_user",
    "auth_cas",
    "proxy",
    "proxy_http",
    "headers",
];

/// The application behind the module: a page listing the request headers it got (names in
/// lower case) as JSON.
fn start_application() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    serve_every_path(listener, || {
        actix_web::web::to(|req: HttpRequest| async move {
            let headers: serde_json::Map<String, Value> = req
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), json!(v.to_str().unwrap_or("?"))))
                .collect();
            let text = Value::Object(headers)
                .to_string()
                .replace('&', "&amp;")
                .replace('<', "&lt;");
            HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .body(format!(
                    "<!doctype html><title>Application</title><pre id=\"headers\">{text}</pre>"
                ))
        })
    });
    format!("http://127.0.0.1:{port}")
}

/// Apache with mod_auth_cas on `/app`, passing signed-in requests to `application`.
fn start_module(port: u16, proxy: &TlsProxy, application: &str, keep_log_at: PathBuf) -> Apache {
    Apache::start(
        port,
        &MODULES,
        |root| {
            // The module's session files, written by the www-data children.
            let cache = root.join("cas-cache");
            std::fs::create_dir(&cache).unwrap();
            chown_www_data(&cache);
            format!(
                r#"LogLevel warn auth_cas:debug
CASDebug On
CASVersion 2
CASLoginURL {login}
CASValidateURL {validate}
CASCertificatePath "{ca}"
CASCookiePath "{cache}/"
CASSSOEnabled On
CASAttributePrefix CAS_
<Location /app>
    AuthType CAS
    Require valid-user
    CASAuthNHeader CAS-User
    CASScrubRequestHeaders On
    RequestHeader set X-Remote-User expr=%{{REMOTE_USER}}
    ProxyPass {application}/app
</Location>
"#,
                login = proxy.url("/cas/login"),
                validate = proxy.url("/cas/serviceValidate"),
                ca = proxy.certs.ca.display(),
                cache = cache.display(),
            )
        },
        keep_log_at,
    )
}

fn chown_www_data(path: &Path) {
    let ok = std::process::Command::new("chown")
        .arg("www-data:www-data")
        .arg(path)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "cannot give {} to www-data", path.display());
}

/// What the application was given, as the page in `br` shows it.
async fn headers_on_page(br: &Chromium) -> Value {
    serde_json::from_str(&br.text("#headers").await).expect("the application's JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mod_auth_cas_protects_an_application_behind_a_tls_proxy() {
    if !apache::installed(&MODULES) {
        return skip_without("apache2 with mod_auth_cas (tests/clients/mod_auth_cas/install.sh)");
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
    let port = free_port();
    let rule = format!("http://127.0.0.1:{port}/app/*");
    let client_id = register_cas(&app, &admin, "mod_auth_cas", &rule).await;
    let application = start_application();
    let module = start_module(
        port,
        &proxy,
        &application,
        shots_dir(SCENARIO).join("apache-error.log"),
    );
    let page = module.url("/app/page");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // The module sends a visitor without its session to Gatehouse's https login URL.
    let res = http.get(&page).send().await.unwrap();
    assert_eq!(res.status(), 302, "{}", module.logs());
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&proxy.url("/cas/login?")),
        "{location}"
    );
    assert_eq!(query_param(&location, "service"), page);
    // Headers a visitor sends cannot pose as the module's.
    let res = http
        .get(&page)
        .header("CAS-User", "someone-else")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);

    // In the browser: the application, Gatehouse's sign-in page over https, an SMS code, and
    // back with a ticket the module validates over https before showing the application.
    br.goto(&page, "open-application").await;
    assert_on_sign_in(&br, &proxy).await;
    // The sign-up code was just sent: no waiting out the resend cooldown.
    app.skip_cooldown(USER).await;
    br.sign_in_with_code(USER, &app.sms).await;
    let seen = headers_on_page(&br).await;
    br.shot("application").await;
    let at = br.url().await;
    assert_eq!(at.as_str(), page, "the module removes the ticket");
    assert_eq!(seen["x-remote-user"], user_id.as_str(), "{seen}");
    assert_eq!(seen["cas-user"], user_id.as_str(), "{seen}");
    assert_eq!(seen["cas_phone"], USER, "{seen}");
    assert_eq!(seen["cas_username"], user["username"], "{seen}");
    assert_eq!(seen["cas_isfromnewlogin"], "true", "{seen}");
    assert!(
        seen["cas_authenticationdate"]
            .as_str()
            .is_some_and(|d| d.ends_with('Z')),
        "{seen}"
    );
    // Gatehouse saw the browser's request through the proxy as https: its session cookie is
    // a `__Host-` one, which browsers keep only from secure origins.
    br.goto(&proxy.url("/account"), "gatehouse-account").await;
    assert!(
        br.cookie_header().await.contains("__Host-"),
        "no __Host- cookie at the https public URL"
    );

    // The module's own session: its cookie alone opens the application.
    br.goto(&page, "application-again").await;
    let cookie = br.cookie_header().await;
    assert!(cookie.contains("MOD_AUTH_CAS="), "{cookie}");
    let res = get_with_cookie(&page, &cookie).await;
    assert_eq!(res.status(), 200, "{}", module.logs());

    // Signing out at Gatehouse sends the module a logoutRequest for the ticket it validated;
    // the module deletes that session, so the same cookie is sent back to sign in.
    br.goto(&proxy.url("/cas/logout"), "gatehouse-logout").await;
    let delivery = settled_deliveries(&app, &admin, &client_id, 1, || module.logs())
        .await
        .remove(0);
    assert_eq!(delivery["kind"], "cas_logout_request", "{delivery}");
    assert_eq!(delivery["state"], "delivered", "{delivery}");
    let res = get_with_cookie(&page, &cookie).await;
    assert_sent_to_cas_login(&res, &proxy, &module.logs());
    // And Gatehouse asks for a sign-in again.
    br.goto(&page, "after-logout").await;
    assert_on_sign_in(&br, &proxy).await;

    drop(module);
    br.close().await;
}
