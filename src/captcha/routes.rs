use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::http::header;
use actix_web::{HttpResponse, get};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::captcha::{self, TTL};
use crate::error::Answer;
use crate::http::envelope;
use crate::http::input::Input;
use crate::openapi::EnvelopeOf;
use crate::openapi::responses::refusals;
use crate::state::Shared;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClientCodeQuery {
    /// `png` returns the image itself instead of the JSON envelope; any other value (or none)
    /// the envelope.
    #[param(pattern = r"^[^\x00]*$")]
    pub format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientCode {
    pub captcha_id: String,
    /// `data:image/png;base64,...`
    pub image: String,
    pub expires_in: u64,
    /// Only with `GATEHOUSE_CAPTCHA_TEST_ANSWERS` (tests).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
}

refusals!(ClientCodeRefusals: []
    "invalid_params" = "an unreadable query or body",
    "unavailable" = "the store is down, or captcha drawing is queued up (Retry-After)");

/// A new image captcha; also sets an HttpOnly `captcha_id` cookie.
#[utoipa::path(
    tag = "captcha", params(ClientCodeQuery),
    responses(
        (status = 200, description = "Captcha: the JSON envelope, or with `format=png` the image itself (its id in the `X-Captcha-Id` header and the cookie)", content((inline(EnvelopeOf<ClientCode>) = "application/json"), (Vec<u8> = "image/png"))),
        ClientCodeRefusals,
    )
)]
#[get("/client_code")]
pub async fn client_code(state: Shared, input: Input) -> Answer {
    let query: ClientCodeQuery = input.parse()?;
    let (id, answer, png) = captcha::create_image(&state).await?;
    let cookie = Cookie::build("captcha_id", id.clone())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.is_https())
        .max_age(time::Duration::seconds(TTL.as_secs() as i64))
        .finish();
    if query.format.as_deref() == Some("png") {
        return Ok(HttpResponse::Ok()
            .content_type("image/png")
            .insert_header(("X-Captcha-Id", id))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .cookie(cookie)
            .body(png));
    }
    let body = ClientCode {
        captcha_id: id,
        image: format!("data:image/png;base64,{}", STANDARD.encode(&png)),
        expires_in: TTL.as_secs(),
        answer: state.settings.captcha_test_answers.then_some(answer),
    };
    let mut res = envelope::ok(body);
    res.add_cookie(&cookie)
        .map_err(|e| crate::error::ApiError::Internal(e.to_string()))?;
    Ok(res)
}
