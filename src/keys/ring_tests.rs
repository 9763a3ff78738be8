//! The keyring against a real SQLite database.

use super::*;
use crate::config::DatabaseUrl;

fn policy(window_secs: i64) -> KeyPolicy {
    KeyPolicy {
        publish_secs: 0,
        window_secs,
        seal: Seal::none(),
    }
}

async fn database(dir: &Path) -> Db {
    let db = Db::connect(&DatabaseUrl::Sqlite(dir.join("g.db")), Some(1)).unwrap();
    db.migrate().unwrap();
    db
}

async fn insert(db: &Db, rows: Vec<Row>) {
    db.run(move |conn| {
        for row in &rows {
            diesel::insert_into(signing_keys::table)
                .values(row)
                .execute(conn)?;
        }
        Ok(())
    })
    .await
    .unwrap();
}

/// The kid of the EdDSA key that signs now.
fn signer(ring: &Keyring) -> String {
    let set = ring.handle().load_full();
    set.active(Alg::EdDsa, now()).unwrap().kid.to_string()
}

async fn stored_kids(db: &Db) -> Vec<String> {
    db.run(|conn| Ok(signing_keys::table.select(signing_keys::kid).load(conn)?))
        .await
        .unwrap()
}

/// A row for `alg` made `ago` seconds ago, activated then.
fn old_row(alg: Alg, ago: i64) -> Row {
    let pkcs8 = generate(alg).unwrap();
    let at = now() - ago * 1000;
    let key = Key::from_pkcs8(alg, &pkcs8, at, at).unwrap();
    Row {
        kid: key.kid.to_string(),
        alg: alg.as_str().to_owned(),
        private_key: Seal::none().seal("unused", &pkcs8).unwrap(),
        created_at: db_time(at),
        activates_at: db_time(at),
    }
}

#[tokio::test]
async fn a_key_past_its_end_is_deleted_and_no_longer_published() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path()).await;
    // Three EdDSA keys: the oldest replaced 200 s ago (past a 100 s window), the middle one
    // replaced 50 s ago (still verifying), the newest active.
    let rows = [
        old_row(Alg::EdDsa, 300),
        old_row(Alg::EdDsa, 200),
        old_row(Alg::EdDsa, 50),
    ];
    let kids: Vec<String> = rows.iter().map(|r| r.kid.clone()).collect();
    insert(&db, rows.into()).await;
    let ring = Keyring::open(db.clone(), dir.path(), policy(100))
        .await
        .unwrap();
    let stored = stored_kids(&db).await;
    assert!(
        !stored.contains(&kids[0]),
        "the expired key is still stored"
    );
    assert!(stored.contains(&kids[1]) && stored.contains(&kids[2]));
    let listed: Vec<String> = ring.list().into_iter().map(|k| k.kid).collect();
    assert!(!listed.contains(&kids[0]));
    let set = ring.handle().load_full();
    let jwks = set.jwks(now()).to_string();
    assert!(!jwks.contains(&kids[0]) && jwks.contains(&kids[1]));
    assert_eq!(
        set.active(Alg::EdDsa, now()).unwrap().kid,
        kids[2].as_str().into()
    );
    // The RS256 key the database lacked was made, active at once.
    assert!(set.active(Alg::Rs256, now()).is_some());
}

#[tokio::test]
async fn a_bad_row_is_skipped_and_the_others_still_sign() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path()).await;
    let ring = Keyring::open(db.clone(), dir.path(), policy(100))
        .await
        .unwrap();
    let signer = signer(&ring);
    // A row whose private key belongs to another kid (a copied or damaged row).
    let mut bad = old_row(Alg::EdDsa, 0);
    bad.kid = "not-its-kid".into();
    bad.activates_at = db_time(now() - 1000);
    insert(&db, vec![bad]).await;
    ring.refresh().await.unwrap();
    let set = ring.handle().load_full();
    assert_eq!(
        set.active(Alg::EdDsa, now()).unwrap().kid.to_string(),
        signer
    );
    assert!(set.verifying(Alg::EdDsa, "not-its-kid", now()).is_none());
}

#[tokio::test]
async fn a_rotation_is_stored_published_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path()).await;
    let ring = Keyring::open(
        db.clone(),
        dir.path(),
        KeyPolicy {
            publish_secs: 3600,
            ..policy(100)
        },
    )
    .await
    .unwrap();
    let before = signer(&ring);
    let key = ring.rotate(Alg::EdDsa, &By::command_line()).await.unwrap();
    assert_eq!(key.state, super::super::KeyState::Published);
    assert!(stored_kids(&db).await.contains(&key.kid));
    let set = ring.handle().load_full();
    assert_eq!(
        set.active(Alg::EdDsa, now()).unwrap().kid.to_string(),
        before,
        "signs before its time"
    );
    assert!(set.jwks(now()).to_string().contains(&key.kid));
    let events = db
        .run(|conn| {
            use crate::db::schema::audit_events;
            Ok(audit_events::table
                .filter(audit_events::event.eq("key.rotated"))
                .select(audit_events::detail)
                .load::<String>(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert!(events[0].contains(&key.kid) && events[0].contains("\"via\":\"cli\""));
}

#[tokio::test]
async fn the_schedule_rotates_only_an_algorithm_whose_newest_key_is_old_enough() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path()).await;
    let stale = old_row(Alg::EdDsa, 2 * 86_400 + 5);
    insert(&db, vec![stale]).await;
    let ring = Keyring::open(db.clone(), dir.path(), policy(100))
        .await
        .unwrap();
    assert!(
        ring.rotate_due(3).await.is_empty(),
        "rotated before its period"
    );
    let made = ring.rotate_due(2).await;
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(made[0].alg, "EdDSA", "the RS256 key made at start is new");
    assert!(ring.rotate_due(2).await.is_empty(), "rotated twice");
    let via = db
        .run(|conn| {
            use crate::db::schema::audit_events;
            Ok(audit_events::table
                .select(audit_events::detail)
                .load::<String>(conn)?)
        })
        .await
        .unwrap();
    assert!(via[0].contains("\"via\":\"schedule\""), "{via:?}");
}
