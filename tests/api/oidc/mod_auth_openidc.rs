//! mod_auth_openidc (Debian's `apache2` and `libapache2-mod-auth-openidc`, unchanged) protects
//! an Apache location with Gatehouse as its OpenID Provider, driven once end to end in headless
//! Chromium (PROTOCOLS §5, §6): sign-in with PKCE, `sub` and `email` on the protected page,
//! `?refresh=`, back-channel logout validated by the module itself, and RP-initiated logout
//! through its `?logout=`.
//!
//! Apache runs as a child process (`crate::apache`); the page shows the claims through SSI
//! (mod_include).
//! Apache's error log (mod_auth_openidc at debug) is copied next to the screenshots, under
//! `$CARGO_TARGET_TMPDIR/screenshots/mod_auth_openidc/`.

use std::path::PathBuf;
use std::time::Instant;

use serde_json::{Value, json};

use super::{Rp, USER, register};
use crate::apache::{self, Apache};
use crate::browser::{Browser as Chromium, WAIT};
use crate::helpers::*;
use crate::pages::{query_param, urlencode};

const EMAIL: &str = "someone@example.com";

/// The protected page: the claims mod_auth_openidc passes to the request's environment.
const PAGE: &str = r#"<!doctype html>
<title>Protected</title>
<p>REMOTE_USER <span id="user"><!--#echo var="REMOTE_USER" --></span></p>
<p>sub <span id="sub"><!--#echo var="OIDC_CLAIM_sub" --></span></p>
<p>email <span id="email"><!--#echo var="OIDC_CLAIM_email" --></span></p>
<p>access token <span id="at"><!--#echo var="OIDC_access_token" --></span></p>
"#;

/// Where `?logout=` comes back to (outside the protected location).
const BYE: &str = r#"<!doctype html>
<title>Signed out</title>
<p id="bye">Signed out of the protected site.</p>
"#;

fn installed() -> bool {
    apache::installed(&["auth_openidc", "include"])
}

/// Apache with mod_auth_openidc protecting `/protected` for `rp`.
fn start_apache(port: u16, issuer: &str, rp: &Rp, keep_log_at: PathBuf) -> Apache {
    let secret = rp.secret.as_deref().expect("a confidential client");
    assert!(
        !secret.contains(['"', '\\']) && !rp.client_id.contains(['"', '\\']),
        "{secret}"
    );
    let modules = [
        "authn_core",
        "authz_core",
        "authz_user",
        "include",
        "auth_openidc",
    ];
    Apache::start(
        port,
        &modules,
        |root| {
            apache::put(root, "htdocs/protected/page.html", PAGE);
            apache::put(root, "htdocs/bye.html", BYE);
            format!(
                r#"LogLevel warn auth_openidc:debug
DocumentRoot "{root}/htdocs"
<Directory "{root}/htdocs">
    ForceType text/html
</Directory>

OIDCProviderMetadataURL {issuer}/.well-known/openid-configuration
OIDCClientID "{client_id}"
OIDCClientSecret "{secret}"
OIDCRedirectURI {redirect}
OIDCCryptoPassphrase "{passphrase}"
OIDCScope "openid email profile"
OIDCPKCEMethod S256
OIDCRemoteUserClaim sub

<Location /protected>
    AuthType openid-connect
    Require valid-user
    Options +Includes
    SetOutputFilter INCLUDES
</Location>
"#,
                root = root.display(),
                client_id = rp.client_id,
                redirect = rp.redirect,
                passphrase = uuid::Uuid::new_v4().simple(),
            )
        },
        keep_log_at,
    )
}

/// The person's Gatehouse sessions: (id, ended).
async fn sessions_of(app: &TestApp, user_id: &str) -> Vec<(String, bool)> {
    let user = user_id.to_owned();
    app.db(move |conn| {
        use diesel::prelude::*;
        use gatehouse::db::schema::sessions;
        let rows: Vec<(String, Option<chrono::NaiveDateTime>)> = sessions::table
            .filter(sessions::user_id.eq(user))
            .select((sessions::id, sessions::ended_at))
            .load(conn)
            .unwrap();
        rows.into_iter().map(|(id, e)| (id, e.is_some())).collect()
    })
    .await
}

/// The one live session of the person.
async fn live_sid(app: &TestApp, user_id: &str) -> String {
    let live: Vec<String> = sessions_of(app, user_id)
        .await
        .into_iter()
        .filter(|(_, ended)| !ended)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(live.len(), 1, "{live:?}");
    live.into_iter().next().unwrap()
}

/// Waits until Gatehouse's back-channel delivery of `sid`'s end to the client is `delivered`
/// (mod_auth_openidc answers 2xx only to a logout token it validated).
async fn wait_delivered(app: &TestApp, admin: &str, rp: &Rp, sid: &str, apache: &Apache) {
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, body) = app
            .get_with_token("/admin/api/deliveries?limit=100", admin)
            .await;
        assert_eq!(status, 200, "{body}");
        let ours: Vec<&Value> = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["client_id"] == rp.client_id.as_str() && d["sid"] == sid)
            .collect();
        assert!(ours.len() <= 1, "{body}");
        match ours.first().map(|d| d["state"].as_str().unwrap_or("")) {
            Some("delivered") => return,
            Some("pending") | None => {}
            Some(_) => panic!(
                "the logout token was refused: {}\n{}",
                ours[0],
                apache.logs()
            ),
        }
        assert!(
            Instant::now() < deadline,
            "no delivered logout for {sid}: {body}\n{}",
            apache.logs()
        );
        sleep_ms(50).await;
    }
}

/// The browser is on the protected page, signed in as `user_id`; returns the access token the
/// module passed to the page.
async fn assert_on_page(br: &Chromium, apache: &Apache, user_id: &str, name: &str) -> String {
    let sub = br.text("#sub").await;
    br.shot(name).await;
    let at = br.url().await;
    assert_eq!(
        at.origin().ascii_serialization(),
        apache.url(""),
        "{at}\n{}",
        apache.logs()
    );
    assert_eq!(at.path(), "/protected/page.html", "{at}");
    assert_eq!(sub, user_id);
    assert_eq!(br.text("#user").await, user_id);
    assert_eq!(br.text("#email").await, EMAIL);
    let token = br.text("#at").await;
    assert!(!token.is_empty(), "no access token on the page");
    token
}

/// The browser shows Gatehouse's sign-in form (a flow from the authorization endpoint).
async fn assert_on_sign_in(br: &Chromium, app: &TestApp, apache: &Apache, name: &str) {
    br.wait_for("#password-form").await;
    br.shot(name).await;
    let at = br.url().await;
    assert_eq!(
        at.origin().ascii_serialization(),
        app.address,
        "{at}\n{}",
        apache.logs()
    );
    assert_eq!(at.path(), "/login", "{at}");
    assert!(at.query().is_some_and(|q| q.starts_with("flow=")), "{at}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mod_auth_openidc_protects_a_location_in_chromium() {
    if !installed() {
        return skip_without(
            "apache2 with mod_auth_openidc (tests/clients/mod_auth_openidc/install.sh)",
        );
    }
    let Some(br) = Chromium::start("mod_auth_openidc").await else {
        return;
    };
    let settings = json!({ "logout_retry_base_ms": 100, "logout_poll_ms": 50 });
    let app = TestApp::spawn_set(Backend::Sqlite, settings).await.unwrap();
    let (_, admin) = app.admin("13700137000").await;
    let user_id = app.signup(USER).await["id"].as_str().unwrap().to_owned();
    // The person's e-mail address, as a verified profile change would have saved it.
    let id = user_id.clone();
    app.db(move |conn| {
        use diesel::prelude::*;
        use gatehouse::db::schema::users;
        diesel::update(users::table.find(id))
            .set(users::email.eq(EMAIL))
            .execute(conn)
            .unwrap();
    })
    .await;

    // The defaults (RS256, client_secret_basic) are what the module can use.
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/protected/redirect_uri");
    let bye = format!("http://127.0.0.1:{port}/bye.html");
    let rp = register(
        &app,
        &admin,
        json!({
            "name": "mod_auth_openidc",
            "redirect_uris": [redirect],
            "logout_url": format!("{redirect}?logout=backchannel"),
            "post_logout_redirect_uris": [bye],
        }),
    )
    .await;
    let apache = start_apache(
        port,
        &app.settings.issuer(),
        &rp,
        br.shots.join("apache-error.log"),
    );
    let page = apache.url("/protected/page.html");

    // The module's authorization request (seen without a browser): code flow in query mode
    // with PKCE S256, to Gatehouse's authorization endpoint.
    let res = app.client.get(&page).send().await.unwrap();
    assert_eq!(res.status(), 302, "{}", apache.logs());
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&app.url("/oauth2/authorize?")),
        "{location}"
    );
    assert_eq!(query_param(&location, "client_id"), rp.client_id);
    assert_eq!(query_param(&location, "redirect_uri"), redirect);
    assert_eq!(query_param(&location, "response_type"), "code");
    assert_eq!(query_param(&location, "scope"), "openid email profile");
    assert_eq!(query_param(&location, "code_challenge_method"), "S256");

    // Sign-in: the protected page sends the browser to Gatehouse's sign-in page, and back.
    br.goto(&page, "open-protected").await;
    assert_on_sign_in(&br, &app, &apache, "gatehouse-sign-in").await;
    br.sign_in(USER, PASSWORD).await;
    let first_token = assert_on_page(&br, &apache, &user_id, "protected-page").await;
    let at = claims(&first_token);
    assert_eq!(at["sub"], user_id.as_str(), "{at}");
    assert_eq!(at["client_id"], rp.client_id.as_str(), "{at}");

    // `?refresh=`: the module refreshes its access token at the token endpoint (Basic) and
    // returns to the page without an error_code.
    let refresh = format!(
        "{redirect}?refresh={}&access_token={}",
        urlencode(&page),
        urlencode(&first_token)
    );
    br.goto(&refresh, "refresh").await;
    let refreshed = assert_on_page(&br, &apache, &user_id, "after-refresh").await;
    let at = br.url().await;
    assert!(at.query().is_none(), "{at}\n{}", apache.logs());
    assert_ne!(refreshed, first_token, "the access token was not refreshed");
    assert_eq!(claims(&refreshed)["sub"], user_id.as_str());
    // Still signed in at the module: the page shows without a trip to Gatehouse.
    br.goto(&page, "again").await;
    assert_eq!(
        assert_on_page(&br, &apache, &user_id, "still-signed-in").await,
        refreshed
    );

    // Back-channel: the operator ends the person's sessions; Gatehouse POSTs a logout token to
    // `<OIDCRedirectURI>?logout=backchannel`, which the module validates (2xx) and acts on:
    // the next request goes back to Gatehouse, now to its sign-in page.
    let sid = live_sid(&app, &user_id).await;
    let (status, body) = app
        .send_with_token(
            reqwest::Method::POST,
            &format!("/admin/api/users/{user_id}/signout"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    wait_delivered(&app, &admin, &rp, &sid, &apache).await;
    br.goto(&page, "after-back-channel").await;
    assert_on_sign_in(&br, &app, &apache, "back-to-gatehouse").await;

    // Signed in again, then RP-initiated logout through the module's `?logout=`: it drops its
    // session and sends the browser to Gatehouse's end_session_endpoint with the ID token as
    // hint, which ends the Gatehouse session and returns to the registered page.
    br.sign_in(USER, PASSWORD).await;
    assert_on_page(&br, &apache, &user_id, "signed-in-again").await;
    let sid = live_sid(&app, &user_id).await;
    br.goto(&format!("{redirect}?logout={}", urlencode(&bye)), "logout")
        .await;
    br.wait_for("#bye").await;
    let at = br.url().await;
    assert_eq!(at.as_str(), bye, "{}", apache.logs());
    assert!(
        sessions_of(&app, &user_id)
            .await
            .iter()
            .all(|(_, ended)| *ended),
        "the Gatehouse session did not end"
    );
    // The initiator is told too (the module finds no session left to drop).
    wait_delivered(&app, &admin, &rp, &sid, &apache).await;
    // Neither the module nor Gatehouse has a session: the sign-in page again.
    br.goto(&page, "after-logout").await;
    assert_on_sign_in(&br, &app, &apache, "signed-out-everywhere").await;

    drop(apache);
    br.close().await;
}
