//! The background worker: claims due rows (leased, so instances never send the same attempt
//! twice at once) and delivers them within each partner's share of the slots.

use super::delivery::{Outcome, attempt, record};
use super::*;

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
pub(super) fn claim_in(
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
pub(super) fn clients_with_pending(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
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
/// others' logouts keep moving. `wakeup` is notified when sign-outs queue deliveries.
pub fn spawn_worker(state: web::Data<AppState>, wakeup: Arc<Notify>) {
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
                let (state, finished, busy, again) = (
                    state.clone(),
                    finished.clone(),
                    busy.clone(),
                    wakeup.clone(),
                );
                let client = d.client_id.clone();
                busy.start(&client);
                tokio::spawn(async move {
                    deliver(&state, d, &finished).await;
                    drop(slot);
                    if busy.end(&client) {
                        // Its rows were skipped while it was full: look again now.
                        again.notify_one();
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
