//! A local sms.tencentcloudapi.com: a fake vendor checking signatures as the real one does, and the client against it.

use super::tests::config;
use super::*;
use crate::codes::vendors::Vendor;
use crate::codes::vendors::test_server;

use actix_web::{HttpRequest, HttpResponse, web};
// ---- A local sms.tencentcloudapi.com ----------------------------------

pub(super) const SUCCESS_BODY: &str = r#"{"Response":{"SendStatusSet":[{"SerialNo":"5000:1045710669157053657849499619","PhoneNumber":"+8613800138000","Fee":1,"SessionContext":"","Code":"Ok","Message":"send success","IsoCode":"CN"}],"RequestId":"a0aabda6-cf91-4f3e-a81f-9198114a2279"}}"#;

pub(super) fn daily_limit_body(phone: &str) -> String {
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

pub(super) fn error_body(code: &str, message: &str) -> String {
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
    let to_sign =
        format!("TC3-HMAC-SHA256\n{timestamp}\n{date}/{service}/tc3_request\n{hashed_canonical}");
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
    if vendor_tc3_signature("sms", &state.secret_key, timestamp, date, &canonical) != signature {
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
        Some([phone]) if phone == "+8613900139000" => answer(daily_limit_body("+8613900139000")),
        _ => answer(error_body(
            "InvalidParameterValue.IncorrectPhoneNumber",
            "bad number",
        )),
    }
}

fn start_fake_tencent(secret_key: &str) -> (String, actix_web::dev::ServerHandle) {
    let state = web::Data::new(FakeTencent {
        secret_id: "AKID-test-id".to_owned(),
        secret_key: secret_key.to_owned(),
    });
    test_server::start(move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(state.clone())
            .default_service(web::to(fake_tencent));
    })
}

#[actix_web::test]
async fn local_tencent_accepts_signed_requests_and_refusals_come_back() {
    let key = "Gu5t9xGARNpq86cd98joQYCN3test";
    let (base, handle) = start_fake_tencent(key);
    let limited = "LimitExceeded.PhoneNumberDailyLimit";
    test_server::common_scenario(
        |k| config(&base, k),
        key,
        limited,
        "AuthFailure.SignatureFailure",
    )
    .await;

    // A trailing slash on the endpoint changes nothing.
    let slashed = config(&format!("{base}/"), key);
    slashed
        .send(&test_server::client(), "13800138000", "123456")
        .await
        .expect("endpoint with trailing slash");

    handle.stop(true).await;
}

#[actix_web::test]
async fn unreachable_vendor_is_a_network_error() {
    test_server::unreachable_is_a_network_error(&config(&test_server::dead_endpoint(), "k")).await;
}
