//! A partner's backlog is bounded (CONTRACT §9): past `GATEHOUSE_LOGOUT_BACKLOG_MAX` pending
//! deliveries the oldest turn `failed` with a `last_error` starting `backlog_full`; other
//! partners keep theirs; the console shows each partner's backlog.

use super::*;
use crate::pages::Browser;

/// At most three pending deliveries per partner; a failed attempt is retried only after a
/// minute, so what is pending stays pending while the test looks.
async fn capped_app(backend: Backend) -> Option<TestApp> {
    let settings = json!({
        "logout_retry_base_ms": 60_000, "logout_poll_ms": 50, "logout_backlog_max": 3
    });
    TestApp::spawn_set(backend, settings).await
}

/// Signs `number` in for the partner owning `callback` and out again at once.
async fn session_ended_at(app: &TestApp, number: &str, callback: &str) -> String {
    let token = app.partner_token(number, callback).await;
    let (status, body) = app
        .send_with_token(Method::PATCH, "/users/signout", &token, json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    sid_of(&token)
}

/// The deliveries to `client_id`, oldest first: (sid, state, last_error).
async fn of_partner(app: &TestApp, admin: &str, client_id: &str) -> Vec<(String, String, Value)> {
    let body = deliveries(app, admin).await;
    let mut ours: Vec<(String, String, Value)> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["client_id"] == client_id)
        .map(|d| {
            let state = d["state"].as_str().unwrap().to_owned();
            (
                d["sid"].as_str().unwrap().to_owned(),
                state,
                d["last_error"].clone(),
            )
        })
        .collect();
    // The API lists newest first.
    ours.reverse();
    ours
}

crate::both_backends_with! {
    capped_app;

    async fn a_partner_that_stays_down_keeps_only_its_newest_deliveries(app) {
        let shop = Receiver::start();
        shop.status.store(503, Ordering::SeqCst);
        let blog = Receiver::start();
        blog.status.store(503, Ordering::SeqCst);
        let (admin, [(shop_id, _), (blog_id, _)]) = operator_with_partners(
            &app,
            [(SHOP, &shop.url()), ("https://blog.example/cb", &blog.url())],
        )
        .await;
        app.signup("13800138000").await;
        let blog_sid = session_ended_at(&app, "13800138000", "https://blog.example/cb").await;
        let mut sids = Vec::new();
        for _ in 0..5 {
            // Queued one after another: microsecond queue times tell them apart.
            sids.push(session_ended_at(&app, "13800138000", SHOP).await);
        }
        // Each delivery was tried once (503), so every row has been looked at by the worker.
        shop.wait_for(5).await;
        // The receiver answered before the worker wrote down the answer: wait for that too.
        let mut rows = of_partner(&app, &admin, &shop_id).await;
        for _ in 0..100 {
            if rows.iter().all(|(_, _, last_error)| !last_error.is_null()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            rows = of_partner(&app, &admin, &shop_id).await;
        }
        let got: Vec<&str> = rows.iter().map(|(sid, _, _)| sid.as_str()).collect();
        assert_eq!(got, sids.iter().map(String::as_str).collect::<Vec<_>>());
        for (sid, state, last_error) in &rows[..2] {
            assert_eq!(state, "failed", "{sid}");
            assert!(
                last_error.as_str().is_some_and(|e| e.starts_with("backlog_full")),
                "{last_error}"
            );
        }
        for (sid, state, last_error) in &rows[2..] {
            assert_eq!(state, "pending", "{sid}");
            assert_eq!(last_error, "partner answered 503");
        }
        // The other partner's one delivery is untouched.
        let blog_rows = of_partner(&app, &admin, &blog_id).await;
        assert_eq!(blog_rows.len(), 1);
        assert_eq!(blog_rows[0].0, blog_sid);
        assert_eq!(blog_rows[0].1, "pending");

        // And in the metrics, per partner.
        let text = crate::metrics::scrape(&app).await;
        let sample = |name: &str, id: &str| crate::metrics::sample(&text, name, &[("client_id", id)]);
        assert_eq!(sample("gatehouse_logout_backlog", &shop_id), Some(3.0), "{text}");
        assert_eq!(sample("gatehouse_logout_backlog", &blog_id), Some(1.0));
        assert!(sample("gatehouse_logout_oldest_pending_seconds", &blog_id).is_some());
        let failed = [("state", "failed")];
        assert_eq!(crate::metrics::sample(&text, "gatehouse_logout_deliveries", &failed), Some(2.0));

        // Operators see both backlogs on the console, the larger first.
        let mut browser = Browser::new(&app);
        browser.sign_in("13700137000", "").await;
        let console = browser.get("/admin").await;
        assert_eq!(console.status, 200, "{}", console.body);
        let table = &console.body[console.body.find("id=\"backlog\"").expect("a backlog table")..];
        let shop_at = table.find(&shop_id).expect("the shop's backlog");
        let blog_at = table.find(&blog_id).expect("the blog's backlog");
        assert!(shop_at < blog_at, "the larger backlog first");
        assert!(table[shop_at..blog_at].contains("<td>3</td>"), "{table}");
    }
}
