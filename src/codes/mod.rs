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
use crate::http::client_ip::limit_key;
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
    pub const ALL: [Purpose; 4] = [
        Purpose::Signup,
        Purpose::Signin,
        Purpose::ResetPassword,
        Purpose::ChangeContact,
    ];

    pub fn parse(raw: &str) -> Option<Self> {
        Purpose::ALL.into_iter().find(|p| p.as_str() == raw)
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

/// Counts a refusal by the limit named `limit` on its way out.
fn hit(state: &AppState, limit: &'static str, refusal: ApiError) -> ApiError {
    state.metrics.limit_hit(limit);
    refusal
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

/// Sends a fresh code, or explains which limit stops it. Each limit's slot is taken before
/// anything is sent (and before the captcha it may call for is judged), so concurrent requests
/// cannot outrun any of them; a send that does not happen gives its slots back.
#[tracing::instrument(skip_all)]
pub async fn send(
    state: &AppState,
    number: &Number,
    purpose: Option<Purpose>,
    ip: IpAddr,
    captcha: CaptchaAnswer<'_>,
) -> ApiResult<()> {
    let mut taken = Taken { keys: Vec::new() };
    let result = take_slots(state, number, ip, captcha, &mut taken).await;
    let result = match result {
        Ok(()) => issue_and_deliver(state, number, purpose).await,
        Err(err) => Err(err),
    };
    if result.is_err() {
        undo(state, &taken).await;
    }
    result
}

async fn take(
    state: &AppState,
    taken: &mut Taken,
    key: String,
    max: i64,
    ttl: Duration,
) -> ApiResult<crate::store::Slot> {
    let slot = state.store.reserve(&key, max, ttl).await?;
    if slot.is_ok() {
        taken.keys.push(key);
    }
    Ok(slot)
}

async fn take_slots(
    state: &AppState,
    number: &Number,
    ip: IpAddr,
    captcha: CaptchaAnswer<'_>,
    taken: &mut Taken,
) -> ApiResult<()> {
    let settings = &state.settings;
    let ip_key = format!("code_ip:{}", limit_key(ip));
    let per_ip = i64::from(settings.code_limit_per_ip_hour);
    let slot = take(state, taken, ip_key, per_ip, HOUR)
        .await?
        .map_err(|wait| hit(state, "code_ip", retry_after(Some(wait), HOUR)))?;
    // The slot's number, not a count read earlier, says whether a captcha is due.
    if slot > i64::from(settings.code_captcha_after) {
        match (captcha.id, captcha.answer) {
            (Some(id), Some(answer)) => crate::captcha::check(state, id, answer).await?,
            _ => return Err(ApiError::CaptchaInvalid),
        }
    }
    let cooldown_key = format!("code_cd:{number}");
    if !state.store.set_nx(&cooldown_key, "1", COOLDOWN).await? {
        let wait = state.store.ttl(&cooldown_key).await?;
        return Err(hit(state, "code_cooldown", retry_after(wait, COOLDOWN)));
    }
    taken.keys.push(cooldown_key);
    take(
        state,
        taken,
        format!("code_day:{number}"),
        PER_NUMBER_PER_DAY,
        DAY,
    )
    .await?
    .map_err(|wait| hit(state, "code_day", retry_after(Some(wait), DAY)))?;
    // A global ceiling per channel on what delivery costs, whatever the other limits allow.
    let (channel, ceiling) = channel_ceiling(state, number);
    let minute = take(
        state,
        taken,
        minute_key(channel),
        ceiling,
        Duration::from_secs(120),
    )
    .await?;
    if minute.is_err() {
        state.metrics.limit_hit(match channel {
            "mail" => "mail_ceiling",
            _ => "sms_ceiling",
        });
        tracing::warn!(
            channel,
            "global delivery ceiling reached; refusing sends until the minute passes"
        );
        return Err(ApiError::Unavailable(format!(
            "{channel} sending ceiling reached"
        )));
    }
    Ok(())
}

fn channel_ceiling(state: &AppState, number: &Number) -> (&'static str, i64) {
    if number.is_email() {
        ("mail", i64::from(state.settings.mail_max_per_minute))
    } else {
        ("sms", i64::from(state.settings.sms_max_per_minute))
    }
}

async fn issue_and_deliver(
    state: &AppState,
    number: &Number,
    purpose: Option<Purpose>,
) -> ApiResult<()> {
    let store = &state.store;
    let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
    let stored = Stored {
        hash: digest(number, &code),
        purpose,
    };
    let value = serde_json::to_string(&stored).map_err(|e| ApiError::Internal(e.to_string()))?;
    let code_key = format!("code:{number}");
    store.set(&code_key, &value, TTL).await?;
    store.del(&format!("code_tries:{number}")).await?;
    let delivered = delivery::deliver(state, number, &code, purpose).await;
    let channel = match (number, state.settings.sms_provider) {
        (Number::Email(_), _) if state.mailer.is_some() => "email",
        (Number::Phone(_), p) if p != crate::config::SmsProvider::Log => "sms",
        _ => "log",
    };
    state.metrics.code_sent(channel, &delivered);
    if let Err(err) = delivered {
        store.del(&code_key).await.ok();
        return Err(err);
    }
    Ok(())
}

fn minute_key(channel: &str) -> String {
    format!("{channel}_minute:{}", chrono::Utc::now().timestamp() / 60)
}

/// Sends counted against a channel's global ceiling (`sms` or `mail`) in the current minute.
pub async fn sent_this_minute(state: &AppState, channel: &str) -> ApiResult<i64> {
    Ok(state
        .store
        .get(&minute_key(channel))
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// A send that did not happen must not count against the person's quota or cooldown.
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
#[tracing::instrument(skip_all)]
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
    // The try is taken before the comparison: of any number of concurrent guesses at most
    // five are ever compared, and the fifth wrong one burns the code.
    let tries_key = format!("code_tries:{number}");
    let Ok(try_number) = store.reserve(&tries_key, MAX_TRIES, TTL).await? else {
        store.del(&code_key).await?;
        return Err(ApiError::VerifyCodeInvalid);
    };
    let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
    let matches = well_formed
        && aws_lc_rs::constant_time::verify_slices_are_equal(
            stored.hash.as_bytes(),
            digest(number, code).as_bytes(),
        )
        .is_ok();
    if !matches {
        if try_number >= MAX_TRIES {
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
