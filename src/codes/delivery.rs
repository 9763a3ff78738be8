//! Getting a code to its number: SMS through the configured provider, e-mail over SMTP.
//!
//! `log` is development delivery: the code is written to the server log, which is the one
//! place codes may appear there. It is refused at start-up with an https public URL.

use std::time::Duration;

use serde_json::json;

use crate::codes::Purpose;
use crate::codes::vendors::{self, VendorError, aliyun::AliyunConfig, tencent::TencentConfig};
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
                SmsProvider::Aliyun => vendor(aliyun(state, phone, code).await).await,
                SmsProvider::Tencent => vendor(tencent(state, phone, code).await).await,
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

async fn vendor(result: Result<(), VendorError>) -> ApiResult<()> {
    result.map_err(|e| ApiError::Unavailable(format!("SMS provider: {e}")))
}

fn setting(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

async fn aliyun(state: &AppState, phone: &str, code: &str) -> Result<(), VendorError> {
    let s = &state.settings;
    let cfg = AliyunConfig {
        endpoint: s
            .sms_endpoint
            .clone()
            .unwrap_or_else(|| "https://dysmsapi.aliyuncs.com".into()),
        access_key_id: setting(&s.aliyun_access_key_id),
        access_key_secret: setting(&s.aliyun_access_key_secret),
        sign_name: setting(&s.sms_sign_name),
        template_code: setting(&s.sms_template),
    };
    let http = state
        .http()
        .map_err(|e| VendorError::Network(e.to_string()))?;
    vendors::aliyun::send(http, &cfg, phone, code).await
}

async fn tencent(state: &AppState, phone: &str, code: &str) -> Result<(), VendorError> {
    let s = &state.settings;
    let cfg = TencentConfig {
        endpoint: s
            .sms_endpoint
            .clone()
            .unwrap_or_else(|| "https://sms.tencentcloudapi.com".into()),
        secret_id: setting(&s.tencent_secret_id),
        secret_key: setting(&s.tencent_secret_key),
        region: s.tencent_region.clone(),
        sdk_app_id: setting(&s.tencent_sms_app_id),
        sign_name: setting(&s.sms_sign_name),
        template_id: setting(&s.sms_template),
    };
    let http = state
        .http()
        .map_err(|e| VendorError::Network(e.to_string()))?;
    vendors::tencent::send(http, &cfg, phone, code).await
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
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
        let tag = aws_lc_rs::hmac::sign(&key, body.as_bytes());
        request = request.header(
            "x-gatehouse-signature",
            format!("sha256={}", hex::encode(tag.as_ref())),
        );
    }
    let answer = request
        .body(body)
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
