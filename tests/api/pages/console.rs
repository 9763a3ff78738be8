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
