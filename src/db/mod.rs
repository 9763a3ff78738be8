//! Relational storage: one diesel schema over SQLite (the embedded default) and PostgreSQL.
//!
//! Diesel is synchronous, so every query runs on the blocking pool through [`Db::run`], which
//! first waits (asynchronously) for one of as many permits as the pool has connections: a
//! burst of requests queues on the semaphore instead of parking blocking threads on the pool.

pub mod schema;

use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use tokio::sync::Semaphore;

mod writer;

use crate::config::DatabaseUrl;
use crate::error::{ApiError, ApiResult};

/// PostgreSQL connections when `GATEHOUSE_DB_POOL_SIZE` is unset.
pub const DEFAULT_POSTGRES_POOL: u32 = 8;
/// SQLite's read-only connections when `GATEHOUSE_DB_POOL_SIZE` is unset. A read holds its
/// connection while it waits for a core, so on a busy server the readers are what reads queue
/// for: under the mixed load of bench section 13 (1,000 connections, 2 cores) the account
/// read's server-side p99 was at most 250 ms with 2, 100 ms with 8 and 25 ms with 16. Each is
/// a file handle and a page cache of its own.
pub const DEFAULT_SQLITE_READERS: u32 = 16;
/// Reads admitted at once per reader connection; the surplus wait for a connection on their
/// blocking thread, where a freed connection goes straight to the next one. With one permit
/// per connection, a freed permit went to a task that then waited for its busy worker to poll
/// it before its read could start, holding the permit all that time: in bench section 13 the
/// slow account reads had waited 45 ms on average for a permit and under 0.1 ms for the rest.
const READER_THREADS_PER_CONNECTION: usize = 4;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

impl DbConnection {
    pub fn backend(&self) -> Backend {
        match self {
            DbConnection::Postgresql(_) => Backend::Postgres,
            DbConnection::Sqlite(_) => Backend::Sqlite,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Connection(#[from] diesel::ConnectionError),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

/// Initialises OpenSSL, which libpq uses for TLS, without the `atexit` handler that OpenSSL
/// otherwise registers on first use. That handler frees OpenSSL's locks and tables while the
/// process exits, so a thread still inside libpq at that moment (a pool thread opening or
/// closing a connection when a CLI command or a test run ends) touches freed memory and the
/// process dies with SIGSEGV after its work is done. Without it the kernel reclaims the memory,
/// as for any exiting process. It must run before the first PostgreSQL connection of the
/// process; later calls cost one atomic load.
pub fn init_libpq_tls() {
    openssl_sys::init();
}

/// Opens connections of the backend the URL names; never guesses.
pub struct Manager {
    url: DatabaseUrl,
    /// SQLite connections that may only read (`PRAGMA query_only`): the reader pool.
    read_only: bool,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = ConnectError;

    fn connect(&self) -> Result<DbConnection, ConnectError> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                conn.batch_execute(
                    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
                     PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
                )?;
                if self.read_only {
                    // A write sent here by mistake fails instead of taking the writer's lock.
                    conn.batch_execute("PRAGMA query_only = ON;")?;
                }
                Ok(DbConnection::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => {
                init_libpq_tls();
                let mut conn = PgConnection::establish(url)?;
                // A stuck statement must not hold a pooled connection forever.
                conn.batch_execute("SET statement_timeout = 10000")?;
                Ok(DbConnection::Postgresql(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), ConnectError> {
        conn.batch_execute("SELECT 1").map_err(ConnectError::from)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

pub type Pool = r2d2::Pool<Manager>;

#[derive(Clone)]
pub struct Db {
    pool: Pool,
    permits: Arc<Semaphore>,
    /// SQLite only: connections for reads, which WAL lets run beside the one writer, so a
    /// read never queues behind writes. PostgreSQL reads share the one pool.
    readers: Option<(Pool, Arc<Semaphore>)>,
    /// SQLite only: the thread every write runs on (see [`writer::WRITER_NICE`]).
    writer: Option<std::sync::mpsc::Sender<writer::Job>>,
    /// Each call's time from asking for a connection to the answer, for `/metrics`.
    pub calls: prometheus::Histogram,
    /// Calls that failed for the database's sake (unreachable, broken), not the caller's.
    pub errors: prometheus::IntCounter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Db {
    /// Connects (creating the SQLite file and its folder when needed) without running
    /// migrations.
    pub fn connect(url: &DatabaseUrl, pool_size: Option<u32>) -> anyhow::Result<Self> {
        let backend = match url {
            DatabaseUrl::Sqlite(path) => {
                crate::datadir::prepare_sqlite_file(path)?;
                Backend::Sqlite
            }
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        };
        let size = match backend {
            // One connection: SQLite has one writer anyway, and writers that collide wait in
            // its busy handler, which sleeps in steps of up to 100 ms instead of being woken.
            // Queueing on the pool's async permit instead kept sign-out p99 flat under load
            // (bench section 3); queries here take microseconds, so readers lose little.
            Backend::Sqlite => 1,
            Backend::Postgres => pool_size.unwrap_or(DEFAULT_POSTGRES_POOL),
        };
        let pool = r2d2::Pool::builder()
            .max_size(size)
            // No connection is opened in the background to keep a spare idle: a one-shot
            // command would open connections it never uses, and an idle instance would hold
            // `pool_size` server backends for nothing.
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(2))
            // A PostgreSQL connection cut under us must not be handed out again: check it
            // (one round trip) at checkout. SQLite files do not go away.
            .test_on_check_out(backend == Backend::Postgres)
            .build(Manager {
                url: url.clone(),
                read_only: false,
            })
            .map_err(|e| anyhow::anyhow!("cannot connect to {url:?}: {e}"))?;
        let readers = match backend {
            Backend::Sqlite => {
                let size = pool_size.unwrap_or(DEFAULT_SQLITE_READERS).clamp(1, 64);
                let readers = r2d2::Pool::builder()
                    .max_size(size)
                    .min_idle(Some(0))
                    .connection_timeout(Duration::from_secs(2))
                    .build(Manager {
                        url: url.clone(),
                        read_only: true,
                    })
                    .map_err(|e| anyhow::anyhow!("cannot open readers on {url:?}: {e}"))?;
                Some((
                    readers,
                    Arc::new(Semaphore::new(
                        size as usize * READER_THREADS_PER_CONNECTION,
                    )),
                ))
            }
            Backend::Postgres => None,
        };
        let writer = match backend {
            Backend::Sqlite => Some(writer::start()?),
            Backend::Postgres => None,
        };
        Ok(Db {
            pool,
            permits: Arc::new(Semaphore::new(size as usize)),
            readers,
            writer,
            calls: crate::observe::histogram(
                "gatehouse_db_call_duration_seconds",
                "Database calls, from asking for a connection to the answer",
            ),
            errors: prometheus::IntCounter::new(
                "gatehouse_db_errors_total",
                "Database calls that failed: unreachable, timed out or broken",
            )
            .map_err(|e| anyhow::anyhow!("metrics: {e}"))?,
        })
    }

    /// Applies pending migrations; on PostgreSQL under an advisory lock so instances starting
    /// together do not race.
    pub fn migrate(&self) -> anyhow::Result<()> {
        let mut conn = self.pool.get()?;
        let applied = match &mut *conn {
            DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
            DbConnection::Postgresql(c) => {
                c.batch_execute("SELECT pg_advisory_lock(7400301)")?;
                let result = c
                    .run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|v| v.len());
                c.batch_execute("SELECT pg_advisory_unlock(7400301)")?;
                result
            }
        }
        .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
        if applied > 0 {
            tracing::info!(applied, "database migrations applied");
        }
        Ok(())
    }

    /// Runs `f` with a pooled connection on the blocking pool.
    #[tracing::instrument(level = "debug", name = "db", skip_all)]
    pub async fn run<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
    {
        self.observed(&self.pool, &self.permits, self.writer.as_ref(), f)
            .await
    }

    /// Runs `f`, which only reads, on a reader connection (SQLite) or the pool (PostgreSQL).
    pub async fn read<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
    {
        match &self.readers {
            Some((readers, permits)) => self.observed(readers, permits, None, f).await,
            None => self.run(f).await,
        }
    }

    /// `on`, timed and its failures counted for `/metrics`.
    async fn observed<T, F>(
        &self,
        pool: &Pool,
        permits: &Arc<Semaphore>,
        thread: Option<&std::sync::mpsc::Sender<writer::Job>>,
        f: F,
    ) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
    {
        let timer = self.calls.start_timer();
        let out = Self::on(pool, permits, thread, f).await;
        timer.observe_duration();
        if matches!(out, Err(ApiError::Unavailable(_) | ApiError::Internal(_))) {
            self.errors.inc();
        }
        out
    }

    /// Runs `f` on a connection of `pool`, holding one of `permits` while it does: on `thread`
    /// when given, else on Tokio's blocking pool.
    async fn on<T, F>(
        pool: &Pool,
        permits: &Arc<Semaphore>,
        thread: Option<&std::sync::mpsc::Sender<writer::Job>>,
        f: F,
    ) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
    {
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::Unavailable("database pool closed".into()))?;
        let pool = pool.clone();
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job = crate::observe::request_id::carried(move || {
            let out = match pool.get() {
                Ok(mut conn) => f(&mut conn),
                Err(e) => Err(ApiError::Unavailable(format!("database: {e}"))),
            };
            // Given back here, with the connection, not once the caller's task runs again:
            // on SQLite's one connection the next query would wait for that task's worker.
            drop(permit);
            let _ = answer.send(out);
        });
        match thread {
            Some(thread) => thread
                .send(Box::new(job))
                .map_err(|_| ApiError::Unavailable("database writer stopped".into()))?,
            None => drop(tokio::task::spawn_blocking(job)),
        }
        // A closure that panicked dropped its sender on the way out.
        answered
            .await
            .map_err(|_| ApiError::Internal("database task failed".into()))?
    }

    /// Whether the database answers a trivial query right now.
    pub async fn ping(&self) -> bool {
        self.run(|conn| {
            conn.batch_execute("SELECT 1")
                .map_err(|e| ApiError::Unavailable(e.to_string()))
        })
        .await
        .is_ok()
    }
}

/// Runs `f` in a transaction that may read and then write. On SQLite it takes the write lock
/// up front (`BEGIN IMMEDIATE`): a deferred transaction that read first cannot upgrade once
/// another connection has written since (WAL answers "database is locked" at once, without
/// waiting under `busy_timeout`), so concurrent sign-outs would fail instead of queueing.
/// On PostgreSQL it is an ordinary transaction.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    type Manager = <DbConnection as Connection>::TransactionManager;
    match conn {
        DbConnection::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
        }
        DbConnection::Postgresql(_) => return conn.transaction(f),
    }
    match f(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(err) => {
            Manager::rollback_transaction(conn)?;
            Err(err)
        }
    }
}

/// Runs `attempt` once more when it lost a unique key to a concurrent transaction: on
/// PostgreSQL the losing transaction fails on the key, and run again it finds the winner's row
/// (two first exchanges or validations recording one partner in one session at once).
pub fn again_on_unique_violation<T>(
    mut attempt: impl FnMut() -> diesel::QueryResult<T>,
) -> diesel::QueryResult<T> {
    match attempt() {
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => attempt(),
        other => other,
    }
}

/// Database time: UTC without offset, truncated to microseconds so both backends store the
/// same value.
pub fn now() -> chrono::NaiveDateTime {
    let now = chrono::Utc::now();
    chrono::DateTime::from_timestamp_micros(now.timestamp_micros())
        .unwrap_or(now)
        .naive_utc()
}

/// A unix time (seconds) as database time; the epoch for one out of range.
pub fn at(unix: i64) -> chrono::NaiveDateTime {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|d| d.naive_utc())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
