//! Gatehouse's own browser pages: sign-in (with silent SSO), sign-out, sign-up, password
//! reset, the person's account and the operators' console.
//!
//! Security: every answer carries a strict CSP (no inline script or style), `frame-ancestors
//! 'none'`, `Referrer-Policy: no-referrer` and HSTS over https. Forms are protected by a
//! double-submit CSRF token (an HttpOnly cookie that must match a hidden field) plus an
//! `Origin` check. The session cookie is HttpOnly, SameSite=Lax, `__Host-` and Secure over
//! https, and a new session (and cookie) is made at every sign-in.

pub mod account;
pub mod admin;
pub mod assets;
pub mod cas;
pub mod console_lists;
pub mod form;
pub mod i18n;
pub mod login;
pub mod logout;
pub mod oidc;
pub mod register;
mod signed_in;

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use askama::Template;
use sha2::{Digest, Sha256};

use crate::error::ApiResult;
use crate::http::redirect::Location;
use crate::state::AppState;
pub use i18n::Texts;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self' http: https:; frame-ancestors 'none'; base-uri 'none'";

pub fn session_cookie_name(state: &AppState) -> &'static str {
    if state.settings.is_https() {
        "__Host-gh_session"
    } else {
        "gh_session"
    }
}

fn csrf_cookie_name(state: &AppState) -> &'static str {
    if state.settings.is_https() {
        "__Host-gh_csrf"
    } else {
        "gh_csrf"
    }
}

pub fn cookie<'c>(state: &AppState, name: &'c str, value: String) -> Cookie<'c> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.is_https())
        .finish()
}

/// A response builder with the page security headers.
pub fn page(state: &AppState, status: StatusCode) -> HttpResponseBuilder {
    let mut b = HttpResponse::build(status);
    b.insert_header(("Content-Security-Policy", CSP))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("Cache-Control", "no-store"));
    if state.settings.is_https() {
        b.insert_header(("Strict-Transport-Security", "max-age=31536000"));
    }
    b
}

/// Renders a template as a page.
pub fn render(state: &AppState, status: StatusCode, tpl: &impl Template) -> HttpResponse {
    match tpl.render() {
        Ok(html) => page(state, status)
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(err) => {
            tracing::error!(%err, "template failed");
            page(state, StatusCode::INTERNAL_SERVER_ERROR).body("template error")
        }
    }
}

/// A redirect carrying the page headers (and any cookies set on the builder). Its target is a
/// [`Location`]: our own pages, a checked return path or a registered callback, nothing else.
pub fn redirect(
    state: &AppState,
    status: StatusCode,
    to: impl Into<Location>,
) -> HttpResponseBuilder {
    let mut b = page(state, status);
    b.insert_header(("Location", to.into().as_str()));
    b
}

/// The CSRF token of this browser, made when absent; the caller sets the returned cookie.
pub fn csrf_token(state: &AppState, req: &HttpRequest) -> (String, Option<Cookie<'static>>) {
    if let Some(c) = req.cookie(csrf_cookie_name(state))
        && c.value().len() >= 32
    {
        return (c.value().to_owned(), None);
    }
    let value = crate::partners::new_secret();
    (
        value.clone(),
        Some(cookie(state, csrf_cookie_name(state), value)),
    )
}

/// A page with a form: `page` renders it around this browser's CSRF token, and the token's
/// cookie is set on the answer when the browser had none yet.
pub fn render_form(
    state: &AppState,
    req: &HttpRequest,
    page: impl FnOnce(&str) -> HttpResponse,
) -> HttpResponse {
    let (csrf, cookie) = csrf_token(state, req);
    let mut res = page(&csrf);
    if let Some(c) = cookie {
        let _ = res.add_cookie(&c);
    }
    res
}

/// Whether a form post carries this browser's CSRF token and comes from our own origin.
pub fn csrf_ok(state: &AppState, req: &HttpRequest, field: Option<&str>) -> bool {
    let Some(cookie) = req.cookie(csrf_cookie_name(state)) else {
        return false;
    };
    let Some(field) = field else { return false };
    let same = aws_lc_rs::constant_time::verify_slices_are_equal(
        cookie.value().as_bytes(),
        field.as_bytes(),
    )
    .is_ok();
    let origin_ok = match req.headers().get("origin").and_then(|v| v.to_str().ok()) {
        None | Some("null") => true,
        Some(origin) => state.settings.public_url.origin() == origin,
    };
    same && origin_ok
}

pub fn browser_key(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The live Gatehouse session of this browser: `(sid, user_id)`.
pub async fn current_session(
    state: &AppState,
    req: &HttpRequest,
) -> ApiResult<Option<(String, String)>> {
    let Some(c) = req.cookie(session_cookie_name(state)) else {
        return Ok(None);
    };
    if c.value().len() > 128 {
        return Ok(None);
    }
    crate::sessions::by_browser_key(state, &browser_key(c.value())).await
}

/// The session behind a signed-in person's form post: the form's CSRF token is checked
/// first, then the session (`(sid, user_id)`). `Err` is the page to answer with instead: 403
/// for a bad token, the sign-in page for no session.
pub async fn own_post(
    state: &AppState,
    req: &HttpRequest,
    csrf: Option<&str>,
) -> Result<(String, String), HttpResponse> {
    if !csrf_ok(state, req, csrf) {
        return Err(error_page(state, req, StatusCode::FORBIDDEN, "forbidden"));
    }
    match current_session(state, req).await {
        Ok(Some(session)) => Ok(session),
        _ => Err(redirect(state, StatusCode::SEE_OTHER, "/login").finish()),
    }
}

/// A cookie that removes the session cookie.
pub fn clear_session_cookie(state: &AppState) -> Cookie<'static> {
    let mut c = cookie(state, session_cookie_name(state), String::new());
    c.set_max_age(time::Duration::ZERO);
    c
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub t: &'static Texts,
    pub title: &'a str,
    pub id: &'a str,
    pub text: &'a str,
    pub detail: &'a str,
    pub link: Option<(&'a str, &'a str)>,
}

/// An error page: shown instead of ever redirecting somewhere unregistered.
pub fn error_page(
    state: &AppState,
    req: &HttpRequest,
    status: StatusCode,
    reason: &str,
) -> HttpResponse {
    let t = i18n::texts(req);
    let text = match reason {
        "callback_not_registered" => t.err_callback,
        "forbidden" => t.err_forbidden,
        "flow_expired" => t.err_flow_expired,
        _ => t.err_generic,
    };
    render(
        state,
        status,
        &MessagePage {
            t,
            title: t.error_title,
            id: "error",
            text,
            detail: reason,
            link: Some(("/login", t.sign_in)),
        },
    )
}

/// The page routes (HTML, so outside the OpenAPI document).
pub fn routes(cfg: &mut actix_web::web::ServiceConfig) {
    use actix_web::web::{get, post, resource};
    cfg.service(
        resource("/login")
            .route(get().to(login::login_form))
            .route(post().to(login::login)),
    )
    .service(resource("/logout").route(get().to(logout::logout)))
    .service(
        resource("/cas/login")
            .route(get().to(cas::login))
            .default_service(actix_web::web::to(cas::not_get)),
    )
    .service(
        resource("/cas/logout")
            .route(get().to(cas::logout))
            .default_service(actix_web::web::to(cas::not_get)),
    )
    .service(resource("/lang").route(get().to(login::switch_language)))
    .service(
        resource("/signup")
            .route(get().to(register::signup_form))
            .route(post().to(register::signup)),
    )
    .service(
        resource("/forgot")
            .route(get().to(register::forgot_form))
            .route(post().to(register::forgot)),
    )
    .service(resource("/account").route(get().to(account::account)))
    .service(resource("/account/password").route(post().to(account::change_password)))
    .service(resource("/account/sessions/end").route(post().to(account::end_sessions)))
    .service(resource("/account/signout-all").route(post().to(account::end_sessions)))
    .service(resource("/admin").route(get().to(admin::console)))
    // Only the console's own kinds: `/admin/api/…` belongs to the JSON API, whose 405s this
    // resource would otherwise answer (empty, with its own `Allow`).
    .service(
        resource("/admin/{kind:clients|users|keys}/{id}/{verb}").route(post().to(admin::action)),
    )
    .service(resource("/static/{name}").route(get().to(assets::asset)));
}

/// What a POST wants the next page to say, carried across its 303 (post/redirect/get).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Flash {
    pub message: String,
    pub secret: String,
    pub error: String,
}

const FLASH_COOKIE: &str = "gh_flash";

/// A 303 to `to` whose page will show `flash` once.
pub async fn redirect_with_flash(
    state: &AppState,
    to: impl Into<Location>,
    flash: &Flash,
) -> HttpResponse {
    let id = crate::partners::new_secret();
    let stored = serde_json::to_string(flash).unwrap_or_default();
    if let Err(err) = state
        .store
        .set(
            &format!("flash:{id}"),
            &stored,
            std::time::Duration::from_secs(60),
        )
        .await
    {
        tracing::warn!(%err, "cannot keep a page message");
    }
    redirect(state, StatusCode::SEE_OTHER, to)
        .cookie(cookie(state, FLASH_COOKIE, id))
        .finish()
}

/// The flash left for this page, if any (read once).
pub async fn take_flash(state: &AppState, req: &HttpRequest) -> Flash {
    let Some(c) = req.cookie(FLASH_COOKIE) else {
        return Flash::default();
    };
    if c.value().len() > 64 {
        return Flash::default();
    }
    match state.store.take(&format!("flash:{}", c.value())).await {
        Ok(Some(raw)) => serde_json::from_str(&raw).unwrap_or_default(),
        _ => Flash::default(),
    }
}
