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

use std::fmt;

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::VendorError;

/// Dysmsapi API version this client speaks.
pub const API_VERSION: &str = "2017-05-25";
/// The API action this client calls.
pub const ACTION: &str = "SendSms";
/// Region parameter sent with every request (Dysmsapi is served from one
/// region; the SDKs send `cn-hangzhou`).
pub const REGION_ID: &str = "cn-hangzhou";

/// What the Aliyun client needs to send a code.
#[derive(Clone)]
pub struct AliyunConfig {
    /// Service origin, e.g. `https://dysmsapi.aliyuncs.com`.
    pub endpoint: String,
    pub access_key_id: String,
    pub access_key_secret: String,
    /// Approved SMS signature name (签名名称), e.g. `阿里云`.
    pub sign_name: String,
    /// Approved template code, e.g. `SMS_153055065`; its template must have a
    /// `${code}` variable.
    pub template_code: String,
}

impl fmt::Debug for AliyunConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AliyunConfig")
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"<redacted>")
            .field("sign_name", &self.sign_name)
            .field("template_code", &self.template_code)
            .finish()
    }
}

/// Send `code` to `phone` through Dysmsapi `SendSms`.
pub async fn send(
    http: &reqwest::Client,
    cfg: &AliyunConfig,
    phone: &str,
    code: &str,
) -> Result<(), VendorError> {
    let nonce = uuid::Uuid::new_v4().to_string();
    let mut params = request_params(cfg, phone, code, Utc::now(), &nonce);
    let signature = sign("POST", &params, &cfg.access_key_secret);
    params.push(("Signature".to_owned(), signature));

    let url = format!("{}/", cfg.endpoint.trim_end_matches('/'));
    let response = http
        .post(url)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(reqwest::header::ACCEPT, "application/json")
        .body(form_body(&params))
        .send()
        .await
        .map_err(VendorError::network)?;
    let status = response.status().as_u16();
    let body = response.text().await.map_err(VendorError::network)?;
    interpret(status, &body)
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
mod tests {
    use super::*;

    use std::collections::{BTreeMap, HashSet};
    use std::sync::Mutex;

    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
    use chrono::TimeZone;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    // ---- Documented vectors ------------------------------------------------

    /// Alibaba Cloud "Request syntax and signature method V2 for RPC APIs" /
    /// ECS "Request signatures" worked example (DescribeRegions, AccessKeyId
    /// `testid`, AccessKeySecret `testsecret`):
    /// https://www.alibabacloud.com/help/doc-detail/28139.htm, also quoted at
    /// https://developer.aliyun.com/ask/210168 .
    const DESCRIBE_REGIONS: &[(&str, &str)] = &[
        ("TimeStamp", "2016-02-23T12:46:24Z"),
        ("Format", "XML"),
        ("AccessKeyId", "testid"),
        ("Action", "DescribeRegions"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
        ("Version", "2014-05-26"),
        ("SignatureVersion", "1.0"),
    ];
    const DESCRIBE_REGIONS_STRING_TO_SIGN: &str = "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26TimeStamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26";
    const DESCRIBE_REGIONS_SIGNATURE: &str = "CT9X0VtwR86fNWSnsc6v8YGOjuE=";

    /// Alibaba Cloud SMS "HTTP protocol and signature" worked example
    /// (SendSms, AccessKeyId `testId`, AccessKeySecret `testSecret`), quoted at
    /// https://developer.aliyun.com/ask/278546 and used as the test vector of
    /// many SDK ports (e.g. the Go `TestPopSign` and Ruby `aliyun-sms` specs
    /// found in public repositories).
    const SEND_SMS: &[(&str, &str)] = &[
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", "45e25e9b-0a6f-4070-8c85-2956eda1b466"),
        ("AccessKeyId", "testId"),
        ("SignatureVersion", "1.0"),
        ("Timestamp", "2017-07-12T02:42:19Z"),
        ("Format", "XML"),
        ("Action", "SendSms"),
        ("Version", "2017-05-25"),
        ("RegionId", "cn-hangzhou"),
        ("PhoneNumbers", "15300000001"),
        ("SignName", "阿里云短信测试专用"),
        ("TemplateParam", "{\"customer\":\"test\"}"),
        ("TemplateCode", "SMS_71390007"),
        ("OutId", "123"),
    ];
    const SEND_SMS_QUERY: &str = "AccessKeyId=testId&Action=SendSms&Format=XML&OutId=123&PhoneNumbers=15300000001&RegionId=cn-hangzhou&SignName=%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B%E8%AF%95%E4%B8%93%E7%94%A8&SignatureMethod=HMAC-SHA1&SignatureNonce=45e25e9b-0a6f-4070-8c85-2956eda1b466&SignatureVersion=1.0&TemplateCode=SMS_71390007&TemplateParam=%7B%22customer%22%3A%22test%22%7D&Timestamp=2017-07-12T02%3A42%3A19Z&Version=2017-05-25";
    const SEND_SMS_STRING_TO_SIGN: &str = "GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML%26OutId%3D123%26PhoneNumbers%3D15300000001%26RegionId%3Dcn-hangzhou%26SignName%3D%25E9%2598%25BF%25E9%2587%258C%25E4%25BA%2591%25E7%259F%25AD%25E4%25BF%25A1%25E6%25B5%258B%25E8%25AF%2595%25E4%25B8%2593%25E7%2594%25A8%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D45e25e9b-0a6f-4070-8c85-2956eda1b466%26SignatureVersion%3D1.0%26TemplateCode%3DSMS_71390007%26TemplateParam%3D%257B%2522customer%2522%253A%2522test%2522%257D%26Timestamp%3D2017-07-12T02%253A42%253A19Z%26Version%3D2017-05-25";
    const SEND_SMS_SIGNATURE: &str = "zJDF+Lrzhj/ThnlvIToysFRq6t4=";

    #[test]
    fn reproduces_documented_describe_regions_example() {
        let params = pairs(DESCRIBE_REGIONS);
        assert_eq!(
            string_to_sign("GET", &params),
            DESCRIBE_REGIONS_STRING_TO_SIGN
        );
        assert_eq!(
            sign("GET", &params, "testsecret"),
            DESCRIBE_REGIONS_SIGNATURE
        );
    }

    #[test]
    fn reproduces_documented_send_sms_example() {
        let params = pairs(SEND_SMS);
        assert_eq!(canonicalized_query(&params), SEND_SMS_QUERY);
        assert_eq!(string_to_sign("GET", &params), SEND_SMS_STRING_TO_SIGN);
        assert_eq!(sign("GET", &params, "testSecret"), SEND_SMS_SIGNATURE);
    }

    #[test]
    fn signature_parameter_is_never_signed() {
        let mut params = pairs(SEND_SMS);
        params.push(("Signature".to_owned(), "whatever".to_owned()));
        assert_eq!(sign("GET", &params, "testSecret"), SEND_SMS_SIGNATURE);
    }

    #[test]
    fn percent_encoding_follows_alibaba_rules() {
        assert_eq!(percent_encode("a b"), "a%20b");
        assert_eq!(percent_encode("*"), "%2A");
        assert_eq!(percent_encode("~"), "~");
        assert_eq!(percent_encode("+"), "%2B");
        assert_eq!(percent_encode("-_."), "-_.");
        assert_eq!(percent_encode("/:=&\""), "%2F%3A%3D%26%22");
        assert_eq!(percent_encode("阿"), "%E9%98%BF");
    }

    #[test]
    fn phone_numbers_follow_send_sms_reference() {
        assert_eq!(vendor_phone("13800138000"), "13800138000");
        assert_eq!(vendor_phone("+8613800138000"), "13800138000");
        assert_eq!(vendor_phone("+85291234567"), "85291234567");
        assert_eq!(vendor_phone("+14155550123"), "14155550123");
    }

    fn config(endpoint: &str, secret: &str) -> AliyunConfig {
        AliyunConfig {
            endpoint: endpoint.to_owned(),
            access_key_id: "LTAI-test-id".to_owned(),
            access_key_secret: secret.to_owned(),
            sign_name: "门房".to_owned(),
            template_code: "SMS_153055065".to_owned(),
        }
    }

    #[test]
    fn request_params_carry_the_code_as_template_param() {
        let at = Utc
            .with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
            .single()
            .expect("valid");
        let params: BTreeMap<String, String> =
            request_params(&config("x", "s"), "+8613800138000", "123456", at, "n-1")
                .into_iter()
                .collect();
        assert_eq!(params["TemplateParam"], r#"{"code":"123456"}"#);
        assert_eq!(params["PhoneNumbers"], "13800138000");
        assert_eq!(params["Timestamp"], "2026-01-02T03:04:05Z");
        assert_eq!(params["SignatureNonce"], "n-1");
        assert_eq!(params["Action"], "SendSms");
        assert_eq!(params["Version"], "2017-05-25");
        assert_eq!(params["Format"], "JSON");
        assert!(!params.contains_key("Signature"));
    }

    #[test]
    fn config_debug_hides_the_secret() {
        let shown = format!("{:?}", config("x", "super-secret"));
        assert!(!shown.contains("super-secret"));
    }

    #[test]
    fn answers_are_read() {
        assert!(interpret(200, SUCCESS_BODY).is_ok());
        match interpret(200, THROTTLED_BODY) {
            Err(VendorError::Refused { code, message }) => {
                assert_eq!(code, "isv.BUSINESS_LIMIT_CONTROL");
                assert_eq!(message, "触发分钟级流控Permits:1");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            interpret(400, &signature_mismatch_body()),
            Err(VendorError::Refused { code, .. }) if code == "SignatureDoesNotMatch"
        ));
        assert!(matches!(
            interpret(502, "<html>bad gateway</html>"),
            Err(VendorError::Unreadable(_))
        ));
        assert!(matches!(
            interpret(200, r#"{"RequestId":"x"}"#),
            Err(VendorError::Unreadable(_))
        ));
    }

    // ---- A local Dysmsapi --------------------------------------------------

    const SUCCESS_BODY: &str = r#"{"Message":"OK","RequestId":"F655A8D5-B967-440B-8683-DAD6FF8DE990","Code":"OK","BizId":"900619746936498440^0"}"#;
    const THROTTLED_BODY: &str = r#"{"Message":"触发分钟级流控Permits:1","RequestId":"2184201F-BFB3-446B-B1F2-C746B7BF0657","Code":"isv.BUSINESS_LIMIT_CONTROL"}"#;

    fn signature_mismatch_body() -> String {
        serde_json::json!({
            "RequestId": "7D5F6B3B-6F5A-4E8E-9A2B-1C2D3E4F5A6B",
            "HostId": "dysmsapi.aliyuncs.com",
            "Code": "SignatureDoesNotMatch",
            "Message": "Specified signature does not match our calculation.",
            "Recommend": "https://api.aliyun.com/troubleshoot?q=SignatureDoesNotMatch",
        })
        .to_string()
    }

    fn error(status: u16, code: &str, message: &str) -> HttpResponse {
        let body = serde_json::json!({
            "RequestId": "0C4F1C3A-0000-0000-0000-000000000000",
            "Code": code,
            "Message": message,
        });
        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status"))
            .content_type("application/json;charset=utf-8")
            .body(body.to_string())
    }

    /// The vendor side's signature, written from the published recipe and
    /// independently of the client code above: Java-style `URLEncoder`
    /// (`url::form_urlencoded`) followed by the three documented replacements,
    /// a `BTreeMap` for the sort.
    fn vendor_signature(method: &str, params: &BTreeMap<String, String>, secret: &str) -> String {
        fn special_url_encode(s: &str) -> String {
            url::form_urlencoded::byte_serialize(s.as_bytes())
                .collect::<String>()
                .replace('+', "%20")
                .replace('*', "%2A")
                .replace("%7E", "~")
        }
        let sorted_query = params
            .iter()
            .map(|(k, v)| format!("{}={}", special_url_encode(k), special_url_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let to_sign = format!(
            "{method}&{}&{}",
            special_url_encode("/"),
            special_url_encode(&sorted_query)
        );
        let key = hmac::Key::new(
            hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            format!("{secret}&").as_bytes(),
        );
        BASE64.encode(hmac::sign(&key, to_sign.as_bytes()).as_ref())
    }

    #[test]
    fn vendor_side_verifier_reproduces_documented_examples() {
        let regions: BTreeMap<String, String> = pairs(DESCRIBE_REGIONS).into_iter().collect();
        assert_eq!(
            vendor_signature("GET", &regions, "testsecret"),
            DESCRIBE_REGIONS_SIGNATURE
        );
        let send_sms: BTreeMap<String, String> = pairs(SEND_SMS).into_iter().collect();
        assert_eq!(
            vendor_signature("GET", &send_sms, "testSecret"),
            SEND_SMS_SIGNATURE
        );
    }

    struct FakeDysmsapi {
        access_key_id: String,
        access_key_secret: String,
        sign_name: String,
        template_code: String,
        code: String,
        seen_nonces: Mutex<HashSet<String>>,
    }

    async fn fake_dysmsapi(
        req: HttpRequest,
        body: web::Bytes,
        state: web::Data<FakeDysmsapi>,
    ) -> HttpResponse {
        if req.method() != actix_web::http::Method::POST || req.path() != "/" {
            return error(404, "InvalidAction.NotFound", "Specified api is not found");
        }
        let form = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !form {
            return error(400, "InvalidParameter", "expected a form body");
        }
        // Parameters may come in the query string or the body; gather both.
        let mut params = BTreeMap::new();
        for (k, v) in url::form_urlencoded::parse(req.query_string().as_bytes())
            .chain(url::form_urlencoded::parse(&body))
        {
            if params.insert(k.into_owned(), v.into_owned()).is_some() {
                return error(400, "InvalidParameter", "duplicate parameter");
            }
        }
        let Some(signature) = params.remove("Signature") else {
            return error(400, "MissingSignature", "Signature is mandatory");
        };
        let get = |name: &str| params.get(name).map(String::as_str).unwrap_or("");
        if get("AccessKeyId") != state.access_key_id {
            return error(
                404,
                "InvalidAccessKeyId.NotFound",
                "Specified access key is not found.",
            );
        }
        if get("SignatureMethod") != "HMAC-SHA1" || get("SignatureVersion") != "1.0" {
            return error(
                400,
                "InvalidSignatureMethod",
                "unsupported signature method",
            );
        }
        if signature != vendor_signature("POST", &params, &state.access_key_secret) {
            return HttpResponse::BadRequest()
                .content_type("application/json;charset=utf-8")
                .body(signature_mismatch_body());
        }
        let fresh = chrono::NaiveDateTime::parse_from_str(get("Timestamp"), "%Y-%m-%dT%H:%M:%SZ")
            .map(|t| (Utc::now() - t.and_utc()).num_minutes().abs() <= 15)
            .unwrap_or(false);
        if !fresh {
            return error(
                400,
                "InvalidTimeStamp.Expired",
                "Specified time stamp or date value is expired.",
            );
        }
        let nonce = get("SignatureNonce").to_owned();
        if nonce.is_empty() || !state.seen_nonces.lock().expect("lock").insert(nonce) {
            return error(
                400,
                "SignatureNonceUsed",
                "Specified signature nonce was used already.",
            );
        }
        if get("Action") != "SendSms" || get("Version") != "2017-05-25" || get("Format") != "JSON" {
            return error(400, "InvalidParameter", "unexpected Action/Version/Format");
        }
        if get("SignName") != state.sign_name {
            return error(200, "isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名");
        }
        if get("TemplateCode") != state.template_code {
            return error(200, "isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板");
        }
        let expected_param = serde_json::json!({ "code": state.code });
        if serde_json::from_str::<serde_json::Value>(get("TemplateParam")).ok()
            != Some(expected_param)
        {
            return error(
                200,
                "isv.INVALID_JSON_PARAM",
                "JSON参数不合法，只接受字符串值",
            );
        }
        match get("PhoneNumbers") {
            "13800138000" | "85291234567" => HttpResponse::Ok()
                .content_type("application/json;charset=utf-8")
                .body(SUCCESS_BODY),
            "13900139000" => HttpResponse::Ok()
                .content_type("application/json;charset=utf-8")
                .body(THROTTLED_BODY),
            _ => error(200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号"),
        }
    }

    async fn start_fake_dysmsapi(secret: &str) -> (String, actix_web::dev::ServerHandle) {
        let state = web::Data::new(FakeDysmsapi {
            access_key_id: "LTAI-test-id".to_owned(),
            access_key_secret: secret.to_owned(),
            sign_name: "门房".to_owned(),
            template_code: "SMS_153055065".to_owned(),
            code: "123456".to_owned(),
            seen_nonces: Mutex::new(HashSet::new()),
        });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .default_service(web::to(fake_dysmsapi))
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
    async fn local_dysmsapi_accepts_signed_requests_and_refusals_come_back() {
        let (base, handle) = start_fake_dysmsapi("s3cret/with+odd*chars~").await;
        let http = client();
        let cfg = config(&base, "s3cret/with+odd*chars~");

        send(&http, &cfg, "13800138000", "123456")
            .await
            .expect("mainland number accepted");
        send(&http, &cfg, "+85291234567", "123456")
            .await
            .expect("international number accepted");
        // Same request twice: fresh nonce each time, so no replay refusal.
        send(&http, &cfg, "13800138000", "123456")
            .await
            .expect("second send accepted");

        match send(&http, &cfg, "13900139000", "123456").await {
            Err(VendorError::Refused { code, message }) => {
                assert_eq!(code, "isv.BUSINESS_LIMIT_CONTROL");
                assert_eq!(message, "触发分钟级流控Permits:1");
            }
            other => panic!("expected flow-control refusal, got {other:?}"),
        }

        let wrong = config(&base, "not-the-secret");
        match send(&http, &wrong, "13800138000", "123456").await {
            Err(VendorError::Refused { code, .. }) => assert_eq!(code, "SignatureDoesNotMatch"),
            other => panic!("expected signature refusal, got {other:?}"),
        }

        match send(&http, &cfg, "13800138000", "654321").await {
            Err(VendorError::Refused { code, .. }) => assert_eq!(code, "isv.INVALID_JSON_PARAM"),
            other => panic!("expected the fake vendor to see the wrong code, got {other:?}"),
        }

        handle.stop(true).await;
    }

    #[actix_web::test]
    async fn unreachable_vendor_is_a_network_error() {
        // Bind then drop a listener to get a port nothing listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let cfg = config(&format!("http://127.0.0.1:{port}"), "s");
        let err = send(&client(), &cfg, "13800138000", "123456")
            .await
            .expect_err("nothing listens");
        assert!(matches!(err, VendorError::Network(_)), "{err:?}");
    }
}
