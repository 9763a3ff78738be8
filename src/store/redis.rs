//! The shared key-value store on Redis, for several instances behind one load balancer: one
//! Redis, a Redis Cluster or a Sentinel-managed master (`topology`).
//!
//! Every operation is a single command or a Lua script on one key (or, for `get_pair`, keys
//! sharing a hash tag), so each runs in one cluster slot, and single use (`GETDEL`), counting
//! (`INCR` with the expiry set in the same script) and set-if-absent stay exact under
//! concurrency across instances. Every call is bounded in time: a Redis that does not answer
//! becomes `unavailable` within two seconds instead of a hung request.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::thread::ThreadId;
use std::time::Duration;

use redis::{AsyncCommands, Script};
use tokio::sync::OnceCell;

use super::topology::{Conn, Topology};

use crate::error::{ApiError, ApiResult};

const OP_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a revocation waits for a replica (`replicated`).
const REPLICA_WAIT: Duration = Duration::from_millis(100);

/// A thread's connection, with the topology's generation it was made in.
type Slot = Arc<OnceCell<(u64, Conn)>>;

/// One multiplexed connection per thread that talks to Redis. Commands from all the requests
/// a worker thread serves share its connection and go out pipelined (one write and one read
/// for many), and the connection's I/O runs on that thread's own runtime, so a check never
/// waits for another thread to be scheduled. Keyed by `ThreadId`, which is never reused.
#[derive(Clone)]
pub struct RedisStore {
    topology: Arc<Topology>,
    connections: Arc<RwLock<HashMap<ThreadId, Slot>>>,
    prefix: String,
    /// Each command's time, connection included, for `/metrics`.
    pub calls: prometheus::Histogram,
    /// Commands that failed or timed out.
    pub errors: prometheus::IntCounter,
}

fn unavailable(err: impl std::fmt::Display) -> ApiError {
    ApiError::Unavailable(format!("redis: {err}"))
}

fn ms(ttl: Duration) -> u64 {
    (ttl.as_millis() as u64).max(1)
}

/// A counter script: sent by hash, and in full only when the node serving the key does not
/// know it yet (a new node, or a replica just promoted), which also routes it by its key.
struct Counter {
    source: &'static str,
    hash: std::sync::LazyLock<String>,
}

macro_rules! counter {
    ($name:ident = $source:ident) => {
        static $name: Counter = Counter {
            source: $source,
            hash: std::sync::LazyLock::new(|| Script::new($source).get_hash().to_owned()),
        };
    };
}

counter!(INCR_SCRIPT = INCR);
counter!(DECR_SCRIPT = DECR);
counter!(RESERVE_SCRIPT = RESERVE);
counter!(HOLD_IF_FULL_SCRIPT = HOLD_IF_FULL);

const INCR: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n";

const DECR: &str = r"
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then return redis.call('DECR', KEYS[1]) end
return 0";

// Decides and takes a slot in one step: {1, slot} or {0, milliseconds until the counter expires}.
const RESERVE: &str = r"
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then
  local t = redis.call('PTTL', KEYS[1])
  if t < 0 then t = tonumber(ARGV[2]) end
  return {0, t}
end
n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {1, n}";

const HOLD_IF_FULL: &str = r"
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[1]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0";

impl RedisStore {
    /// Checks the URL; connections are made on first use, so an instance starts (and says
    /// it is not ready) while Redis is down.
    pub fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let topology = super::topology::parse(url, OP_TIMEOUT)
            .map_err(|e| anyhow::anyhow!("GATEHOUSE_REDIS_URL: {e}"))?;
        Ok(RedisStore {
            topology: Arc::new(topology),
            connections: Arc::default(),
            prefix: prefix.to_owned(),
            calls: crate::observe::histogram(
                "gatehouse_store_call_duration_seconds",
                "Redis commands, connection included",
            ),
            errors: prometheus::IntCounter::new(
                "gatehouse_store_errors_total",
                "Redis commands that failed or timed out",
            )
            .map_err(|e| anyhow::anyhow!("metrics: {e}"))?,
        })
    }

    fn slot(&self) -> Slot {
        let me = std::thread::current().id();
        let found = self
            .connections
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&me)
            .cloned();
        found.unwrap_or_else(|| {
            self.connections
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .entry(me)
                .or_default()
                .clone()
        })
    }

    async fn connection(&self) -> redis::RedisResult<Conn> {
        let generation = self.topology.generation();
        let mut slot = self.slot();
        if slot
            .get()
            .is_some_and(|(made_in, _)| *made_in != generation)
        {
            self.forget_connection();
            slot = self.slot();
        }
        let (_, conn) = slot
            .get_or_try_init(|| self.topology.connect(OP_TIMEOUT))
            .await?;
        Ok(conn.clone())
    }

    /// Starts the topology's background work (the Sentinel watch).
    pub fn spawn(&self) {
        self.topology.spawn();
    }

    /// Drops this thread's connection, so the next command makes a new one.
    fn forget_connection(&self) {
        let me = std::thread::current().id();
        self.connections
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&me);
    }

    async fn with<T, F, Fut>(&self, f: F) -> ApiResult<T>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        // Boxed: a command's future (connection set-up, pipeline) is about 4 KB, and inline it
        // would make every store call's future that size, the in-process store's included,
        // copied at each `.await` up to the request's. One allocation is nothing beside a
        // Redis round trip.
        let work = async {
            let conn = self.connection().await.map_err(unavailable)?;
            f(conn).await.map_err(unavailable)
        };
        let timer = self.calls.start_timer();
        let out = Box::pin(tokio::time::timeout(OP_TIMEOUT, work))
            .await
            .map_err(|_| unavailable("timed out"))
            .and_then(|r| r);
        timer.observe_duration();
        if out.is_err() {
            self.errors.inc();
            if self.topology.reconnect_after_error() {
                self.forget_connection();
            }
        }
        out
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    pub async fn get(&self, key: &str) -> ApiResult<Option<String>> {
        let k = self.key(key);
        self.with(|mut c| async move { c.get(k).await }).await
    }

    pub async fn get_pair(&self, a: &str, b: &str) -> ApiResult<(Option<String>, Option<String>)> {
        let keys = [self.key(a), self.key(b)];
        let mut values: Vec<Option<String>> = self
            .with(|mut c| async move { redis::cmd("MGET").arg(&keys).query_async(&mut c).await })
            .await?;
        let second = values.pop().flatten();
        let first = values.pop().flatten();
        Ok((first, second))
    }

    /// `SET key value PX ttl`, to which `set_nx` and `swap` add their option.
    fn set_command(&self, key: &str, value: &str, ttl: Duration) -> redis::Cmd {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key)).arg(value).arg("PX").arg(ms(ttl));
        cmd
    }

    pub async fn set(&self, key: &str, value: &str, ttl: Duration) -> ApiResult<()> {
        let cmd = self.set_command(key, value, ttl);
        self.with(|mut c| async move { cmd.query_async::<()>(&mut c).await })
            .await
    }

    /// On a Cluster or a Sentinel master, waits up to `REPLICA_WAIT` for a replica to have
    /// this connection's writes: a mark that ends a session or a token must outlive its
    /// master. Best effort: with no replica answering in time the answer still goes out (a
    /// replica being down must not stop sign-outs), and a warning says the mark may not
    /// survive a failover.
    pub async fn replicated(&self) -> ApiResult<()> {
        if !self.topology.has_replicas() {
            return Ok(());
        }
        let acked: i64 = self
            .with(|mut c| async move {
                redis::cmd("WAIT")
                    .arg(1)
                    .arg(REPLICA_WAIT.as_millis() as u64)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        if acked < 1 {
            tracing::warn!("no Redis replica confirmed a revocation within {REPLICA_WAIT:?}");
        }
        Ok(())
    }

    pub async fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> ApiResult<bool> {
        let mut cmd = self.set_command(key, value, ttl);
        cmd.arg("NX");
        let answer: Option<String> = self
            .with(|mut c| async move { cmd.query_async(&mut c).await })
            .await?;
        Ok(answer.is_some())
    }

    /// `SET … GET` (Redis 6.2): one command, so of concurrent callers exactly one sees the
    /// value that was there before.
    pub async fn swap(&self, key: &str, value: &str, ttl: Duration) -> ApiResult<Option<String>> {
        let mut cmd = self.set_command(key, value, ttl);
        cmd.arg("GET");
        self.with(|mut c| async move { cmd.query_async(&mut c).await })
            .await
    }

    pub async fn take(&self, key: &str) -> ApiResult<Option<String>> {
        let k = self.key(key);
        self.with(|mut c| async move { redis::cmd("GETDEL").arg(k).query_async(&mut c).await })
            .await
    }

    pub async fn del(&self, key: &str) -> ApiResult<()> {
        let k = self.key(key);
        self.with(|mut c| async move { c.del::<_, ()>(k).await })
            .await
    }

    /// Runs one of the counter scripts on `key`: each reads and writes its counter in one
    /// step on the server, which is what makes the limits hold under concurrency.
    async fn counter<T>(&self, script: &'static Counter, key: &str, args: &[u64]) -> ApiResult<T>
    where
        T: redis::FromRedisValue,
    {
        let k = self.key(key);
        let args = args.to_vec();
        self.with(|mut c| async move {
            let by_hash = redis::cmd("EVALSHA")
                .arg(script.hash.as_str())
                .arg(1)
                .arg(&k)
                .arg(&args)
                .query_async(&mut c)
                .await;
            match by_hash {
                Err(e) if e.kind() == redis::ErrorKind::NoScriptError => {
                    redis::cmd("EVAL")
                        .arg(script.source)
                        .arg(1)
                        .arg(&k)
                        .arg(&args)
                        .query_async(&mut c)
                        .await
                }
                other => other,
            }
        })
        .await
    }

    pub async fn incr(&self, key: &str, ttl: Duration) -> ApiResult<i64> {
        self.counter(&INCR_SCRIPT, key, &[ms(ttl)]).await
    }

    pub async fn reserve(&self, key: &str, max: i64, ttl: Duration) -> ApiResult<super::Slot> {
        let max = max.max(0) as u64;
        let (taken, value): (i64, i64) =
            self.counter(&RESERVE_SCRIPT, key, &[max, ms(ttl)]).await?;
        Ok(if taken == 1 {
            Ok(value)
        } else {
            Err(Duration::from_millis(value.max(1) as u64))
        })
    }

    pub async fn hold_if_full(&self, key: &str, max: i64, ttl: Duration) -> ApiResult<bool> {
        let max = max.max(0) as u64;
        let held: i64 = self
            .counter(&HOLD_IF_FULL_SCRIPT, key, &[max, ms(ttl)])
            .await?;
        Ok(held == 1)
    }

    pub async fn decr(&self, key: &str) -> ApiResult<()> {
        self.counter::<i64>(&DECR_SCRIPT, key, &[])
            .await
            .map(|_| ())
    }

    pub async fn ttl(&self, key: &str) -> ApiResult<Option<Duration>> {
        let k = self.key(key);
        let pttl: i64 = self.with(|mut c| async move { c.pttl(k).await }).await?;
        Ok(match pttl {
            -2 => None,
            // A key without expiry should not exist here; report it as long-lived.
            -1 => Some(Duration::from_secs(3600)),
            n => Some(Duration::from_millis(n.max(0) as u64)),
        })
    }

    pub async fn ping(&self) -> bool {
        self.with(|mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await })
            .await
            .is_ok()
    }
}
