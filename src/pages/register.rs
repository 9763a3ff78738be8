//! `/signup` and `/forgot`: codes sent by e-mail or SMS (the page's script calls
//! `POST /verify_code`), then the same account logic as the JSON API.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::accounts::registration;
use crate::domain::{Expect, Number};
use crate::error::{ApiError, ApiResult};
use crate::pages::{self, Texts, i18n};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "register.html")]
pub struct RegisterPage<'a> {
    pub t: &'static Texts,
    pub csrf: &'a str,
    /// `signup` or `forgot`.
    pub kind: &'a str,
    pub number: &'a str,
    pub username: &'a str,
    pub errors: BTreeMap<&'static str, &'static str>,
}

impl RegisterPage<'_> {
    pub fn error(&self, field: &str) -> &str {
        self.errors.get(field).copied().unwrap_or("")
    }
}

fn show(
    state: &AppState,
    req: &HttpRequest,
    kind: &str,
    f: Option<&RegisterForm>,
    errors: BTreeMap<&'static str, &'static str>,
    status: StatusCode,
) -> HttpResponse {
    let (csrf, cookie) = pages::csrf_token(state, req);
    let mut res = pages::render(
        state,
        status,
        &RegisterPage {
            t: i18n::texts(req),
            csrf: &csrf,
            kind,
            number: f.and_then(|f| f.number.as_deref()).unwrap_or(""),
            username: f.and_then(|f| f.username.as_deref()).unwrap_or(""),
            errors,
        },
    );
    if let Some(c) = cookie {
        let _ = res.add_cookie(&c);
    }
    res
}

pub async fn signup_form(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    show(
        &state,
        &req,
        "signup",
        None,
        BTreeMap::new(),
        StatusCode::OK,
    )
}

pub async fn forgot_form(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    show(
        &state,
        &req,
        "forgot",
        None,
        BTreeMap::new(),
        StatusCode::OK,
    )
}

#[derive(Debug, Deserialize)]
pub struct RegisterForm {
    pub csrf: Option<String>,
    pub number: Option<String>,
    pub verify_code: Option<String>,
    pub pwd: Option<String>,
    pub username: Option<String>,
}

fn errors_for(t: &'static Texts, err: &ApiError) -> BTreeMap<&'static str, &'static str> {
    let (field, text) = match err {
        ApiError::VerifyCodeInvalid => ("verify_code", t.err_code),
        ApiError::PasswordWeak(_) => ("pwd", t.err_weak),
        ApiError::AccountExists => ("number", t.err_exists),
        ApiError::AccountNotFound => ("number", t.err_not_found),
        ApiError::Conflict(_) => ("username", t.err_exists),
        ApiError::InvalidParams(f) if f.contains_key("username") => ("username", t.err_required),
        ApiError::InvalidParams(_) => ("number", t.err_number),
        _ => ("form", t.err_unavailable),
    };
    BTreeMap::from([(field, text)])
}

/// Creates the account or resets its password; where the sign-in page should say so.
async fn apply(state: &AppState, f: &RegisterForm, kind: &str) -> ApiResult<&'static str> {
    let number = Number::from_field(
        "number",
        f.number.as_deref().unwrap_or(""),
        Expect::PhoneOrEmail,
    )?;
    let pwd = f.pwd.as_deref().unwrap_or("");
    let code = f.verify_code.as_deref().unwrap_or("");
    if kind == "signup" {
        let username = f.username.as_deref().filter(|u| !u.is_empty());
        registration::create_account(state, number, pwd, Some(code), username).await?;
        Ok("/login?notice=signed_up")
    } else {
        registration::reset_password(state, number, pwd, code).await?;
        Ok("/login?notice=reset")
    }
}

async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    f: RegisterForm,
    kind: &str,
) -> HttpResponse {
    if !pages::csrf_ok(&state, &req, f.csrf.as_deref()) {
        return pages::error_page(&state, &req, StatusCode::FORBIDDEN, "forbidden");
    }
    match apply(&state, &f, kind).await {
        Ok(notice) => pages::redirect(&state, StatusCode::SEE_OTHER, notice).finish(),
        Err(err) => {
            let status = actix_web::ResponseError::status_code(&err);
            let errors = errors_for(i18n::texts(&req), &err);
            show(&state, &req, kind, Some(&f), errors, status)
        }
    }
}

pub async fn signup(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: pages::form::Form<RegisterForm>,
) -> HttpResponse {
    submit(state, req, form.into_inner(), "signup").await
}

pub async fn forgot(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: pages::form::Form<RegisterForm>,
) -> HttpResponse {
    submit(state, req, form.into_inner(), "forgot").await
}
