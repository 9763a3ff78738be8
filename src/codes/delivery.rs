//! Getting a code to its number: SMS through the configured provider, e-mail over SMTP.
//!
//! `log` is development delivery: the code is written to the server log, which is the one
//! place codes may appear there. It is refused at start-up with an https public URL.

use std::time::Duration;

use serde_json::json;

use crate::codes::Purpose;
use crate::codes::vendors::{Vendor, aliyun::AliyunConfig, tencent::TencentConfig};
use crate::config::SmsProvider;
use crate::domain::Number;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub const TIMEOUT: Duration = Duration::from_secs(5);

#[tracing::instrument(skip_all)]
pub async fn deliver(
    state: &AppState,
    number: &Number,
    code: &str,
    purpose: Option<Purpose>,
) -> ApiResult<()> {
    let purpose_name = purpose.map(Purpose::as_str).unwrap_or("any");
    match number {
        Number::Email(address) => {
            if let Some(mailer) = &state.mailer {
                let message =
                    mailer.message(address, code, purpose, crate::http::lang::current_lang())?;
                return mailer.send(message).await;
            }
            if state.settings.is_https() {
                return Err(ApiError::Unavailable(
                    "no SMTP server configured for e-mail codes".into(),
                ));
            }
            dev_log(number, code, purpose_name);
            Ok(())
        }
        Number::Phone(phone) => {
            let sent = match state.settings.sms_provider {
                SmsProvider::Webhook => webhook(state, phone, code, purpose_name).await,
                SmsProvider::Aliyun => {
                    let aliyun = AliyunConfig::from_settings(&state.settings);
                    vendor(state, aliyun, phone, code).await
                }
                SmsProvider::Tencent => {
                    let tencent = TencentConfig::from_settings(&state.settings);
                    vendor(state, tencent, phone, code).await
                }
                SmsProvider::Log => {
                    dev_log(number, code, purpose_name);
                    Ok(())
                }
            };
            if let Err(ApiError::Unavailable(why)) = &sent {
                record_failure(state, why).await;
            }
            sent
        }
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

const LAST_ERROR: &str = "sms_last_error";

/// Operators see the last provider failure (never the code).
async fn record_failure(state: &AppState, why: &str) {
    let entry = json!({ "at": chrono::Utc::now().to_rfc3339(), "error": why }).to_string();
    if let Err(err) = state
        .store
        .set(LAST_ERROR, &entry, std::time::Duration::from_secs(86_400))
        .await
    {
        tracing::warn!(%err, "cannot record an SMS failure");
    }
    tracing::warn!(provider = %state.settings.sms_provider, error = %why, "SMS delivery failed");
}

pub async fn last_failure(state: &AppState) -> Option<serde_json::Value> {
    let raw = state.store.get(LAST_ERROR).await.ok().flatten()?;
    serde_json::from_str(&raw).ok()
}

/// Sends through a vendor; whatever it answers other than yes is `unavailable`.
async fn vendor(state: &AppState, vendor: impl Vendor, phone: &str, code: &str) -> ApiResult<()> {
    let http = state.http()?;
    let sent = vendor.send(http, phone, code).await;
    sent.map_err(|e| ApiError::Unavailable(format!("SMS provider: {e}")))
}

async fn webhook(state: &AppState, phone: &str, code: &str, purpose: &str) -> ApiResult<()> {
    let Some(url) = state.settings.sms_webhook_url.as_deref() else {
        return Err(ApiError::Unavailable(
            "SMS webhook URL not configured".into(),
        ));
    };
    let body = json!({ "phone": phone, "code": code, "purpose": purpose }).to_string();
    let mut request = state
        .http()?
        .post(url)
        .timeout(TIMEOUT)
        .header("content-type", "application/json");
    if let Some(secret) = &state.settings.sms_webhook_secret {
        let key =
            aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.expose().as_bytes());
        let tag = aws_lc_rs::hmac::sign(&key, body.as_bytes());
        request = request.header(
            "x-gatehouse-signature",
            format!("sha256={}", hex::encode(tag.as_ref())),
        );
    }
    AppState::upstream("SMS webhook", request.body(body)).await?;
    Ok(())
}
