//! Accounts: sign-up, sign-in, passwords, profiles and the operators' user list.

pub mod list;
pub mod model;
pub mod passwords;
pub mod profile;
pub mod registration;
pub mod routes;
pub mod signin;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
pub use model::{UserRow, UserView};

#[tracing::instrument(skip(state))]
pub async fn load(state: &AppState, id: &str) -> ApiResult<Option<UserRow>> {
    let id = id.to_owned();
    state
        .db
        .read(move |conn| model::find_by_id(conn, &id).map_err(ApiError::from))
        .await
}

/// Saves a changed account, stamping `updated_at`; returns it as saved.
pub async fn save(state: &AppState, mut user: UserRow) -> ApiResult<UserRow> {
    user.updated_at = crate::db::now();
    let saved = user.clone();
    state
        .db
        .run(move |conn| model::save(conn, &user).map_err(ApiError::from))
        .await?;
    Ok(saved)
}

/// Saves an account and records `events` about it in the same transaction.
pub async fn save_recording(
    state: &AppState,
    mut user: UserRow,
    events: Vec<crate::audit::Record>,
) -> ApiResult<UserRow> {
    user.updated_at = crate::db::now();
    let saved = user.clone();
    state
        .db
        .run(move |conn| {
            crate::db::write_transaction(conn, |conn| {
                model::save(conn, &user)?;
                events
                    .into_iter()
                    .try_for_each(|event| crate::audit::record(conn, event))
            })
            .map_err(ApiError::from)
        })
        .await?;
    Ok(saved)
}

/// The account behind an authenticated token; a vanished account is a revoked token.
pub async fn load_self(state: &AppState, id: &str) -> ApiResult<UserRow> {
    load(state, id).await?.ok_or(ApiError::TokenRevoked)
}

/// Account `id` as a path names it: a malformed id is just an unknown one (`not_found`).
pub async fn by_id(state: &AppState, id: &str) -> ApiResult<UserRow> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(ApiError::NotFound);
    }
    load(state, id).await?.ok_or(ApiError::NotFound)
}

/// Account `id` as `viewer_id` may see it: the row, and whether the full object is allowed
/// (oneself and operators).
pub async fn view_of(state: &AppState, viewer_id: &str, id: &str) -> ApiResult<(UserRow, bool)> {
    let target = by_id(state, id).await?;
    if target.id == viewer_id {
        return Ok((target, true));
    }
    let full = load_self(state, viewer_id).await?.is_admin();
    Ok((target, full))
}
