//! Verification codes sent to a phone or e-mail address.
//!
//! 6 digits from the OS CSPRNG, valid 300 s, single use, stored only as a hash and bound to the
//! number (and to a purpose when one was given). A new code replaces the old one. Five wrong
//! tries burn the code. Sends are limited per number (one per 60 s, ten per 24 h) and per client
//! IP; past a few sends an IP must also solve a captcha.

pub mod delivery;
pub mod mail;
pub mod routes;
pub mod vendors;

use std::net::IpAddr;
use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::Number;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub const TTL: Duration = Duration::from_secs(300);
const COOLDOWN: Duration = Duration::from_secs(60);
const DAY: Duration = Duration::from_secs(86_400);
const HOUR: Duration = Duration::from_secs(3_600);
const PER_NUMBER_PER_DAY: i64 = 10;
const MAX_TRIES: i64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Signup,
    Signin,
    ResetPassword,
    ChangeContact,
}

impl Purpose {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "signup" => Some(Purpose::Signup),
            "signin" => Some(Purpose::Signin),
            "reset_password" => Some(Purpose::ResetPassword),
            "change_contact" => Some(Purpose::ChangeContact),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Signup => "signup",
            Purpose::Signin => "signin",
            Purpose::ResetPassword => "reset_password",
            Purpose::ChangeContact => "change_contact",
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    hash: String,
    purpose: Option<Purpose>,
}

fn digest(number: &Number, code: &str) -> String {
    hex::encode(Sha256::digest(format!("{number}\u{0}{code}").as_bytes()))
}

fn retry_after(ttl: Option<Duration>, fallback: Duration) -> ApiError {
    ApiError::RateLimited {
        retry_after: ttl.unwrap_or(fallback).as_secs().max(1),
    }
}

/// A captcha answer offered with a send request.
pub struct CaptchaAnswer<'a> {
    pub id: Option<&'a str>,
    pub answer: Option<&'a str>,
}

/// Counters taken by one send, given back if delivery fails.
struct Taken {
    keys: Vec<String>,
}

/// Sends a fresh code, or explains which limit stops it.
pub async fn send(
    state: &AppState,
    number: &Number,
    purpose: Option<Purpose>,
    ip: IpAddr,
    captcha: CaptchaAnswer<'_>,
) -> ApiResult<()> {
    let store = &state.store;
    let ip_key = format!("code_ip:{ip}");
    let ip_sends = store
        .get(&ip_key)
        .await?
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    if ip_sends >= i64::from(state.settings.code_limit_per_ip_hour) {
        return Err(retry_after(store.ttl(&ip_key).await?, HOUR));
    }
    if ip_sends >= i64::from(state.settings.code_captcha_after) {
        match (captcha.id, captcha.answer) {
            (Some(id), Some(answer)) => crate::captcha::check(state, id, answer).await?,
            _ => return Err(ApiError::CaptchaInvalid),
        }
    }
    let cooldown_key = format!("code_cd:{number}");
    if !store.set_nx(&cooldown_key, "1", COOLDOWN).await? {
        return Err(retry_after(store.ttl(&cooldown_key).await?, COOLDOWN));
    }
    let mut taken = Taken {
        keys: vec![cooldown_key],
    };
    let day_key = format!("code_day:{number}");
    if store.incr(&day_key, DAY).await? > PER_NUMBER_PER_DAY {
        store.decr(&day_key).await?;
        return Err(retry_after(store.ttl(&day_key).await?, DAY));
    }
    taken.keys.push(day_key);
    if store.incr(&ip_key, HOUR).await? > i64::from(state.settings.code_limit_per_ip_hour) {
        store.decr(&ip_key).await?;
        undo(state, &taken).await;
        return Err(retry_after(store.ttl(&ip_key).await?, HOUR));
    }
    taken.keys.push(ip_key);
    if !number.is_email() {
        // A global ceiling on SMS spend, whatever the per-number and per-IP limits allow.
        let sms_key = sms_minute_key();
        if store.incr(&sms_key, Duration::from_secs(120)).await?
            > i64::from(state.settings.sms_max_per_minute)
        {
            store.decr(&sms_key).await?;
            undo(state, &taken).await;
            tracing::warn!("global SMS ceiling reached; refusing sends until the minute passes");
            return Err(ApiError::Unavailable("SMS sending ceiling reached".into()));
        }
        taken.keys.push(sms_key);
    }

    let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
    let stored = Stored {
        hash: digest(number, &code),
        purpose,
    };
    let value = serde_json::to_string(&stored).map_err(|e| ApiError::Internal(e.to_string()))?;
    let code_key = format!("code:{number}");
    store.set(&code_key, &value, TTL).await?;
    store.del(&format!("code_tries:{number}")).await?;

    if let Err(err) = delivery::deliver(state, number, &code, purpose).await {
        store.del(&code_key).await.ok();
        undo(state, &taken).await;
        return Err(err);
    }
    Ok(())
}

fn sms_minute_key() -> String {
    format!("sms_minute:{}", chrono::Utc::now().timestamp() / 60)
}

/// SMS sends counted against the global ceiling in the current minute.
pub async fn sms_sent_this_minute(state: &AppState) -> ApiResult<i64> {
    Ok(state
        .store
        .get(&sms_minute_key())
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// A failed delivery must not count against the person's quota or cooldown.
async fn undo(state: &AppState, taken: &Taken) {
    for key in &taken.keys {
        let result = if key.starts_with("code_cd:") {
            state.store.del(key).await
        } else {
            state.store.decr(key).await
        };
        if let Err(err) = result {
            tracing::warn!(%err, "could not give back a send counter");
        }
    }
}

/// Checks and consumes a code for `number`. `purpose` is what the caller wants to do.
pub async fn verify(
    state: &AppState,
    number: &Number,
    code: &str,
    purpose: Purpose,
) -> ApiResult<()> {
    let store = &state.store;
    let code_key = format!("code:{number}");
    let Some(raw) = store.get(&code_key).await? else {
        return Err(ApiError::VerifyCodeInvalid);
    };
    let stored: Stored = serde_json::from_str(&raw).map_err(|_| ApiError::VerifyCodeInvalid)?;
    let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
    let matches = well_formed
        && aws_lc_rs::constant_time::verify_slices_are_equal(
            stored.hash.as_bytes(),
            digest(number, code).as_bytes(),
        )
        .is_ok();
    if !matches {
        let tries_key = format!("code_tries:{number}");
        if store.incr(&tries_key, TTL).await? >= MAX_TRIES {
            store.del(&code_key).await?;
        }
        return Err(ApiError::VerifyCodeInvalid);
    }
    if stored.purpose.is_some_and(|p| p != purpose) {
        return Err(ApiError::VerifyCodeInvalid);
    }
    // Whoever removes the record uses the code; a concurrent second use finds nothing.
    match store.take(&code_key).await? {
        Some(taken) if taken == raw => {
            store.del(&format!("code_tries:{number}")).await?;
            Ok(())
        }
        _ => Err(ApiError::VerifyCodeInvalid),
    }
}
