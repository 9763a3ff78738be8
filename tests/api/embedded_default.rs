//! The embedded default under load (issue 17 §6): SQLite in WAL mode lets reads run beside the
//! one writer, and Gatehouse gives reads their own connections, so a read never queues behind
//! a write that is waiting for the database.

use std::time::{Duration, Instant};

use diesel::Connection;
use diesel::connection::SimpleConnection;
use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_answer_while_the_writer_waits_for_the_database() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (user, token) = app.user("13800138000").await;
    let id = user["id"].as_str().unwrap().to_owned();
    let gatehouse::config::DatabaseUrl::Sqlite(file) = app.settings.database() else {
        panic!("the embedded default is SQLite");
    };
    // Another process's write transaction holds SQLite's write lock.
    let (release, released) = std::sync::mpsc::channel::<()>();
    let (held, holding) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let mut other = diesel::SqliteConnection::establish(&file.to_string_lossy()).unwrap();
        other.batch_execute("BEGIN IMMEDIATE").unwrap();
        held.send(()).unwrap();
        let _ = released.recv();
        other.batch_execute("COMMIT").unwrap();
    });
    holding.recv().unwrap();

    // A sign-out takes Gatehouse's writer connection and waits there for the lock.
    let write_app = app.client.clone();
    let url = app.url("/users/signout");
    let bearer = token.clone();
    let write = tokio::spawn(async move {
        write_app
            .request(Method::PATCH, url)
            .bearer_auth(bearer)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    sleep_ms(300).await;
    assert!(!write.is_finished(), "the write did not wait for the lock");

    // Meanwhile reads of the database answer at once.
    let started = Instant::now();
    let (status, body) = app.get_with_token(&format!("/users/{id}"), &token).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.get_with_token("/users/token", &token).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "reads waited {:?} behind the write",
        started.elapsed()
    );
    assert!(
        !write.is_finished(),
        "the write finished while the lock was held"
    );

    release.send(()).unwrap();
    holder.join().unwrap();
    assert_eq!(write.await.unwrap(), 200);
    let (status, _) = app.get_with_token("/token", &token).await;
    assert_eq!(status, 401, "the session ended once the write went through");
}
