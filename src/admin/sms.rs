use actix_web::get;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Operator;
use crate::error::Answer;
use crate::http::envelope;
use crate::openapi::EnvelopeOf;
use crate::openapi::responses::OperatorRefusals;
use crate::state::Shared;

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
    /// E-mail codes have a global ceiling and breaker of their own.
    pub mail: MailStatus,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MailStatus {
    /// Whether an SMTP server is configured.
    pub configured: bool,
    pub ceiling_per_minute: u32,
    pub sent_this_minute: i64,
    pub breaker_open: bool,
}

/// SMS delivery health: the global ceiling's circuit breaker and the last provider error.
#[utoipa::path(
    tag = "admin", security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    responses(
        (status = 200, description = "SMS status", body = inline(EnvelopeOf<SmsStatus>)),
        OperatorRefusals,
    )
)]
#[get("/admin/api/sms")]
pub async fn sms_status(state: Shared, _operator: Operator) -> Answer {
    let sent = crate::codes::sent_this_minute(&state, "sms").await?;
    let ceiling = state.settings.sms_max_per_minute;
    let mail_sent = crate::codes::sent_this_minute(&state, "mail").await?;
    let mail_ceiling = state.settings.mail_max_per_minute;
    Ok(envelope::ok(SmsStatus {
        provider: state.settings.sms_provider.to_string(),
        ceiling_per_minute: ceiling,
        sent_this_minute: sent,
        breaker_open: sent >= i64::from(ceiling),
        last_error: crate::codes::delivery::last_failure(&state).await,
        mail: MailStatus {
            configured: state.mailer.is_some(),
            ceiling_per_minute: mail_ceiling,
            sent_this_minute: mail_sent,
            breaker_open: mail_sent >= i64::from(mail_ceiling),
        },
    }))
}
