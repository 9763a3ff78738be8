//! `/login` (with silent SSO) and `/logout`.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::signed_in::{Onward, back_to_partner, finish_sign_in};
use crate::accounts::routes::signin::{CodeSigninRequest, SigninRequest};
use crate::accounts::{model, signin};
use crate::domain::{Expect, Number};
use crate::error::{ApiError, ApiResult};
use crate::flow::Flow;
use crate::http::client_ip::client_ip;
use crate::http::input::Input;
use crate::http::redirect::Location;
use crate::i18n::Lang;
use crate::observe::SigninMethod;
use crate::pages::form::Posted;
use crate::pages::{self, Texts, i18n};
use crate::partners::{self, ClientRow, Registered};
use crate::sessions::Amr;
use crate::state::{AppState, Shared};

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub t: &'static Texts,
    pub csrf: &'a str,
    pub callback_url: &'a str,
    /// A protocol flow the sign-in is for (`crate::flow`).
    pub flow: &'a str,
    pub client_name: &'a str,
    pub captcha_id: String,
    pub captcha_image: String,
    pub captcha_test_answer: String,
    pub number: &'a str,
    pub tab: &'a str,
    pub errors: BTreeMap<&'static str, &'static str>,
    pub notice: &'a str,
}

impl LoginPage<'_> {
    pub fn error(&self, field: &str) -> &str {
        self.errors.get(field).copied().unwrap_or("")
    }
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    pub callback_url: Option<String>,
    pub notice: Option<String>,
    pub flow: Option<String>,
}

/// A fresh captcha for a page: its id and the image as a data URL.
pub async fn page_captcha(state: &AppState) -> ApiResult<(String, String, String)> {
    use base64::Engine;
    let (id, answer, png) = crate::captcha::create_image(state).await?;
    let image = format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    );
    let test_answer = if state.settings.captcha_test_answers {
        answer
    } else {
        String::new()
    };
    Ok((id, image, test_answer))
}

pub(super) async fn registered(
    state: &AppState,
    raw: Option<&str>,
) -> Result<Option<(ClientRow, Registered)>, ApiError> {
    match raw.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(url) => partners::for_callback(state, url).await.map(Some),
    }
}

pub(super) fn page_error(state: &AppState, req: &HttpRequest, err: ApiError) -> HttpResponse {
    let status = actix_web::ResponseError::status_code(&err);
    pages::error_page(state, req, status, err.reason())
}

/// GET /login: silent SSO for a live session, else the sign-in page.
/// Where a browser already signed in goes instead of the form: back to the partner (with a
/// token or ticket in the same session) or to its account page.
async fn onward(
    state: &AppState,
    req: &HttpRequest,
    target: Option<&(ClientRow, Registered)>,
) -> ApiResult<Option<Location>> {
    let Some((sid, _)) = pages::current_session(state, req).await? else {
        return Ok(None);
    };
    match target {
        Some((client, url)) => back_to_partner(state, &sid, client, url).await.map(Some),
        None => Ok(Some(Location::page("/account"))),
    }
}

pub async fn login_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<LoginQuery>,
) -> HttpResponse {
    if let Some(id) = query.flow.as_deref() {
        return flow_form(&state, &req, id).await;
    }
    let target = match registered(&state, query.callback_url.as_deref()).await {
        Ok(t) => t,
        Err(err) => return page_error(&state, &req, err),
    };
    match onward(&state, &req, target.as_ref()).await {
        Ok(Some(to)) => return pages::redirect(&state, StatusCode::FOUND, to).finish(),
        Err(err) => return page_error(&state, &req, err),
        Ok(None) => {}
    }
    let t = i18n::texts(&req);
    let notice = match query.notice.as_deref() {
        Some("signed_up") => t.signup_done,
        Some("reset") => t.reset_done,
        _ => "",
    };
    let client_name = target
        .as_ref()
        .map(|(c, _)| c.name.clone())
        .unwrap_or_default();
    show_form(
        &state,
        &req,
        FormState {
            callback_url: query.callback_url.as_deref().unwrap_or(""),
            flow: "",
            client_name: &client_name,
            number: "",
            tab: "password",
            errors: BTreeMap::new(),
            notice,
        },
        StatusCode::OK,
    )
    .await
}

/// The sign-in page for a protocol flow: always the form, even with a live session (the
/// flow asked for a sign-in, perhaps a second one).
async fn flow_form(state: &AppState, req: &HttpRequest, id: &str) -> HttpResponse {
    let flow = match Flow::load(state, id).await {
        Ok(Some(flow)) => flow,
        Ok(None) => return pages::error_page(state, req, StatusCode::BAD_REQUEST, "flow_expired"),
        Err(err) => return page_error(state, req, err),
    };
    show_form(
        state,
        req,
        FormState {
            callback_url: "",
            flow: id,
            client_name: &flow.client_name,
            number: flow.login_hint.as_deref().unwrap_or(""),
            tab: "password",
            errors: BTreeMap::new(),
            notice: "",
        },
        StatusCode::OK,
    )
    .await
}

struct FormState<'a> {
    callback_url: &'a str,
    flow: &'a str,
    client_name: &'a str,
    number: &'a str,
    tab: &'a str,
    errors: BTreeMap<&'static str, &'static str>,
    notice: &'a str,
}

async fn show_form(
    state: &AppState,
    req: &HttpRequest,
    form: FormState<'_>,
    status: StatusCode,
) -> HttpResponse {
    let (captcha_id, captcha_image, captcha_test_answer) = match page_captcha(state).await {
        Ok(c) => c,
        Err(err) => return page_error(state, req, err),
    };
    pages::render_form(state, req, |csrf| {
        pages::render(
            state,
            status,
            &LoginPage {
                t: i18n::texts(req),
                csrf,
                callback_url: form.callback_url,
                flow: form.flow,
                client_name: form.client_name,
                captcha_id,
                captcha_image,
                captcha_test_answer,
                number: form.number,
                tab: form.tab,
                errors: form.errors,
                notice: form.notice,
            },
        )
    })
}

/// The field an error belongs next to, and its text.
fn field_error(t: &'static Texts, err: &ApiError) -> (&'static str, &'static str, StatusCode) {
    let status = actix_web::ResponseError::status_code(err);
    let (field, text) = match err {
        ApiError::CaptchaInvalid => ("client_code", t.err_captcha),
        ApiError::VerifyCodeInvalid => ("verify_code", t.err_code),
        ApiError::CredentialsInvalid => ("pwd", t.err_credentials),
        ApiError::RateLimited { .. } => ("form", t.err_locked),
        ApiError::AccountDisabled => ("form", t.err_disabled),
        ApiError::AccountNotFound => ("number", t.err_not_found),
        ApiError::AccountExists => ("number", t.err_exists),
        ApiError::PasswordWeak(_) => ("pwd", t.err_weak),
        ApiError::InvalidParams(fields) if fields.contains_key("number") => {
            ("number", t.err_number)
        }
        ApiError::InvalidParams(_) => ("form", t.err_required),
        _ => ("form", t.err_unavailable),
    };
    (field, text, status)
}

/// The form read as the JSON sign-in routes read the same fields, and checked as they check
/// them.
async fn authenticate_form(
    state: &AppState,
    req: &HttpRequest,
    input: &Input,
) -> ApiResult<(model::UserRow, Amr)> {
    let ip = client_ip(req, &state.proxies);
    let number = |raw: &str| Number::from_field("number", raw, Expect::PhoneOrEmail);
    if input.str("method") == Some("code") {
        let p: CodeSigninRequest = input.parse()?;
        let number = number(&p.number)?;
        let amr = match number {
            Number::Phone(_) => Amr::SmsCode,
            Number::Email(_) => Amr::EmailCode,
        };
        let user = signin::check_code(state, &number, &p.verify_code, ip).await?;
        return Ok((user, amr));
    }
    let p: SigninRequest = input.parse()?;
    let user = p.check(state, &number(&p.number)?, ip).await?;
    Ok((user, Amr::Password))
}

/// POST /login: signs in, sets a new session cookie, and 303s back.
pub async fn login(state: Shared, req: HttpRequest, (form, input): Posted) -> HttpResponse {
    if !pages::csrf_ok(&state, &req, form.csrf.as_deref()) {
        return pages::error_page(&state, &req, StatusCode::FORBIDDEN, "forbidden");
    }
    let flow = match input.str("flow") {
        None => None,
        Some(id) => match Flow::load(&state, id).await {
            Ok(Some(flow)) => Some((id, flow)),
            Ok(None) => {
                return pages::error_page(&state, &req, StatusCode::BAD_REQUEST, "flow_expired");
            }
            Err(err) => return page_error(&state, &req, err),
        },
    };
    let target = match registered(&state, input.str("callback_url")).await {
        Ok(t) => t,
        Err(err) => return page_error(&state, &req, err),
    };
    let method = match input.str("method") {
        Some("code") => SigninMethod::Code,
        _ => SigninMethod::Password,
    };
    let authenticated = authenticate_form(&state, &req, &input).await;
    if authenticated.is_err() {
        crate::audit::signin_attempt(&state, &req, method, &authenticated).await;
    }
    let (user, amr) = match authenticated {
        Ok(signed_in) => signed_in,
        Err(err) => {
            let name = flow.as_ref().map(|(_, f)| f.client_name.as_str());
            return form_again(&state, &req, &input, target.as_ref(), name, &err).await;
        }
    };
    let onward = Onward {
        target: target.as_ref(),
        flow,
    };
    let finished = finish_sign_in(&state, &req, &user, amr, onward).await;
    state.metrics.signin(method, &finished);
    match finished {
        Ok(res) => res,
        Err(err) => page_error(&state, &req, err),
    }
}

/// The sign-in form again, with what was typed (never the password) and the error at its field.
async fn form_again(
    state: &AppState,
    req: &HttpRequest,
    typed: &Input,
    target: Option<&(ClientRow, Registered)>,
    flow_client: Option<&str>,
    err: &ApiError,
) -> HttpResponse {
    let (field, text, status) = field_error(i18n::texts(req), err);
    let client_name = target
        .map(|(c, _)| c.name.clone())
        .or(flow_client.map(str::to_owned))
        .unwrap_or_default();
    let tab = if typed.str("method") == Some("code") {
        "code"
    } else {
        "password"
    };
    let form = FormState {
        callback_url: typed.str("callback_url").unwrap_or(""),
        flow: typed.str("flow").unwrap_or(""),
        client_name: &client_name,
        number: typed.str("number").unwrap_or(""),
        tab,
        errors: BTreeMap::from([(field, text)]),
        notice: "",
    };
    show_form(state, req, form, status).await
}

#[derive(Debug, Deserialize)]
pub struct LangQuery {
    pub to: Option<String>,
    pub back: Option<String>,
}

/// GET /lang?to=en&back=/login: the visible language switch.
pub async fn switch_language(
    state: web::Data<AppState>,
    query: web::Query<LangQuery>,
) -> HttpResponse {
    let lang = query
        .to
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or(Lang::DEFAULT);
    // Only a path of our own origin: never an open redirect.
    let back = Location::local_or(query.back.as_deref(), "/login");
    let mut c = pages::cookie(&state, "lang", lang.tag());
    c.set_http_only(false);
    pages::redirect(&state, StatusCode::SEE_OTHER, back)
        .cookie(c)
        .finish()
}
