//! The session lifecycle against a real SQLite file and the in-process store.

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::config::{DatabaseUrl, Settings};
use crate::db::Db;
use crate::error::ApiError;
use crate::keys::WordInfoKeys;
use crate::store::Store;
use crate::tokens::Claims;

async fn state_on(dir: &Path, db: &Db, settings: &Settings) -> AppState {
    let settings = Settings {
        data_dir: dir.to_owned(),
        ..settings.clone()
    };
    let policy = crate::keys::KeyPolicy::from_settings(&settings).unwrap();
    let keyring = crate::keys::Keyring::open(db.clone(), dir, policy)
        .await
        .unwrap();
    let word_info = WordInfoKeys::load_or_create(dir, Duration::ZERO).unwrap();
    AppState::new(
        settings.clone(),
        db.clone(),
        Store::memory(),
        std::sync::Arc::new(keyring),
        word_info,
    )
    .unwrap()
}

/// A state on a fresh database holding one user; returns the user's id.
async fn fresh(dir: &Path, settings: Settings) -> (AppState, String) {
    let db = Db::connect(&DatabaseUrl::Sqlite(dir.join("g.db")), Some(1)).unwrap();
    db.migrate().unwrap();
    let user = crate::accounts::model::blank_row();
    let id = user.id.clone();
    db.run(move |conn| Ok(crate::accounts::model::insert(conn, &user)?))
        .await
        .unwrap();
    (state_on(dir, &db, &settings).await, id)
}

async fn sign_in(state: &AppState, user_id: &str, terminal: &str) -> (String, Claims) {
    start(
        state,
        NewSession {
            user_id,
            phone: None,
            openid: None,
            terminal,
            user_agent: "test",
            ip: "127.0.0.1".into(),
            client_id: None,
            browser_key: None,
            amr: None,
            method: crate::observe::SigninMethod::Password,
        },
    )
    .await
    .unwrap()
}

async fn revoked(state: &AppState, token: &str) -> bool {
    match authenticate(state, token).await {
        Ok(_) => false,
        Err(ApiError::TokenRevoked) => true,
        Err(other) => panic!("expected token_revoked, got {other:?}"),
    }
}

#[actix_web::test]
async fn a_session_is_live_from_its_start_until_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    let (state, user) = fresh(dir.path(), Settings::default()).await;
    let (token, claims) = sign_in(&state, &user, "pc").await;
    assert_eq!(authenticate(&state, &token).await.unwrap().sid, claims.sid);
    let ended = end(&state, Which::One(&claims.sid), EndReason::SignOut)
        .await
        .unwrap();
    assert_eq!(ended, vec![claims.sid.clone()]);
    assert!(revoked(&state, &token).await);
    // Ending it again ends nothing.
    let again = end(&state, Which::One(&claims.sid), EndReason::SignOut)
        .await
        .unwrap();
    assert!(again.is_empty());
}

#[actix_web::test]
async fn a_refresh_replaces_the_token_and_presenting_the_old_one_again_ends_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let (state, user) = fresh(dir.path(), Settings::default()).await;
    let (first, _) = sign_in(&state, &user, "app").await;
    let second = refresh(&state, &first).await.unwrap();
    assert!(revoked(&state, &first).await);
    assert!(!revoked(&state, &second).await);
    assert!(matches!(
        refresh(&state, &first).await,
        Err(ApiError::TokenRevoked)
    ));
    assert!(
        revoked(&state, &second).await,
        "reuse ends the whole session"
    );
}

#[actix_web::test]
async fn the_database_answers_for_a_store_that_lost_everything() {
    let dir = tempfile::tempdir().unwrap();
    let (state, user) = fresh(dir.path(), Settings::default()).await;
    let (live, _) = sign_in(&state, &user, "pc").await;
    let (replaced, _) = sign_in(&state, &user, "mobile").await;
    let replacement = refresh(&state, &replaced).await.unwrap();
    let (ended, ended_claims) = sign_in(&state, &user, "app").await;
    end(&state, Which::One(&ended_claims.sid), EndReason::SignOut)
        .await
        .unwrap();

    // A restart of an instance on the in-process store: same database, empty store.
    let restarted = state_on(dir.path(), &state.db, &state.settings).await;
    assert!(!revoked(&restarted, &live).await);
    assert!(!revoked(&restarted, &replacement).await);
    assert!(revoked(&restarted, &replaced).await);
    assert!(revoked(&restarted, &ended).await);
    // And the refilled store now answers the same on its own.
    assert!(!revoked(&restarted, &live).await);
    assert!(revoked(&restarted, &replaced).await);
}

#[actix_web::test]
async fn a_single_session_terminal_keeps_only_the_newest_session_there() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        single_session_terminals: vec![crate::domain::Terminal::Mobile],
        ..Settings::default()
    };
    let (state, user) = fresh(dir.path(), settings).await;
    let (old_phone, _) = sign_in(&state, &user, "mobile").await;
    let (desktop, _) = sign_in(&state, &user, "pc").await;
    let (new_phone, _) = sign_in(&state, &user, "mobile").await;
    assert!(revoked(&state, &old_phone).await);
    assert!(!revoked(&state, &desktop).await);
    assert!(!revoked(&state, &new_phone).await);
}

#[actix_web::test]
async fn no_token_is_issued_in_an_ended_session() {
    let dir = tempfile::tempdir().unwrap();
    let (state, user) = fresh(dir.path(), Settings::default()).await;
    let (_, claims) = sign_in(&state, &user, "pc").await;
    let (_, more) = issue_in(&state, &claims.sid, None, false).await.unwrap();
    assert_eq!(more.sid, claims.sid);
    end(
        &state,
        Which::AllOfUser {
            user_id: &user,
            except: None,
        },
        EndReason::ForcedSignOut,
    )
    .await
    .unwrap();
    assert!(matches!(
        issue_in(&state, &claims.sid, None, false).await,
        Err(ApiError::TokenRevoked)
    ));
}

#[test]
fn a_checks_two_keys_are_the_session_and_revocation_marks() {
    for (sid, jti) in [("s1", "j1"), ("", ""), ("a}b", "{c}")] {
        let keys = CheckKeys::new(sid, jti);
        assert_eq!(keys.session(), key(sid));
        assert_eq!(keys.revoked(), revoked_key(sid, jti));
    }
}
