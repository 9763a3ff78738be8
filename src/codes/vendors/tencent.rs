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

use std::fmt;

use aws_lc_rs::hmac;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::VendorError;

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

/// What the Tencent client needs to send a code.
#[derive(Clone)]
pub struct TencentConfig {
    /// Service origin, e.g. `https://sms.tencentcloudapi.com`. Requests go to
    /// its root path `/`, which is what TC3 signs.
    pub endpoint: String,
    pub secret_id: String,
    pub secret_key: String,
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

impl fmt::Debug for TencentConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TencentConfig")
            .field("endpoint", &self.endpoint)
            .field("secret_id", &self.secret_id)
            .field("secret_key", &"<redacted>")
            .field("region", &self.region)
            .field("sdk_app_id", &self.sdk_app_id)
            .field("sign_name", &self.sign_name)
            .field("template_id", &self.template_id)
            .finish()
    }
}

/// Send `code` to `phone` through Tencent Cloud SMS `SendSms`.
pub async fn send(
    http: &reqwest::Client,
    cfg: &TencentConfig,
    phone: &str,
    code: &str,
) -> Result<(), VendorError> {
    let mut url = url::Url::parse(&cfg.endpoint)
        .map_err(|e| VendorError::Network(format!("bad endpoint {:?}: {e}", cfg.endpoint)))?;
    url.set_path("/");
    url.set_query(None);
    let host = host_header(&url)
        .ok_or_else(|| VendorError::Network(format!("endpoint {:?} has no host", cfg.endpoint)))?;

    let payload = request_body(cfg, phone, code);
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
    let authorization = authorization(&cfg.secret_id, &cfg.secret_key, SERVICE, at, &request);

    let mut builder = http
        .post(url)
        .header(reqwest::header::AUTHORIZATION, authorization)
        .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE_JSON)
        .header("X-TC-Action", ACTION)
        .header("X-TC-Version", API_VERSION)
        .header("X-TC-Timestamp", at.timestamp().to_string());
    if !cfg.region.is_empty() {
        builder = builder.header("X-TC-Region", &cfg.region);
    }
    let response = builder
        .body(payload)
        .send()
        .await
        .map_err(VendorError::network)?;
    let status = response.status().as_u16();
    let body = response.text().await.map_err(VendorError::network)?;
    interpret(status, &body)
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
mod tests {
    use super::*;

    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
    use chrono::TimeZone;

    // ---- Documented vectors ------------------------------------------------

    /// Tencent Cloud API 3.0 "签名方法 v3" worked example (CVM
    /// DescribeInstances, POST, signed headers `content-type;host;x-tc-action`,
    /// timestamp 1551113065), https://cloud.tencent.com/document/api/213/30654
    /// (the same page is repeated per product, e.g. /document/api/382/52072
    /// for SMS). The page masks the key as `Gu5t9xGARNpq86cd98joQYCN3*******`,
    /// and its published intermediate and final values were computed with
    /// exactly that masked string as the SecretKey.
    #[test]
    fn reproduces_documented_post_example() {
        let payload = r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
        let headers = [
            ("Content-Type", "application/json; charset=utf-8"),
            ("Host", "cvm.tencentcloudapi.com"),
            ("X-TC-Action", "DescribeInstances"),
        ];
        let request = CanonicalRequest {
            method: "POST",
            query: "",
            headers: &headers,
            payload: payload.as_bytes(),
        };
        assert_eq!(
            sha256_hex(payload.as_bytes()),
            "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        assert_eq!(
            request.canonical(),
            "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\nx-tc-action:describeinstances\n\ncontent-type;host;x-tc-action\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        assert_eq!(
            sha256_hex(request.canonical().as_bytes()),
            "7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84"
        );
        let at = Utc.timestamp_opt(1_551_113_065, 0).single().expect("valid");
        assert_eq!(scope_date(at), "2019-02-25");
        assert_eq!(
            authorization(
                "AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******",
                "Gu5t9xGARNpq86cd98joQYCN3*******",
                "cvm",
                at,
                &request
            ),
            "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host;x-tc-action, Signature=be4f67d323c78ab9acb7395e43c0dbcf822a9cfac32fea2449a7bc7726b770a3"
        );
    }

    /// The earlier edition of the same page (international site "Signature
    /// v3", e.g. https://www.tencentcloud.com/document/api/213/30654, and its
    /// translations in tencentyun/qcloud-documents): CVM DescribeInstances by
    /// GET with `Limit=10&Offset=0`, timestamp 1539084154, SecretKey
    /// `Gu5t9xGARNpq86cd98joQYCN3EXAMPLE`. (Its printed canonical request shows
    /// host `cvm.api.tencentyun.com`, a typo: the published hash 91c9c192…
    /// and signature are those of host `cvm.tencentcloudapi.com`.)
    #[test]
    fn reproduces_documented_get_example() {
        let headers = [
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Host", "cvm.tencentcloudapi.com"),
        ];
        let request = CanonicalRequest {
            method: "GET",
            query: "Limit=10&Offset=0",
            headers: &headers,
            payload: b"",
        };
        assert_eq!(
            sha256_hex(request.canonical().as_bytes()),
            "91c9c192c14460df6c1ffc69e34e6c5e90708de2a6d282cccf957dbf1aa7f3a7"
        );
        let at = Utc.timestamp_opt(1_539_084_154, 0).single().expect("valid");
        assert_eq!(
            string_to_sign(1_539_084_154, "2018-10-09", "cvm", &request.canonical()),
            "TC3-HMAC-SHA256\n1539084154\n2018-10-09/cvm/tc3_request\n91c9c192c14460df6c1ffc69e34e6c5e90708de2a6d282cccf957dbf1aa7f3a7"
        );
        assert_eq!(
            authorization(
                "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
                "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
                "cvm",
                at,
                &request
            ),
            "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2018-10-09/cvm/tc3_request, SignedHeaders=content-type;host, Signature=5da7a33f6993f0614b047e5df4582db9e9bf4672ba50567dba16c6ccf174c474"
        );
    }

    #[test]
    fn scope_date_is_utc() {
        // 2019-02-26 00:44:25 in UTC+8 is still 2019-02-25 in UTC (the
        // pitfall the documentation warns about).
        let at = Utc.timestamp_opt(1_551_113_065, 0).single().expect("valid");
        assert_eq!(scope_date(at), "2019-02-25");
    }

    #[test]
    fn phone_numbers_are_e164() {
        assert_eq!(vendor_phone("13800138000"), "+8613800138000");
        assert_eq!(vendor_phone("+8613800138000"), "+8613800138000");
        assert_eq!(vendor_phone("+85291234567"), "+85291234567");
    }

    fn config(endpoint: &str, secret_key: &str) -> TencentConfig {
        TencentConfig {
            endpoint: endpoint.to_owned(),
            secret_id: "AKID-test-id".to_owned(),
            secret_key: secret_key.to_owned(),
            region: "ap-guangzhou".to_owned(),
            sdk_app_id: "1400006666".to_owned(),
            sign_name: "门房".to_owned(),
            template_id: "449739".to_owned(),
        }
    }

    #[test]
    fn request_body_has_the_documented_fields() {
        let body: serde_json::Value =
            serde_json::from_str(&request_body(&config("x", "k"), "13800138000", "123456"))
                .expect("json");
        assert_eq!(
            body,
            serde_json::json!({
                "PhoneNumberSet": ["+8613800138000"],
                "SmsSdkAppId": "1400006666",
                "SignName": "门房",
                "TemplateId": "449739",
                "TemplateParamSet": ["123456"],
            })
        );
        let mut international = config("x", "k");
        international.sign_name.clear();
        let body: serde_json::Value =
            serde_json::from_str(&request_body(&international, "+85291234567", "1")).expect("json");
        assert!(body.get("SignName").is_none());
    }

    #[test]
    fn config_debug_hides_the_secret() {
        let shown = format!("{:?}", config("x", "super-secret"));
        assert!(!shown.contains("super-secret"));
    }

    #[test]
    fn answers_are_read() {
        assert!(interpret(200, SUCCESS_BODY).is_ok());
        match interpret(200, &daily_limit_body("+8613900139000")) {
            Err(VendorError::Refused { code, .. }) => {
                assert_eq!(code, "LimitExceeded.PhoneNumberDailyLimit")
            }
            other => panic!("unexpected {other:?}"),
        }
        match interpret(200, &error_body("AuthFailure.SignatureFailure", "bad")) {
            Err(VendorError::Refused { code, message }) => {
                assert_eq!(code, "AuthFailure.SignatureFailure");
                assert_eq!(message, "bad");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            interpret(200, r#"{"Response":{"SendStatusSet":[],"RequestId":"x"}}"#),
            Err(VendorError::Unreadable(_))
        ));
        assert!(matches!(
            interpret(502, "<html>bad gateway</html>"),
            Err(VendorError::Unreadable(_))
        ));
    }

    // ---- A local sms.tencentcloudapi.com ----------------------------------

    const SUCCESS_BODY: &str = r#"{"Response":{"SendStatusSet":[{"SerialNo":"5000:1045710669157053657849499619","PhoneNumber":"+8613800138000","Fee":1,"SessionContext":"","Code":"Ok","Message":"send success","IsoCode":"CN"}],"RequestId":"a0aabda6-cf91-4f3e-a81f-9198114a2279"}}"#;

    fn daily_limit_body(phone: &str) -> String {
        serde_json::json!({"Response": {
            "SendStatusSet": [{
                "SerialNo": "",
                "PhoneNumber": phone,
                "Fee": 0,
                "SessionContext": "",
                "Code": "LimitExceeded.PhoneNumberDailyLimit",
                "Message": "the number of sms messages sent from a single mobile number every day exceeds the upper limit",
                "IsoCode": "CN",
            }],
            "RequestId": "b1c2d3e4-0000-4000-8000-000000000000",
        }})
        .to_string()
    }

    fn error_body(code: &str, message: &str) -> String {
        serde_json::json!({"Response": {
            "Error": {"Code": code, "Message": message},
            "RequestId": "ed93f3cb-f35e-473f-b9f3-0d451b8b79c6",
        }})
        .to_string()
    }

    fn answer(body: String) -> HttpResponse {
        HttpResponse::Ok()
            .content_type("application/json")
            .body(body)
    }

    #[test]
    fn vendor_side_verifier_reproduces_documented_example() {
        // The verifier used by the fake vendor below, run on the documented
        // GET example (service "cvm" there, "sms" in the fake vendor).
        let canonical = "GET\n/\nLimit=10&Offset=0\ncontent-type:application/x-www-form-urlencoded\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(
            vendor_tc3_signature(
                "cvm",
                "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
                "1539084154",
                "2018-10-09",
                canonical,
            ),
            "5da7a33f6993f0614b047e5df4582db9e9bf4672ba50567dba16c6ccf174c474"
        );
    }

    /// The vendor side of TC3, written from the published recipe and
    /// independently of the client code above.
    fn vendor_tc3_signature(
        service: &str,
        secret_key: &str,
        timestamp: &str,
        date: &str,
        canonical: &str,
    ) -> String {
        let mac = |key: &[u8], msg: &str| -> Vec<u8> {
            hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), msg.as_bytes())
                .as_ref()
                .to_vec()
        };
        let hashed_canonical = hex::encode(Sha256::digest(canonical.as_bytes()));
        let to_sign = format!(
            "TC3-HMAC-SHA256\n{timestamp}\n{date}/{service}/tc3_request\n{hashed_canonical}"
        );
        let k_date = mac(format!("TC3{secret_key}").as_bytes(), date);
        let k_service = mac(&k_date, service);
        let k_signing = mac(&k_service, "tc3_request");
        hex::encode(mac(&k_signing, &to_sign))
    }

    struct FakeTencent {
        secret_id: String,
        secret_key: String,
    }

    fn header<'a>(req: &'a HttpRequest, name: &str) -> &'a str {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Check the request's TC3 signature the way the vendor would: from the
    /// headers actually received and the body bytes actually received.
    fn check_tc3(req: &HttpRequest, body: &[u8], state: &FakeTencent) -> Result<(), String> {
        let auth = header(req, "authorization");
        let rest = auth
            .strip_prefix("TC3-HMAC-SHA256 ")
            .ok_or("AuthFailure.InvalidAuthorization")?;
        let mut credential = None;
        let mut signed_headers = None;
        let mut signature = None;
        for part in rest.split(", ") {
            match part.split_once('=') {
                Some(("Credential", v)) => credential = Some(v),
                Some(("SignedHeaders", v)) => signed_headers = Some(v),
                Some(("Signature", v)) => signature = Some(v),
                _ => return Err("AuthFailure.InvalidAuthorization".into()),
            }
        }
        let (Some(credential), Some(signed_headers), Some(signature)) =
            (credential, signed_headers, signature)
        else {
            return Err("AuthFailure.InvalidAuthorization".into());
        };
        let scope: Vec<&str> = credential.split('/').collect();
        let &[secret_id, date, service, terminator] = scope.as_slice() else {
            return Err("AuthFailure.InvalidAuthorization".into());
        };
        if secret_id != state.secret_id {
            return Err("AuthFailure.SecretIdNotFound".into());
        }
        if service != "sms" || terminator != "tc3_request" {
            return Err("AuthFailure.InvalidAuthorization".into());
        }
        let timestamp = header(req, "x-tc-timestamp");
        let ts: i64 = timestamp
            .parse()
            .map_err(|_| "InvalidParameter.Timestamp".to_owned())?;
        if (Utc::now().timestamp() - ts).abs() > 300 {
            return Err("AuthFailure.SignatureExpire".into());
        }
        let ts_date = chrono::DateTime::from_timestamp(ts, 0)
            .ok_or("InvalidParameter.Timestamp")?
            .format("%Y-%m-%d")
            .to_string();
        if ts_date != date {
            return Err("AuthFailure.SignatureFailure".into());
        }
        let names: Vec<&str> = signed_headers.split(';').collect();
        if !names.contains(&"content-type") || !names.contains(&"host") {
            return Err("AuthFailure.SignatureFailure".into());
        }
        let mut canonical_headers = String::new();
        for name in &names {
            canonical_headers.push_str(&format!(
                "{name}:{}\n",
                header(req, name).trim().to_lowercase()
            ));
        }
        let canonical = format!(
            "{}\n{}\n{}\n{}\n{}\n{}",
            req.method().as_str(),
            req.path(),
            req.query_string(),
            canonical_headers,
            signed_headers,
            hex::encode(Sha256::digest(body))
        );
        if vendor_tc3_signature("sms", &state.secret_key, timestamp, date, &canonical) != signature
        {
            return Err("AuthFailure.SignatureFailure".into());
        }
        Ok(())
    }

    async fn fake_tencent(
        req: HttpRequest,
        body: web::Bytes,
        state: web::Data<FakeTencent>,
    ) -> HttpResponse {
        if let Err(code) = check_tc3(&req, &body, &state) {
            return answer(error_body(
                &code,
                "The provided credentials could not be validated.",
            ));
        }
        if req.method() != actix_web::http::Method::POST
            || header(&req, "content-type") != "application/json; charset=utf-8"
        {
            return answer(error_body("InvalidParameter", "expected a JSON POST"));
        }
        if header(&req, "x-tc-action") != "SendSms" {
            return answer(error_body("InvalidAction", "unknown action"));
        }
        if header(&req, "x-tc-version") != "2021-01-11" {
            return answer(error_body("NoSuchVersion", "unknown version"));
        }
        if header(&req, "x-tc-region") != "ap-guangzhou" {
            return answer(error_body(
                "InvalidParameterValue.InvalidRegion",
                "bad region",
            ));
        }
        let Ok(json) = serde_json::from_slice::<serde_json::Value>(&body) else {
            return answer(error_body("InvalidParameter", "body is not JSON"));
        };
        if json["SmsSdkAppId"] != "1400006666"
            || json["TemplateId"] != "449739"
            || json["SignName"] != "门房"
        {
            return answer(error_body(
                "FailedOperation.SignatureIncorrectOrUnapproved",
                "bad app/sign/template",
            ));
        }
        if json["TemplateParamSet"] != serde_json::json!(["123456"]) {
            return answer(error_body(
                "FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
                "bad params",
            ));
        }
        match json["PhoneNumberSet"].as_array().map(Vec::as_slice) {
            Some([phone]) if phone == "+8613800138000" || phone == "+85291234567" => {
                answer(SUCCESS_BODY.to_owned())
            }
            Some([phone]) if phone == "+8613900139000" => {
                answer(daily_limit_body("+8613900139000"))
            }
            _ => answer(error_body(
                "InvalidParameterValue.IncorrectPhoneNumber",
                "bad number",
            )),
        }
    }

    async fn start_fake_tencent(secret_key: &str) -> (String, actix_web::dev::ServerHandle) {
        let state = web::Data::new(FakeTencent {
            secret_id: "AKID-test-id".to_owned(),
            secret_key: secret_key.to_owned(),
        });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .default_service(web::to(fake_tencent))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .expect("bind");
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        (format!("http://{addr}"), handle)
    }

    fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client")
    }

    #[actix_web::test]
    async fn local_tencent_accepts_signed_requests_and_refusals_come_back() {
        let (base, handle) = start_fake_tencent("Gu5t9xGARNpq86cd98joQYCN3test").await;
        let http = client();
        let cfg = config(&base, "Gu5t9xGARNpq86cd98joQYCN3test");

        send(&http, &cfg, "13800138000", "123456")
            .await
            .expect("mainland number accepted");
        send(&http, &cfg, "+85291234567", "123456")
            .await
            .expect("international number accepted");

        match send(&http, &cfg, "13900139000", "123456").await {
            Err(VendorError::Refused { code, .. }) => {
                assert_eq!(code, "LimitExceeded.PhoneNumberDailyLimit")
            }
            other => panic!("expected daily-limit refusal, got {other:?}"),
        }

        let wrong = config(&base, "not-the-key");
        match send(&http, &wrong, "13800138000", "123456").await {
            Err(VendorError::Refused { code, .. }) => {
                assert_eq!(code, "AuthFailure.SignatureFailure")
            }
            other => panic!("expected signature refusal, got {other:?}"),
        }

        // A trailing slash on the endpoint changes nothing.
        let slashed = config(&format!("{base}/"), "Gu5t9xGARNpq86cd98joQYCN3test");
        send(&http, &slashed, "13800138000", "123456")
            .await
            .expect("endpoint with trailing slash");

        handle.stop(true).await;
    }

    #[actix_web::test]
    async fn unreachable_vendor_is_a_network_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let cfg = config(&format!("http://127.0.0.1:{port}"), "k");
        let err = send(&client(), &cfg, "13800138000", "123456")
            .await
            .expect_err("nothing listens");
        assert!(matches!(err, VendorError::Network(_)), "{err:?}");
    }
}
