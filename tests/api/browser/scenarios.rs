//! The scenarios, each in a real headless Chromium.

use super::*;

scene_tests! {
    async fn signing_in_from_a_partner_lands_back_signed_in(scene) {
        scene.sign_in_at(&scene.a).await;
        // Reloading keeps the partner's own session: no trip to Gatehouse.
        scene.browser.goto(&scene.a.url("/"), "a-again").await;
        scene.assert_signed_in_at(&scene.a).await;
        scene.finish().await;
    }

    async fn a_second_partner_gets_in_without_a_password(scene) {
        scene.sign_in_at(&scene.a).await;
        // Partner B (ticket mode) sends the browser to Gatehouse, which sends it straight back.
        scene.browser.goto(&scene.b.url("/"), "open-b").await;
        assert!(!scene.browser.has("#password-form").await);
        scene.assert_signed_in_at(&scene.b).await;
        // Both partners share the one Gatehouse session, which the person's account page lists
        // with the two systems it is logged into.
        scene.sid().await;
        let br = &scene.browser;
        br.goto(&scene.app.url("/account"), "account").await;
        br.wait_for("#account").await;
        assert_eq!(br.text("#user-id").await, scene.user_id);
        let sessions = br.text("#sessions").await;
        assert!(
            sessions.contains("Partner A") && sessions.contains("Partner B"),
            "{sessions}"
        );
        br.wait_for("#signout").await;
        scene.finish().await;
    }

    async fn signing_out_at_one_partner_signs_out_everywhere(scene) {
        let br = &scene.browser;
        let sid = scene.signed_in_at_both_and_back_at_a().await;
        br.wait_for("#signout").await.click().await.unwrap();
        // Gatehouse ends the session and sends the browser back to A, which, signed out, sends
        // it on to the sign-in form.
        scene.assert_on_login_form("after-signout").await;

        // Each partner verified its back-channel logout token itself.
        scene.a.wait_for_logout(&sid, WAIT).await;
        scene.b.wait_for_logout(&sid, WAIT).await;

        br.goto(&scene.a.url("/"), "open-a-after-signout").await;
        scene.assert_on_login_form("a-asks-to-sign-in").await;
        br.goto(&scene.b.url("/"), "open-b-after-signout").await;
        scene.assert_on_login_form("b-asks-to-sign-in").await;

        // Signing out with no partner to return to shows Gatehouse's own signed-out page.
        br.goto(&scene.app.url("/logout"), "logout-page").await;
        br.wait_for("#signed-out").await;
        scene.finish().await;
    }

    async fn a_partner_that_was_down_still_gets_its_logout_after_a_restart(scene) {
        let sid = scene.signed_in_at_both_and_back_at_a().await;

        let Scene {
            app,
            browser,
            admin,
            a,
            mut b,
            ..
        } = scene;
        b.stop();
        browser.wait_for("#signout").await.click().await.unwrap();
        browser.wait_for("#password-form").await;
        browser.shot("after-signout").await;
        a.wait_for_logout(&sid, WAIT).await;

        // B's delivery has failed at least once and is still owed.
        let deadline = Instant::now() + WAIT;
        loop {
            let (status, body) = app
                .get_with_token("/admin/api/deliveries?limit=100", &admin)
                .await;
            assert_eq!(status, 200, "{body}");
            let to_b = body["data"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["client_id"] == b.client_id.as_str())
                .cloned()
                .unwrap_or(Value::Null);
            if to_b["attempts"].as_i64().unwrap_or(0) >= 1 {
                assert_eq!(to_b["state"], "pending", "{to_b}");
                assert_eq!(to_b["sid"], sid.as_str(), "{to_b}");
                break;
            }
            assert!(Instant::now() < deadline, "no failed attempt to B: {body}");
            sleep_ms(50).await;
        }

        // The operator restarts Gatehouse; then B comes back on its old address.
        let app = app.restart().await;
        b.start(&app.address, &app.settings.issuer()).await;
        // Retries back off (100 ms doubling here), so allow for a few rounds.
        b.wait_for_logout(&sid, WAIT * 2).await;
        drop(a);
        browser.close().await;
    }

    async fn a_tampered_callback_shows_the_error_page(scene) {
        let br = &scene.browser;
        let other_port = crate::helpers::free_port_on("127.0.0.2");
        let tampered = [
            ("evil", "https://evil.example/callback".to_owned()),
            (
                "other-port",
                format!("http://127.0.0.2:{other_port}/callback"),
            ),
            (
                "other-host",
                format!("http://127.0.0.9:{}/callback", scene.a.port),
            ),
            (
                "userinfo",
                format!("http://127.0.0.2:{}@evil.example/callback", scene.a.port),
            ),
        ];

        let check = |signed_in: bool| {
            let tampered = &tampered;
            let scene = &scene;
            async move {
                for (name, callback) in tampered {
                    let login = url::Url::parse_with_params(
                        &scene.app.url("/login"),
                        [("callback_url", callback)],
                    )
                    .unwrap();
                    let label = format!(
                        "{}-{name}",
                        if signed_in { "signed-in" } else { "anonymous" }
                    );
                    br.goto(login.as_str(), &label).await;
                    let error = br.text("#error").await;
                    assert!(
                        error.contains("callback_not_registered"),
                        "{label}: the error says {error:?}"
                    );
                    let at = br.url().await;
                    assert_eq!(
                        at.origin().ascii_serialization(),
                        scene.app.address,
                        "{label}: left Gatehouse for {at}"
                    );
                    assert!(!at.as_str().contains("token=") && !at.as_str().contains("ticket="));
                    // The same request outside the browser, with its cookies: a 400 page, no
                    // redirect.
                    let res = scene
                        .app
                        .client
                        .get(login.as_str())
                        .header("Cookie", br.cookie_header().await)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(res.status(), 400, "{label}");
                    assert!(res.headers().get("location").is_none(), "{label}");
                    let page = res.text().await.unwrap();
                    assert!(page.contains("id=\"error\""), "{label}: {page}");
                }
            }
        };
        check(false).await;
        // Even with a live Gatehouse session, a tampered callback never gets a token.
        scene.sign_in_at(&scene.a).await;
        check(true).await;
        scene.finish().await;
    }
}

/// The example's own checks, without a browser: what reaches its callback or its back-channel
/// endpoint is only believed once verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_partner_example_refuses_what_was_not_meant_for_it() {
    let logs = Path::new(concat!(env!("CARGO_TARGET_TMPDIR"), "/screenshots"))
        .join("the_partner_example_refuses_what_was_not_meant_for_it");
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs).unwrap();
    let (app, _admin, _user_id, a, b) = gatehouse_and_partners(&logs).await;
    // Tokens minted for each partner, as Gatehouse's JSON sign-in issues them.
    let mut minted = Vec::new();
    for partner in [&a, &b] {
        let (captcha_id, answer) = app.captcha().await;
        let (status, body) = app
            .post(
                "/users/signin",
                json!({ "number": USER, "pwd": PASSWORD, "captcha_id": captcha_id,
                        "client_code": answer, "callback_url": partner.url("/callback") }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        minted.push(body["data"].as_str().unwrap().to_owned());
    }
    let (for_a, for_b) = (&minted[0], &minted[1]);

    let callback = |partner: &Partner, query: &[(&str, &str)]| {
        let url = url::Url::parse_with_params(&partner.url("/callback"), query).unwrap();
        partner.http.get(url).send()
    };
    // A's own token opens a session at A ...
    let res = callback(&a, &[("token", for_a)]).await.unwrap();
    assert_eq!(res.status(), 302);
    assert!(res.headers().get("set-cookie").is_some());
    // ... B's token does not (its `aud` is B), nor does garbage, nor a ticket at a token-mode
    // partner, nor a made-up ticket at B.
    for (partner, query) in [
        (&a, ("token", for_b.as_str())),
        (&a, ("token", "not.a.token")),
        (&a, ("ticket", "whatever")),
        (&b, ("ticket", "made-up")),
        (&b, ("token", for_b.as_str())),
    ] {
        let res = callback(partner, &[query]).await.unwrap();
        assert_eq!(res.status(), 401, "{} {query:?}", partner.name);
        assert!(res.headers().get("set-cookie").is_none());
    }

    // Back-channel: an access token is not a logout token (its `typ` is `JWT`), even though
    // Gatehouse signed it for this very partner; nor is garbage. Both are final 400s.
    for bad in [for_a.as_str(), "not.a.token", ""] {
        let res = a
            .http
            .post(a.url("/backchannel-logout"))
            .form(&[("logout_token", bad)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{bad}");
    }
    assert!(a.logouts().await.is_empty());
    drop((a, b));
}

/// Swagger UI still works under the CSP `/docs/` now carries (its own scripts only): if the
/// policy blocked what it needs, no operation would be drawn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_docs_render_under_their_content_security_policy() {
    let Some(browser) =
        Browser::start("the_api_docs_render_under_their_content_security_policy").await
    else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    browser.goto(&app.url("/docs/"), "docs").await;
    browser.wait_for(".opblock").await;
    let drawn = browser
        .client
        .execute(
            "return document.querySelectorAll('.opblock').length",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        drawn.as_u64().unwrap() >= 30,
        "only {drawn} operations drawn"
    );
    browser.shot("docs-rendered").await;
    browser.close().await;
}
