//! `/signup` and `/forgot`: codes sent by e-mail or SMS (the page's script calls
//! `POST /verify_code`), then the same account logic as the JSON API.

use std::collections::BTreeMap;

use crate::accounts::routes::register::{ResetPasswordRequest, SignupRequest};
use crate::error::{ApiError, ApiResult};
use crate::http::input::Input;
use crate::pages::form::Posted;
use crate::pages::{self, Texts, i18n};
use crate::state::{AppState, Shared};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

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
    typed: Option<&Input>,
    errors: BTreeMap<&'static str, &'static str>,
    status: StatusCode,
) -> HttpResponse {
    pages::render_form(state, req, |csrf| {
        pages::render(
            state,
            status,
            &RegisterPage {
                t: i18n::texts(req),
                csrf,
                kind,
                number: typed.and_then(|f| f.str("number")).unwrap_or(""),
                username: typed.and_then(|f| f.str("username")).unwrap_or(""),
                errors,
            },
        )
    })
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

fn errors_for(t: &'static Texts, err: &ApiError) -> BTreeMap<&'static str, &'static str> {
    let (field, text) = match err {
        ApiError::VerifyCodeInvalid => ("verify_code", t.err_code),
        ApiError::PasswordWeak(_) => ("pwd", t.err_weak),
        ApiError::AccountExists => ("number", t.err_exists),
        ApiError::AccountNotFound => ("number", t.err_not_found),
        ApiError::Conflict(_) => ("username", t.err_exists),
        // A field left out is shown at that field; a malformed number at the number.
        ApiError::InvalidParams(f) => match ["number", "verify_code", "pwd", "username"]
            .into_iter()
            .find(|field| f.contains_key(*field))
        {
            Some("number") | None => ("number", t.err_number),
            Some(field) => (field, t.err_required),
        },
        _ => ("form", t.err_unavailable),
    };
    BTreeMap::from([(field, text)])
}

/// Creates the account or resets its password, reading the form as the JSON API reads the
/// same request; where the sign-in page should say so.
async fn apply(state: &AppState, input: &Input, kind: &str) -> ApiResult<&'static str> {
    if kind == "signup" {
        input.parse::<SignupRequest>()?.perform(state).await?;
        Ok("/login?notice=signed_up")
    } else {
        input
            .parse::<ResetPasswordRequest>()?
            .perform(state)
            .await?;
        Ok("/login?notice=reset")
    }
}

async fn submit(
    state: Shared,
    req: HttpRequest,
    (form, input): Posted,
    kind: &str,
) -> HttpResponse {
    if !pages::csrf_ok(&state, &req, form.csrf.as_deref()) {
        return pages::error_page(&state, &req, StatusCode::FORBIDDEN, "forbidden");
    }
    match apply(&state, &input, kind).await {
        Ok(notice) => pages::redirect(&state, StatusCode::SEE_OTHER, notice).finish(),
        Err(err) => {
            let status = actix_web::ResponseError::status_code(&err);
            let errors = errors_for(i18n::texts(&req), &err);
            show(&state, &req, kind, Some(&input), errors, status)
        }
    }
}

pub async fn signup(state: Shared, req: HttpRequest, posted: Posted) -> HttpResponse {
    submit(state, req, posted, "signup").await
}

pub async fn forgot(state: Shared, req: HttpRequest, posted: Posted) -> HttpResponse {
    submit(state, req, posted, "forgot").await
}
