//! The browser session once signed in: sign-out, a new sign-in, the account page.

use super::*;

#[tokio::test]
async fn logout_ends_the_session_and_returns_to_a_registered_callback() {
    let (app, _, _) = shop_and_user().await;
    let mut b = Browser::new(&app);
    let page = b.sign_in("13800138000", SHOP).await;
    let token = query_param(&page.location, "token");
    let page = b.get(&with_callback("/logout", SHOP)).await;
    assert_eq!(page.status, 302);
    assert_eq!(page.location, SHOP);
    let (status, body) = app.get_with_token("/token", &token).await;
    assert_error(status, &body, 401, "token_revoked");
    assert!(!b.cookies.contains_key("gh_session"));
    let page = b.get("/login").await;
    assert_eq!(page.status, 200, "signed out: the form again");
    let page = b
        .get(&with_callback("/logout", "https://evil.example/"))
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"signed-out\""));
}

#[tokio::test]
async fn signing_in_again_keeps_the_session_with_a_new_cookie_and_another_person_replaces_it() {
    let (app, _, _) = shop_and_user().await;
    app.signup("13900139000").await;
    let mut b = Browser::new(&app);
    let first = b.sign_in("13800138000", SHOP).await;
    let old_cookie = b.cookies["gh_session"].clone();
    // Signing in again from the same browser (a live session would be used silently, so the
    // form comes from a fresh page and is posted with the old cookie).
    let mut again = Browser::new(&app);
    let page = again.get("/login").await;
    again
        .cookies
        .insert("gh_session".into(), old_cookie.clone());
    let second = again.submit_password(&page, "13800138000", SHOP).await;
    assert_eq!(second.status, 303);
    let new_cookie = again.cookies["gh_session"].clone();
    assert_ne!(
        new_cookie, old_cookie,
        "a new cookie value at every sign-in"
    );
    // The same person: the session (and the partners in it) stays (PROTOCOLS §1).
    let old = query_param(&first.location, "token");
    let new = query_param(&second.location, "token");
    assert_eq!(claims(&old)["sid"], claims(&new)["sid"]);
    assert_eq!(app.get_with_token("/token", &old).await.0, 200);
    // The old cookie no longer opens it.
    let mut stale = Browser::new(&app);
    stale.cookies.insert("gh_session".into(), old_cookie);
    assert_eq!(
        stale.get("/login").await.status,
        200,
        "the form, not silent SSO"
    );
    // Someone else signing in on this browser ends that session.
    let mut other = Browser::new(&app);
    let form = other.get("/login").await;
    other.cookies.insert("gh_session".into(), new_cookie);
    let third = other.submit_password(&form, "13900139000", SHOP).await;
    assert_eq!(third.status, 303);
    let (status, body) = app.get_with_token("/token", &new).await;
    assert_error(status, &body, 401, "token_revoked");
    assert_ne!(
        claims(&query_param(&third.location, "token"))["sid"],
        claims(&new)["sid"]
    );
}

#[tokio::test]
async fn the_account_page_lists_sessions_and_signs_out_everywhere() {
    let (app, _, _) = shop_and_user().await;
    let api_token = app.token("13800138000").await;
    let mut b = Browser::new(&app);
    b.sign_in("13800138000", SHOP).await;
    let page = b.get("/account").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"account\"") && page.body.contains("Partner token"));
    let page = b.submit("/account/signout-all", &[]).await;
    assert_eq!(page.status, 303);
    let (status, body) = app.get_with_token("/token", &api_token).await;
    assert_error(status, &body, 401, "token_revoked");
    assert_eq!(b.get("/account").await.location, "/login");
}
