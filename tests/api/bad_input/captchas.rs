//! Captchas and codes: absurd answers use a captcha up; past the threshold a code needs one.

use super::*;

#[tokio::test]
async fn a_captcha_checked_with_an_absurd_answer_is_used_up() {
    let app = TestApp::spawn_set(Backend::Sqlite, json!({ "code_captcha_after": 0 }))
        .await
        .unwrap();
    let before = snapshot(&app).await;
    // Contract section 3 (Captcha): "single use: any check, right or wrong, consumes it" —
    // an absurd answer included.
    let mut failures = Vec::new();
    for path in ["/users/signin", "/verify_code"] {
        for (i, bad) in [huge("A"), "A".repeat(65)].into_iter().enumerate() {
            let number = format!("1380013800{i}");
            let (id, answer) = app.captcha().await;
            let attempt = |answer: String| {
                app.post(
                    path,
                    json!({ "number": number, "pwd": PASSWORD, "captcha_id": id, "client_code": answer }),
                )
            };
            let (status, body) = attempt(bad.clone()).await;
            let ctx = format!("{path}: {}-byte answer", bad.len());
            expect_error(status, &body, 400, "captcha_invalid", &ctx);
            let (status, body) = attempt(answer).await;
            assert_envelope(status, &body, &ctx);
            if (status, body["data"]["error"].as_str()) != (400, Some("captcha_invalid")) {
                failures.push(format!("{ctx}, then the right answer: {status} {body}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "a checked captcha still worked:\n{}",
        failures.join("\n")
    );
    assert_unchanged(&before, &snapshot(&app).await, "absurd captcha answers");
    assert_eq!(
        app.sms.count(),
        0,
        "no code may go out on a used-up captcha"
    );
}
#[tokio::test]
async fn verify_code_past_the_captcha_threshold_rejects_missing_wrong_and_replayed_captchas() {
    let app = TestApp::spawn_set(Backend::Sqlite, json!({ "code_captcha_after": 0 }))
        .await
        .unwrap();
    let (id, answer) = app.captcha().await;
    let wrong = if answer == "ZZZZ" { "YYYY" } else { "ZZZZ" };
    let cases: Vec<(&str, Value, Want)> = vec![
        (
            "no captcha",
            json!({}),
            Want::Reason(400, "captcha_invalid"),
        ),
        (
            "empty captcha",
            json!({ "captcha_id": "", "client_code": "" }),
            Want::Reason(400, "captcha_invalid"),
        ),
        (
            "id only",
            json!({ "captcha_id": "nope" }),
            Want::Reason(400, "captcha_invalid"),
        ),
        (
            "answer only",
            json!({ "client_code": answer }),
            Want::Reason(400, "captcha_invalid"),
        ),
        (
            "huge id",
            json!({ "captcha_id": huge("i"), "client_code": "ABCD" }),
            Want::Reason(400, "captcha_invalid"),
        ),
        (
            "answer of wrong type",
            json!({ "captcha_id": "nope", "client_code": 1234 }),
            Want::Invalid,
        ),
        (
            "id of wrong type",
            json!({ "captcha_id": ["x"], "client_code": "ABCD" }),
            Want::Invalid,
        ),
    ];
    for (what, extra, want) in cases {
        let mut body = json!({ "number": "13800138000" });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let (status, answer) = app.post("/verify_code", body).await;
        let field = if what.starts_with("id") {
            "captcha_id"
        } else {
            "client_code"
        };
        judge(status, &answer, want, field, what);
    }
    // A wrong answer uses up its captcha (absurdly long answers: see
    // a_captcha_checked_with_an_absurd_answer_is_used_up).
    for bad in [wrong.to_owned()] {
        let (bad_id, good) = app.captcha().await;
        let (status, body) = app
            .request_code_with_captcha("13800138000", (&bad_id, &bad))
            .await;
        expect_error(status, &body, 400, "captcha_invalid", "bad answer");
        let (status, body) = app
            .request_code_with_captcha("13800138000", (&bad_id, &good))
            .await;
        expect_error(
            status,
            &body,
            400,
            "captcha_invalid",
            &format!("right answer after {} bytes", bad.len()),
        );
    }
    assert_eq!(app.sms.count(), 0);
    let (status, body) = app
        .request_code_with_captcha("13800138000", (&id, &answer))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .request_code_with_captcha("13900139000", (&id, &answer))
        .await;
    expect_error(status, &body, 400, "captcha_invalid", "replayed captcha");
    assert_eq!(app.sms.count(), 1);
}
