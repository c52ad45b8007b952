//! The one interface to the database. Handlers and tasks call methods on
//! [`Store`]; no SQL lives outside this module.
//!
//! SQLite (WAL) is the embedded default; Postgres is the store of a fleet.
//! One set of queries serves both through sqlx's `Any` driver: `$n`
//! placeholders, dates as `TEXT 'YYYY-MM-DD'`, timestamps as `BIGINT`
//! milliseconds, sums `CAST(… AS BIGINT)`, no engine-only functions — but
//! one: a list page's JSON is written by each engine's JSON functions
//! (`transactions::json`, tested value for value on both). Each
//! engine has its own migrations (`migrations/sqlite`, `migrations/postgres`).
//!
//! Writes go through a single-connection pool, so concurrent writers queue in
//! the pool instead of failing with `SQLITE_BUSY`; reads use their own pool and
//! never wait for writers (WAL). Every write records its realtime event in the
//! same database transaction as the row (see [`events`]).
//!
//! # Layout
//! - [`auth`]: users, sessions (hashed bearer tokens), properties a user sees.
//! - [`transactions`]: list, create (idempotent), update, delete, approve/reject.
//! - [`history`]: every change to a row, written with the change.
//! - [`settings`]: the org's lock date (period lock).
//! - [`events`]: the per-org event log: append inside a write, read after a
//!   seq, bounds, retention pruning.
//! - [`reports`]: the derived aggregates, computed in SQL.
//! - [`demo`]: the two demo organizations created on an empty database.
//! - [`seed`]: bulk organizations for load tests.
//! - [`fleet`]: the database's epoch, once-per-fleet duties (a Postgres
//!   advisory lock), and the lock that keeps a second server off a SQLite file.
//! - [`sessions`]: pruning expired and revoked sessions.

pub mod auth;
pub mod demo;
pub mod events;
mod fleet;
pub mod history;
pub mod reports;
pub mod seed;
pub mod sessions;
pub mod settings;
mod sql;
pub mod transactions;

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use sqlx::{
    any::AnyPoolOptions,
    sqlite::{SqliteConnectOptions, SqliteJournalMode},
    AnyPool, ConnectOptions, Connection, Executor,
};

pub use fleet::{DutyGuard, FileLockError, FleetDuty, SqliteFileLock};

/// Why a store call failed. Domain outcomes (`NotFound`, `VersionConflict`)
/// are variants the API maps to 404/409; everything else is a 500 whose
/// details are logged, never sent.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("version conflict: the row is at version {current}")]
    VersionConflict { current: i64 },
    #[error("a total does not fit in 64 bits")]
    Overflow,
    #[error(
        "database url {0:?} is not supported: use sqlite://FILE, sqlite::memory: or postgres://…"
    )]
    Unsupported(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("stored data is malformed: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The task running a write was stopped (the runtime is shutting down).
    #[error("the write was interrupted by shutdown")]
    Interrupted,
    #[error("event encoding failed: {0}")]
    Json(#[from] serde_json::Error),
    /// A `client_mutation_id` already recorded for another write (another
    /// operation or another row).
    #[error("client_mutation_id was already used for another write")]
    MutationReused,
    /// The change touches a day on or before the org's lock date.
    #[error("the period up to {lock_date} is locked")]
    PeriodLocked { lock_date: chrono::NaiveDate },
    /// The caller's role may not do this to this row (a 403).
    #[error("{0}")]
    Forbidden(&'static str),
}

impl StoreError {
    /// Whether a write with a `client_mutation_id` that failed this way
    /// may have lost to an earlier send of itself: the row moved on (409)
    /// or went (404) under it, or its record collided.
    pub(crate) fn may_be_replay(&self) -> bool {
        match self {
            StoreError::VersionConflict { .. } | StoreError::NotFound => true,
            StoreError::Database(sqlx::Error::Database(e)) => e.is_unique_violation(),
            _ => false,
        }
    }
}

/// Which properties of the org a caller may touch: `None` = all of them.
pub type Visible<'a> = Option<&'a [String]>;

/// Which engine a [`Store`] runs on. The SQL is the same for both; only
/// connection setup, migrations and fleet-wide locks differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One file, one server process (embedded; `make run`).
    Sqlite,
    /// Shared by a fleet of server instances.
    Postgres,
}

impl Backend {
    /// The backend a database url names, if it is one we support.
    pub fn of(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// How a store connects.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Postgres connections per instance (SQLite: one writer, eight readers).
    pub max_connections: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 16,
        }
    }
}

/// Cheap to clone: both pools are `Arc`s inside.
///
/// The pools are sqlx's `Any` driver, so every query in this module runs
/// unchanged on SQLite and on Postgres.
#[derive(Debug, Clone)]
pub struct Store {
    /// SQLite: many connections; readers never block on the writer under
    /// WAL. Postgres: the same pool as `write`.
    read: AnyPool,
    /// SQLite: exactly one connection, so writes queue here instead of
    /// failing with SQLITE_BUSY. Postgres: the instance's pool; concurrency
    /// is handled by row locks and conditional UPDATEs.
    write: AnyPool,
    backend: Backend,
    /// Names this database in long-poll cursors (`epoch.seq`).
    epoch: Arc<str>,
}

impl Store {
    /// Open (creating a SQLite file if missing) and migrate the database at
    /// `url`, with default options.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Self::open_with(url, &StoreOptions::default()).await
    }

    pub async fn open_with(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of(url).ok_or_else(|| StoreError::Unsupported(redact(url)))?;
        let (read, write) = match backend {
            Backend::Sqlite => open_sqlite(url).await?,
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(options.max_connections.max(2))
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?;
                sqlx::migrate!("./migrations/postgres").run(&pool).await?;
                (pool.clone(), pool)
            }
        };
        let epoch = fleet::ensure_epoch(&write).await?;
        Ok(Store {
            read,
            write,
            backend,
            epoch: Arc::from(epoch),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// This database's epoch: the first part of every long-poll cursor.
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// Close both pools, waiting for connections to be returned.
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

/// SQLite: create the file and switch it to WAL with the native driver
/// (the `Any` driver only takes a url), migrate, then open the pools.
async fn open_sqlite(url: &str) -> Result<(AnyPool, AnyPool), StoreError> {
    let memory = url.contains(":memory:") || url.contains("mode=memory");
    if !memory {
        let options = url
            .parse::<SqliteConnectOptions>()?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        options.connect().await?.close().await?;
    }
    // Per connection: wait for a lock rather than fail, and the WAL-safe
    // durability level (a power cut may lose the last commits, never
    // corrupt the file).
    let pragmas = || {
        AnyPoolOptions::new().after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON")
                    .await?;
                Ok(())
            })
        })
    };
    // An in-memory database exists once per connection, so it gets one
    // connection that serves reads and writes alike.
    let write = pragmas()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect(url)
        .await?;
    sqlx::migrate!("./migrations/sqlite").run(&write).await?;
    let read = if memory {
        write.clone()
    } else {
        pragmas().max_connections(8).connect(url).await?
    };
    Ok((read, write))
}

/// A url without its password, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// Now, truncated to the millisecond the database stores, so a row returned
/// from a write equals the row read back later.
fn now() -> DateTime<Utc> {
    from_millis(Utc::now().timestamp_millis()).unwrap_or_else(Utc::now)
}

fn from_millis(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_credentials() {
        assert_eq!(
            redact("postgres://me:secret@db:5432/x"),
            "postgres://…@db:5432/x"
        );
        assert_eq!(redact("sqlite://a.db"), "sqlite://a.db");
    }

    #[tokio::test]
    async fn unknown_databases_are_refused_clearly_without_credentials() {
        let err = Store::open("mysql://u:p@localhost/x").await.unwrap_err();
        assert!(err.to_string().contains("not supported"), "{err}");
        assert!(!err.to_string().contains(":p@"));
    }

    #[tokio::test]
    async fn memory_database_opens_and_migrates() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        assert_eq!(store.event_bounds("nope").await.unwrap(), (None, 0));
    }
}
