//! The operators' console.

use super::*;

#[tokio::test]
async fn operators_register_partners_from_the_console() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.admin("13700137000").await;
    app.signup("13800138000").await;
    let mut plain = Browser::new(&app);
    plain.sign_in("13800138000", "").await;
    assert_eq!(plain.get("/admin").await.status, 403);

    let mut b = Browser::new(&app);
    b.sign_in("13700137000", "").await;
    assert_eq!(b.get("/admin").await.status, 200);
    let page = b
        .submit(
            "/admin/clients/new/create",
            &[
                ("name", "Wiki"),
                (
                    "callbacks",
                    "https://wiki.example/sso/*\nhttps://wiki.example/cb",
                ),
                ("logout_url", "https://wiki.example/logout"),
                ("mode", "ticket"),
                ("enabled", "1"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "post/redirect/get: {}", page.body);
    assert_eq!(page.location, "/admin");
    let page = b.get("/admin").await;
    assert!(
        page.body.contains("id=\"client-secret\""),
        "{}",
        &page.body[page.body.find("<h1>").unwrap_or(0)..][..600]
    );
    let page = b.get("/admin").await;
    assert!(
        !page.body.contains("id=\"client-secret\""),
        "the secret is shown once"
    );
    let (_, list) = app
        .get_with_token("/admin/api/clients", &app.token("13700137000").await)
        .await;
    assert_eq!(list["data"][0]["name"], "Wiki");
    assert_eq!(list["data"][0]["callbacks"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn operators_see_the_signing_keys_and_make_a_new_one_from_the_console() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (_, operator) = app.admin("13700137000").await;
    app.signup("13800138000").await;
    let mut b = Browser::new(&app);
    b.sign_in("13700137000", "").await;
    let page = b.get("/admin").await;
    assert!(page.body.contains("id=\"signing-keys\""), "{}", page.body);
    let (_, keys) = app.get_with_token("/admin/api/keys", &operator).await;
    for key in keys["data"].as_array().unwrap() {
        assert!(page.body.contains(key["kid"].as_str().unwrap()));
    }
    assert_eq!(page.body.matches("class=\"key-active\"").count(), 2);

    let refused = b
        .submit("/admin/keys/new/rotate", &[("alg", "HS256")])
        .await;
    assert_eq!(refused.status, 303);
    let page = b.get("/admin").await;
    assert_eq!(page.status, 400);
    assert!(
        page.body.contains("alg: must be EdDSA or RS256"),
        "{}",
        page.body
    );

    let made = b
        .submit("/admin/keys/new/rotate", &[("alg", "RS256")])
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let page = b.get("/admin").await;
    // Published for the default day before it signs.
    assert_eq!(page.body.matches("class=\"key-published\"").count(), 1);
    let (_, keys) = app.get_with_token("/admin/api/keys", &operator).await;
    assert_eq!(keys["total"], 3, "{keys}");
    assert_eq!(keys["data"][0]["alg"], "RS256");
    let (_, events) = app
        .get_with_token("/admin/api/audit?event=key.rotated", &operator)
        .await;
    assert_eq!(events["data"][0]["detail"]["via"], "console");

    // Not an operator: no key is made.
    let mut plain = Browser::new(&app);
    plain.sign_in("13800138000", "").await;
    let page = plain
        .submit("/admin/keys/new/rotate", &[("alg", "EdDSA")])
        .await;
    assert_eq!(page.status, 403);
    let (_, keys) = app.get_with_token("/admin/api/keys", &operator).await;
    assert_eq!(keys["total"], 3);
}
