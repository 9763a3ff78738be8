//! OpenID Connect partners as the `/oauth2/*` endpoints find them: by `client_id`, from the
//! store when it has the registration, and the origins their pages call from.

use std::sync::Arc;

use super::*;

/// How long an OpenID Connect partner's registration is kept in the store: the token,
/// introspection and revocation endpoints read it on every call. Every write through this
/// module's callers forgets it at once ([`forget`]); a row edited by hand in the database
/// counts after this long.
const CACHED_FOR: std::time::Duration = std::time::Duration::from_secs(60);

/// Registrations as last parsed, with the stored JSON they came from: reused only while the
/// store holds that same JSON, so an edit seen through the store is seen here at once. Saves
/// parsing the row (dates included) on every token, introspection and revocation call.
static PARSED: std::sync::LazyLock<quick_cache::sync::Cache<String, Arc<(String, ClientRow)>>> =
    std::sync::LazyLock::new(|| quick_cache::sync::Cache::new(1_000));

fn parsed(client_id: &str, json: String) -> Option<ClientRow> {
    if let Some(hit) = PARSED.get(client_id)
        && hit.0 == json
    {
        return Some(hit.1.clone());
    }
    let row = serde_json::from_str::<ClientRow>(&json).ok()?;
    PARSED.insert(client_id.to_owned(), Arc::new((json, row.clone())));
    Some(row)
}

fn cache_key(client_id: &str) -> String {
    format!("client:{client_id}")
}

/// The enabled OpenID Connect partner with this `client_id` (from the store when it has it).
pub async fn oidc_client(state: &AppState, client_id: &str) -> ApiResult<Option<ClientRow>> {
    if client_id.len() > 64 {
        return Ok(None);
    }
    let key = cache_key(client_id);
    let cached = state
        .store
        .get(&key)
        .await?
        .and_then(|json| parsed(client_id, json));
    let row = match cached {
        Some(row) => Some(row),
        None => {
            let row = by_id(state, client_id).await?;
            if let Some(r) = &row
                && let Ok(json) = serde_json::to_string(r)
            {
                state.store.set(&key, &json, CACHED_FOR).await?;
            }
            row
        }
    };
    Ok(row.filter(|c| c.enabled && c.mode() == ClientMode::Oidc))
}

/// Drops a partner's cached registration after it changed or went away.
pub async fn forget(state: &AppState, client_id: &str) -> ApiResult<()> {
    state.store.del(&cache_key(client_id)).await
}

/// The origins of enabled public OpenID Connect clients' redirect URIs: the pages that may
/// call the token, revocation and userinfo endpoints from a browser (CORS).
pub async fn public_origins(state: &AppState) -> ApiResult<Vec<String>> {
    let rows = state
        .db
        .read(|conn| {
            clients::table
                .filter(clients::enabled.eq(true))
                .filter(clients::mode.eq(ClientMode::Oidc.as_str()))
                .select(ClientRow::as_select())
                .load(conn)
                .map_err(ApiError::from)
        })
        .await?;
    Ok(rows
        .iter()
        .filter(|c| !c.has_secret())
        .flat_map(|c| c.redirect_uris())
        .filter_map(|u| url::Url::parse(&u).ok())
        .map(|u| u.origin().ascii_serialization())
        .collect())
}
