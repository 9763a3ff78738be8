use super::*;

use chrono::TimeZone;

use super::local::{SUCCESS_BODY, daily_limit_body, error_body};

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
    let payload =
        r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
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

pub(super) fn config(endpoint: &str, secret_key: &str) -> TencentConfig {
    TencentConfig {
        endpoint: endpoint.to_owned(),
        secret_id: "AKID-test-id".to_owned(),
        secret_key: secret_key.into(),
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
