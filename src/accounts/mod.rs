//! Accounts: sign-up, sign-in, passwords, profiles and the operators' user list.

pub mod list;
pub mod model;
pub mod passwords;
pub mod registration;
pub mod routes;
pub mod signin;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
pub use model::{UserRow, UserView};

pub async fn load(state: &AppState, id: &str) -> ApiResult<Option<UserRow>> {
    let id = id.to_owned();
    state
        .db
        .run(move |conn| model::find_by_id(conn, &id).map_err(ApiError::from))
        .await
}

/// The account behind an authenticated token; a vanished account is a revoked token.
pub async fn load_self(state: &AppState, id: &str) -> ApiResult<UserRow> {
    load(state, id).await?.ok_or(ApiError::TokenRevoked)
}
