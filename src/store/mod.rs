//! Ephemeral state — sessions, captchas, verification codes, rate-limit counters — behind one
//! interface with an in-process implementation and (when `GATEHOUSE_REDIS_URL` is set) a
//! shared one. Every key has a TTL; nothing here is the only copy of anything that must
//! survive a restart (sessions are also persisted in the database).
//!
//! The operations are the ones Redis offers atomically (`GETDEL`, `SET NX`, `INCR` with an
//! expiry set on creation, sets), so single use and counting stay exact across instances.

pub mod memory;
pub mod redis;

use std::time::Duration;

use crate::error::ApiResult;
pub use memory::MemoryStore;
pub use redis::RedisStore;
mod topology;

/// A counter slot asked for: `Ok(n)` the slot taken (1-based), `Err(wait)` a refusal with the
/// time until the counter expires.
pub type Slot = Result<i64, Duration>;

#[derive(Clone)]
pub enum Store {
    Memory(MemoryStore),
    Redis(RedisStore),
}

impl Store {
    pub fn memory() -> Self {
        Store::Memory(MemoryStore::default())
    }

    /// This store's metrics: Redis commands' latency and errors (the in-process store's calls
    /// are map lookups, not worth a histogram).
    pub fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        match self {
            Store::Memory(_) => Vec::new(),
            Store::Redis(r) => vec![Box::new(r.calls.clone()), Box::new(r.errors.clone())],
        }
    }

    #[tracing::instrument(level = "debug", name = "store.get", skip_all)]
    pub async fn get(&self, key: &str) -> ApiResult<Option<String>> {
        match self {
            Store::Memory(m) => Ok(m.get(key)),
            // Boxed so that the in-process store's callers do not carry Redis's future.
            Store::Redis(r) => Box::pin(r.get(key)).await,
        }
    }

    /// Two keys in one round trip (the token check's session and revocation marks).
    #[tracing::instrument(level = "debug", name = "store.get_pair", skip_all)]
    pub async fn get_pair(&self, a: &str, b: &str) -> ApiResult<(Option<String>, Option<String>)> {
        match self {
            Store::Memory(m) => Ok(m.get_pair(a, b)),
            Store::Redis(r) => Box::pin(r.get_pair(a, b)).await,
        }
    }

    #[tracing::instrument(level = "debug", name = "store.set", skip_all)]
    pub async fn set(&self, key: &str, value: &str, ttl: Duration) -> ApiResult<()> {
        match self {
            Store::Memory(m) => {
                m.set(key, value, ttl);
                Ok(())
            }
            Store::Redis(r) => r.set(key, value, ttl).await,
        }
    }

    /// [`Store::set`] for a mark that revokes (an ended session, a replaced token): on a Redis
    /// Cluster or Sentinel master it also waits briefly for a replica to have it, so a
    /// failover right after does not bring the token back.
    pub async fn set_revocation(&self, key: &str, value: &str, ttl: Duration) -> ApiResult<()> {
        self.set(key, value, ttl).await?;
        match self {
            Store::Memory(_) => Ok(()),
            Store::Redis(r) => r.replicated().await,
        }
    }

    /// [`Store::set_nx`] for a revoking mark, waiting for a replica as `set_revocation` does.
    pub async fn set_nx_revocation(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> ApiResult<bool> {
        let set = self.set_nx(key, value, ttl).await?;
        if let Store::Redis(r) = self {
            r.replicated().await?;
        }
        Ok(set)
    }

    /// Sets the key only if absent; true when it was set.
    pub async fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> ApiResult<bool> {
        match self {
            Store::Memory(m) => Ok(m.set_nx(key, value, ttl)),
            Store::Redis(r) => r.set_nx(key, value, ttl).await,
        }
    }

    /// Sets `key` to `value` for `ttl` and returns what it held, atomically: of concurrent
    /// callers exactly one gets the value held before any of them.
    pub async fn swap(&self, key: &str, value: &str, ttl: Duration) -> ApiResult<Option<String>> {
        match self {
            Store::Memory(m) => Ok(m.swap(key, value, ttl)),
            Store::Redis(r) => r.swap(key, value, ttl).await,
        }
    }

    /// Reads and deletes atomically: of concurrent callers at most one gets the value.
    pub async fn take(&self, key: &str) -> ApiResult<Option<String>> {
        match self {
            Store::Memory(m) => Ok(m.take(key)),
            Store::Redis(r) => r.take(key).await,
        }
    }

    pub async fn del(&self, key: &str) -> ApiResult<()> {
        match self {
            Store::Memory(m) => {
                m.del(key);
                Ok(())
            }
            Store::Redis(r) => r.del(key).await,
        }
    }

    /// Increments a counter, creating it with `ttl` when absent; returns the new value.
    pub async fn incr(&self, key: &str, ttl: Duration) -> ApiResult<i64> {
        match self {
            Store::Memory(m) => Ok(m.incr(key, ttl)),
            Store::Redis(r) => r.incr(key, ttl).await,
        }
    }

    /// Takes one slot of a counter limited to `max` before the work it guards, atomically:
    /// `Ok(n)` is the slot taken (1-based; the counter is created with `ttl`), `Err(wait)` a
    /// refusal when all `max` slots are held, with the time until the counter expires. Of any
    /// number of concurrent callers at most `max` get a slot.
    #[tracing::instrument(level = "debug", name = "store.reserve", skip_all)]
    pub async fn reserve(&self, key: &str, max: i64, ttl: Duration) -> ApiResult<Slot> {
        match self {
            Store::Memory(m) => Ok(m.reserve(key, max, ttl)),
            Store::Redis(r) => r.reserve(key, max, ttl).await,
        }
    }

    /// When a counter holds at least `max`, keeps it (and so the refusal) for `ttl` from now;
    /// true when it did. A lockout starts this way at the failure that fills the counter.
    pub async fn hold_if_full(&self, key: &str, max: i64, ttl: Duration) -> ApiResult<bool> {
        match self {
            Store::Memory(m) => Ok(m.hold_if_full(key, max, ttl)),
            Store::Redis(r) => r.hold_if_full(key, max, ttl).await,
        }
    }

    /// Undoes one increment or gives back a slot (a send that failed or a check that
    /// succeeded must not count); never below zero.
    pub async fn decr(&self, key: &str) -> ApiResult<()> {
        match self {
            Store::Memory(m) => {
                m.decr(key);
                Ok(())
            }
            Store::Redis(r) => r.decr(key).await,
        }
    }

    pub async fn ttl(&self, key: &str) -> ApiResult<Option<Duration>> {
        match self {
            Store::Memory(m) => Ok(m.ttl(key)),
            Store::Redis(r) => r.ttl(key).await,
        }
    }

    pub async fn ping(&self) -> bool {
        match self {
            Store::Memory(_) => true,
            Store::Redis(r) => r.ping().await,
        }
    }

    /// Background upkeep: expiry for the in-process store (Redis expires keys itself), and
    /// the watch on Sentinel's choice of master.
    pub fn spawn_janitor(&self) {
        let m = match self {
            Store::Memory(m) => m,
            Store::Redis(r) => return r.spawn(),
        };
        let m = m.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(30));
            loop {
                tick.tick().await;
                m.purge_expired();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    /// Measured, not timed: the size a store call adds to every future awaiting it.
    #[test]
    fn a_store_call_on_the_in_process_store_is_a_small_future() {
        let store = super::Store::memory();
        let sizes = [
            std::mem::size_of_val(&store.get("a")),
            std::mem::size_of_val(&store.get_pair("a", "b")),
            std::mem::size_of_val(&store.set("a", "b", std::time::Duration::ZERO)),
            std::mem::size_of_val(&store.reserve("a", 1, std::time::Duration::ZERO)),
        ];
        // About 4 KB each with Redis's futures inline; under 300 bytes boxed.
        assert!(sizes.iter().all(|s| *s <= 512), "{sizes:?}");
    }
}
