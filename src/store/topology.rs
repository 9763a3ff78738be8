//! Which Redis `GATEHOUSE_REDIS_URL` names (CONTRACT §9): one server (`redis://…`), a Redis
//! Cluster given by comma-separated seed nodes (`redis://a:7000,redis://b:7000`), or a master
//! found through Sentinel (`redis+sentinel://s1:26379,s2:26379/<master name>`), and the one
//! connection type the store sends its commands on, whichever it is.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelServerType};
use redis::{Cmd, Pipeline, RedisFuture, RedisResult, Value};

const SENTINEL_PORT: u16 = 26379;
const ASK_TIMEOUT: Duration = Duration::from_millis(1500);

pub enum Topology {
    Single(redis::Client),
    Cluster(ClusterClient),
    Sentinel(Arc<Sentinels>),
}

/// The Sentinels, asked for the master's address at each new connection and, by `watch`,
/// twice a second, so that connections to a master that was replaced are dropped before their
/// next command instead of failing it.
pub struct Sentinels {
    /// The client needs `&mut` to ask; the last address they gave is kept beside it.
    client: tokio::sync::Mutex<(SentinelClient, Option<String>)>,
    /// Bumped whenever the master's address changes.
    generation: AtomicU64,
}

impl Sentinels {
    /// The master's address, asked of the Sentinels within `ASK_TIMEOUT`: the lock is shared
    /// by every thread's new connection and the watch, so one Sentinel that stops answering
    /// must not hold it.
    ///
    /// Whoever first hears of a new master, a thread replacing its failed connection or the
    /// watch, moves the generation on before any other thread can ask, so every connection to
    /// the old master is dropped before its next command: the other threads need not each
    /// fail a command, nor wait for the watch's next look.
    /// Also the generation that address belongs to, read under the same lock.
    async fn master(&self) -> RedisResult<(redis::Client, u64)> {
        let ask = async {
            let mut held = self.client.lock().await;
            let (client, known) = &mut *held;
            let master = client.async_get_client().await?;
            let address = master.get_connection_info().addr.to_string();
            if known.as_ref().is_some_and(|k| *k != address) {
                tracing::warn!(%address, "Redis Sentinel: the master moved");
                self.generation.fetch_add(1, Ordering::Relaxed);
            }
            *known = Some(address);
            Ok((master, self.generation.load(Ordering::Relaxed)))
        };
        tokio::time::timeout(ASK_TIMEOUT, ask).await.map_err(|_| {
            redis::RedisError::from((redis::ErrorKind::IoError, "the Sentinels did not answer"))
        })?
    }

    fn watch(self: Arc<Self>) {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(500));
            loop {
                every.tick().await;
                let _ = self.master().await;
            }
        });
    }
}

/// A connection to whichever Redis the URL names.
#[derive(Clone)]
pub enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// What a URL names, checked without connecting. Also used by the settings' check.
pub fn parse(url: &str, timeout: Duration) -> anyhow::Result<Topology> {
    if let Some(rest) = url.strip_prefix("redis+sentinel://") {
        let (hosts, master) = rest
            .split_once('/')
            .filter(|(h, m)| !h.is_empty() && !m.is_empty() && !m.contains('/'))
            .ok_or_else(|| {
                anyhow::anyhow!("a Sentinel URL is redis+sentinel://host:port,host:port/<master>")
            })?;
        let nodes = hosts
            .split(',')
            .map(|host| {
                let host = host.trim();
                anyhow::ensure!(!host.is_empty(), "an empty Sentinel address");
                Ok(
                    if host
                        .rsplit_once(':')
                        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
                    {
                        format!("redis://{host}")
                    } else {
                        format!("redis://{host}:{SENTINEL_PORT}")
                    },
                )
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let client =
            SentinelClient::build(nodes, master.to_owned(), None, SentinelServerType::Master)?;
        return Ok(Topology::Sentinel(Arc::new(Sentinels {
            client: tokio::sync::Mutex::new((client, None)),
            generation: AtomicU64::new(0),
        })));
    }
    if url.contains(',') {
        let seeds: Vec<&str> = url.split(',').map(str::trim).collect();
        for seed in &seeds {
            anyhow::ensure!(
                seed.starts_with("redis://") || seed.starts_with("rediss://"),
                "each Redis Cluster seed node is a redis:// or rediss:// URL"
            );
        }
        let client = ClusterClient::builder(seeds)
            .connection_timeout(timeout)
            .response_timeout(timeout)
            // A slot whose master is gone is retried briefly; the store's own bound turns a
            // longer outage into 503 until the cluster has promoted a replica.
            .retries(3)
            .min_retry_wait(100)
            .max_retry_wait(500)
            .build()?;
        return Ok(Topology::Cluster(client));
    }
    Ok(Topology::Single(redis::Client::open(url)?))
}

impl Topology {
    /// A new connection, with the generation it is for. Single and Sentinel masters get a
    /// `ConnectionManager` (which reconnects to its address); a cluster connection follows
    /// the cluster's slot map and reconnects to nodes itself.
    pub async fn connect(&self, timeout: Duration) -> RedisResult<(u64, Conn)> {
        // Reconnection gives up quickly: the caller's bound answers 503, and the next command
        // starts a new attempt, so recovery needs no restart.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_factor(100)
            .set_max_delay(500)
            .set_connection_timeout(timeout)
            .set_response_timeout(timeout);
        match self {
            Topology::Single(client) => Ok((
                0,
                Conn::Single(ConnectionManager::new_with_config(client.clone(), config).await?),
            )),
            Topology::Cluster(client) => {
                Ok((0, Conn::Cluster(client.get_async_connection().await?)))
            }
            Topology::Sentinel(sentinels) => {
                let (master, generation) = sentinels.master().await?;
                Ok((
                    generation,
                    Conn::Single(ConnectionManager::new_with_config(master, config).await?),
                ))
            }
        }
    }

    /// Whether writes are expected to have a replica to reach: a Cluster or a Sentinel master.
    pub fn has_replicas(&self) -> bool {
        !matches!(self, Topology::Single(_))
    }

    /// Which master connections are for: changes when a Sentinel names a new one.
    pub fn generation(&self) -> u64 {
        match self {
            Topology::Sentinel(s) => s.generation.load(Ordering::Relaxed),
            _ => 0,
        }
    }

    /// Starts what the topology needs in the background: the Sentinel watch.
    pub fn spawn(&self) {
        if let Topology::Sentinel(s) = self {
            s.clone().watch();
        }
    }

    /// Whether a failed command should drop its connection: a Sentinel master's address may
    /// have changed, and its `ConnectionManager` would only ever reconnect to the old one.
    pub fn reconnect_after_error(&self) -> bool {
        matches!(self, Topology::Sentinel(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_url_form_names_its_topology_and_bad_ones_are_refused() {
        let t = Duration::from_secs(1);
        assert!(matches!(
            parse("redis://127.0.0.1:6379", t),
            Ok(Topology::Single(_))
        ));
        assert!(matches!(
            parse("redis://10.0.0.1:7000,redis://10.0.0.2:7000", t),
            Ok(Topology::Cluster(_))
        ));
        assert!(matches!(
            parse("redis+sentinel://10.0.0.1:26379,10.0.0.2/gh", t),
            Ok(Topology::Sentinel(_))
        ));
        for bad in [
            "redis://10.0.0.1:7000,http://10.0.0.2:7000",
            "redis://a:1,",
            "redis+sentinel://10.0.0.1:26379",
            "redis+sentinel:///gh",
            "redis+sentinel://a,,b/gh",
            "redis+sentinel://a/gh/x",
        ] {
            assert!(parse(bad, t).is_err(), "{bad}");
        }
    }
}
