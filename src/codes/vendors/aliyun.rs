//! Alibaba Cloud (Aliyun) SMS: Dysmsapi `SendSms`, API version 2017-05-25.
//!
//! # Signing
//!
//! Requests are signed with Alibaba Cloud's RPC "signature method V2"
//! (`SignatureMethod=HMAC-SHA1`, `SignatureVersion=1.0`):
//!
//! 1. every parameter except `Signature` is sorted by name;
//! 2. names and values are percent-encoded as UTF-8, keeping only
//!    `A-Z a-z 0-9 - _ . ~` (so a space is `%20`, `*` is `%2A`, `~` stays `~`:
//!    Java's `URLEncoder` followed by `+`→`%20`, `*`→`%2A`, `%7E`→`~`);
//! 3. `name=value` pairs are joined with `&` (the canonicalized query);
//! 4. StringToSign = `POST&%2F&` + encode(canonicalized query);
//! 5. Signature = base64(HMAC-SHA1(key = AccessKeySecret + "&", StringToSign)).
//!
//! All parameters, the signature included, travel in an
//! `application/x-www-form-urlencoded` POST body, so neither the AccessKeyId
//! nor the signature ends up in a URL (or in a `reqwest` error message).
//!
//! Why V2 and not the newer ACS3-HMAC-SHA256 ("V3"): V2 is the scheme Dysmsapi
//! 2017-05-25 was published with, and it has two exact worked examples in
//! Alibaba's own documentation — one of them a `SendSms` request — which the
//! unit tests reproduce byte for byte (see the tests below). Alibaba's docs now
//! mark V2 as "no longer recommended" in favour of V3 for new integrations, but
//! the RPC endpoints still accept it; moving to ACS3 later only changes
//! [`sign`] and the headers, not the parameters or the answer handling.
//!
//! # Phone numbers
//!
//! Per the `SendSms` reference (PhoneNumbers): mainland numbers may be given
//! bare (11 digits) or with a `+86`/`0086`/`86` prefix; international and
//! Hong Kong/Macao/Taiwan numbers are "country code + number" with no `+` or
//! `00`, e.g. `85200001234`. So a bare number is sent as is, `+86…` loses its
//! prefix, and any other `+cc…` loses the `+` (see [`vendor_phone`]).
//!
//! # Answers
//!
//! `{"Code":"OK",...}` is success; any other `Code` becomes
//! [`VendorError::Refused`] with Alibaba's `Code` and `Message`. Alibaba sends
//! its error bodies with 4xx/5xx statuses too, so the body is read whatever the
//! status.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{VendorError, endpoint, secret, setting};
use crate::config::{Secret, Settings};

/// Dysmsapi API version this client speaks.
pub const API_VERSION: &str = "2017-05-25";
/// The API action this client calls.
pub const ACTION: &str = "SendSms";
/// Region parameter sent with every request (Dysmsapi is served from one
/// region; the SDKs send `cn-hangzhou`).
pub const REGION_ID: &str = "cn-hangzhou";

/// The service origin unless `GATEHOUSE_SMS_ENDPOINT` names another.
pub const ENDPOINT: &str = "https://dysmsapi.aliyuncs.com";

/// What the Aliyun client needs to send a code.
#[derive(Clone, Debug)]
pub struct AliyunConfig {
    /// Service origin, e.g. `https://dysmsapi.aliyuncs.com`.
    pub endpoint: String,
    pub access_key_id: String,
    pub access_key_secret: Secret,
    /// Approved SMS signature name (签名名称), e.g. `阿里云`.
    pub sign_name: String,
    /// Approved template code, e.g. `SMS_153055065`; its template must have a
    /// `${code}` variable.
    pub template_code: String,
}

impl AliyunConfig {
    /// From the settings, which start-up has checked hold every value this vendor needs.
    pub fn from_settings(s: &Settings) -> Self {
        AliyunConfig {
            endpoint: endpoint(s, ENDPOINT),
            access_key_id: setting(&s.aliyun_access_key_id),
            access_key_secret: secret(&s.aliyun_access_key_secret),
            sign_name: setting(&s.sms_sign_name),
            template_code: setting(&s.sms_template),
        }
    }
}

impl super::Vendor for AliyunConfig {
    /// Dysmsapi `SendSms`: a signed form POST.
    fn request(
        &self,
        http: &reqwest::Client,
        phone: &str,
        code: &str,
    ) -> Result<reqwest::RequestBuilder, VendorError> {
        let nonce = uuid::Uuid::new_v4().to_string();
        let mut params = request_params(self, phone, code, Utc::now(), &nonce);
        let signature = sign("POST", &params, self.access_key_secret.expose());
        params.push(("Signature".to_owned(), signature));
        let url = format!("{}/", self.endpoint.trim_end_matches('/'));
        Ok(http
            .post(url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(form_body(&params)))
    }

    fn interpret(status: u16, body: &str) -> Result<(), VendorError> {
        interpret(status, body)
    }
}

/// The phone number as `SendSms` wants it: mainland numbers bare, others as
/// country code + number without `+`.
pub fn vendor_phone(phone: &str) -> String {
    if let Some(rest) = phone.strip_prefix("+86")
        && rest.len() == 11
        && rest.bytes().all(|b| b.is_ascii_digit())
    {
        return rest.to_owned();
    }
    phone.strip_prefix('+').unwrap_or(phone).to_owned()
}

/// Every request parameter except `Signature`, for a request made at `at`
/// with the given nonce. Order does not matter: [`sign`] sorts.
pub fn request_params(
    cfg: &AliyunConfig,
    phone: &str,
    code: &str,
    at: DateTime<Utc>,
    nonce: &str,
) -> Vec<(String, String)> {
    let template_param = serde_json::json!({ "code": code }).to_string();
    [
        ("AccessKeyId", cfg.access_key_id.clone()),
        ("Action", ACTION.to_owned()),
        ("Format", "JSON".to_owned()),
        ("PhoneNumbers", vendor_phone(phone)),
        ("RegionId", REGION_ID.to_owned()),
        ("SignName", cfg.sign_name.clone()),
        ("SignatureMethod", "HMAC-SHA1".to_owned()),
        ("SignatureNonce", nonce.to_owned()),
        ("SignatureVersion", "1.0".to_owned()),
        ("TemplateCode", cfg.template_code.clone()),
        ("TemplateParam", template_param),
        ("Timestamp", at.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        ("Version", API_VERSION.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Alibaba's percent-encoding: UTF-8 bytes, only `A-Z a-z 0-9 - _ . ~` left
/// as they are, everything else `%XX` with upper-case hex.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
            out.push(char::from(HEX_UPPER[usize::from(b & 0x0f)]));
        }
    }
    out
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// The canonicalized query string: parameters sorted by name, each
/// `encode(name)=encode(value)`, joined with `&`. A `Signature` parameter, if
/// present, is left out.
pub fn canonicalized_query(params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> =
        params.iter().filter(|(k, _)| k != "Signature").collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// StringToSign = `METHOD&%2F&` + encode(canonicalized query).
pub fn string_to_sign(method: &str, params: &[(String, String)]) -> String {
    format!(
        "{method}&{}&{}",
        percent_encode("/"),
        percent_encode(&canonicalized_query(params))
    )
}

/// The `Signature` parameter: base64(HMAC-SHA1(secret + "&", StringToSign)).
pub fn sign(method: &str, params: &[(String, String)], access_key_secret: &str) -> String {
    let key = hmac::Key::new(
        hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        format!("{access_key_secret}&").as_bytes(),
    );
    let tag = hmac::sign(&key, string_to_sign(method, params).as_bytes());
    BASE64.encode(tag.as_ref())
}

/// The form body: every parameter (the signature included) as
/// `encode(name)=encode(value)` joined with `&`. The strict encoding is also
/// valid `application/x-www-form-urlencoded`.
pub fn form_body(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[derive(Deserialize)]
struct Answer {
    #[serde(rename = "Code")]
    code: Option<String>,
    #[serde(rename = "Message", default)]
    message: Option<String>,
}

/// Read Dysmsapi's answer: `Code == "OK"` (with a 2xx status) is success.
pub fn interpret(status: u16, body: &str) -> Result<(), VendorError> {
    let answer: Answer = serde_json::from_str(body)
        .map_err(|_| VendorError::unreadable("not a JSON object", status, body))?;
    match answer.code {
        Some(code) if code == "OK" => {
            if (200..300).contains(&status) {
                Ok(())
            } else {
                Err(VendorError::unreadable(
                    "Code OK with an error status",
                    status,
                    body,
                ))
            }
        }
        Some(code) => Err(VendorError::Refused {
            code,
            message: answer.message.unwrap_or_default(),
        }),
        None => Err(VendorError::unreadable("no Code", status, body)),
    }
}

#[cfg(test)]
mod local;
#[cfg(test)]
mod tests;
