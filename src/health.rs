//! Operations: liveness, readiness and Prometheus metrics.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get};
use serde_json::json;

use crate::error::ApiError;
use crate::http::envelope;
use crate::observe::Readings;
use crate::openapi::responses::refusals;
use crate::state::{AppState, Shared};

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
            "backing service unavailable",
            data,
            0,
        )
    }
}

/// The content type of Prometheus's text exposition format.
const EXPOSITION: &str = "text/plain; version=0.0.4; charset=utf-8";

refusals!(MetricsRefusals: [DOWN] "not_found" = "metrics are served on GATEHOUSE_METRICS_LISTEN instead");

/// Prometheus metrics in the text exposition format (CONTRACT §9). No token: serve it on a
/// separate address (`GATEHOUSE_METRICS_LISTEN`) when the main listener is public.
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, description = "Metrics in Prometheus's text format", content_type = "text/plain", body = String),
        MetricsRefusals,
    )
)]
#[get("/metrics")]
pub async fn metrics(state: Shared) -> Result<HttpResponse, ApiError> {
    if state.settings.metrics_listen.is_some() {
        return Err(ApiError::NotFound);
    }
    scrape(state).await
}

/// `GET /metrics` on the metrics listener.
pub async fn scrape(state: Shared) -> Result<HttpResponse, ApiError> {
    let text = state.metrics.expose(read(&state).await?)?;
    Ok(HttpResponse::Ok().content_type(EXPOSITION).body(text))
}

/// The gauges' values now: a few counts in the database, and the lanes.
async fn read(state: &AppState) -> Result<Readings, ApiError> {
    let (deliveries, backlogs, sessions_live) = state
        .db
        .read(|conn| {
            let by_state = crate::partners::logout::count_by_state(conn)?;
            let backlogs = crate::partners::logout::backlogs(conn)?;
            Ok((by_state, backlogs, crate::sessions::count_live(conn)?))
        })
        .await?;
    use crate::partners::logout::{DELIVERED, FAILED, PENDING};
    let deliveries = [PENDING, DELIVERED, FAILED]
        .into_iter()
        .map(|state| {
            let n = deliveries
                .iter()
                .find(|(s, _)| s == state)
                .map_or(0, |(_, n)| *n);
            (state.to_owned(), n)
        })
        .collect();
    Ok(Readings {
        deliveries,
        backlogs: backlogs
            .into_iter()
            .map(|b| (b.client_id, b.pending, b.oldest_pending_secs))
            .collect(),
        sessions_live,
        lanes: vec![
            ("bcrypt", state.lanes.bcrypt.admitted()),
            ("captcha", state.lanes.captcha.admitted()),
            ("rsa", state.lanes.rsa.admitted()),
        ],
    })
}
