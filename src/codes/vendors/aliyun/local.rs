//! A local Dysmsapi: a fake vendor checking signatures as the real one does, and the client against it.

use super::tests::{
    DESCRIBE_REGIONS, DESCRIBE_REGIONS_SIGNATURE, SEND_SMS, SEND_SMS_SIGNATURE, config, pairs,
};
use super::*;
use crate::codes::vendors::Vendor;
use crate::codes::vendors::test_server;

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use actix_web::{HttpRequest, HttpResponse, web};
// ---- A local Dysmsapi --------------------------------------------------

pub(super) const SUCCESS_BODY: &str = r#"{"Message":"OK","RequestId":"F655A8D5-B967-440B-8683-DAD6FF8DE990","Code":"OK","BizId":"900619746936498440^0"}"#;
pub(super) const THROTTLED_BODY: &str = r#"{"Message":"触发分钟级流控Permits:1","RequestId":"2184201F-BFB3-446B-B1F2-C746B7BF0657","Code":"isv.BUSINESS_LIMIT_CONTROL"}"#;

pub(super) fn signature_mismatch_body() -> String {
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
    if serde_json::from_str::<serde_json::Value>(get("TemplateParam")).ok() != Some(expected_param)
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

fn start_fake_dysmsapi(secret: &str) -> (String, actix_web::dev::ServerHandle) {
    let state = web::Data::new(FakeDysmsapi {
        access_key_id: "LTAI-test-id".to_owned(),
        access_key_secret: secret.to_owned(),
        sign_name: "门房".to_owned(),
        template_code: "SMS_153055065".to_owned(),
        code: "123456".to_owned(),
        seen_nonces: Mutex::new(HashSet::new()),
    });
    test_server::start(move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(state.clone())
            .default_service(web::to(fake_dysmsapi));
    })
}

#[actix_web::test]
async fn local_dysmsapi_accepts_signed_requests_and_refusals_come_back() {
    let secret = "s3cret/with+odd*chars~";
    let (base, handle) = start_fake_dysmsapi(secret);
    let limited = "isv.BUSINESS_LIMIT_CONTROL";
    test_server::common_scenario(
        |s| config(&base, s),
        secret,
        limited,
        "SignatureDoesNotMatch",
    )
    .await;
    let cfg = config(&base, secret);

    let http = test_server::client();
    // The same request again: a fresh nonce each time, so no replay refusal.
    cfg.send(&http, "13800138000", "123456")
        .await
        .expect("second send accepted");
    match cfg.send(&http, "13900139000", "123456").await {
        Err(VendorError::Refused { message, .. }) => {
            assert_eq!(message, "触发分钟级流控Permits:1")
        }
        other => panic!("expected flow-control refusal, got {other:?}"),
    }
    let answer = cfg.send(&http, "13800138000", "654321").await;
    let seen = test_server::refusal_code(answer, "the fake vendor to see the wrong code");
    assert_eq!(seen, "isv.INVALID_JSON_PARAM");

    handle.stop(true).await;
}

#[actix_web::test]
async fn unreachable_vendor_is_a_network_error() {
    test_server::unreachable_is_a_network_error(&config(&test_server::dead_endpoint(), "s")).await;
}
