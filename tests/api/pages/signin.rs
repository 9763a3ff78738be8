//! The sign-in and sign-up forms: headers, CSRF, callbacks, tokens and tickets, silent SSO.

use super::*;

#[tokio::test]
async fn pages_carry_strict_security_headers() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let mut b = Browser::new(&app);
    let page = b.get("/login").await;
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    assert!(!page.body.contains("<script>") && !page.body.contains("style="));
    assert!(b.cookies.contains_key("gh_csrf"));
}

#[tokio::test]
async fn forms_without_the_csrf_token_or_from_another_origin_are_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.signup("13800138000").await;
    let mut b = Browser::new(&app);
    b.get("/login").await;
    let page = b
        .post("/login", &[("number", "13800138000"), ("pwd", PASSWORD)])
        .await;
    assert_eq!(page.status, 403);
    let csrf = b.csrf();
    let req = app
        .client
        .post(app.url("/login"))
        .header("origin", "https://evil.example")
        .form(&[
            ("csrf", csrf.as_str()),
            ("number", "13800138000"),
            ("pwd", PASSWORD),
        ]);
    assert_eq!(b.send(req).await.status, 403);
}

#[tokio::test]
async fn unregistered_callbacks_get_an_error_page_never_a_redirect() {
    let (app, _, _) = shop_and_user().await;
    let mut b = Browser::new(&app);
    for cb in [
        "https://evil.example/cb",
        "https://shop.example.evil.example/cb",
        "javascript:alert(1)",
    ] {
        let page = b.get(&with_callback("/login", cb)).await;
        assert_eq!(page.status, 400);
        assert!(page.location.is_empty());
        assert!(
            page.body.contains("id=\"error\"") && page.body.contains("callback_not_registered")
        );
    }
    let signed_in = b.sign_in("13800138000", SHOP).await;
    assert_eq!(signed_in.status, 303);
    let page = b
        .get(&with_callback("/login", "https://evil.example/cb"))
        .await;
    assert_eq!(page.status, 400, "a live session does not change that");
}

#[tokio::test]
async fn token_mode_sign_in_redirects_back_with_a_token_for_that_partner() {
    let (app, _, client_id) = shop_and_user().await;
    let mut b = Browser::new(&app);
    let page = b
        .sign_in("13800138000", "https://shop.example/cb?next=%2Fcart")
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(
        page.location
            .starts_with("https://shop.example/cb?next=%2Fcart&token="),
        "{}",
        page.location
    );
    let cookie = page
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap())
        .find(|c| c.starts_with("gh_session="))
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let token = query_param(&page.location, "token");
    let (status, body) = app.get_with_token("/token", &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(claims(&token)["aud"], client_id);
}

#[tokio::test]
async fn a_second_partner_gets_a_ticket_without_a_password_and_redeems_it_once() {
    let (app, admin, _) = shop_and_user().await;
    let (blog_id, blog_secret) =
        partner(&app, &admin, "https://blog.example/sso/*", "ticket").await;
    let (shop_other, shop_secret) =
        partner(&app, &admin, "https://other.example/cb", "ticket").await;
    let mut b = Browser::new(&app);
    b.sign_in("13800138000", SHOP).await;
    let blog_login = with_callback("/login", "https://blog.example/sso/back");
    let page = b.get(&blog_login).await;
    assert_eq!(page.status, 302, "silent SSO: {}", page.body);
    let ticket = query_param(&page.location, "ticket");
    assert!(!page.location.contains("token="));

    let redeem = |id: String, secret: String, ticket: String, cb: &'static str| {
        let app = &app;
        async move {
            let form = [("ticket", ticket.as_str()), ("callback_url", cb)];
            app.post_token_form(Some((&id, &secret)), &form).await
        }
    };
    // Another partner cannot use it (and using it up that way is not possible either).
    let (status, body) = redeem(
        shop_other.clone(),
        shop_secret,
        ticket.clone(),
        "https://other.example/cb",
    )
    .await;
    assert_error(status, &body, 401, "token_invalid");

    let page = b.get(&blog_login).await;
    let ticket = query_param(&page.location, "ticket");
    let (status, body) = redeem(
        blog_id.clone(),
        blog_secret.clone(),
        ticket.clone(),
        "https://blog.example/sso/back",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = body["data"]["token"].as_str().unwrap().to_owned();
    assert_eq!(app.get_with_token("/token", &token).await.0, 200);
    let (status, body) = redeem(
        blog_id,
        blog_secret,
        ticket,
        "https://blog.example/sso/back",
    )
    .await;
    assert_error(status, &body, 401, "token_invalid");
}

#[tokio::test]
async fn signing_up_through_the_page_uses_a_code() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let mut b = Browser::new(&app);
    b.get("/signup").await;
    let code = app.code_for("13800138000", Some("signup")).await;
    let page = b
        .submit(
            "/signup",
            &[
                ("number", "13800138000"),
                ("verify_code", &code),
                ("pwd", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location, "/login?notice=signed_up");
    assert_eq!(app.signin("13800138000", PASSWORD).await.0, 200);
}
