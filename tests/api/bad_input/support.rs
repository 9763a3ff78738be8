//! Snapshots of the database and the requests the scenarios send.

use super::*;

/// Every row that a request could change: users (all columns a route writes), sessions (incl.
/// whether they ended) and the partners recorded in them.
pub(super) async fn snapshot(app: &TestApp) -> Vec<String> {
    app.state
        .db
        .run(|conn| {
            use diesel::prelude::*;
            use gatehouse::db::schema::{session_clients, sessions, users};
            type UserCols = (
                String,
                Option<String>,
                Option<String>,
                Option<String>,
                Option<String>,
                Option<String>,
                String,
                String,
                chrono::NaiveDateTime,
            );
            let mut out: Vec<String> = users::table
                .select((
                    users::id,
                    users::username,
                    users::phone,
                    users::email,
                    users::password_hash,
                    users::head_img,
                    users::role,
                    users::status,
                    users::updated_at,
                ))
                .order(users::id)
                .load::<UserCols>(conn)?
                .into_iter()
                .map(|r| format!("user {r:?}"))
                .collect();
            out.extend(
                sessions::table
                    .select((
                        sessions::id,
                        sessions::user_id,
                        sessions::ended_at,
                        sessions::end_reason,
                    ))
                    .order(sessions::id)
                    .load::<(
                        String,
                        String,
                        Option<chrono::NaiveDateTime>,
                        Option<String>,
                    )>(conn)?
                    .into_iter()
                    .map(|r| format!("session {r:?}")),
            );
            out.extend(
                session_clients::table
                    .select((session_clients::session_id, session_clients::client_id))
                    .order((session_clients::session_id, session_clients::client_id))
                    .load::<(String, String)>(conn)?
                    .into_iter()
                    .map(|r| format!("session_client {r:?}")),
            );
            Ok(out)
        })
        .await
        .unwrap()
}

#[track_caller]
pub(super) fn assert_unchanged(before: &[String], after: &[String], ctx: &str) {
    assert_eq!(before, after, "{ctx}: the database changed");
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

pub(super) fn form_pairs(body: &Map<String, Value>) -> Vec<(String, String)> {
    body.iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), v)
        })
        .collect()
}

pub(super) fn query(path: &str, pairs: &[(&str, &str)]) -> String {
    format!("{path}?{}", serde_urlencoded::to_string(pairs).unwrap())
}
