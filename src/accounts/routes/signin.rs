use actix_web::{HttpRequest, HttpResponse, patch, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::accounts::routes::{terminal, user_agent};
use crate::accounts::{UserRow, signin};
use crate::auth::AnySession;
use crate::domain::{Expect, Number};
use crate::error::ApiResult;
use crate::http::client_ip::client_ip;
use crate::http::envelope;
use crate::http::input::{Input, Required};
use crate::partners::{self, ClientRow};
use crate::sessions::{self, EndReason, NewSession, Which};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct SigninRequest {
    #[schema(schema_with = crate::openapi::fields::number, required = true)]
    pub number: Option<String>,
    #[schema(schema_with = crate::openapi::fields::password, required = true)]
    pub pwd: Option<String>,
    #[schema(schema_with = crate::openapi::fields::captcha_answer, required = true)]
    pub client_code: Option<String>,
    #[schema(schema_with = crate::openapi::fields::captcha_id, required = true)]
    pub captcha_id: Option<String>,
    #[schema(schema_with = crate::openapi::fields::callback_url_opt)]
    pub callback_url: Option<String>,
    /// Overridden by a `terminal` header.
    #[schema(schema_with = crate::openapi::fields::terminal_opt)]
    pub terminal: Option<String>,
}

async fn callback_client(state: &AppState, raw: Option<&str>) -> ApiResult<Option<ClientRow>> {
    match raw {
        Some(url) => Ok(Some(partners::for_callback(state, url).await?.0)),
        None => Ok(None),
    }
}

pub async fn start_session(
    state: &AppState,
    req: &HttpRequest,
    user: &UserRow,
    terminal: &str,
    client: Option<&ClientRow>,
) -> ApiResult<String> {
    let (token, _) = sessions::start(
        state,
        NewSession {
            user_id: &user.id,
            phone: user.phone.as_deref(),
            openid: user.openid.as_deref(),
            terminal,
            user_agent: &user_agent(req),
            ip: client_ip(req, &state.proxies).to_string(),
            client_id: client.map(|c| c.client_id.as_str()),
            browser_key: None,
        },
    )
    .await?;
    Ok(token)
}

/// Password sign-in with an image captcha.
#[utoipa::path(
    tag = "accounts",
    params(crate::openapi::TerminalHeader),
    request_body(content((SigninRequest = "application/json"), (SigninRequest = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "The token", body = crate::openapi::EnvelopeString),
        (status = 400, description = "invalid_params, captcha_invalid, callback_not_registered", body = crate::openapi::ErrorEnvelope),
        (status = 401, description = "credentials_invalid", body = crate::openapi::ErrorEnvelope),
        (status = 403, description = "account_disabled", body = crate::openapi::ErrorEnvelope),
        (status = 429, description = "rate_limited: the account is locked after repeated failures, or the client IP made too many failed sign-ins", body = crate::openapi::ErrorEnvelope),
        (status = 503, description = "unavailable: a backing service is down, or password checks are queued up (Retry-After)", body = crate::openapi::ErrorEnvelope),
        crate::openapi::responses::TooLarge,
    )
)]
#[post("/users/signin")]
pub async fn signin_with_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    input: Input,
) -> ApiResult<HttpResponse> {
    let p: SigninRequest = input.parse()?;
    let cookie = req.cookie("captcha_id").map(|c| c.value().to_owned());
    let mut required = Required::default();
    let number = required.take("number", p.number);
    let pwd = required.take("pwd", p.pwd);
    let answer = required.take("client_code", p.client_code);
    let captcha_id = required.take("captcha_id", p.captcha_id.or(cookie));
    required.finish()?;
    let number = Number::from_field("number", &number, Expect::PhoneOrEmail)?;
    let terminal = terminal(&req, p.terminal.as_deref())?;
    let client = callback_client(&state, p.callback_url.as_deref()).await?;
    crate::captcha::check(&state, &captcha_id, &answer).await?;
    let ip = client_ip(&req, &state.proxies);
    let user = signin::check_password(&state, &number, &pwd, ip).await?;
    let token = start_session(&state, &req, &user, &terminal, client.as_ref()).await?;
    Ok(envelope::ok(token))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CodeSigninRequest {
    #[schema(schema_with = crate::openapi::fields::number, required = true)]
    pub number: Option<String>,
    /// A code sent with purpose `signin` (or none); a wrong one is 400 `verify_code_invalid`.
    #[schema(schema_with = crate::openapi::fields::code, required = true)]
    pub verify_code: Option<String>,
    #[schema(schema_with = crate::openapi::fields::callback_url_opt)]
    pub callback_url: Option<String>,
    /// Overridden by a `terminal` header.
    #[schema(schema_with = crate::openapi::fields::terminal_opt)]
    pub terminal: Option<String>,
}

/// Sign-in with a verification code sent to the number.
#[utoipa::path(
    tag = "accounts",
    params(crate::openapi::TerminalHeader),
    request_body(content((CodeSigninRequest = "application/json"), (CodeSigninRequest = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "The token", body = crate::openapi::EnvelopeString),
        (status = 400, description = "invalid_params, verify_code_invalid, callback_not_registered", body = crate::openapi::ErrorEnvelope),
        (status = 403, description = "account_disabled", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "account_not_found (the code is used up)", body = crate::openapi::ErrorEnvelope),
        (status = 429, description = "rate_limited: the client IP made too many failed sign-ins", body = crate::openapi::ErrorEnvelope),
        crate::openapi::responses::TooLarge, crate::openapi::responses::Down,
    )
)]
#[post("/users/verify_code_sign_in")]
pub async fn signin_with_code(
    state: web::Data<AppState>,
    req: HttpRequest,
    input: Input,
) -> ApiResult<HttpResponse> {
    let p: CodeSigninRequest = input.parse()?;
    let mut required = Required::default();
    let number = required.take("number", p.number);
    let code = required.take("verify_code", p.verify_code);
    required.finish()?;
    let number = Number::from_field("number", &number, Expect::PhoneOrEmail)?;
    let terminal = terminal(&req, p.terminal.as_deref())?;
    let client = callback_client(&state, p.callback_url.as_deref()).await?;
    let ip = client_ip(&req, &state.proxies);
    let user = signin::check_code(&state, &number, &code, ip).await?;
    let token = start_session(&state, &req, &user, &terminal, client.as_ref()).await?;
    Ok(envelope::ok(token))
}

/// Ends the token's session.
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    responses(
        (status = 200, description = "Signed out", body = crate::openapi::EnvelopeNull),
        crate::openapi::responses::Unreadable, crate::openapi::responses::SignedIn, crate::openapi::responses::TooLarge, crate::openapi::responses::Down,
    )
)]
#[patch("/users/signout")]
pub async fn signout(state: web::Data<AppState>, session: AnySession) -> ApiResult<HttpResponse> {
    sessions::end(&state, Which::One(&session.sid), EndReason::SignOut).await?;
    Ok(envelope::ok(()))
}
