use super::*;

use std::collections::BTreeMap;

use chrono::TimeZone;

use super::local::{SUCCESS_BODY, THROTTLED_BODY, signature_mismatch_body};

pub(super) fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
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
pub(super) const DESCRIBE_REGIONS: &[(&str, &str)] = &[
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
pub(super) const DESCRIBE_REGIONS_SIGNATURE: &str = "CT9X0VtwR86fNWSnsc6v8YGOjuE=";

/// Alibaba Cloud SMS "HTTP protocol and signature" worked example
/// (SendSms, AccessKeyId `testId`, AccessKeySecret `testSecret`), quoted at
/// https://developer.aliyun.com/ask/278546 and used as the test vector of
/// many SDK ports (e.g. the Go `TestPopSign` and Ruby `aliyun-sms` specs
/// found in public repositories).
pub(super) const SEND_SMS: &[(&str, &str)] = &[
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
pub(super) const SEND_SMS_SIGNATURE: &str = "zJDF+Lrzhj/ThnlvIToysFRq6t4=";

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
    for (raw, encoded) in [
        ("a b", "a%20b"),
        ("*", "%2A"),
        ("~", "~"),
        ("+", "%2B"),
        ("-_.", "-_."),
        ("/:=&\"", "%2F%3A%3D%26%22"),
        ("阿", "%E9%98%BF"),
    ] {
        assert_eq!(percent_encode(raw), encoded, "{raw}");
    }
}

#[test]
fn phone_numbers_follow_send_sms_reference() {
    // Mainland numbers without a country code, others with it but without the `+`.
    for (ours, theirs) in [
        ("13800138000", "13800138000"),
        ("+8613800138000", "13800138000"),
        ("+85291234567", "85291234567"),
        ("+14155550123", "14155550123"),
    ] {
        assert_eq!(vendor_phone(ours), theirs);
    }
}

pub(super) fn config(endpoint: &str, secret: &str) -> AliyunConfig {
    AliyunConfig {
        endpoint: endpoint.to_owned(),
        access_key_id: "LTAI-test-id".to_owned(),
        access_key_secret: secret.into(),
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
