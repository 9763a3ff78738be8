//! The scene every scenario starts from: Gatehouse, partners, a user and a browser.

use super::*;

/// Gatehouse with fast single-logout retries, an operator (returns the operator's token), a
/// person with an account (returns the id), and the two partners registered and running, A
/// in `token` mode and B in `ticket` mode; partner logs go to `logs`.
pub(super) async fn gatehouse_and_partners(
    logs: &Path,
) -> (TestApp, String, String, Partner, Partner) {
    let settings = json!({ "logout_retry_base_ms": 100, "logout_poll_ms": 50 });
    let app = TestApp::spawn_set(Backend::Sqlite, settings).await.unwrap();
    let (admin_user, admin) = app.user("13700137000").await;
    app.make_admin(admin_user["id"].as_str().unwrap()).await;
    let user_id = app.signup(USER).await["id"].as_str().unwrap().to_owned();
    let issuer = app.settings.issuer();
    let mut a = Partner::register(&app, &admin, "a", "token", "127.0.0.2", logs).await;
    let mut b = Partner::register(&app, &admin, "b", "ticket", "127.0.0.3", logs).await;
    a.start(&app.address, &issuer).await;
    b.start(&app.address, &issuer).await;
    (app, admin, user_id, a, b)
}

pub(super) struct Scene {
    pub(super) app: TestApp,
    pub(super) browser: Browser,
    pub(super) admin: String,
    pub(super) user_id: String,
    /// `token` mode.
    pub(super) a: Partner,
    /// `ticket` mode.
    pub(super) b: Partner,
}

impl Scene {
    /// [`gatehouse_and_partners`] and a fresh browser.
    pub(super) async fn start(scenario: &str) -> Option<Scene> {
        let browser = Browser::start(scenario).await?;
        let (app, admin, user_id, a, b) = gatehouse_and_partners(&browser.shots).await;
        Some(Scene {
            app,
            browser,
            admin,
            user_id,
            a,
            b,
        })
    }

    /// Opens a partner signed out and signs in on Gatehouse's page; ends back at the partner.
    pub(super) async fn sign_in_at(&self, partner: &Partner) {
        let br = &self.browser;
        br.goto(&partner.url("/"), &format!("open-{}", partner.name))
            .await;
        let at = br.url().await;
        assert_eq!(
            at.origin().ascii_serialization(),
            self.app.address,
            "opening {} did not lead to Gatehouse",
            partner.name
        );
        assert_eq!(at.path(), "/login");
        br.sign_in(USER, PASSWORD).await;
        self.assert_signed_in_at(partner).await;
    }

    /// The browser is on the partner's home page, signed in as the person.
    pub(super) async fn assert_signed_in_at(&self, partner: &Partner) {
        let br = &self.browser;
        let who = br.text("#who").await;
        br.shot(&format!("signed-in-at-{}", partner.name)).await;
        assert_eq!(who, format!("Signed in as {}", self.user_id));
        let at = br.url().await;
        assert_eq!(at.origin().ascii_serialization(), partner.base());
        assert_eq!(at.path(), "/");
        assert!(at.query().is_none(), "{at}");
    }

    /// The browser shows Gatehouse's sign-in form.
    pub(super) async fn assert_on_login_form(&self, name: &str) {
        let br = &self.browser;
        br.wait_for("#password-form").await;
        br.shot(name).await;
        let at = br.url().await;
        assert_eq!(at.origin().ascii_serialization(), self.app.address);
        assert_eq!(at.path(), "/login");
    }

    /// Signs in at A, opens B (signed in there through the one session), goes back to A
    /// (still signed in); returns that session's id.
    pub(super) async fn signed_in_at_both_and_back_at_a(&self) -> String {
        self.sign_in_at(&self.a).await;
        self.browser.goto(&self.b.url("/"), "open-b").await;
        self.assert_signed_in_at(&self.b).await;
        let sid = self.sid().await;
        self.browser.goto(&self.a.url("/"), "back-at-a").await;
        self.assert_signed_in_at(&self.a).await;
        sid
    }

    /// The person's Gatehouse sessions (the browser signed in once, so one).
    pub(super) async fn sid(&self) -> String {
        let user = self.user_id.clone();
        let sids: Vec<String> = self
            .app
            .db(move |conn| {
                use diesel::prelude::*;
                use gatehouse::db::schema::sessions;
                sessions::table
                    .filter(sessions::user_id.eq(user))
                    .select(sessions::id)
                    .load(conn)
                    .unwrap()
            })
            .await;
        assert_eq!(sids.len(), 1, "{sids:?}");
        sids.into_iter().next().unwrap()
    }

    pub(super) async fn finish(self) {
        self.browser.close().await;
    }
}
