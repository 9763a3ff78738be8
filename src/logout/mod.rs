//! Single logout: when a session ends, every partner system recorded in it that has a
//! `logout_url` receives an OpenID Connect Back-Channel Logout token.
//!
//! Durable and at-least-once: the deliveries are written to the database in the same
//! transaction that ends the session (an outbox), and a background task on every instance
//! works them. A row is claimed with a conditional update (a lease in `locked_until`), so two
//! instances never send the same attempt at once. Network errors, timeouts and non-2xx
//! answers other than 400 are retried with exponential backoff and jitter for 24 hours; a 400
//! is final. The person signing out never waits for any of this.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::Rng;
use serde::Serialize;
use tokio::sync::Notify;
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::schema::{clients, logout_deliveries, session_clients};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";
const BATCH: i64 = 16;
const LEASE: Duration = Duration::from_secs(30);
const TIMEOUT: Duration = Duration::from_secs(5);
const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = logout_deliveries)]
pub struct DeliveryRow {
    pub id: String,
    pub client_id: String,
    pub sid: String,
    pub sub: String,
    pub logout_url: String,
    pub state: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub next_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
}

/// A delivery as operators see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: String,
    pub client_id: String,
    pub sid: String,
    pub state: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub next_attempt_at: String,
}

impl From<&DeliveryRow> for DeliveryView {
    fn from(d: &DeliveryRow) -> Self {
        let t = crate::accounts::model::rfc3339;
        DeliveryView {
            id: d.id.clone(),
            client_id: d.client_id.clone(),
            sid: d.sid.clone(),
            state: d.state.clone(),
            attempts: d.attempts,
            last_error: d.last_error.clone(),
            created_at: t(d.created_at),
            updated_at: t(d.updated_at),
            next_attempt_at: t(d.next_attempt_at),
        }
    }
}

/// Queues deliveries for ended sessions `(sid, sub)`; call inside the ending transaction.
pub fn enqueue(conn: &mut DbConnection, ended: &[(String, String)]) -> QueryResult<usize> {
    let now = crate::db::now();
    let mut queued = 0;
    for (sid, sub) in ended {
        let targets: Vec<(String, Option<String>)> = session_clients::table
            .inner_join(clients::table)
            .filter(session_clients::session_id.eq(sid))
            .filter(clients::logout_url.is_not_null())
            .select((clients::client_id, clients::logout_url))
            .load(conn)?;
        for (client_id, url) in targets {
            let Some(logout_url) = url else { continue };
            diesel::insert_into(logout_deliveries::table)
                .values(DeliveryRow {
                    id: uuid::Uuid::new_v4().to_string(),
                    client_id,
                    sid: sid.clone(),
                    sub: sub.clone(),
                    logout_url,
                    state: PENDING.into(),
                    attempts: 0,
                    last_error: None,
                    created_at: now,
                    updated_at: now,
                    next_attempt_at: now,
                    locked_until: None,
                })
                .execute(conn)?;
            queued += 1;
        }
    }
    Ok(queued)
}

/// Wakes the worker when deliveries were queued.
#[derive(Clone, Default)]
pub struct Wakeup(Arc<Notify>);

impl Wakeup {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

#[derive(Serialize)]
struct LogoutClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
    sub: &'a str,
    sid: &'a str,
    events: serde_json::Value,
}

/// A freshly signed logout token for one delivery attempt.
pub fn logout_token(state: &AppState, d: &DeliveryRow) -> ApiResult<String> {
    let now = chrono::Utc::now().timestamp();
    let claims = LogoutClaims {
        iss: state.tokens.issuer(),
        aud: &d.client_id,
        iat: now,
        exp: now + 120,
        jti: uuid::Uuid::new_v4().to_string(),
        sub: &d.sub,
        sid: &d.sid,
        events: serde_json::json!({ LOGOUT_EVENT: {} }),
    };
    state.tokens.sign(&claims, "logout+jwt")
}

/// Claims due deliveries for this instance: only rows whose conditional update succeeds.
async fn claim(state: &AppState) -> ApiResult<Vec<DeliveryRow>> {
    state
        .db
        .run(|conn| {
            let now = crate::db::now();
            let due: Vec<DeliveryRow> = logout_deliveries::table
                .filter(logout_deliveries::state.eq(PENDING))
                .filter(logout_deliveries::next_attempt_at.le(now))
                .filter(
                    logout_deliveries::locked_until
                        .is_null()
                        .or(logout_deliveries::locked_until.lt(now)),
                )
                .order(logout_deliveries::next_attempt_at.asc())
                .limit(BATCH)
                .select(DeliveryRow::as_select())
                .load(conn)?;
            let lease = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
            let mut claimed = Vec::new();
            for d in due {
                let won = diesel::update(
                    logout_deliveries::table
                        .filter(logout_deliveries::id.eq(&d.id))
                        .filter(logout_deliveries::state.eq(PENDING))
                        .filter(
                            logout_deliveries::locked_until
                                .is_null()
                                .or(logout_deliveries::locked_until.lt(now)),
                        ),
                )
                .set(logout_deliveries::locked_until.eq(lease))
                .execute(conn)?;
                if won == 1 {
                    claimed.push(d);
                }
            }
            Ok(claimed)
        })
        .await
}

enum Outcome {
    Delivered,
    Final(String),
    Retry(String),
}

async fn attempt(state: &AppState, d: &DeliveryRow) -> Outcome {
    let token = match logout_token(state, d) {
        Ok(t) => t,
        Err(e) => return Outcome::Retry(e.to_string()),
    };
    let sent = state
        .http
        .post(&d.logout_url)
        .timeout(TIMEOUT)
        .form(&[("logout_token", token)])
        .send()
        .await;
    match sent {
        Ok(res) if res.status().is_success() => Outcome::Delivered,
        Ok(res) if res.status().as_u16() == 400 => Outcome::Final("partner answered 400".into()),
        Ok(res) => Outcome::Retry(format!("partner answered {}", res.status().as_u16())),
        Err(e) if e.is_timeout() => Outcome::Retry("timed out after 5 s".into()),
        Err(e) => Outcome::Retry(format!("network error: {}", e.without_url())),
    }
}

/// Exponential backoff from the configured base, capped at 10 minutes, with ±25 % jitter.
pub fn backoff(base_ms: u64, attempts: i32) -> Duration {
    let exp = base_ms.saturating_mul(1u64 << attempts.clamp(0, 20).saturating_sub(1) as u32);
    let capped = exp.min(600_000);
    let jitter = rand::rng().random_range(0.75..1.25);
    Duration::from_millis((capped as f64 * jitter) as u64)
}

async fn record(state: &AppState, d: DeliveryRow, outcome: Outcome) -> ApiResult<()> {
    let base = state.settings.logout_retry_base_ms;
    let give_up = chrono::Duration::seconds(state.settings.logout_give_up_secs as i64);
    state
        .db
        .run(move |conn| {
            let now = crate::db::now();
            let attempts = d.attempts + 1;
            let (new_state, error, next) = match outcome {
                Outcome::Delivered => (DELIVERED, None, now),
                Outcome::Final(e) => (FAILED, Some(e), now),
                Outcome::Retry(e) if now - d.created_at >= give_up => (FAILED, Some(e), now),
                Outcome::Retry(e) => {
                    let wait =
                        chrono::Duration::from_std(backoff(base, attempts)).unwrap_or_default();
                    (PENDING, Some(e), now + wait)
                }
            };
            diesel::update(logout_deliveries::table.find(&d.id))
                .set((
                    logout_deliveries::state.eq(new_state),
                    logout_deliveries::attempts.eq(attempts),
                    logout_deliveries::last_error.eq(error),
                    logout_deliveries::updated_at.eq(now),
                    logout_deliveries::next_attempt_at.eq(next),
                    logout_deliveries::locked_until.eq(None::<NaiveDateTime>),
                ))
                .execute(conn)
                .map(|_| ())
                .map_err(ApiError::from)
        })
        .await
}

/// Works the outbox until the process ends.
pub fn spawn_worker(state: web::Data<AppState>) {
    let wakeup = state.logout_wakeup.0.clone();
    tokio::spawn(async move {
        let poll = Duration::from_millis(state.settings.logout_poll_ms);
        loop {
            let batch = match claim(&state).await {
                Ok(batch) => batch,
                Err(err) => {
                    tracing::warn!(%err, "single logout: cannot read the outbox");
                    Vec::new()
                }
            };
            if batch.is_empty() {
                tokio::select! {
                    _ = wakeup.notified() => {}
                    _ = tokio::time::sleep(poll) => {}
                }
                continue;
            }
            let work = batch.into_iter().map(|d| {
                let state = state.clone();
                async move {
                    let outcome = attempt(&state, &d).await;
                    let (id, client) = (d.id.clone(), d.client_id.clone());
                    match &outcome {
                        Outcome::Delivered => tracing::info!(delivery = %id, client = %client, "logout delivered"),
                        Outcome::Final(e) | Outcome::Retry(e) => {
                            tracing::info!(delivery = %id, client = %client, error = %e, "logout attempt failed")
                        }
                    }
                    if let Err(err) = record(&state, d, outcome).await {
                        tracing::warn!(%err, delivery = %id, "single logout: cannot record an attempt");
                    }
                }
            });
            futures_util::future::join_all(work).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let first = backoff(1000, 1).as_millis();
        assert!((750..=1250).contains(&first), "{first}");
        let fourth = backoff(1000, 4).as_millis();
        assert!((6000..=10000).contains(&fourth), "{fourth}");
        assert!(backoff(1000, 60).as_millis() <= 750_000);
    }
}
