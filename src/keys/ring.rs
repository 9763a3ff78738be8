//! The signing keys kept in the database (`signing_keys`), shared by every instance
//! (CONTRACT §9): imported once from the data dir's key files, rotated by an operator or on a
//! schedule, read again every few seconds so a change reaches every instance within 10 s, and
//! deleted once no token they signed can be refreshed any more.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use diesel::prelude::*;

use super::policy::KeyPolicy;
use super::seal::Seal;
use super::set::{Alg, Key, KeySet, KeyState, KeyView};
use crate::audit::{By, Event};
use crate::db::schema::signing_keys;
use crate::db::{Db, DbConnection};
use crate::error::{ApiError, ApiResult};

/// What token signing and checking read: the current key set, swapped whole on a change.
pub type KeyHandle = Arc<ArcSwap<KeySet>>;

/// How often an instance reads the key rows again: well inside the contract's 10 s.
const REFRESH: Duration = Duration::from_secs(4);

/// Added to a replaced key's verifying window: another instance may go on signing with it
/// until it reads the new key (up to two reloads), and the instances' clocks may differ.
pub const RETIRE_SLACK_SECS: i64 = 2 * REFRESH.as_secs() as i64 + 5;

/// Keys of one algorithm that may wait to sign: every instance loads and publishes each, so a
/// loop (or a stolen operator token) must not grow the JWK Set without bound.
pub const MAX_WAITING: usize = 3;

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = signing_keys)]
struct Row {
    kid: String,
    alg: String,
    private_key: String,
    created_at: chrono::NaiveDateTime,
    activates_at: chrono::NaiveDateTime,
}

pub struct Keyring {
    current: KeyHandle,
    db: Db,
    seal: Arc<Seal>,
    publish_ms: i64,
    window_ms: i64,
}

/// Unix milliseconds, the keys' clock.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn now() -> i64 {
    now_ms()
}

/// Unix milliseconds as database time.
fn db_time(ms: i64) -> chrono::NaiveDateTime {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .naive_utc()
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(e.to_string())
}

impl Keyring {
    /// Loads the keys, first importing the data dir's key files (or making keys) for an
    /// algorithm that has none, and sealing plain rows when a key-encryption key is set.
    pub async fn open(db: Db, data_dir: &Path, policy: KeyPolicy) -> anyhow::Result<Self> {
        Self::load(db, data_dir, policy, true).await
    }

    /// The keys as stored, importing and making none: for the command line, which may run
    /// with another data dir than the server's and must not make keys in its place.
    pub async fn open_existing(db: Db, data_dir: &Path, policy: KeyPolicy) -> anyhow::Result<Self> {
        let ring = Self::load(db, data_dir, policy, false).await?;
        anyhow::ensure!(
            !ring.current.load().keys().is_empty(),
            "the database holds no signing keys yet: start the server once (it imports the \
             data dir's key files or makes keys)"
        );
        Ok(ring)
    }

    async fn load(
        db: Db,
        data_dir: &Path,
        policy: KeyPolicy,
        bootstrap: bool,
    ) -> anyhow::Result<Self> {
        let dir = data_dir.to_owned();
        let ring = Keyring {
            current: Arc::new(ArcSwap::from_pointee(KeySet::new(
                Vec::new(),
                (policy.window_secs + RETIRE_SLACK_SECS).saturating_mul(1000),
            ))),
            db,
            seal: Arc::new(policy.seal),
            publish_ms: policy.publish_secs.saturating_mul(1000),
            window_ms: (policy.window_secs + RETIRE_SLACK_SECS).saturating_mul(1000),
        };
        let seal = ring.seal.clone();
        if bootstrap {
            ring.db
                .run(move |conn| self::bootstrap(conn, &dir, &seal).map_err(internal))
                .await
                .map_err(|e| anyhow::anyhow!("signing keys: {e}"))?;
        }
        ring.refresh()
            .await
            .map_err(|e| anyhow::anyhow!("signing keys: {e}"))?;
        Ok(ring)
    }

    pub fn handle(&self) -> KeyHandle {
        self.current.clone()
    }

    pub fn list(&self) -> Vec<KeyView> {
        self.current.load().views(now())
    }

    /// Reads the rows again: new keys are parsed (and opened), known ones kept as parsed, and
    /// keys past their end deleted.
    pub async fn refresh(&self) -> ApiResult<()> {
        let rows = self
            .db
            .read(|conn| Ok(signing_keys::table.load::<Row>(conn)?))
            .await?;
        let known = self.current.load_full();
        let mut keys = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(key) = known.keys().iter().find(|k| *k.kid == *row.kid) {
                keys.push(key.clone());
                continue;
            }
            match self.parse(&row) {
                Ok(key) => keys.push(Arc::new(key)),
                // One bad row must not take every other key (and so every sign-in) down.
                Err(err) => tracing::error!(kid = %row.kid, %err, "signing key not loaded"),
            }
        }
        let set = KeySet::new(keys, self.window_ms);
        let gone = set.expired(now());
        self.current.store(Arc::new(set));
        if !gone.is_empty() {
            let deleted = gone.clone();
            self.db
                .run(move |conn| {
                    diesel::delete(signing_keys::table.filter(signing_keys::kid.eq_any(deleted)))
                        .execute(conn)?;
                    Ok(())
                })
                .await?;
            tracing::info!(kids = ?gone, "retired signing keys removed");
        }
        Ok(())
    }

    fn parse(&self, row: &Row) -> anyhow::Result<Key> {
        let alg = Alg::parse(&row.alg).ok_or_else(|| anyhow::anyhow!("unknown alg"))?;
        let pkcs8 = self.seal.open(&row.kid, &row.private_key)?;
        let key = Key::from_pkcs8(
            alg,
            &pkcs8,
            row.created_at.and_utc().timestamp_millis(),
            row.activates_at.and_utc().timestamp_millis(),
        )?;
        anyhow::ensure!(*key.kid == *row.kid, "the key does not match its kid");
        Ok(key)
    }

    /// Makes a key for `alg` that is published now and signs after the publish period, and
    /// records `key.rotated`; every instance has it within `REFRESH`.
    pub async fn rotate(&self, alg: Alg, by: &By) -> ApiResult<KeyView> {
        let waiting = {
            let set = self.current.load();
            let at = now();
            set.keys()
                .iter()
                .filter(|k| k.alg == alg && set.state(k, at) == KeyState::Published)
                .count()
        };
        if waiting >= MAX_WAITING {
            return Err(ApiError::Conflict("signing_key"));
        }
        let pkcs8 = tokio::task::spawn_blocking(move || generate(alg))
            .await
            .map_err(internal)?
            .map_err(internal)?;
        let created = now();
        let key =
            Key::from_pkcs8(alg, &pkcs8, created, created + self.publish_ms).map_err(internal)?;
        let row = Row {
            kid: key.kid.to_string(),
            alg: alg.as_str().to_owned(),
            private_key: self.seal.seal(&key.kid, &pkcs8).map_err(internal)?,
            created_at: db_time(created),
            activates_at: db_time(key.activates_at),
        };
        let rotated = by
            .record(Event::KeyRotated)
            .with("key", "signing")
            .with("kid", &*key.kid)
            .with("alg", alg.as_str());
        self.db
            .run(move |conn| {
                crate::db::write_transaction(conn, |conn| {
                    diesel::insert_into(signing_keys::table)
                        .values(&row)
                        .execute(conn)?;
                    crate::audit::record(conn, rotated)
                })
                .map_err(ApiError::from)
            })
            .await?;
        let kid = key.kid.clone();
        self.refresh().await?;
        let set = self.current.load();
        let stored = set
            .keys()
            .iter()
            .find(|k| k.kid == kid)
            .ok_or_else(|| internal("the new key did not load"))?;
        Ok(set.view(stored, now()))
    }

    /// Whether `alg` is due for its scheduled rotation: its newest key is older than the
    /// period.
    fn due(&self, alg: Alg, every_ms: i64) -> bool {
        let set = self.current.load();
        let newest = set
            .keys()
            .iter()
            .filter(|k| k.alg == alg)
            .map(|k| k.created_at)
            .max();
        newest.is_some_and(|made| now() - made >= every_ms)
    }

    /// Reads the keys again every few seconds and, with a rotation period, rotates each
    /// algorithm whose newest key is older than it. Two instances rotating at the same moment
    /// make two keys; the shared order picks one signer and the other just retires.
    pub fn spawn(self: Arc<Self>, rotate_days: u32) {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(REFRESH);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                if let Err(err) = self.refresh().await {
                    tracing::warn!(%err, "could not read the signing keys");
                    continue;
                }
                if rotate_days > 0 {
                    self.rotate_due(rotate_days).await;
                }
            }
        });
    }

    /// Rotates each algorithm whose newest key is `rotate_days` old; the keys made.
    async fn rotate_due(&self, rotate_days: u32) -> Vec<KeyView> {
        let mut made = Vec::new();
        for alg in Alg::ALL {
            if !self.due(alg, i64::from(rotate_days) * 86_400_000) {
                continue;
            }
            match self.rotate(alg, &By::scheduled()).await {
                Ok(key) => {
                    tracing::info!(kid = %key.kid, %alg, "signing key rotated on schedule");
                    made.push(key);
                }
                Err(err) => tracing::warn!(%err, %alg, "scheduled key rotation failed"),
            }
        }
        made
    }
}

/// A new private key for `alg`, as PKCS#8.
fn generate(alg: Alg) -> anyhow::Result<Vec<u8>> {
    match alg {
        Alg::EdDsa => super::signing::create(),
        Alg::Rs256 => super::new_rsa_pkcs8(),
    }
}

/// Gives each algorithm its first key (the data dir's file when there is one, as the key that
/// signed every token issued before the upgrade) and seals plain rows under a new
/// key-encryption key. Instances starting together may both insert: an imported file has the
/// same kid everywhere, and two made keys are ordered the same by every instance.
fn bootstrap(conn: &mut DbConnection, data_dir: &Path, seal: &Seal) -> anyhow::Result<()> {
    let rows: Vec<Row> = signing_keys::table.load(conn)?;
    for alg in Alg::ALL {
        let file = data_dir.join(match alg {
            Alg::EdDsa => super::signing::KEY_FILE,
            Alg::Rs256 => super::rsa::KEY_FILE,
        });
        if rows.iter().any(|r| r.alg == alg.as_str()) {
            let stray = std::fs::read(&file)
                .ok()
                .and_then(|bytes| Key::from_pkcs8(alg, &bytes, 0, 0).ok())
                .filter(|key| !rows.iter().any(|r| *r.kid == *key.kid));
            if let Some(key) = stray {
                tracing::warn!(
                    file = %file.display(), kid = %key.kid,
                    "this key file was not imported: the database already holds {alg} keys, \
                     so tokens it signed are refused"
                );
            }
            continue;
        }
        let (pkcs8, how) = match std::fs::read(&file) {
            Ok(bytes) => (bytes, "imported"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (generate(alg)?, "generated"),
            Err(e) => return Err(anyhow::anyhow!("cannot read {}: {e}", file.display())),
        };
        let at = now();
        let key = Key::from_pkcs8(alg, &pkcs8, at, at)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        let row = Row {
            kid: key.kid.to_string(),
            alg: alg.as_str().to_owned(),
            private_key: seal.seal(&key.kid, &pkcs8)?,
            created_at: db_time(at),
            activates_at: db_time(at),
        };
        match diesel::insert_into(signing_keys::table)
            .values(&row)
            .execute(conn)
        {
            // Another instance imported the same file first.
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => continue,
            other => other?,
        };
        tracing::info!(kid = %key.kid, %alg, "{how} the signing key");
    }
    // Every stored key must open now: a missing or wrong key-encryption key stops start-up
    // here rather than leaving an instance that cannot sign.
    for row in &rows {
        let pkcs8 = seal.open_any(&row.kid, &row.private_key)?;
        if seal.is_on() && !Seal::is_sealed(&row.private_key) {
            diesel::update(signing_keys::table.find(&row.kid))
                .set(signing_keys::private_key.eq(seal.seal(&row.kid, &pkcs8)?))
                .execute(conn)?;
            tracing::info!(kid = %row.kid, "signing key sealed under the key-encryption key");
        }
    }
    Ok(())
}

/// A key set of one fresh key per algorithm, both active, for unit tests.
#[cfg(test)]
pub fn test_handle() -> KeyHandle {
    let keys = Alg::ALL
        .map(|alg| Arc::new(Key::from_pkcs8(alg, &generate(alg).unwrap(), 0, 0).unwrap()))
        .into_iter()
        .rev()
        .collect();
    Arc::new(ArcSwap::from_pointee(KeySet::new(keys, 3_600_000)))
}

#[cfg(test)]
#[path = "ring_tests.rs"]
mod tests;
