use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get};
use serde_json::json;

use crate::http::envelope;
use crate::openapi::responses::refusals;
use crate::state::Shared;

/// Answers whenever the process is up.
#[utoipa::path(tag = "health", responses((status = 200, description = "Up", body = Object)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    envelope::ok(json!({ "status": "up" }))
}

refusals!(ReadyzRefusals: [] "unavailable" = "a backing service is down");

/// Answers 200 only when the database and the key-value store answer.
#[utoipa::path(
    tag = "health",
    responses((status = 200, description = "Ready", body = Object), ReadyzRefusals)
)]
#[get("/readyz")]
pub async fn readyz(state: Shared) -> HttpResponse {
    let (database, store) = tokio::join!(
        tokio::time::timeout(std::time::Duration::from_secs(2), state.db.ping()),
        tokio::time::timeout(std::time::Duration::from_secs(2), state.store.ping()),
    );
    let database = database.unwrap_or(false);
    let store = store.unwrap_or(false);
    let data = json!({ "database": database, "store": store });
    if database && store {
        envelope::ok(data)
    } else {
        let mut data = data;
        data["error"] = json!("unavailable");
        envelope::with_status(
            StatusCode::SERVICE_UNAVAILABLE,
            "backing service unavailable".into(),
            data,
            0,
        )
    }
}
