//! The audit trail (CONTRACT §9): sign-ins, sign-outs, session ends and operators' changes
//! are recorded with who, whom, which partner and from where, read by operators at
//! `GET /admin/api/audit` with filters, never hold a secret, and are pruned past retention.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const USER: &str = "13800138000";
const OPERATOR: &str = "13700137000";

async fn audit(app: &TestApp, admin: &str, query: &str) -> Value {
    let (status, body) = app
        .get_with_token(&format!("/admin/api/audit?limit=100{query}"), admin)
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn events(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect()
}

crate::both_backends! {
    async fn sign_ins_sign_outs_and_operator_actions_are_recorded(app) {
        let (admin_user, admin) = app.admin(OPERATOR).await;
        let admin_id = admin_user["id"].as_str().unwrap().to_owned();
        let (user, token) = app.user(USER).await;
        let user_id = user["id"].as_str().unwrap().to_owned();
        let (status, _) = app.signin(USER, "Wrong-Pass-123").await;
        assert_eq!(status, 401);
        let (status, _) = app
            .send_with_token(Method::PATCH, "/users/signout", &token, json!({}))
            .await;
        assert_eq!(status, 200);
        let (client_id, secret) = app
            .register_partner(
                &admin,
                json!({ "name": "Shop", "callbacks": ["https://shop.example/cb"], "mode": "token" }),
            )
            .await;
        let (status, rotated) = app
            .send_with_token(Method::POST, &format!("/admin/api/clients/{client_id}/secret"), &admin, json!({}))
            .await;
        assert_eq!(status, 200, "{rotated}");
        let _second = app.token(USER).await;
        let (status, body) = app
            .send_with_token(Method::PATCH, &format!("/admin/api/users/{user_id}"), &admin,
                             json!({ "status": "disabled" }))
            .await;
        assert_eq!(status, 200, "{body}");

        // The person's own trail, newest first.
        let mine = audit(&app, &admin, &format!("&user_id={user_id}")).await;
        assert_eq!(
            events(&mine),
            ["session.ended", "user.disabled", "signin.succeeded", "signout", "signin.succeeded"],
            "{mine}"
        );
        let items = mine["data"].as_array().unwrap();
        let (ended, disabled, signed_in) = (&items[0], &items[1], &items[4]);
        assert_eq!(ended["detail"]["cause"], "account_disabled", "{ended}");
        assert_eq!(disabled["actor_id"], admin_id.as_str(), "{disabled}");
        assert_eq!(disabled["detail"]["via"], "api", "{disabled}");
        assert_eq!(signed_in["detail"]["method"], "password", "{signed_in}");
        assert_eq!(signed_in["detail"]["terminal"], "PC", "{signed_in}");
        assert_eq!(signed_in["ip"], "127.0.0.1", "{signed_in}");
        assert_eq!(signed_in["actor_id"], user_id.as_str());
        assert!(signed_in["at"].as_str().unwrap().ends_with('Z'));

        // The refused sign-in, by event.
        let failed = audit(&app, &admin, "&event=signin.failed").await;
        assert_eq!(failed["total"], 1, "{failed}");
        assert_eq!(failed["data"][0]["detail"]["reason"], "credentials_invalid");
        assert_eq!(failed["data"][0]["detail"]["method"], "password");
        assert_eq!(failed["data"][0]["ip"], "127.0.0.1");

        // The partner's trail: created and rotated by the operator.
        let shop = audit(&app, &admin, &format!("&client_id={client_id}")).await;
        assert_eq!(events(&shop), ["client.secret_rotated", "client.created"], "{shop}");
        for e in shop["data"].as_array().unwrap() {
            assert_eq!(e["actor_id"], admin_id.as_str(), "{e}");
        }

        // Time ranges: from ≤ at < to.
        let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
        let none = audit(&app, &admin, &format!("&from={}", urlencode(&later))).await;
        assert_eq!(none["total"], 0, "{none}");
        let all = audit(&app, &admin, &format!("&to={}", urlencode(&later))).await;
        assert_eq!(all["total"], audit(&app, &admin, "").await["total"]);

        // Nothing secret in the trail.
        let text = audit(&app, &admin, "").await.to_string();
        let new_secret = rotated["data"]["client_secret"].as_str().unwrap();
        for secret in [PASSWORD, "Wrong-Pass-123", token.as_str(), secret.as_str(), new_secret] {
            assert!(!text.contains(secret), "a secret in the audit trail");
        }
    }

    async fn the_audit_api_is_for_operators_and_refuses_bad_filters(app) {
        let (_, admin) = app.admin(OPERATOR).await;
        let (_, token) = app.user(USER).await;
        let (status, body) = app.get_with_token("/admin/api/audit", &token).await;
        assert_error(status, &body, 403, "forbidden");
        for query in ["event=signin", "from=yesterday", "to=2026-13-01T00:00:00Z", "limit=0", "page=x"] {
            let (status, body) = app.get_with_token(&format!("/admin/api/audit?{query}"), &admin).await;
            assert_error(status, &body, 400, "invalid_params");
        }
    }
}

#[tokio::test]
async fn events_past_retention_are_pruned_and_newer_ones_kept() {
    let app = TestApp::spawn_set(Backend::Sqlite, json!({ "audit_retention_days": 30 }))
        .await
        .unwrap();
    let (_, admin) = app.admin(OPERATOR).await;
    app.db(|conn| {
        use diesel::prelude::*;
        use gatehouse::db::schema::audit_events;
        let old = chrono::Utc::now().naive_utc() - chrono::Duration::days(31);
        diesel::insert_into(audit_events::table)
            .values((
                audit_events::id.eq("old-event"),
                audit_events::at.eq(old),
                audit_events::event.eq("signout"),
                audit_events::detail.eq("{}"),
            ))
            .execute(conn)
            .unwrap();
    })
    .await;
    assert_eq!(audit(&app, &admin, "&event=signout").await["total"], 1);
    // The retention task prunes when an instance starts, then every hour.
    let app = app.restart().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while audit(&app, &admin, "&event=signout").await["total"] != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the old event was kept"
        );
        sleep_ms(50).await;
    }
    let kept = audit(&app, &admin, "&event=signin.succeeded").await;
    assert_eq!(kept["total"], 1, "{kept}");
}

fn urlencode(s: &str) -> String {
    crate::pages::urlencode(s)
}

#[tokio::test]
async fn a_person_sees_their_own_recent_sign_ins_on_the_account_page() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.signup(USER).await;
    app.token(USER).await;
    let mut browser = crate::pages::Browser::new(&app);
    browser.sign_in(USER, "").await;
    let page = browser.get("/account").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let table = &page.body[page.body.find("id=\"recent-signins\"").expect("the table")..];
    let table = &table[..table.find("</table>").unwrap()];
    // Both sign-ins, the JSON one and the page's, each with its method and address.
    assert_eq!(table.matches("<td>password</td>").count(), 2, "{table}");
    assert_eq!(table.matches("<td>127.0.0.1</td>").count(), 2, "{table}");
}

#[tokio::test]
async fn the_console_pages_through_the_audit_trail_with_its_filters() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.admin(OPERATOR).await;
    app.db(|conn| {
        use diesel::prelude::*;
        use gatehouse::db::schema::audit_events;
        let now = chrono::Utc::now().naive_utc();
        for i in 0..60 {
            diesel::insert_into(audit_events::table)
                .values((
                    audit_events::id.eq(format!("failed-{i:02}")),
                    audit_events::at.eq(now - chrono::Duration::seconds(i)),
                    audit_events::event.eq("signin.failed"),
                    audit_events::ip.eq(format!("192.0.2.{i}")),
                    audit_events::detail.eq(r#"{"reason":"credentials_invalid"}"#),
                ))
                .execute(conn)
                .unwrap();
        }
    })
    .await;
    let mut browser = crate::pages::Browser::new(&app);
    browser.sign_in(OPERATOR, "").await;
    let rows = |body: &str| {
        let table = &body[body.find("id=\"audit-events\"").expect("the audit table")..];
        let table = &table[..table.find("</table>").unwrap()];
        table.matches("<td>signin.failed</td>").count()
    };
    let first = browser.get("/admin?audit_event=signin.failed").await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(rows(&first.body), 50);
    assert!(first.body.contains("192.0.2.0<"), "the newest first");
    // The link as the page writes it (askama escapes `&`).
    let next = "/admin?audit_event=signin.failed&#38;audit_page=2";
    assert!(first.body.contains(next), "no link to page 2");
    let second = browser.get(&next.replace("&#38;", "&")).await;
    assert_eq!(rows(&second.body), 10);
    assert!(second.body.contains("192.0.2.59<"));
    // Another event: none of these.
    let other = browser.get("/admin?audit_event=signout").await;
    assert_eq!(rows(&other.body), 0);
}
