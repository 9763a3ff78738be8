use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::codes::{self, CaptchaAnswer, Purpose};
use crate::domain::{Expect, Number};
use crate::error::{ApiError, ApiResult};
use crate::http::client_ip::client_ip;
use crate::http::envelope;
use crate::http::input::{Input, Required};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct VerifyCodeRequest {
    #[schema(schema_with = crate::openapi::fields::number, required = true)]
    pub number: Option<String>,
    #[schema(schema_with = crate::openapi::fields::purpose_opt)]
    pub purpose: Option<String>,
    #[schema(schema_with = crate::openapi::fields::captcha_answer_opt)]
    pub client_code: Option<String>,
    #[schema(schema_with = crate::openapi::fields::captcha_id_opt)]
    pub captcha_id: Option<String>,
}

/// Sends a verification code to a phone or e-mail address, whether or not it is registered.
#[utoipa::path(
    tag = "codes",
    request_body(content((VerifyCodeRequest = "application/json"), (VerifyCodeRequest = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Sent", body = crate::openapi::EnvelopeNull),
        (status = 400, description = "invalid_params, captcha_invalid", body = crate::openapi::ErrorEnvelope),
        (status = 429, description = "rate_limited: per number (one a minute, ten a day) or per client IP", body = crate::openapi::ErrorEnvelope),
        (status = 503, description = "unavailable: the SMS provider or mail server failed or timed out, the global sending ceiling is reached, or a backing service is down", body = crate::openapi::ErrorEnvelope),
        crate::openapi::responses::TooLarge,
    )
)]
#[post("/verify_code")]
pub async fn send_code(
    state: web::Data<AppState>,
    req: HttpRequest,
    input: Input,
) -> ApiResult<HttpResponse> {
    let p: VerifyCodeRequest = input.parse()?;
    let mut required = Required::default();
    let number = required.take("number", p.number);
    required.finish()?;
    let number = Number::from_field("number", &number, Expect::PhoneOrEmail)?;
    let purpose = match p.purpose.as_deref() {
        None => None,
        Some(raw) => {
            Some(Purpose::parse(raw).ok_or_else(|| ApiError::field("purpose", "unknown purpose"))?)
        }
    };
    let cookie = req.cookie("captcha_id");
    let captcha_id = p
        .captcha_id
        .as_deref()
        .or(cookie.as_ref().map(|c| c.value()));
    let ip = client_ip(&req, &state.proxies);
    codes::send(
        &state,
        &number,
        purpose,
        ip,
        CaptchaAnswer {
            id: captcha_id,
            answer: p.client_code.as_deref(),
        },
    )
    .await?;
    Ok(envelope::ok(()))
}
