//! Gatehouse on a real Redis Cluster (CONTRACT §9 "Scale-out"): three masters with a replica
//! each, started by `tests/redis/servers.sh`. Killing a master mid-run costs the slots it
//! served at most a few seconds of 503 (and the other slots none), and no session or limiter
//! state is reset. (CI also runs
//! the whole suite on such a cluster: `.ci/run`'s third pass.)

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/redis/servers.sh");

/// Redis servers of one topology from `tests/redis/servers.sh`, stopped when dropped.
pub(crate) struct RedisServers {
    dir: tempfile::TempDir,
    pub(crate) url: String,
}

impl RedisServers {
    /// `cluster` or `sentinel`.
    pub(crate) fn start(kind: &str) -> Option<Self> {
        if Command::new("redis-server")
            .arg("--version")
            .output()
            .is_err()
        {
            skip_without("redis-server");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("bash")
            .arg(SCRIPT)
            .arg(kind)
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "the {kind} did not start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        Some(RedisServers { dir, url })
    }

    fn cli(&self, port: u16, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .arg("-p")
            .arg(port.to_string())
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn ports(&self) -> Vec<u16> {
        std::fs::read_to_string(self.dir.path().join("ports"))
            .unwrap()
            .split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect()
    }

    /// The port of the master serving `key`'s slot now.
    fn master_of(&self, key: &str) -> u16 {
        let any = self.ports()[0];
        let slot: u32 = self
            .cli(any, &["cluster", "keyslot", key])
            .trim()
            .parse()
            .unwrap();
        for line in self.cli(any, &["cluster", "nodes"]).lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if !fields[2].contains("master") || fields[2].contains("fail") {
                continue;
            }
            let serves = fields[8..].iter().any(|range| {
                let (from, to) = range.split_once('-').unwrap_or((range, range));
                matches!((from.parse::<u32>(), to.parse::<u32>()), (Ok(a), Ok(b)) if (a..=b).contains(&slot))
            });
            if serves {
                let address = fields[1].split('@').next().unwrap();
                return address.rsplit(':').next().unwrap().parse().unwrap();
            }
        }
        panic!("no master serves slot {slot}");
    }

    /// How many times the live nodes have run `command` (INFO commandstats).
    fn calls(&self, command: &str) -> u64 {
        let prefix = format!("cmdstat_{command}:calls=");
        self.ports()
            .iter()
            .flat_map(|port| {
                self.cli(*port, &["info", "commandstats"])
                    .lines()
                    .filter_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
                    .collect::<Vec<_>>()
            })
            .filter_map(|rest| rest.split(',').next()?.parse::<u64>().ok())
            .sum()
    }

    fn kill(&self, port: u16) {
        let pid = std::fs::read_to_string(self.dir.path().join(format!("{port}/pid"))).unwrap();
        let status = Command::new("kill")
            .args(["-9", pid.trim()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for RedisServers {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(SCRIPT)
            .arg("stop")
            .arg(self.dir.path())
            .status();
    }
}

const PREFIX: &str = "kill:";
const WRONG: &str = "Wrong-Password-1";

/// What a failover must not lose: live sessions, and numbers locked by failed sign-ins.
struct Before {
    app: TestApp,
    tokens: Vec<String>,
    locked: Vec<String>,
}

async fn before_the_kill(url: &str) -> Before {
    let app = TestApp::spawn_set(
        Backend::Sqlite,
        json!({ "redis_url": url, "redis_key_prefix": PREFIX }),
    )
    .await
    .unwrap();
    let mut tokens = Vec::new();
    for i in 0..12 {
        tokens.push(app.user(&format!("1380000{:04}", 100 + i)).await.1);
    }
    let locked: Vec<String> = (0..5).map(|i| format!("1390000{:04}", 100 + i)).collect();
    for number in &locked {
        for _ in 0..5 {
            assert_eq!(app.signin(number, WRONG).await.0, 401);
        }
        let (status, body) = app.signin(number, WRONG).await;
        assert_eq!(status, 429, "not locked: {body}");
    }
    Before {
        app,
        tokens,
        locked,
    }
}

fn sid(token: &str) -> String {
    claims(token)["sid"].as_str().unwrap().to_owned()
}

impl Before {
    /// Checks every token until all are valid again (at most 15 s): each answer is 200, or 503
    /// for a session `may_fail` allows; never 401. How long it took, and how many 503s.
    async fn heals(&self, may_fail: impl Fn(&str) -> bool) -> (Duration, usize) {
        let killed = Instant::now();
        let mut unavailable = 0;
        while killed.elapsed() < Duration::from_secs(15) {
            let mut all_ok = true;
            for token in &self.tokens {
                let (status, body) = self.app.get_with_token("/token", token).await;
                match status {
                    200 => {}
                    503 if may_fail(&sid(token)) => {
                        unavailable += 1;
                        all_ok = false;
                    }
                    other => panic!("a live token got {other} during the failover: {body}"),
                }
            }
            if all_ok {
                return (killed.elapsed(), unavailable);
            }
            sleep_ms(100).await;
        }
        panic!("not every token was valid again 15 s after the kill");
    }

    /// The limiter's counts survived, and new state is written and read after the failover.
    async fn lost_nothing(&self) {
        for number in &self.locked {
            let (status, body) = self.app.signin(number, WRONG).await;
            assert_eq!(status, 429, "{number} was unlocked by the failover: {body}");
        }
        let (_, token) = self.app.user("13800009999").await;
        assert_eq!(self.app.get_with_token("/token", &token).await.0, 200);
        let (status, _) = self
            .app
            .send_with_token(
                reqwest::Method::PATCH,
                "/users/signout",
                &self.tokens[0],
                json!({}),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            self.app.get_with_token("/token", &self.tokens[0]).await.0,
            401
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_cluster_master_costs_its_slots_a_few_seconds_of_503_and_loses_no_state() {
    let Some(cluster) = RedisServers::start("cluster") else {
        return;
    };
    let before = before_the_kill(&cluster.url).await;
    // The master holding the first locked number's failure counter goes: its replica must
    // take over with the count intact.
    let victim = cluster.master_of(&format!("{PREFIX}signin_fail:n:{}", before.locked[0]));
    let on_victim: Vec<String> = before
        .tokens
        .iter()
        .map(|t| sid(t))
        .filter(|sid| cluster.master_of(&format!("{PREFIX}sess:{{{sid}}}")) == victim)
        .collect();
    assert!(
        !on_victim.is_empty(),
        "no session lives on the master to be killed"
    );
    // Replication is asynchronous: let the replicas catch up with what was just written.
    sleep_ms(500).await;
    cluster.kill(victim);
    let (healed, unavailable) = before.heals(|sid| on_victim.iter().any(|s| s == sid)).await;
    eprintln!(
        "cluster: {} of {} sessions on the killed master; all valid again {healed:?} after the \
         kill ({unavailable} answers of 503 meanwhile, none for the other slots)",
        on_victim.len(),
        before.tokens.len(),
    );
    let waits = cluster.calls("wait");
    before.lost_nothing().await;
    // The sign-out waited for a replica to hold its mark before answering.
    assert!(cluster.calls("wait") > waits, "no WAIT after a sign-out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_sentinel_master_is_replaced_within_seconds_and_loses_no_state() {
    let Some(sentinel) = RedisServers::start("sentinel") else {
        return;
    };
    let before = before_the_kill(&sentinel.url).await;
    sleep_ms(500).await;
    sentinel.kill(sentinel.ports()[0]);
    let (healed, unavailable) = before.heals(|_| true).await;
    // No pause here: the first connection made to the new master dropped every thread's
    // connection to the old one, so the requests below, whichever worker serves them, must
    // not fail a command on it.
    eprintln!(
        "sentinel: all {} sessions valid again {healed:?} after the master was killed \
         ({unavailable} answers of 503 meanwhile)",
        before.tokens.len()
    );
    before.lost_nothing().await;
}
