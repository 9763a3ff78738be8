//! Registration by phone and word-info, in JSON and form bodies, and what it refuses.

use super::*;

crate::both_backends! {
    async fn register_with_a_code_then_login_with_the_same_password(app) {
        registered(&app, "13800138000").await;
        let token = logged_in(&app, "13800138000").await;
        let (status, body) = check(&app, &token).await;
        assert_live(status, &body);
        let c = claims(&token);
        assert_eq!(c["phone"], "13800138000");
        assert_eq!(c["terminal"], "PC");
        assert!(c["openid"].is_null(), "{c}");
        // The seed-000 sign-in takes the same password.
        let (status, body) = app.signin("13800138000", PASSWORD).await;
        assert_eq!(status, 200, "{body}");
    }

    async fn register_answers_in_english_when_asked(app) {
        let (code, wi) = signup_code_and_word_info(&app).await;
        let (status, body) = post_register(
            &app,
            &[("word-info", &wi), ("accept-language", "en")],
            json!({ "phone": "13800138000", "verify_code": code }),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["message"], "Registered successfully!");
        assert!(body["data"].is_null());
    }

    async fn register_and_login_take_form_bodies_too(app) {
        let (code, wi) = signup_code_and_word_info(&app).await;
        let res = app
            .client
            .post(app.url("/users/register"))
            .header("word-info", &wi)
            .form(&[("phone", "13800138000"), ("verify_code", code.as_str())])
            .send()
            .await
            .unwrap();
        let (status, body) = into_parts(res).await;
        assert_eq!(status, 200, "{body}");
        let res = app
            .client
            .post(app.url("/users/login"))
            .header("word-info", &wi)
            .form(&[("phone", "13800138000")])
            .send()
            .await
            .unwrap();
        let (status, body) = into_parts(res).await;
        token_of(status, &body);
    }

    async fn register_needs_a_right_code_unless_registration_without_code_is_on(app) {
        let wi = word_info(&app, PASSWORD).await;
        let (status, body) = register(&app, "13800138000", &wi, None).await;
        assert_error(status, &body, 400, "invalid_params");
        assert!(body["data"]["fields"]["verify_code"].is_string(), "{body}");

        let code = app.code_for("13800138000", Some("signup")).await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let (status, body) = register(&app, "13800138000", &wi, Some(wrong)).await;
        assert_error(status, &body, 400, "verify_code_invalid");

        // Nothing was created.
        let (status, body) = login(&app, "13800138000", &wi).await;
        assert_error(status, &body, 401, "credentials_invalid");
        assert_eq!(app.count_rows().await.0, 0);
    }

    async fn an_already_registered_phone_is_account_exists(app) {
        registered(&app, "13800138000").await;
        for phone in ["13800138000", "+8613800138000"] {
            let code = app.code_for(phone, Some("signup")).await;
            let wi = word_info(&app, "Another-Horse-43").await;
            let (status, body) = register(&app, phone, &wi, Some(&code)).await;
            assert_error(status, &body, 409, "account_exists");
        }
        // A seed-000 account is the same phone book.
        app.signup("13900139000").await;
        let code = app.code_for("13900139000", Some("signup")).await;
        let wi = word_info(&app, PASSWORD).await;
        let (status, body) = register(&app, "13900139000", &wi, Some(&code)).await;
        assert_error(status, &body, 409, "account_exists");
        // The first password still works; the second never took.
        logged_in(&app, "13800138000").await;
        let wi = word_info(&app, "Another-Horse-43").await;
        let (status, body) = login(&app, "13800138000", &wi).await;
        assert_error(status, &body, 401, "credentials_invalid");
    }

    async fn weak_passwords_are_password_weak(app) {
        let long = "L".repeat(73);
        for weak in ["Short-1", "12345678", "password123", "13800138000", long.as_str()] {
            let code = app.code_for("13800138000", Some("signup")).await;
            let wi = word_info(&app, weak).await;
            let (status, body) = register(&app, "13800138000", &wi, Some(&code)).await;
            assert_error(status, &body, 400, "password_weak");
        }
        assert_eq!(app.count_rows().await.0, 0);
    }

    async fn missing_or_empty_phone_or_word_info_is_invalid_params(app) {
        let (code, wi) = signup_code_and_word_info(&app).await;
        let (status, body) =
            post_register(&app, &[("word-info", &wi)], json!({ "verify_code": code })).await;
        assert_error(status, &body, 400, "invalid_params");
        assert!(body["data"]["fields"]["phone"].is_string(), "{body}");
        let (status, body) = post_register(
            &app,
            &[],
            json!({ "phone": "13800138000", "verify_code": code }),
        )
        .await;
        assert_error(status, &body, 400, "invalid_params");
        assert!(body["data"]["fields"]["word-info"].is_string(), "{body}");
        // Empty counts as absent; HTTP drops a header value's surrounding spaces.
        for blank in ["", "   "] {
            let (status, body) = register(&app, "13800138000", blank, Some(&code)).await;
            assert_error(status, &body, 400, "invalid_params");
            assert!(body["data"]["fields"]["word-info"].is_string(), "{body}");
        }
        let (status, body) = register(&app, "", &wi, Some(&code)).await;
        assert_error(status, &body, 400, "invalid_params");
        assert!(body["data"]["fields"]["phone"].is_string(), "{body}");

        let (status, body) = send(&app, Method::POST, "/users/login", &[("word-info", &wi)], Some(json!({}))).await;
        assert_error(status, &body, 400, "invalid_params");
        let (status, body) = send(
            &app,
            Method::POST,
            "/users/login",
            &[],
            Some(json!({ "phone": "13800138000" })),
        )
        .await;
        assert_error(status, &body, 400, "invalid_params");
        assert_eq!(app.count_rows().await.0, 0);
    }
}

async fn open_registration(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_set(backend, json!({ "register_without_code": true })).await
}

crate::both_backends_with! {
    open_registration;

    async fn with_register_without_code_a_phone_registers_without_a_code(app) {
        let wi = word_info(&app, PASSWORD).await;
        let (status, body) = register(&app, "13800138000", &wi, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["message"], "恭喜，注册成功！");
        assert!(body["data"].is_null());
        assert_eq!(app.sms.count(), 0, "no code was needed");
        let token = logged_in(&app, "13800138000").await;
        let (status, body) = check(&app, &token).await;
        assert_live(status, &body);
        let (status, body) = register(&app, "13800138000", &wi, None).await;
        assert_error(status, &body, 409, "account_exists");
    }
}

// ---------------------------------------------------------------------------------------------
// word-info decoding

crate::both_backends! {
    async fn word_info_accepts_standard_url_safe_and_unpadded_base64(app) {
        // A ciphertext whose standard base64 has `+` or `/`, so the URL-safe form differs.
        let ct = loop {
            let ct = sealed(&app, PASSWORD).await;
            let s = STANDARD.encode(&ct);
            if s.contains('+') || s.contains('/') {
                break ct;
            }
        };
        let code = app.code_for("13800138000", Some("signup")).await;
        let (status, body) = register(&app, "13800138000", &URL_SAFE_NO_PAD.encode(&ct), Some(&code)).await;
        assert_eq!(status, 200, "URL-safe without padding: {body}");
        for (what, wi) in [
            ("standard", STANDARD.encode(&ct)),
            ("standard without padding", STANDARD_NO_PAD.encode(&ct)),
            ("URL-safe", URL_SAFE.encode(&ct)),
            ("URL-safe without padding", URL_SAFE_NO_PAD.encode(&ct)),
            ("surrounding spaces", format!("  {}  ", STANDARD.encode(&ct))),
        ] {
            let (status, body) = login(&app, "13800138000", &wi).await;
            assert_eq!(status, 200, "{what}: {body}");
        }
    }

    async fn word_info_that_does_not_decrypt_is_word_info_invalid(app) {
        registered(&app, "13800138000").await;
        let good = sealed(&app, PASSWORD).await;
        let server_key = rsa_key(&pem(&app).await);
        let other_key = PrivateDecryptingKey::generate(KeySize::Rsa2048).unwrap().public_key();
        let pkcs1 = {
            let k = Pkcs1PublicEncryptingKey::new(server_key.clone()).unwrap();
            let mut out = vec![0; k.ciphertext_size()];
            k.encrypt(PASSWORD.as_bytes(), &mut out).unwrap().to_vec()
        };
        let mut flipped = good.clone();
        flipped[100] ^= 0x01;
        let cases = [
            ("garbage text", "hello".to_owned()),
            ("not base64", "%%% not base64 !!!".to_owned()),
            ("truncated ciphertext", STANDARD.encode(&good[..good.len() - 16])),
            ("truncated base64", STANDARD.encode(&good)[..200].to_owned()),
            ("one bit flipped", STANDARD.encode(&flipped)),
            ("random bytes", STANDARD.encode([0x5au8; 256])),
            ("twice as long", STANDARD.encode([good.clone(), good.clone()].concat())),
            ("under another key", STANDARD.encode(seal(other_key, &OAEP_SHA256_MGF1SHA256, PASSWORD.as_bytes()))),
            ("OAEP with SHA-1", STANDARD.encode(seal(server_key, &OAEP_SHA1_MGF1SHA1, PASSWORD.as_bytes()))),
            ("PKCS#1 v1.5 padding", STANDARD.encode(&pkcs1)),
            ("the password in the clear", PASSWORD.to_owned()),
        ];
        for (i, (what, wi)) in cases.iter().enumerate() {
            let (status, body) = login(&app, "13800138000", wi).await;
            assert_eq!(status, 400, "login, {what}: {body}");
            assert_error(status, &body, 400, "word_info_invalid");
            // A number gets 10 codes a day: one number per case.
            let phone = format!("1390013{i:04}");
            let code = app.code_for(&phone, Some("signup")).await;
            let (status, body) = register(&app, &phone, wi, Some(&code)).await;
            assert_eq!(status, 400, "register, {what}: {body}");
            assert_error(status, &body, 400, "word_info_invalid");
        }
        assert_eq!(app.count_rows().await.0, 1, "no account from undecryptable word-info");
    }
}
