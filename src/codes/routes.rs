use actix_web::{HttpRequest, post};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::codes::{self, CaptchaAnswer, Purpose};
use crate::domain::{Expect, Number};
use crate::error::{Answer, ApiError};
use crate::http::client_ip::client_ip;
use crate::http::envelope;
use crate::http::input::Input;
use crate::openapi::EnvelopeNull;
use crate::openapi::responses::refusals;
use crate::state::Shared;

#[derive(Debug, Deserialize, ToSchema)]
pub struct VerifyCodeRequest {
    #[schema(schema_with = crate::openapi::fields::number)]
    pub number: String,
    #[schema(schema_with = crate::openapi::fields::purpose_opt)]
    pub purpose: Option<String>,
    #[schema(schema_with = crate::openapi::fields::captcha_answer_opt)]
    pub client_code: Option<String>,
    #[schema(schema_with = crate::openapi::fields::captcha_id_opt)]
    pub captcha_id: Option<String>,
}

refusals!(SendCodeRefusals: [TOO_LARGE]
    "invalid_params", "captcha_invalid",
    "rate_limited" = "per number (one a minute, ten a day) or per client IP",
    "unavailable" = "the SMS provider or mail server failed or timed out, the global sending ceiling is reached, or a backing service is down");

/// Sends a verification code to a phone or e-mail address, whether or not it is registered.
#[utoipa::path(
    tag = "codes", request_body = VerifyCodeRequest,
    responses((status = 200, description = "Sent", body = EnvelopeNull), SendCodeRefusals)
)]
#[post("/verify_code")]
pub async fn send_code(state: Shared, req: HttpRequest, input: Input) -> Answer {
    let cookie = req.cookie("captcha_id").map(|c| c.value().to_owned());
    let p: VerifyCodeRequest = input.or_else("captcha_id", cookie).parse()?;
    let number = Number::from_field("number", &p.number, Expect::PhoneOrEmail)?;
    let purpose = match p.purpose.as_deref() {
        None => None,
        Some(raw) => {
            Some(Purpose::parse(raw).ok_or_else(|| ApiError::field("purpose", "unknown purpose"))?)
        }
    };
    let ip = client_ip(&req, &state.proxies);
    codes::send(
        &state,
        &number,
        purpose,
        ip,
        CaptchaAnswer {
            id: p.captcha_id.as_deref(),
            answer: p.client_code.as_deref(),
        },
    )
    .await?;
    Ok(envelope::ok(()))
}
