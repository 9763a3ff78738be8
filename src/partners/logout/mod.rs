//! Single logout: when a session ends, every partner system recorded in it that has a
//! `logout_url` receives an OpenID Connect Back-Channel Logout token, and each CAS service
//! a SAML `logoutRequest` per ticket validated in the session (PROTOCOLS §1, §4).
//!
//! Durable and at-least-once: the deliveries are written to the database in the same
//! transaction that ends the session (an outbox), and a background task on every instance
//! works them. A row is claimed with a conditional update (a lease in `locked_until`), so two
//! instances never send the same attempt at once. Network errors, timeouts and non-2xx
//! answers other than 400 are retried with exponential backoff and jitter for 24 hours; a 400
//! is final. The person signing out never waits for any of this.
//!
//! Here: the outbox rows and their views; `delivery` makes and sends one logout token;
//! `worker` claims due rows and keeps each partner to its share of the delivery slots.

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
use crate::db::schema::{cas_tickets, clients, logout_deliveries, session_clients};
use crate::error::ApiResult;
use crate::partners::{ClientMode, ClientRow};
use crate::state::AppState;
use crate::tokens::ClientAlg;

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
    /// What is sent: `logout_token` (OpenID Connect back-channel logout) or
    /// `cas_logout_request` (a CAS service's SAML logout request).
    pub kind: String,
    /// The logout token's algorithm: the partner's ID-token algorithm when it was queued.
    pub alg: String,
    /// The CAS ticket a `cas_logout_request` names.
    pub session_index: Option<String>,
}

pub const LOGOUT_TOKEN: &str = "logout_token";
pub const CAS_LOGOUT_REQUEST: &str = "cas_logout_request";

impl DeliveryRow {
    /// A new pending delivery, due at once.
    fn due(
        client_id: String,
        sid: String,
        sub: String,
        logout_url: String,
        alg: ClientAlg,
        now: NaiveDateTime,
    ) -> Self {
        DeliveryRow {
            kind: LOGOUT_TOKEN.into(),
            alg: alg.as_str().into(),
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
            session_index: None,
        }
    }
}

/// A delivery as operators see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: String,
    pub client_id: String,
    pub sid: String,
    /// What is delivered: `logout_token` or `cas_logout_request` (PROTOCOLS §1).
    pub kind: String,
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
            kind: d.kind.clone(),
            state: d.state.clone(),
            attempts: d.attempts,
            last_error: d.last_error.clone(),
            created_at: t(d.created_at),
            updated_at: t(d.updated_at),
            next_attempt_at: t(d.next_attempt_at),
        }
    }
}

/// Queues deliveries for ended sessions `(sid, sub)`, keeping each partner that gets one to
/// `backlog_max` pending; call inside the ending transaction.
pub fn enqueue(
    conn: &mut DbConnection,
    ended: &[(String, String)],
    backlog_max: u32,
) -> QueryResult<usize> {
    let now = crate::db::now();
    let mut queued = Vec::new();
    for (sid, sub) in ended {
        let targets: Vec<ClientRow> = session_clients::table
            .inner_join(clients::table)
            .filter(session_clients::session_id.eq(sid))
            .filter(clients::logout_url.is_not_null())
            .filter(clients::mode.ne(ClientMode::Cas.as_str()))
            .select(ClientRow::as_select())
            .load(conn)?;
        queued.extend(enqueue_cas(conn, sid, sub, now)?);
        for client in targets {
            let alg = client.alg();
            let Some(logout_url) = client.logout_url else {
                continue;
            };
            diesel::insert_into(logout_deliveries::table)
                .values(DeliveryRow::due(
                    client.client_id.clone(),
                    sid.clone(),
                    sub.clone(),
                    logout_url,
                    alg,
                    now,
                ))
                .execute(conn)?;
            queued.push(client.client_id);
        }
    }
    let count = queued.len();
    queued.sort_unstable();
    queued.dedup();
    for client_id in &queued {
        cap_backlog(conn, client_id, backlog_max, now)?;
    }
    Ok(count)
}

/// Keeps a partner to `max` pending deliveries: the oldest past it turn `failed` with a
/// `last_error` starting `backlog_full`, so a receiver that stays down cannot grow the outbox
/// without bound. Reads only that partner's pending rows, newest first, from the `max`-th on.
fn cap_backlog(
    conn: &mut DbConnection,
    client_id: &str,
    max: u32,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let over: Vec<String> = logout_deliveries::table
        .filter(logout_deliveries::state.eq(PENDING))
        .filter(logout_deliveries::client_id.eq(client_id))
        .order((
            logout_deliveries::created_at.desc(),
            logout_deliveries::id.desc(),
        ))
        .offset(i64::from(max))
        .limit(i64::MAX)
        .select(logout_deliveries::id)
        .load(conn)?;
    let why = format!(
        "backlog_full: more than {max} deliveries were pending for this partner; the oldest are given up"
    );
    let mut failed = 0;
    // Bounded batches: SQLite takes at most 32,766 bound values in one statement.
    for ids in over.chunks(1_000) {
        failed += diesel::update(logout_deliveries::table)
            .filter(logout_deliveries::id.eq_any(ids))
            .filter(logout_deliveries::state.eq(PENDING))
            .set((
                logout_deliveries::state.eq(FAILED),
                logout_deliveries::last_error.eq(&why),
                logout_deliveries::updated_at.eq(now),
                logout_deliveries::locked_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
    }
    Ok(failed)
}

/// How many deliveries there are in each state that has any.
pub fn count_by_state(conn: &mut DbConnection) -> QueryResult<Vec<(String, i64)>> {
    logout_deliveries::table
        .group_by(logout_deliveries::state)
        .select((logout_deliveries::state, diesel::dsl::count_star()))
        .load(conn)
}

/// One partner's pending deliveries: how many, and since when the oldest waits.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Backlog {
    pub client_id: String,
    pub pending: i64,
    /// When the oldest pending delivery was queued (RFC 3339).
    pub oldest_pending_at: String,
    /// How long it has waited, in seconds.
    pub oldest_pending_secs: i64,
}

/// Every partner with pending deliveries, the largest backlog first.
pub fn backlogs(conn: &mut DbConnection) -> QueryResult<Vec<Backlog>> {
    use diesel::dsl::{count_star, min};
    let rows: Vec<(String, i64, Option<NaiveDateTime>)> = logout_deliveries::table
        .filter(logout_deliveries::state.eq(PENDING))
        .group_by(logout_deliveries::client_id)
        .select((
            logout_deliveries::client_id,
            count_star(),
            min(logout_deliveries::created_at),
        ))
        .load(conn)?;
    let now = crate::db::now();
    let mut all: Vec<Backlog> = rows
        .into_iter()
        .map(|(client_id, pending, oldest)| {
            let oldest = oldest.unwrap_or(now);
            Backlog {
                client_id,
                pending,
                oldest_pending_at: crate::accounts::model::rfc3339(oldest),
                oldest_pending_secs: (now - oldest).num_seconds().max(0),
            }
        })
        .collect();
    all.sort_by(|a, b| {
        b.pending
            .cmp(&a.pending)
            .then(a.client_id.cmp(&b.client_id))
    });
    Ok(all)
}

/// One logout request per CAS ticket validated in session `sid`: to the service's
/// `logout_url` when it has one, else to the service URL the ticket was validated for.
fn enqueue_cas(
    conn: &mut DbConnection,
    sid: &str,
    sub: &str,
    now: NaiveDateTime,
) -> QueryResult<Vec<String>> {
    let tickets: Vec<(String, String, String, Option<String>)> = cas_tickets::table
        .inner_join(clients::table)
        .filter(cas_tickets::session_id.eq(sid))
        .select((
            cas_tickets::ticket,
            cas_tickets::client_id,
            cas_tickets::service,
            clients::logout_url,
        ))
        .load(conn)?;
    let rows: Vec<DeliveryRow> = tickets
        .into_iter()
        .map(|(ticket, client_id, service, logout_url)| DeliveryRow {
            kind: CAS_LOGOUT_REQUEST.into(),
            session_index: Some(ticket),
            ..DeliveryRow::due(
                client_id,
                sid.to_owned(),
                sub.to_owned(),
                logout_url.unwrap_or(service),
                ClientAlg::EdDsa,
                now,
            )
        })
        .collect();
    for row in &rows {
        diesel::insert_into(logout_deliveries::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(rows.into_iter().map(|r| r.client_id).collect())
}

/// A page of deliveries, newest first, and how many there are in all: the operators' view.
pub fn recent(
    conn: &mut DbConnection,
    page: i64,
    limit: i64,
) -> QueryResult<(Vec<DeliveryRow>, i64)> {
    let total: i64 = logout_deliveries::table.count().get_result(conn)?;
    let rows = logout_deliveries::table
        .order((
            logout_deliveries::created_at.desc(),
            logout_deliveries::id.asc(),
        ))
        .limit(limit)
        .offset((page - 1) * limit)
        .select(DeliveryRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

mod delivery;
mod worker;

pub use delivery::{backoff, logout_token};
pub use worker::spawn_worker;

#[cfg(test)]
mod tests;
