//! SMS delivery through the configured provider, and limits that no sequence of requests can
//! get past. The vendors' signing is proven against their documented examples and an
//! independent verifier in `src/codes/vendors`; here local servers answering the vendors' wire
//! format stand in for Alibaba Cloud and Tencent Cloud behind the configurable endpoint.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use crate::helpers::*;

/// A received request: its body and headers.
type Received = (String, Vec<(String, String)>);

/// A vendor stand-in: records each request body and answers `answer`.
struct Vendor {
    url: String,
    requests: Arc<Mutex<Vec<Received>>>,
}

impl Vendor {
    fn start(answer: Value) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests: Arc<Mutex<Vec<Received>>> = Arc::default();
        let store = requests.clone();
        serve_every_path(listener, move || {
            let (store, answer) = (store.clone(), answer.clone());
            web::to(move |req: HttpRequest, body: web::Bytes| {
                let (store, answer) = (store.clone(), answer.clone());
                async move {
                    let headers = req
                        .headers()
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                        .collect();
                    let body = String::from_utf8_lossy(&body).into_owned();
                    store.lock().unwrap().push((body, headers));
                    HttpResponse::Ok().json(answer)
                }
            })
        });
        Vendor {
            url: format!("http://127.0.0.1:{port}"),
            requests,
        }
    }

    fn bodies(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|(b, _)| b.clone())
            .collect()
    }
}

fn header(headers: &[(String, String)], name: &str) -> String {
    let found = headers.iter().find(|(k, _)| k == name);
    found
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no {name} header"))
}

fn six_digits(text: &str) -> String {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(5))
        .map(|i| &text[i..i + 6])
        .find(|w| w.bytes().all(|b| b.is_ascii_digit()))
        .unwrap()
        .to_owned()
}

/// A server sending its codes through `vendor` as Alibaba Cloud, with test credentials.
async fn aliyun_app(vendor: &Vendor) -> TestApp {
    let settings = json!({
        "sms_provider": "aliyun", "sms_endpoint": vendor.url.clone(),
        "aliyun_access_key_id": "testId", "aliyun_access_key_secret": "testSecret",
        "sms_sign_name": "门户", "sms_template": "SMS_71390007"
    });
    TestApp::spawn_set(Backend::Sqlite, settings).await.unwrap()
}

async fn sign_up_with_sms(app: &TestApp, code_from: impl Fn() -> String) {
    let (status, body) = app.request_code("13800138000", Some("signup")).await;
    assert_eq!(status, 200, "{body}");
    let code = code_from();
    let (status, body) = app.signup_with("13800138000", PASSWORD, &code).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_up_with_a_code_sent_through_aliyun() {
    let vendor = Vendor::start(
        json!({ "Code": "OK", "Message": "OK", "BizId": "9006197469364984^0", "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990" }),
    );
    let app = aliyun_app(&vendor).await;
    sign_up_with_sms(&app, || {
        let body = vendor.bodies().pop().unwrap();
        let params: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        let param = |k: &str| {
            params
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(param("Action"), "SendSms");
        assert_eq!(param("PhoneNumbers"), "13800138000");
        assert!(!param("Signature").is_empty());
        let template: Value = serde_json::from_str(&param("TemplateParam")).unwrap();
        template["code"].as_str().unwrap().to_owned()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_up_with_a_code_sent_through_tencent() {
    let vendor = Vendor::start(
        json!({ "Response": { "SendStatusSet": [{ "SerialNo": "5000:1045710669157053657849499619", "PhoneNumber": "+8613800138000", "Fee": 1, "SessionContext": "", "Code": "Ok", "Message": "send success", "IsoCode": "CN" }], "RequestId": "a0aabda6-cf91-4f3e-a81f-9198114a2279" } }),
    );
    let settings = json!({
        "sms_provider": "tencent", "sms_endpoint": vendor.url.clone(),
        "tencent_secret_id": "AKIDtest", "tencent_secret_key": "test-key",
        "tencent_sms_app_id": "1400006666", "sms_sign_name": "门户", "sms_template": "449739"
    });
    let app = TestApp::spawn_set(Backend::Sqlite, settings).await.unwrap();
    sign_up_with_sms(&app, || {
        let (body, headers) = vendor.requests.lock().unwrap().last().cloned().unwrap();
        let auth = header(&headers, "authorization");
        assert!(
            auth.starts_with("TC3-HMAC-SHA256 Credential=AKIDtest/"),
            "{auth}"
        );
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["PhoneNumberSet"][0], "+8613800138000");
        body["TemplateParamSet"][0].as_str().unwrap().to_owned()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vendor_refusal_is_503_reported_to_operators_and_costs_no_quota() {
    let vendor = Vendor::start(
        json!({ "Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控Permits:1", "RequestId": "x" }),
    );
    let app = aliyun_app(&vendor).await;
    for _ in 0..2 {
        let (status, body) = app
            .post("/verify_code", json!({ "number": "13800138000" }))
            .await;
        assert_error(status, &body, 503, "unavailable");
    }
    // The operator's account is made with another channel (the webhook stand-in is not used).
    let (user, token) = {
        let code_app = &app;
        let user = code_app
            .db(|conn| {
                let number = gatehouse::domain::Number::parse("admin@example.com").unwrap();
                let mut row = gatehouse::accounts::model::new_row(
                    &number,
                    Some(bcrypt::hash(PASSWORD, 4).unwrap()),
                );
                row.role = "admin".into();
                gatehouse::accounts::model::insert(conn, &row).unwrap();
                row.id
            })
            .await;
        (user, app.token("admin@example.com").await)
    };
    let _ = user;
    let (status, body) = app.get_with_token("/admin/api/sms", &token).await;
    assert_eq!(status, 200, "{body}");
    let error = body["data"]["last_error"]["error"].as_str().unwrap();
    assert!(error.contains("isv.BUSINESS_LIMIT_CONTROL"), "{error}");
    assert!(!body.to_string().contains("testSecret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bombing_one_number_reaches_the_provider_once_a_minute() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let mut answers = Vec::new();
    for _ in 0..20 {
        answers.push(
            app.post("/verify_code", json!({ "number": "13800138000" }))
                .await
                .0,
        );
    }
    assert_eq!(answers.iter().filter(|s| **s == 200).count(), 1);
    assert!(answers[1..].iter().all(|s| *s == 429));
    assert_eq!(app.sms.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bombing_many_numbers_from_one_ip_hits_the_ip_limits() {
    let settings = json!({ "code_captcha_after": 3, "code_limit_per_ip_hour": 20 });
    let app = TestApp::spawn_set(Backend::Sqlite, settings).await.unwrap();
    let mut statuses = Vec::new();
    for i in 0..20 {
        // Spoofed forwarding headers from an untrusted peer change nothing.
        let res = app
            .client
            .post(app.url("/verify_code"))
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .json(&json!({ "number": format!("138001380{i:02}") }))
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    assert_eq!(&statuses[..3], &[200, 200, 200]);
    assert!(statuses[3..].iter().all(|s| *s == 400), "{statuses:?}");
    assert_eq!(
        app.sms.count(),
        3,
        "the provider is called no more often than the limits allow"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_posts_carry_an_hmac_signature_when_a_secret_is_set() {
    let vendor = Vendor::start(json!({}));
    let settings = json!({
        "sms_webhook_url": format!("{}/hook", vendor.url),
        "sms_webhook_secret": "hook-secret"
    });
    let app = TestApp::spawn_set(Backend::Sqlite, settings).await.unwrap();
    let (status, _) = app
        .post("/verify_code", json!({ "number": "13800138000" }))
        .await;
    assert_eq!(status, 200);
    let (body, headers) = vendor.requests.lock().unwrap().last().cloned().unwrap();
    let signature = header(&headers, "x-gatehouse-signature");
    // Checked with an independent HMAC implementation (Python's hmac module).
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import hmac,hashlib,sys; print('sha256='+hmac.new(b'hook-secret', sys.argv[1].encode(), hashlib.sha256).hexdigest())",
            &body,
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), signature);
    let sent: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(six_digits(sent["code"].as_str().unwrap()).len(), 6);
}
