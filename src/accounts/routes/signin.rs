use std::net::IpAddr;

use actix_web::{HttpRequest, patch, post};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::accounts::routes::{terminal, user_agent};
use crate::accounts::{UserRow, signin};
use crate::auth::AnySession;
use crate::domain::{Expect, Number};
use crate::error::{Answer, ApiResult};
use crate::http::client_ip::client_ip;
use crate::http::envelope;
use crate::http::input::Input;
use crate::observe::SigninMethod;
use crate::openapi::responses::refusals;
use crate::openapi::{EnvelopeNull, EnvelopeString, TerminalHeader};
use crate::partners::{self, ClientRow};
use crate::sessions::{self, EndReason, NewSession, Which};
use crate::state::{AppState, Shared};

#[derive(Debug, Deserialize, ToSchema)]
pub struct SigninRequest {
    #[schema(schema_with = crate::openapi::fields::number)]
    pub number: String,
    #[schema(schema_with = crate::openapi::fields::password)]
    pub pwd: String,
    #[schema(schema_with = crate::openapi::fields::captcha_answer)]
    pub client_code: String,
    /// Taken from the `captcha_id` cookie when the request leaves it out.
    #[schema(schema_with = crate::openapi::fields::captcha_id)]
    pub captcha_id: String,
    #[schema(schema_with = crate::openapi::fields::callback_url_opt)]
    pub callback_url: Option<String>,
    /// Overridden by a `terminal` header.
    #[schema(schema_with = crate::openapi::fields::terminal_opt)]
    pub terminal: Option<String>,
}

impl SigninRequest {
    /// The account these credentials open: the captcha is checked (and used up) first, then
    /// the password under the sign-in lockout. The JSON route and the sign-in page both end
    /// here.
    pub async fn check(&self, state: &AppState, number: &Number, ip: IpAddr) -> ApiResult<UserRow> {
        crate::captcha::check(state, &self.captcha_id, &self.client_code).await?;
        signin::check_password(state, number, &self.pwd, ip).await
    }
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
    method: SigninMethod,
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
            amr: None,
            method,
        },
    )
    .await?;
    Ok(token)
}

refusals!(SigninWithPasswordRefusals: [SIGN_IN, PASSWORD_CHECK, TOO_LARGE]
    "captcha_invalid", "callback_not_registered",
    "rate_limited" = "the account is locked after repeated failures, or the client IP made too many failed sign-ins");

/// Password sign-in with an image captcha.
#[utoipa::path(
    tag = "accounts", params(TerminalHeader), request_body = SigninRequest,
    responses((status = 200, description = "The token", body = EnvelopeString), SigninWithPasswordRefusals)
)]
#[post("/users/signin")]
pub async fn signin_with_password(state: Shared, req: HttpRequest, input: Input) -> Answer {
    let outcome = password_signin(&state, &req, input).await;
    crate::audit::signin_attempt(&state, &req, SigninMethod::Password, &outcome).await;
    outcome
}

async fn password_signin(state: &AppState, req: &HttpRequest, input: Input) -> Answer {
    let cookie = req.cookie("captcha_id").map(|c| c.value().to_owned());
    let p: SigninRequest = input.or_else("captcha_id", cookie).parse()?;
    let number = Number::from_field("number", &p.number, Expect::PhoneOrEmail)?;
    let terminal = terminal(req, p.terminal.as_deref())?;
    let client = callback_client(state, p.callback_url.as_deref()).await?;
    let user = p
        .check(state, &number, client_ip(req, &state.proxies))
        .await?;
    let token = start_session(
        state,
        req,
        &user,
        &terminal,
        client.as_ref(),
        SigninMethod::Password,
    )
    .await?;
    Ok(envelope::ok(token))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CodeSigninRequest {
    #[schema(schema_with = crate::openapi::fields::number)]
    pub number: String,
    /// A code sent with purpose `signin` (or none); a wrong one is 400 `verify_code_invalid`.
    #[schema(schema_with = crate::openapi::fields::code)]
    pub verify_code: String,
    #[schema(schema_with = crate::openapi::fields::callback_url_opt)]
    pub callback_url: Option<String>,
    /// Overridden by a `terminal` header.
    #[schema(schema_with = crate::openapi::fields::terminal_opt)]
    pub terminal: Option<String>,
}

refusals!(SigninWithCodeRefusals: [SIGN_IN, TOO_LARGE, DOWN]
    "verify_code_invalid", "callback_not_registered", "account_not_found" = "the code is used up");

/// Sign-in with a verification code sent to the number.
#[utoipa::path(
    tag = "accounts", params(TerminalHeader), request_body = CodeSigninRequest,
    responses((status = 200, description = "The token", body = EnvelopeString), SigninWithCodeRefusals)
)]
#[post("/users/verify_code_sign_in")]
pub async fn signin_with_code(state: Shared, req: HttpRequest, input: Input) -> Answer {
    let outcome = code_signin(&state, &req, input).await;
    crate::audit::signin_attempt(&state, &req, SigninMethod::Code, &outcome).await;
    outcome
}

async fn code_signin(state: &AppState, req: &HttpRequest, input: Input) -> Answer {
    let p: CodeSigninRequest = input.parse()?;
    let number = Number::from_field("number", &p.number, Expect::PhoneOrEmail)?;
    let terminal = terminal(req, p.terminal.as_deref())?;
    let client = callback_client(state, p.callback_url.as_deref()).await?;
    let ip = client_ip(req, &state.proxies);
    let user = signin::check_code(state, &number, &p.verify_code, ip).await?;
    let token = start_session(
        state,
        req,
        &user,
        &terminal,
        client.as_ref(),
        SigninMethod::Code,
    )
    .await?;
    Ok(envelope::ok(token))
}

refusals!(SignoutRefusals: [UNREADABLE, SIGNED_IN, TOO_LARGE, DOWN]);

/// Ends the token's session.
#[utoipa::path(
    tag = "accounts", security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    responses((status = 200, description = "Signed out", body = EnvelopeNull), SignoutRefusals)
)]
#[patch("/users/signout")]
pub async fn signout(state: Shared, session: AnySession) -> Answer {
    sessions::end(&state, Which::One(&session.sid), EndReason::SignOut).await?;
    Ok(envelope::ok(()))
}
