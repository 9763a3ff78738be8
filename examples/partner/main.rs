//! A minimal partner site for Gatehouse: everything a site needs to let people sign in with
//! Gatehouse and to be signed out when their Gatehouse session ends.
//!
//! ```text
//! GATEHOUSE_URL=http://127.0.0.1:8080 PARTNER_LISTEN=127.0.0.1:9001 \
//! PARTNER_PUBLIC_URL=http://127.0.0.1:9001 PARTNER_MODE=ticket \
//! CLIENT_ID=... CLIENT_SECRET=... cargo run --example partner
//! ```
//!
//! The flow, route by route:
//! - `GET /`: with our own session cookie, the signed-in page; otherwise off to Gatehouse's
//!   `/login` with our callback URL.
//! - `GET /callback?ticket=…` (or `?token=…`): Gatehouse sends the browser back here; our
//!   backend checks what it brought with `POST /token` and opens a local session.
//! - `POST /backchannel-logout`: Gatehouse tells us a session ended (a signed `logout_token`);
//!   we drop our local sessions for it.
//! - `GET /signout`: drop our session and end the Gatehouse one, which signs the person out
//!   of every other partner too.
//! - `GET /logouts`: the session ids we were told about (for tests and operators).
//!
//! Sessions live in memory, so this is a demonstration, not a production store.

use std::collections::HashMap;
use std::sync::Mutex;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, get, post, web};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

/// The partner's own session cookie (not Gatehouse's: the two sites never share cookies).
const COOKIE: &str = "partner_session";
const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

struct Config {
    /// Where Gatehouse is reached, e.g. `http://127.0.0.1:8080`.
    gatehouse: String,
    /// Gatehouse's issuer (`iss` of its tokens): its public URL. Defaults to `gatehouse`;
    /// set `GATEHOUSE_ISSUER` when the backend reaches Gatehouse at another address.
    issuer: String,
    /// Our own base URL as the browser sees it.
    public_url: String,
    client_id: String,
    client_secret: String,
    /// `token` or `ticket`: must match the mode the partner was registered with.
    mode: String,
    /// Shown on our pages only.
    name: String,
}

impl Config {
    /// The callback registered with Gatehouse; sent verbatim to `/login` and `POST /token`.
    fn callback(&self) -> String {
        format!("{}/callback", self.public_url)
    }

    /// `{gatehouse}{path}?callback_url={return_to}`, URL-encoded.
    fn gatehouse_url(&self, path: &str, return_to: &str) -> String {
        let base = format!("{}{path}", self.gatehouse);
        url::Url::parse_with_params(&base, [("callback_url", return_to)])
            .expect("GATEHOUSE_URL is not a URL")
            .to_string()
    }
}

/// What we remember about a signed-in browser.
struct Session {
    user_id: String,
    /// Gatehouse's session id: the key back-channel logout uses.
    sid: String,
}

struct Partner {
    config: Config,
    http: reqwest::Client,
    sessions: Mutex<HashMap<String, Session>>,
    /// Every `sid` Gatehouse told us has ended, once each.
    logouts: Mutex<Vec<String>>,
}

type State = web::Data<Partner>;

fn redirect(to: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header(("Location", to))
        .finish()
}

fn page(status: actix_web::http::StatusCode, body: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Partner</title></head>\
             <body>{body}</body></html>"
        ))
}

/// Minimal HTML escaping for values we print.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[get("/")]
async fn home(state: State, req: HttpRequest) -> HttpResponse {
    let who = req.cookie(COOKIE).and_then(|c| {
        let sessions = state.sessions.lock().unwrap();
        sessions.get(c.value()).map(|s| s.user_id.clone())
    });
    match who {
        Some(user_id) => page(
            actix_web::http::StatusCode::OK,
            &format!(
                "<h1>{}</h1><p id=\"who\">Signed in as {}</p>\
                 <a id=\"signout\" href=\"/signout\">Sign out</a>",
                esc(&state.config.name),
                esc(&user_id)
            ),
        ),
        // Not signed in here: let Gatehouse sign the person in (or, if they already have a
        // Gatehouse session, it sends them straight back without a form).
        None => redirect(
            &state
                .config
                .gatehouse_url("/login", &state.config.callback()),
        ),
    }
}

#[derive(Deserialize)]
struct CallbackQuery {
    token: Option<String>,
    ticket: Option<String>,
}

#[get("/callback")]
async fn callback(state: State, query: web::Query<CallbackQuery>) -> HttpResponse {
    let cfg = &state.config;
    // Only accept what our registered mode delivers.
    let (field, value) = match (cfg.mode.as_str(), &query.token, &query.ticket) {
        ("token", Some(t), _) => ("token", t.clone()),
        ("ticket", _, Some(t)) => ("ticket", t.clone()),
        _ => return denied("no token or ticket for this partner's mode"),
    };
    // In token mode the JWT travelled through the browser: first make sure, offline, that it
    // was minted for us (`aud` = our client_id), so a token issued to another partner cannot
    // be replayed here.
    if field == "token"
        && let Err(e) = verify(&state, &value, "JWT").await
    {
        return denied(&format!("token rejected: {e}"));
    }
    // Server to server: check it with Gatehouse, authenticated with our client credentials.
    // This also checks the session is still live (a ticket is redeemed, once), and records us
    // as logged into the session, so we get its back-channel logout. In ticket mode the answer
    // also carries `data.token`, a bearer token for Gatehouse's API, should we need one.
    let answer = state
        .http
        .post(format!("{}/token", cfg.gatehouse))
        .basic_auth(&cfg.client_id, Some(&cfg.client_secret))
        .form(&[(field, value.as_str()), ("callback_url", &cfg.callback())])
        .send()
        .await;
    let body: Value = match answer {
        Ok(res) if res.status().is_success() => res.json().await.unwrap_or_default(),
        Ok(res) => return denied(&format!("Gatehouse answered {}", res.status())),
        Err(e) => return denied(&format!("Gatehouse unreachable: {e}")),
    };
    let data = &body["data"];
    let (Some(user_id), Some(sid)) = (data["user_id"].as_str(), data["sid"].as_str()) else {
        return denied("unexpected answer from Gatehouse");
    };
    // A fresh random id for our own session cookie.
    let id = format!("{:032x}", rand::random::<u128>());
    state.sessions.lock().unwrap().insert(
        id.clone(),
        Session {
            user_id: user_id.to_owned(),
            sid: sid.to_owned(),
        },
    );
    let cookie = Cookie::build(COOKIE, id)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .finish();
    HttpResponse::Found()
        .cookie(cookie)
        .insert_header(("Location", "/"))
        .finish()
}

fn denied(why: &str) -> HttpResponse {
    eprintln!("sign-in refused: {why}");
    page(
        actix_web::http::StatusCode::UNAUTHORIZED,
        &format!("<p id=\"denied\">Sign-in failed: {}</p>", esc(why)),
    )
}

/// Why a JWT was not accepted: `Unverifiable` when we could not fetch the keys (try later),
/// `Invalid` when the token itself is bad.
#[derive(Debug)]
enum Rejection {
    Unverifiable(String),
    Invalid(String),
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::Unverifiable(e) | Rejection::Invalid(e) => f.write_str(e),
        }
    }
}

/// Verifies a Gatehouse JWT offline against its published keys: signature (EdDSA), `iss`,
/// `aud` = our client_id, expiry, and the header `typ`. Returns the claims.
///
/// This fetches the JWK Set every time for brevity; a real partner caches it (Gatehouse sends
/// `Cache-Control: max-age=300`) and refetches when it meets an unknown `kid`.
async fn verify(state: &Partner, token: &str, typ: &str) -> Result<Value, Rejection> {
    let cfg = &state.config;
    let invalid = |e: &dyn std::fmt::Display| Rejection::Invalid(e.to_string());
    let header = jsonwebtoken::decode_header(token).map_err(|e| invalid(&e))?;
    if header.typ.as_deref() != Some(typ) {
        return Err(Rejection::Invalid(format!("typ is not {typ}")));
    }
    let keys: JwkSet = async {
        state
            .http
            .get(format!("{}/.well-known/jwks.json", cfg.gatehouse))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
    }
    .await
    .map_err(|e| Rejection::Unverifiable(e.to_string()))?;
    let jwk = match header.kid.as_deref() {
        Some(kid) => keys.find(kid),
        None => keys.keys.first(),
    }
    .ok_or_else(|| Rejection::Invalid("unknown signing key".into()))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| invalid(&e))?;
    // Only EdDSA: never let the token's header choose the algorithm.
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&[&cfg.client_id]);
    validation.set_issuer(&[&cfg.issuer]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| invalid(&e))
}

#[derive(Deserialize)]
struct LogoutForm {
    logout_token: Option<String>,
}

/// OpenID Connect Back-Channel Logout: Gatehouse posts a signed `logout_token` when a
/// session we were logged into ends. Answer 2xx once handled; a 400 tells Gatehouse the token
/// is bad and stops its retries, anything else (5xx, no answer) makes it try again later, so
/// we must not answer 400 merely because we could not check the token just now.
#[post("/backchannel-logout")]
async fn backchannel_logout(state: State, form: web::Form<LogoutForm>) -> HttpResponse {
    let Some(token) = form.logout_token.as_deref() else {
        return HttpResponse::BadRequest().body("logout_token missing");
    };
    let claims = match verify(&state, token, "logout+jwt").await {
        Ok(c) => c,
        Err(Rejection::Unverifiable(e)) => return HttpResponse::ServiceUnavailable().body(e),
        Err(Rejection::Invalid(e)) => return HttpResponse::BadRequest().body(e),
    };
    // A logout token carries the back-channel logout event and never a nonce (which would
    // mean someone is passing an ID token off as a logout token).
    let is_logout = claims["events"][LOGOUT_EVENT].is_object() && claims.get("nonce").is_none();
    let Some(sid) = claims["sid"].as_str().filter(|_| is_logout) else {
        return HttpResponse::BadRequest().body("not a logout token");
    };
    eprintln!("back-channel logout for session {sid}");
    // Delivery is at-least-once: the same sid may arrive again, which is harmless here.
    state.sessions.lock().unwrap().retain(|_, s| s.sid != sid);
    let mut seen = state.logouts.lock().unwrap();
    if !seen.iter().any(|s| s == sid) {
        seen.push(sid.to_owned());
    }
    HttpResponse::Ok().finish()
}

#[get("/signout")]
async fn signout(state: State, req: HttpRequest) -> HttpResponse {
    if let Some(c) = req.cookie(COOKIE) {
        state.sessions.lock().unwrap().remove(c.value());
    }
    let mut gone = Cookie::build(COOKIE, "").path("/").finish();
    gone.make_removal();
    // Ending the Gatehouse session signs the person out of every partner (ourselves included,
    // by back-channel); Gatehouse then sends the browser back to our home page.
    let back = format!("{}/", state.config.public_url);
    HttpResponse::Found()
        .cookie(gone)
        .insert_header(("Location", state.config.gatehouse_url("/logout", &back)))
        .finish()
}

#[get("/logouts")]
async fn logouts(state: State) -> HttpResponse {
    HttpResponse::Ok().json(&*state.logouts.lock().unwrap())
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} must be set"))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let gatehouse = env("GATEHOUSE_URL").trim_end_matches('/').to_owned();
    let config = Config {
        issuer: std::env::var("GATEHOUSE_ISSUER")
            .map(|s| s.trim_end_matches('/').to_owned())
            .unwrap_or_else(|_| gatehouse.clone()),
        gatehouse,
        public_url: env("PARTNER_PUBLIC_URL").trim_end_matches('/').to_owned(),
        client_id: env("CLIENT_ID"),
        client_secret: env("CLIENT_SECRET"),
        mode: std::env::var("PARTNER_MODE").unwrap_or_else(|_| "ticket".into()),
        name: std::env::var("PARTNER_NAME").unwrap_or_else(|_| "Partner".into()),
    };
    assert!(
        matches!(config.mode.as_str(), "token" | "ticket"),
        "PARTNER_MODE must be token or ticket"
    );
    let listen = env("PARTNER_LISTEN");
    let state = web::Data::new(Partner {
        config,
        http: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()
            .expect("HTTP client"),
        sessions: Mutex::default(),
        logouts: Mutex::default(),
    });
    eprintln!("partner listening on {listen}");
    HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .service(home)
            .service(callback)
            .service(backchannel_logout)
            .service(signout)
            .service(logouts)
    })
    .workers(1)
    .bind(listen)?
    .run()
    .await
}
