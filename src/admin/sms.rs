use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::admin::require_admin;
use crate::error::ApiResult;
use crate::http::envelope;
use crate::http::input::Input;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct SmsStatus {
    pub provider: String,
    pub ceiling_per_minute: u32,
    pub sent_this_minute: i64,
    /// True while the global ceiling refuses sends (until the minute passes).
    pub breaker_open: bool,
    /// The last provider failure in the past 24 h: `{"at", "error"}`.
    #[schema(value_type = Option<Object>)]
    pub last_error: Option<serde_json::Value>,
}

/// SMS delivery health: the global ceiling's circuit breaker and the last provider error.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "SMS status", body = inline(crate::openapi::EnvelopeOf<SmsStatus>)),
        (status = 403, description = "forbidden", body = crate::openapi::ErrorEnvelope),
    )
)]
#[get("/admin/api/sms")]
pub async fn sms_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    input: Input,
) -> ApiResult<HttpResponse> {
    require_admin(&state, &req, &input).await?;
    let sent = crate::codes::sms_sent_this_minute(&state).await?;
    let ceiling = state.settings.sms_max_per_minute;
    Ok(envelope::ok(SmsStatus {
        provider: state.settings.sms_provider.clone(),
        ceiling_per_minute: ceiling,
        sent_this_minute: sent,
        breaker_open: sent >= i64::from(ceiling),
        last_error: crate::codes::delivery::last_failure(&state).await,
    }))
}
