use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::routes::terminal;
use crate::accounts::{UserRow, load_self, registration, signin};
use crate::auth::{AnySession, PresentedToken};
use crate::domain::{Expect, Number};
use crate::error::{Answer, ApiError, ApiResult};
use crate::http::client_ip::client_ip;
use crate::http::envelope;
use crate::http::input::Input;
use crate::http::lang::current_lang;
use crate::i18n;
use crate::multiterminal::{WechatProfile, info, wechat};
use crate::observe::SigninMethod;
use crate::openapi::responses::{SignedInByIdRefusals, SignedInRefusals, refusals};
use crate::openapi::{EnvelopeNull, EnvelopeOf, EnvelopeString, UserInfo};
use crate::sessions::{self, EndReason, Which};
use crate::state::{AppState, Shared};

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicKey {
    pub kid: String,
    /// Always `RSA-OAEP-256`: RSA-OAEP with SHA-256 and MGF1-SHA-256.
    pub alg: String,
    /// SubjectPublicKeyInfo, PEM.
    pub pem: String,
}

/// The key `word-info` is encrypted under.
#[utoipa::path(
    tag = "multi-terminal",
    responses((status = 200, description = "The public key", body = inline(EnvelopeOf<PublicKey>)))
)]
#[get("/users/public_key")]
pub async fn public_key(state: Shared) -> HttpResponse {
    envelope::ok(PublicKey {
        kid: state.word_info.kid().to_owned(),
        alg: "RSA-OAEP-256".into(),
        pem: state.word_info.pem().to_owned(),
    })
}

/// The password carried in the `word-info` header, decrypted off the async workers. A header
/// that is not even text (bytes outside visible ASCII) cannot be base64: it does not decrypt.
async fn word_info(state: &web::Data<AppState>, req: &HttpRequest) -> ApiResult<String> {
    let header = req
        .headers()
        .get("word-info")
        .map(|v| v.to_str().map_err(|_| ApiError::WordInfoInvalid))
        .transpose()?
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| ApiError::field("word-info", "required"))?;
    let state = state.clone();
    state
        .lanes
        .rsa
        .clone()
        .run(move || state.word_info.decrypt(&header))
        .await?
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    #[schema(schema_with = crate::openapi::fields::phone)]
    pub phone: String,
    /// A code sent with purpose `signup` (or none). The server may be set up to register
    /// without one (GATEHOUSE_REGISTER_WITHOUT_CODE); by default it is required.
    #[schema(schema_with = crate::openapi::fields::code, required = true)]
    pub verify_code: Option<String>,
}

refusals!(RegisterRefusals: [TOO_LARGE]
    "invalid_params", "word_info_invalid", "verify_code_invalid", "password_weak", "account_exists",
    "unavailable" = "a backing service is down, or decryption or password hashing is queued up (Retry-After)");

/// Registers a phone; the password comes encrypted in the `word-info` header.
#[utoipa::path(
    tag = "multi-terminal", params(crate::openapi::WordInfoHeader), request_body = RegisterRequest,
    responses((status = 200, description = "恭喜，注册成功！", body = EnvelopeNull), RegisterRefusals)
)]
#[post("/users/register")]
pub async fn register(state: Shared, req: HttpRequest, input: Input) -> Answer {
    let code_needed: &[&str] = match state.settings.register_without_code {
        true => &[],
        false => &["verify_code"],
    };
    let p: RegisterRequest = input.parse_requiring(code_needed)?;
    let number = Number::from_field("phone", &p.phone, Expect::Phone)?;
    let pwd = word_info(&state, &req).await?;
    registration::create_account(&state, number, &pwd, p.verify_code.as_deref(), None).await?;
    let message = i18n::text(current_lang(), "registered");
    Ok(envelope::with_status(StatusCode::OK, message, (), 0))
}

/// Documented by [`crate::openapi::fields::login_request`].
#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    /// Phone login: the phone; the password is in the `word-info` header.
    pub phone: Option<String>,
    /// WeChat login: the mini-program's `wx.login` code.
    pub code: Option<String>,
    #[serde(rename = "avatarUrl")]
    pub avatar_url: Option<String>,
    #[serde(rename = "nickName")]
    pub nick_name: Option<String>,
    pub country: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub language: Option<String>,
    pub terminal: Option<String>,
}

crate::openapi::schema_from!(LoginRequest, crate::openapi::fields::login_request);

async fn start(
    state: &AppState,
    req: &HttpRequest,
    user: &UserRow,
    terminal: &str,
    method: SigninMethod,
) -> ApiResult<String> {
    crate::accounts::routes::signin::start_session(state, req, user, terminal, None, method).await
}

refusals!(LoginRefusals: [SIGN_IN, PASSWORD_CHECK, TOO_LARGE]
    "invalid_params" = "a phone login without `word-info` included", "word_info_invalid",
    "wechat_code_invalid",
    "unavailable" = "WeChat busy or not answering, a backing service down, or decryption or password checks queued up (Retry-After)");

/// Signs in with a phone and `word-info`, or with a WeChat mini-program `code`.
#[utoipa::path(
    tag = "multi-terminal", params(crate::openapi::LoginHeaders), request_body = LoginRequest,
    responses((status = 200, description = "The token", body = EnvelopeString), LoginRefusals)
)]
#[post("/users/login")]
pub async fn login(state: Shared, req: HttpRequest, input: Input) -> Answer {
    let p: LoginRequest = input.parse()?;
    let method = match p.code {
        Some(_) => SigninMethod::Wechat,
        None => SigninMethod::Password,
    };
    let outcome = login_as(&state, &req, p).await;
    crate::audit::signin_attempt(&state, &req, method, &outcome).await;
    outcome
}

async fn login_as(state: &Shared, req: &HttpRequest, p: LoginRequest) -> Answer {
    if let Some(code) = p.code.clone() {
        // A WeChat login is always terminal `wechat`; a terminal sent anyway must still be
        // one (a wrong parameter is refused wherever it comes).
        terminal(req, p.terminal.as_deref())?;
        let profile = WechatProfile {
            avatar_url: p.avatar_url,
            nick_name: p.nick_name,
            country: p.country,
            province: p.province,
            city: p.city,
            language: p.language,
        };
        let user = wechat::user_for(state, &code, profile).await?;
        let token = start(state, req, &user, "wechat", SigninMethod::Wechat).await?;
        return Ok(envelope::ok(token));
    }
    let phone = p
        .phone
        .ok_or_else(|| ApiError::field("phone", "required"))?;
    let number = Number::from_field("phone", &phone, Expect::Phone)?;
    let terminal = terminal(req, p.terminal.as_deref())?;
    let pwd = word_info(state, req).await?;
    let ip = client_ip(req, &state.proxies);
    let user = signin::check_password(state, &number, &pwd, ip).await?;
    let token = start(state, req, &user, &terminal, SigninMethod::Password).await?;
    Ok(envelope::ok(token))
}

refusals!(RefreshRefusals: [UNREADABLE, DOWN]
    "token_missing", "token_invalid", "token_revoked", "refresh_window_passed");

/// A new token in the same session; the old one stops working.
#[utoipa::path(
    tag = "multi-terminal", security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    responses((status = 200, description = "The new token", body = EnvelopeString), RefreshRefusals)
)]
#[get("/users/token/refresh")]
pub async fn refresh(state: Shared, PresentedToken(token): PresentedToken) -> Answer {
    let new_token = sessions::refresh(&state, &token).await?;
    Ok(envelope::ok(new_token))
}

/// Signs out (ends the token's session).
#[utoipa::path(
    tag = "multi-terminal", security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    responses((status = 200, description = "已退出", body = EnvelopeString), SignedInRefusals)
)]
#[get("/users/exit")]
pub async fn exit(state: Shared, session: AnySession) -> Answer {
    sessions::end(&state, Which::One(&session.sid), EndReason::SignOut).await?;
    Ok(envelope::ok(i18n::text(current_lang(), "signed-out")))
}

/// One's own user object (camelCase).
#[utoipa::path(
    tag = "multi-terminal", security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    responses(
        (status = 200, description = "id, userName, phone, headImg, openid (+ WeChat profile)", body = inline(EnvelopeOf<UserInfo>)),
        SignedInRefusals,
    )
)]
#[get("/users/info/self")]
pub async fn info_self(state: Shared, session: AnySession) -> Answer {
    let user = load_self(&state, &session.sub).await?;
    Ok(envelope::ok(info(&user, true)))
}

/// Another user: the full object for oneself and operators, else id, userName, headImg.
#[utoipa::path(
    tag = "multi-terminal",
    params(("id" = String, Path, description = "User id (UUID); anything else is an unknown id (404)")),
    security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    responses(
        (status = 200, description = "The user (camelCase)", body = inline(EnvelopeOf<UserInfo>)),
        SignedInByIdRefusals,
    )
)]
#[get("/users/info/{id}")]
pub async fn info_by_id(state: Shared, session: AnySession, path: web::Path<String>) -> Answer {
    let (target, full) = crate::accounts::view_of(&state, &session.sub, &path.into_inner()).await?;
    Ok(envelope::ok(info(&target, full)))
}
