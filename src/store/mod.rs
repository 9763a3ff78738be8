//! Ephemeral state — sessions, captchas, verification codes, rate-limit counters — behind one
//! interface with an in-process implementation and (when `GATEHOUSE_REDIS_URL` is set) a
//! shared one. Every key has a TTL; nothing here is the only copy of anything that must
//! survive a restart (sessions are also persisted in the database).
//!
//! The operations are the ones Redis offers atomically (`GETDEL`, `SET NX`, `INCR` with an
//! expiry set on creation, sets), so single use and counting stay exact across instances.

pub mod memory;

use std::time::Duration;

use crate::error::ApiResult;
pub use memory::MemoryStore;

#[derive(Clone)]
pub enum Store {
    Memory(MemoryStore),
}

impl Store {
    pub fn memory() -> Self {
        Store::Memory(MemoryStore::default())
    }

    pub async fn get(&self, key: &str) -> ApiResult<Option<String>> {
        match self {
            Store::Memory(m) => Ok(m.get(key)),
        }
    }

    pub async fn set(&self, key: &str, value: &str, ttl: Duration) -> ApiResult<()> {
        match self {
            Store::Memory(m) => {
                m.set(key, value, ttl);
                Ok(())
            }
        }
    }

    /// Sets the key only if absent; true when it was set.
    pub async fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> ApiResult<bool> {
        match self {
            Store::Memory(m) => Ok(m.set_nx(key, value, ttl)),
        }
    }

    /// Reads and deletes atomically: of concurrent callers at most one gets the value.
    pub async fn take(&self, key: &str) -> ApiResult<Option<String>> {
        match self {
            Store::Memory(m) => Ok(m.take(key)),
        }
    }

    pub async fn del(&self, key: &str) -> ApiResult<()> {
        match self {
            Store::Memory(m) => {
                m.del(key);
                Ok(())
            }
        }
    }

    /// Increments a counter, creating it with `ttl` when absent; returns the new value.
    pub async fn incr(&self, key: &str, ttl: Duration) -> ApiResult<i64> {
        match self {
            Store::Memory(m) => Ok(m.incr(key, ttl)),
        }
    }

    /// Undoes one increment (a send that failed must not count).
    pub async fn decr(&self, key: &str) -> ApiResult<()> {
        match self {
            Store::Memory(m) => {
                m.decr(key);
                Ok(())
            }
        }
    }

    pub async fn ttl(&self, key: &str) -> ApiResult<Option<Duration>> {
        match self {
            Store::Memory(m) => Ok(m.ttl(key)),
        }
    }

    pub async fn sadd(&self, key: &str, member: &str, ttl: Duration) -> ApiResult<()> {
        match self {
            Store::Memory(m) => {
                m.sadd(key, member, ttl);
                Ok(())
            }
        }
    }

    pub async fn smembers(&self, key: &str) -> ApiResult<Vec<String>> {
        match self {
            Store::Memory(m) => Ok(m.smembers(key)),
        }
    }

    pub async fn ping(&self) -> bool {
        match self {
            Store::Memory(_) => true,
        }
    }

    /// Background upkeep for the in-process store; Redis expires keys itself.
    pub fn spawn_janitor(&self) {
        let Store::Memory(m) = self;
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
