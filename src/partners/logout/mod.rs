//! Single logout: when a session ends, every partner system recorded in it that has a
//! `logout_url` receives an OpenID Connect Back-Channel Logout token.
//!
//! Durable and at-least-once: the deliveries are written to the database in the same
//! transaction that ends the session (an outbox), and a background task on every instance
//! works them. A row is claimed with a conditional update (a lease in `locked_until`), so two
//! instances never send the same attempt at once. Network errors, timeouts and non-2xx
//! answers other than 400 are retried with exponential backoff and jitter for 24 hours; a 400
//! is final. The person signing out never waits for any of this.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::web;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::Rng;
use serde::Serialize;
use tokio::sync::{Notify, Semaphore, mpsc};
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::schema::{clients, logout_deliveries, session_clients};
use crate::error::ApiResult;
use crate::state::AppState;

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";
/// Rows claimed per outbox query at most, once that many delivery slots are free.
const CLAIM: usize = 32;
/// How long a claim waits for a quarter of `CLAIM` slots to be free before taking fewer.
const GATHER: Duration = Duration::from_millis(20);
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

impl DeliveryRow {
    /// A new pending delivery, due at once.
    fn due(
        client_id: String,
        sid: String,
        sub: String,
        logout_url: String,
        now: NaiveDateTime,
    ) -> Self {
        DeliveryRow {
            id: uuid::Uuid::new_v4().to_string(),
            client_id,
            sid,
            sub,
            logout_url,
            state: PENDING.into(),
            attempts: 0,
            last_error: None,
            created_at: now,
            updated_at: now,
            next_attempt_at: now,
            locked_until: None,
        }
    }
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
                .values(DeliveryRow::due(
                    client_id,
                    sid.clone(),
                    sub.clone(),
                    logout_url,
                    now,
                ))
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

/// Claims up to `limit` due deliveries for this instance: only rows whose conditional update
/// succeeds, and only rows of partners under their `share` of in-flight deliveries (`busy`
/// counts them).
async fn claim(
    state: &AppState,
    limit: usize,
    busy: HashMap<String, usize>,
    share: usize,
) -> ApiResult<Vec<DeliveryRow>> {
    state
        .db
        .run(move |conn| {
            // One transaction for the whole claim: a write each row as autocommit statements
            // would queue behind (and hold up) sign-outs on SQLite's single writer.
            crate::db::write_transaction(conn, |conn| claim_in(conn, limit, &busy, share))
        })
        .await
}

/// The claim itself; another instance may be claiming the same rows on PostgreSQL, so each
/// row is taken only if its conditional update wins.
///
/// Due rows are looked up partner by partner, through the `(state, client_id,
/// next_attempt_at)` index, and only for partners under their share: a partner that is slow
/// to answer builds up a backlog that stays due, and one query over all due rows ordered by
/// time would read that whole backlog on every claim (once per sign-out) just to skip it.
fn claim_in(
    conn: &mut DbConnection,
    limit: usize,
    busy: &HashMap<String, usize>,
    share: usize,
) -> ApiResult<Vec<DeliveryRow>> {
    let now = crate::db::now();
    let mut due: Vec<DeliveryRow> = Vec::new();
    for client in clients_with_pending(conn)? {
        let load = busy.get(&client).copied().unwrap_or(0);
        if load >= share {
            continue;
        }
        let rows: Vec<DeliveryRow> = logout_deliveries::table
            .filter(logout_deliveries::state.eq(PENDING))
            .filter(logout_deliveries::client_id.eq(&client))
            .filter(logout_deliveries::next_attempt_at.le(now))
            .filter(
                logout_deliveries::locked_until
                    .is_null()
                    .or(logout_deliveries::locked_until.lt(now)),
            )
            .order(logout_deliveries::next_attempt_at.asc())
            .limit((share - load).min(limit) as i64)
            .select(DeliveryRow::as_select())
            .load(conn)?;
        due.extend(rows);
    }
    // Oldest first across partners; each partner's list already fits its share.
    due.sort_by_key(|d| d.next_attempt_at);
    let lease = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
    let mut claimed = Vec::new();
    for d in due {
        if claimed.len() == limit {
            break;
        }
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
}

/// The partners with pending rows, one index seek each (a loose index scan): there are few
/// partners and possibly very many rows.
fn clients_with_pending(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    let mut found: Vec<String> = Vec::new();
    loop {
        let mut next = logout_deliveries::table
            .filter(logout_deliveries::state.eq(PENDING))
            .order(logout_deliveries::client_id.asc())
            .select(logout_deliveries::client_id)
            .into_boxed();
        if let Some(last) = found.last() {
            next = next.filter(logout_deliveries::client_id.gt(last.clone()));
        }
        match next.first::<String>(conn).optional()? {
            Some(client) => found.push(client),
            None => return Ok(found),
        }
    }
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
    let http = match state.http() {
        Ok(http) => http,
        Err(e) => return Outcome::Retry(e.to_string()),
    };
    let sent = http
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

/// Writes finished attempts, many in one transaction: under load hundreds of deliveries end
/// each second, and a write each would keep SQLite's single writer from sign-outs.
async fn record(state: &AppState, done: Vec<(DeliveryRow, Outcome)>) -> ApiResult<()> {
    let base = state.settings.logout_retry_base_ms;
    let give_up = chrono::Duration::seconds(state.settings.logout_give_up_secs as i64);
    state
        .db
        .run(move |conn| {
            crate::db::write_transaction(conn, |conn| {
                let now = crate::db::now();
                for (d, outcome) in done {
                    let attempts = d.attempts + 1;
                    let (new_state, error, next) = match outcome {
                        Outcome::Delivered => (DELIVERED, None, now),
                        Outcome::Final(e) => (FAILED, Some(e), now),
                        Outcome::Retry(e) if now - d.created_at >= give_up => {
                            (FAILED, Some(e), now)
                        }
                        Outcome::Retry(e) => {
                            let wait = chrono::Duration::from_std(backoff(base, attempts))
                                .unwrap_or_default();
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
                        .execute(conn)?;
                }
                Ok(())
            })
        })
        .await
}

type Finished = mpsc::Sender<(DeliveryRow, Outcome)>;

/// Records attempts as they finish, taking whatever has queued up meanwhile into the same
/// transaction. An attempt that cannot be recorded stays claimed until its lease ends and is
/// then sent again (at least once).
fn spawn_recorder(state: web::Data<AppState>) -> Finished {
    let room = state.settings.logout_concurrency as usize;
    let (tx, mut rx) = mpsc::channel(room);
    tokio::spawn(async move {
        let mut batch = Vec::with_capacity(room);
        while rx.recv_many(&mut batch, room).await > 0 {
            let attempts = batch.len();
            if let Err(err) = record(&state, std::mem::take(&mut batch)).await {
                tracing::warn!(%err, attempts, "single logout: cannot record attempts");
            }
        }
    });
    tx
}

async fn deliver(state: &AppState, d: DeliveryRow, finished: &Finished) {
    let outcome = attempt(state, &d).await;
    match &outcome {
        Outcome::Delivered => {
            tracing::info!(delivery = %d.id, client = %d.client_id, "logout delivered")
        }
        Outcome::Final(e) | Outcome::Retry(e) => {
            tracing::info!(delivery = %d.id, client = %d.client_id, error = %e, "logout attempt failed")
        }
    }
    // Fails only when the recorder is gone, i.e. the process is stopping.
    finished.send((d, outcome)).await.ok();
}

/// Deliveries in flight per partner system, to keep any one from taking every slot.
#[derive(Clone)]
struct Busy {
    counts: Arc<Mutex<HashMap<String, usize>>>,
    share: usize,
}

impl Busy {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn snapshot(&self) -> HashMap<String, usize> {
        self.lock().clone()
    }

    fn start(&self, client: &str) {
        *self.lock().entry(client.to_owned()).or_default() += 1;
    }

    /// True when this end brought the partner back under its share.
    fn end(&self, client: &str) -> bool {
        let mut map = self.lock();
        let Some(n) = map.get_mut(client) else {
            return false;
        };
        let was_full = *n >= self.share;
        *n -= 1;
        let left = *n;
        if left == 0 {
            map.remove(client);
        }
        was_full && left < self.share
    }
}

/// Works the outbox until the process ends: claims due rows (up to `CLAIM` at once) while
/// any of the `GATEHOUSE_LOGOUT_CONCURRENCY` delivery slots is free, leaving alone the rows of partners at their
/// share (an eighth of the slots), so slow partners only ever occupy their own slots and the
/// others' logouts keep moving.
pub fn spawn_worker(state: web::Data<AppState>) {
    let wakeup = state.logout_wakeup.0.clone();
    let finished = spawn_recorder(state.clone());
    tokio::spawn(async move {
        let poll = Duration::from_millis(state.settings.logout_poll_ms);
        let in_flight = state.settings.logout_concurrency as usize;
        let claim_size = CLAIM.min(in_flight);
        let slots = Arc::new(Semaphore::new(in_flight));
        let busy = Busy {
            counts: Arc::default(),
            share: (in_flight / 8).max(1),
        };
        loop {
            // Wait for one free slot, then claim as many rows as there are free slots. Only
            // this loop takes slots, so the ones counted here stay free until taken.
            let Ok(one) = slots.clone().acquire_owned().await else {
                return;
            };
            drop(one);
            // When slow partners free slots one at a time, gather a few before claiming: a
            // claim per freed slot would be a write transaction per delivery.
            let gather = (claim_size / 4).max(1) as u32;
            if slots.available_permits() < gather as usize
                && let Ok(Ok(some)) =
                    tokio::time::timeout(GATHER, slots.clone().acquire_many_owned(gather)).await
            {
                drop(some);
            }
            let room = slots.available_permits().clamp(1, claim_size);
            let batch = match claim(&state, room, busy.snapshot(), busy.share).await {
                Ok(batch) => batch,
                Err(err) => {
                    tracing::warn!(%err, "single logout: cannot read the outbox");
                    Vec::new()
                }
            };
            // Fewer rows than asked for: nothing else is due for a partner with room, until a
            // sign-out queues more, a partner frees a slot, or a retry falls due (the poll).
            let drained = batch.len() < room;
            for d in batch {
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    return;
                };
                let (state, finished, busy) = (state.clone(), finished.clone(), busy.clone());
                let client = d.client_id.clone();
                busy.start(&client);
                tokio::spawn(async move {
                    deliver(&state, d, &finished).await;
                    drop(slot);
                    if busy.end(&client) {
                        // Its rows were skipped while it was full: look again now.
                        state.logout_wakeup.wake();
                    }
                });
            }
            if drained {
                tokio::select! {
                    _ = wakeup.notified() => {}
                    _ = tokio::time::sleep(poll) => {}
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(client: &str, state: &str) -> DeliveryRow {
        let url = "http://127.0.0.1:1/logout".to_string();
        let sid = uuid::Uuid::new_v4().to_string();
        DeliveryRow {
            state: state.into(),
            ..DeliveryRow::due(client.into(), sid, "1".into(), url, crate::db::now())
        }
    }

    #[actix_web::test]
    async fn claims_skip_a_full_partners_backlog_and_keep_each_share() {
        let dir = tempfile::tempdir().unwrap();
        let url = crate::config::DatabaseUrl::Sqlite(dir.path().join("g.db"));
        let db = crate::db::Db::connect(&url, 1).unwrap();
        db.migrate().unwrap();
        let (listed, first, capped, again) = db
            .run(|conn| {
                let mut rows: Vec<DeliveryRow> = (0..500).map(|_| row("slow", PENDING)).collect();
                rows.extend((0..3).map(|_| row("other", PENDING)));
                rows.push(row("gone", DELIVERED));
                let insert = |conn: &mut DbConnection, rows: Vec<DeliveryRow>| {
                    // One statement per row: MultiConnection has no batch insert.
                    for r in rows {
                        diesel::insert_into(logout_deliveries::table)
                            .values(r)
                            .execute(conn)?;
                    }
                    Ok::<_, diesel::result::Error>(())
                };
                insert(conn, rows)?;
                let listed = clients_with_pending(conn)?;
                let full = HashMap::from([("slow".to_string(), 64)]);
                let first = claim_in(conn, 32, &full, 64)?;
                insert(conn, (0..5).map(|_| row("other", PENDING)).collect())?;
                let nearly = HashMap::from([("slow".to_string(), 64), ("other".to_string(), 62)]);
                let capped = claim_in(conn, 32, &nearly, 64)?;
                let again = claim_in(conn, 32, &nearly, 64)?;
                Ok((listed, first, capped, again))
            })
            .await
            .unwrap();
        assert_eq!(listed, ["other", "slow"]);
        assert_eq!(first.len(), 3);
        assert!(first.iter().all(|d| d.client_id == "other"));
        // Two slots left under the share: two of the five new rows; the next claim takes two
        // of the three left, never a row already leased.
        assert_eq!(capped.len(), 2);
        assert!(capped.iter().all(|d| d.client_id == "other"));
        assert_eq!(again.len(), 2);
        let ids: std::collections::HashSet<&String> = first
            .iter()
            .chain(&capped)
            .chain(&again)
            .map(|d| &d.id)
            .collect();
        assert_eq!(ids.len(), 7);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let first = backoff(1000, 1).as_millis();
        assert!((750..=1250).contains(&first), "{first}");
        let fourth = backoff(1000, 4).as_millis();
        assert!((6000..=10000).contains(&fourth), "{fourth}");
        assert!(backoff(1000, 60).as_millis() <= 750_000);
    }
}
