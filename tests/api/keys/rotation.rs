//! A rotation on one instance while tokens are checked, refreshed and signed out on two.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use super::{find, keys_on, kid, kids, unix};
use crate::cluster::RedisServer;
use crate::helpers::*;

struct Pair {
    a: TestApp,
    b: TestApp,
    _redis: RedisServer,
}

/// Two instances on one PostgreSQL database and one Redis, each with a data dir of its own:
/// what they share of the signing keys comes from the database alone.
async fn two_instances(publish_secs: u64) -> Option<Pair> {
    let redis = RedisServer::start()?;
    let database = tokio::task::spawn_blocking(postgres_database)
        .await
        .unwrap()?;
    let sms = SmsSink::start();
    let dir_a = Arc::new(tempfile::tempdir().unwrap());
    let settings = gatehouse::Settings::from_figment(
        test_settings(dir_a.path(), &sms)
            .merge(("database_url", database))
            .merge(("redis_url", redis.url()))
            .merge(("key_publish_secs", publish_secs)),
    )
    .unwrap();
    let a = TestApp::start(settings, Backend::Postgres, sms.clone(), dir_a, true).await;
    let dir_b = Arc::new(tempfile::tempdir().unwrap());
    let settings_b = gatehouse::Settings {
        data_dir: dir_b.path().to_owned(),
        ..a.settings.clone()
    };
    let b = TestApp::start(settings_b, Backend::Postgres, sms, dir_b, false).await;
    Some(Pair {
        a,
        b,
        _redis: redis,
    })
}

/// Checks every token in `live` on both instances until told to stop; each refusal of a live
/// token is kept.
struct Checker {
    live: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    checks: Arc<AtomicUsize>,
    refused: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Checker {
    fn start(apps: [&TestApp; 2]) -> Self {
        let live = Arc::new(Mutex::new(Vec::<String>::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let checks = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(Mutex::new(Vec::new()));
        let urls = apps.map(|a| a.url("/token"));
        let client = apps[0].client.clone();
        let task = tokio::spawn({
            let (live, stop, checks, refused) =
                (live.clone(), stop.clone(), checks.clone(), refused.clone());
            async move {
                while !stop.load(Ordering::Relaxed) {
                    let tokens = live.lock().unwrap().clone();
                    for token in tokens {
                        for url in &urls {
                            let res = client.get(url).bearer_auth(&token).send().await.unwrap();
                            checks.fetch_add(1, Ordering::Relaxed);
                            if res.status() != 200 {
                                let body = res.text().await.unwrap_or_default();
                                refused.lock().unwrap().push(format!("{url}: {body}"));
                            }
                        }
                    }
                    sleep_ms(20).await;
                }
            }
        });
        Checker {
            live,
            stop,
            checks,
            refused,
            task,
        }
    }

    fn add(&self, token: &str) {
        self.live.lock().unwrap().push(token.to_owned());
    }

    async fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap();
        let refused = self.refused.lock().unwrap().clone();
        (self.checks.load(Ordering::Relaxed), refused)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rotation_on_one_instance_refuses_nothing_valid_and_reaches_the_other_within_10s() {
    let Some(Pair { a, b, _redis }) = two_instances(6).await else {
        return;
    };
    let (_, operator) = a.admin("13800000001").await;
    let (_, kept_before) = a.user("13800000002").await;
    let (_, refreshed_later) = b.user("13800000003").await;
    let old = kid(&kept_before);
    assert_eq!(
        kid(&refreshed_later),
        old,
        "both instances sign with one key"
    );
    let checker = Checker::start([&a, &b]);
    checker.add(&kept_before);

    let (status, body) = a
        .send_with_token(Method::POST, "/admin/api/keys", &operator, json!({}))
        .await;
    assert_eq!(status, 201, "{body}");
    let new = body["data"]["kid"].as_str().unwrap().to_owned();
    assert_eq!(body["data"]["alg"], "EdDSA");
    assert_eq!(body["data"]["state"], "published");
    assert!(body["data"]["retires_at"].is_null(), "{body}");
    let activates = unix(&body["data"]["activates_at"]);

    // Published at once where it was made, and on the other instance within 10 s.
    let (_, jwks) = a.get("/.well-known/jwks.json").await;
    assert!(kids(&jwks).contains(&new), "{jwks}");
    let rotated = Instant::now();
    loop {
        let (_, jwks) = b.get("/.well-known/jwks.json").await;
        if kids(&jwks).contains(&new) {
            assert!(kids(&jwks).contains(&old), "{jwks}");
            break;
        }
        assert!(
            rotated.elapsed() < Duration::from_secs(10),
            "B never published {new}"
        );
        sleep_ms(100).await;
    }
    eprintln!(
        "the new key reached the other instance in {:?}",
        rotated.elapsed()
    );

    // Before it activates, the old key still signs, on both instances.
    let (_, during) = b.user("13800000004").await;
    assert!(
        chrono::Utc::now().timestamp() < activates,
        "the publish period passed too soon"
    );
    assert_eq!(kid(&during), old);
    checker.add(&during);

    // Then the new one signs everywhere and the old one retires, still verifying.
    loop {
        let keys = keys_on(&b, &operator).await;
        if find(&keys, &new)["state"] == "active" {
            let retiring = find(&keys, &old);
            assert_eq!(retiring["state"], "retiring", "{keys:?}");
            let window = a.settings.key_verify_window_secs() + gatehouse::keys::RETIRE_SLACK_SECS;
            assert_eq!(unix(&retiring["retires_at"]), activates + window);
            break;
        }
        assert!(
            chrono::Utc::now().timestamp() <= activates + 5,
            "the new key never activated: {keys:?}"
        );
        sleep_ms(200).await;
    }
    let (_, after_a) = a.user("13800000005").await;
    let (_, after_b) = b.user("13800000006").await;
    assert_eq!((kid(&after_a), kid(&after_b)), (new.clone(), new.clone()));
    checker.add(&after_a);
    checker.add(&after_b);

    // An instance started now has neither signed nor checked any of these tokens: it
    // verifies both keys' tokens from the database's keys alone.
    let dir_c = Arc::new(tempfile::tempdir().unwrap());
    let settings_c = gatehouse::Settings {
        data_dir: dir_c.path().to_owned(),
        ..a.settings.clone()
    };
    let c = TestApp::start(settings_c, Backend::Postgres, a.sms.clone(), dir_c, false).await;
    for token in [&kept_before, &during, &after_a, &after_b] {
        let (status, body) = c.get_with_token("/token", token).await;
        assert_eq!(status, 200, "a new instance refused a live token: {body}");
    }

    // A token of the old key refreshes on the other instance into one of the new key; the old
    // token is then refused on both.
    let (status, body) = b
        .get_with_token("/users/token/refresh", &refreshed_later)
        .await;
    assert_eq!(status, 200, "{body}");
    let refreshed = body["data"].as_str().unwrap().to_owned();
    assert_eq!(kid(&refreshed), new);
    checker.add(&refreshed);
    for app in [&a, &b] {
        let (status, body) = app.get_with_token("/token", &refreshed_later).await;
        assert_eq!(status, 401, "a refreshed token still works: {body}");
    }

    // Signing out a token of the old key (and one of the new) on A: refused on B.
    let (_, signed_out_old) = a.user("13800000007").await;
    let (_, signed_out_new) = b.user("13800000008").await;
    for token in [&signed_out_old, &signed_out_new] {
        let (status, body) = a
            .send_with_token(Method::PATCH, "/users/signout", token, json!({}))
            .await;
        assert_eq!(status, 200, "{body}");
        for app in [&b, &c] {
            let (status, body) = app.get_with_token("/token", token).await;
            assert_eq!(status, 401, "a signed-out token still works: {body}");
        }
    }

    // The JWK Set on both holds the key of every live token.
    sleep_ms(500).await;
    let (checks, refused) = checker.finish().await;
    assert!(
        refused.is_empty(),
        "{} of {checks} checks refused: {refused:?}",
        refused.len()
    );
    assert!(checks >= 40, "only {checks} checks ran");
    for app in [&a, &b] {
        let (_, jwks) = app.get("/.well-known/jwks.json").await;
        for token in [&kept_before, &during, &after_a, &after_b, &refreshed] {
            assert!(kids(&jwks).contains(&kid(token)), "{jwks}");
        }
        assert_eq!(
            jwks["keys"][0]["kid"],
            new.as_str(),
            "the signing key comes first"
        );
    }
    eprintln!("{checks} token checks during the rotation, none refused");
}
