//! Tencent Cloud SMS: `SendSms`, API version 2021-01-11, service `sms`
//! (endpoint `sms.tencentcloudapi.com`, or `sms.intl.tencentcloudapi.com` for
//! the international site).
//!
//! # Signing: TC3-HMAC-SHA256 ("signature method v3")
//!
//! ```text
//! CanonicalRequest = Method \n "/" \n Query \n CanonicalHeaders \n SignedHeaders \n hex(sha256(body))
//! StringToSign     = "TC3-HMAC-SHA256" \n Timestamp \n Date/sms/tc3_request \n hex(sha256(CanonicalRequest))
//! SecretDate       = HMAC-SHA256("TC3" + SecretKey, Date)
//! SecretService    = HMAC-SHA256(SecretDate, "sms")
//! SecretSigning    = HMAC-SHA256(SecretService, "tc3_request")
//! Signature        = hex(HMAC-SHA256(SecretSigning, StringToSign))
//! Authorization    = "TC3-HMAC-SHA256 Credential=" SecretId "/" Date "/sms/tc3_request, "
//!                    "SignedHeaders=" SignedHeaders ", Signature=" Signature
//! ```
//!
//! `Date` is the UTC date of the `X-TC-Timestamp` value. Canonical headers are
//! `name:value\n` with both lower-cased and trimmed, sorted by name. This
//! client signs `content-type`, `host` and `x-tc-action`, as Tencent's current
//! worked example does, and sends `X-TC-Action`, `X-TC-Version`,
//! `X-TC-Timestamp` and `X-TC-Region` headers with a JSON body
//! (`Content-Type: application/json; charset=utf-8`, exactly as signed).
//!
//! # Phone numbers
//!
//! `PhoneNumberSet` takes E.164 numbers (`+[country code][number]`), so a bare
//! 11-digit mainland number gets `+86` and a `+…` number is sent as is.
//!
//! # Answers
//!
//! Tencent answers HTTP 200 with either `Response.Error{Code,Message}` (the
//! call was refused as a whole: bad signature, unknown app...) or
//! `Response.SendStatusSet[]`, one entry per number, whose `Code` is `"Ok"` on
//! success or a reason such as `LimitExceeded.PhoneNumberDailyLimit`.

use aws_lc_rs::hmac;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{VendorError, endpoint, secret, setting};
use crate::config::{Secret, Settings};

/// Signing service name (the first label of the endpoint).
pub const SERVICE: &str = "sms";
/// API version this client speaks.
pub const API_VERSION: &str = "2021-01-11";
/// The API action this client calls.
pub const ACTION: &str = "SendSms";
/// The signature algorithm name.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";
/// The content type sent, and signed, with the JSON body.
pub const CONTENT_TYPE_JSON: &str = "application/json; charset=utf-8";

/// The service origin unless `GATEHOUSE_SMS_ENDPOINT` names another.
pub const ENDPOINT: &str = "https://sms.tencentcloudapi.com";

/// What the Tencent client needs to send a code.
#[derive(Clone, Debug)]
pub struct TencentConfig {
    /// Service origin, e.g. `https://sms.tencentcloudapi.com`. Requests go to
    /// its root path `/`, which is what TC3 signs.
    pub endpoint: String,
    pub secret_id: String,
    pub secret_key: Secret,
    /// Region, e.g. `ap-guangzhou` (or `ap-beijing`, `ap-nanjing`; the
    /// international site uses e.g. `ap-singapore`).
    pub region: String,
    /// The SMS application's `SmsSdkAppId`, e.g. `1400006666`.
    pub sdk_app_id: String,
    /// Approved signature content; required for mainland messages, may be
    /// left empty for international ones (then it is not sent).
    pub sign_name: String,
    /// Approved template ID; its template must have one `{1}` variable.
    pub template_id: String,
}

impl TencentConfig {
    /// From the settings, which start-up has checked hold every value this vendor needs.
    pub fn from_settings(s: &Settings) -> Self {
        TencentConfig {
            endpoint: endpoint(s, ENDPOINT),
            secret_id: setting(&s.tencent_secret_id),
            secret_key: secret(&s.tencent_secret_key),
            region: s.tencent_region.clone(),
            sdk_app_id: setting(&s.tencent_sms_app_id),
            sign_name: setting(&s.sms_sign_name),
            template_id: setting(&s.sms_template),
        }
    }
}

impl super::Vendor for TencentConfig {
    /// Tencent Cloud SMS `SendSms`: a JSON POST signed with TC3-HMAC-SHA256.
    fn request(
        &self,
        http: &reqwest::Client,
        phone: &str,
        code: &str,
    ) -> Result<reqwest::RequestBuilder, VendorError> {
        let mut url = url::Url::parse(&self.endpoint)
            .map_err(|e| VendorError::Network(format!("bad endpoint {:?}: {e}", self.endpoint)))?;
        url.set_path("/");
        url.set_query(None);
        let host = host_header(&url).ok_or_else(|| {
            VendorError::Network(format!("endpoint {:?} has no host", self.endpoint))
        })?;

        let payload = request_body(self, phone, code);
        let at = Utc::now();
        let headers = [
            ("Content-Type", CONTENT_TYPE_JSON),
            ("Host", host.as_str()),
            ("X-TC-Action", ACTION),
        ];
        let request = CanonicalRequest {
            method: "POST",
            query: "",
            headers: &headers,
            payload: payload.as_bytes(),
        };
        let authorization = authorization(
            &self.secret_id,
            self.secret_key.expose(),
            SERVICE,
            at,
            &request,
        );

        let mut builder = http
            .post(url)
            .header(reqwest::header::AUTHORIZATION, authorization)
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE_JSON)
            .header("X-TC-Action", ACTION)
            .header("X-TC-Version", API_VERSION)
            .header("X-TC-Timestamp", at.timestamp().to_string());
        if !self.region.is_empty() {
            builder = builder.header("X-TC-Region", &self.region);
        }
        Ok(builder.body(payload))
    }

    fn interpret(status: u16, body: &str) -> Result<(), VendorError> {
        interpret(status, body)
    }
}

/// The `Host` header `reqwest` sends for `url`: the host, plus `:port` when
/// the port is not the scheme's default.
fn host_header(url: &url::Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

/// The phone number in E.164 form: `+86` added to a bare mainland number.
pub fn vendor_phone(phone: &str) -> String {
    if phone.starts_with('+') {
        phone.to_owned()
    } else {
        format!("+86{phone}")
    }
}

/// The JSON body of a `SendSms` request.
pub fn request_body(cfg: &TencentConfig, phone: &str, code: &str) -> String {
    let mut body = serde_json::json!({
        "PhoneNumberSet": [vendor_phone(phone)],
        "SmsSdkAppId": cfg.sdk_app_id,
        "TemplateId": cfg.template_id,
        "TemplateParamSet": [code],
    });
    if !cfg.sign_name.is_empty()
        && let Some(map) = body.as_object_mut()
    {
        map.insert("SignName".to_owned(), cfg.sign_name.clone().into());
    }
    body.to_string()
}

/// The parts of an HTTP request that TC3 signs.
pub struct CanonicalRequest<'a> {
    /// `GET` or `POST`.
    pub method: &'a str,
    /// The URL's query string (empty for POST).
    pub query: &'a str,
    /// Headers to sign, as sent (any case, any order).
    pub headers: &'a [(&'a str, &'a str)],
    /// The request body (empty for GET).
    pub payload: &'a [u8],
}

impl CanonicalRequest<'_> {
    fn sorted_headers(&self) -> Vec<(String, String)> {
        let mut headers: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_lowercase()))
            .collect();
        headers.sort();
        headers
    }

    /// `SignedHeaders`: lower-cased header names, sorted, `;`-separated.
    pub fn signed_headers(&self) -> String {
        self.sorted_headers()
            .into_iter()
            .map(|(k, _)| k)
            .collect::<Vec<_>>()
            .join(";")
    }

    /// The CanonicalRequest string.
    pub fn canonical(&self) -> String {
        let canonical_headers: String = self
            .sorted_headers()
            .into_iter()
            .map(|(k, v)| format!("{k}:{v}\n"))
            .collect();
        format!(
            "{}\n/\n{}\n{}\n{}\n{}",
            self.method,
            self.query,
            canonical_headers,
            self.signed_headers(),
            sha256_hex(self.payload)
        )
    }
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac_sha256(key: &[u8], data: &str) -> hmac::Tag {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
}

/// The UTC date (`YYYY-MM-DD`) of the credential scope.
pub fn scope_date(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// StringToSign for a request made at Unix time `timestamp`.
pub fn string_to_sign(
    timestamp: i64,
    date: &str,
    service: &str,
    canonical_request: &str,
) -> String {
    format!(
        "{ALGORITHM}\n{timestamp}\n{date}/{service}/tc3_request\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// Hex signature of `string_to_sign` with the key derived from `secret_key`.
pub fn signature(secret_key: &str, date: &str, service: &str, string_to_sign: &str) -> String {
    let secret_date = hmac_sha256(format!("TC3{secret_key}").as_bytes(), date);
    let secret_service = hmac_sha256(secret_date.as_ref(), service);
    let secret_signing = hmac_sha256(secret_service.as_ref(), "tc3_request");
    hex::encode(hmac_sha256(secret_signing.as_ref(), string_to_sign).as_ref())
}

/// The `Authorization` header for `request` made at `at`.
pub fn authorization(
    secret_id: &str,
    secret_key: &str,
    service: &str,
    at: DateTime<Utc>,
    request: &CanonicalRequest<'_>,
) -> String {
    let date = scope_date(at);
    let to_sign = string_to_sign(at.timestamp(), &date, service, &request.canonical());
    format!(
        "{ALGORITHM} Credential={secret_id}/{date}/{service}/tc3_request, SignedHeaders={}, Signature={}",
        request.signed_headers(),
        signature(secret_key, &date, service, &to_sign)
    )
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Response")]
    response: Option<Body>,
}

#[derive(Deserialize)]
struct Body {
    #[serde(rename = "Error")]
    error: Option<Status>,
    #[serde(rename = "SendStatusSet", default)]
    send_status_set: Vec<Status>,
}

#[derive(Deserialize)]
struct Status {
    #[serde(rename = "Code")]
    code: String,
    #[serde(rename = "Message", default)]
    message: String,
}

/// Read Tencent's answer: `Response.SendStatusSet[0].Code == "Ok"` is success.
pub fn interpret(status: u16, body: &str) -> Result<(), VendorError> {
    let envelope: Envelope = serde_json::from_str(body)
        .map_err(|_| VendorError::unreadable("not a Tencent Cloud answer", status, body))?;
    let Some(response) = envelope.response else {
        return Err(VendorError::unreadable("no Response", status, body));
    };
    if let Some(error) = response.error {
        return Err(VendorError::Refused {
            code: error.code,
            message: error.message,
        });
    }
    match response.send_status_set.into_iter().next() {
        Some(entry) if entry.code == "Ok" && (200..300).contains(&status) => Ok(()),
        Some(entry) if entry.code == "Ok" => Err(VendorError::unreadable(
            "Ok with an error status",
            status,
            body,
        )),
        Some(entry) => Err(VendorError::Refused {
            code: entry.code,
            message: entry.message,
        }),
        None => Err(VendorError::unreadable("empty SendStatusSet", status, body)),
    }
}

#[cfg(test)]
mod local;
#[cfg(test)]
mod tests;
