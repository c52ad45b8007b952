//! The one interface to the database. Handlers and tasks call methods on
//! [`Store`]; no SQL lives outside this module.
//!
//! SQLite (WAL) is the embedded default. The SQL is written to carry over to
//! Postgres, the scale-out store, with only dialect changes: `$n`
//! placeholders, dates as `TEXT 'YYYY-MM-DD'`, timestamps as `BIGINT`
//! milliseconds, sums `CAST(… AS BIGINT)`, no SQLite-only functions.
//!
//! Writes go through a single-connection pool, so concurrent writers queue in
//! the pool instead of failing with `SQLITE_BUSY`; reads use their own pool and
//! never wait for writers (WAL). Every write records its realtime event in the
//! same database transaction as the row (see [`events`]).
//!
//! # Layout
//! - [`auth`]: users, sessions (hashed bearer tokens), properties a user sees.
//! - [`transactions`]: list, create (idempotent), update, delete, approve/reject.
//! - [`events`]: the per-org event log: append inside a write, read after a
//!   seq, bounds, retention pruning.
//! - [`reports`]: the derived aggregates, computed in SQL.
//! - [`demo`]: the two demo organizations created on an empty database.
//! - [`seed`]: bulk organizations for load tests.
//! - [`sessions`]: pruning expired and revoked sessions.

pub mod auth;
pub mod demo;
pub mod events;
pub mod reports;
pub mod seed;
pub mod sessions;
pub mod transactions;

use std::{str::FromStr, time::Duration};

use chrono::{DateTime, Utc};
use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    SqlitePool,
};

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
    #[error("database url {0:?} is not supported yet: use sqlite://FILE or sqlite::memory:")]
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
}

/// Which properties of the org a caller may touch: `None` = all of them.
pub type Visible<'a> = Option<&'a [String]>;

/// Cheap to clone: both pools are `Arc`s inside.
#[derive(Debug, Clone)]
pub struct Store {
    /// Many connections; readers never block on the writer under WAL.
    read: SqlitePool,
    /// Exactly one connection: writes are serialized here, not by SQLITE_BUSY.
    write: SqlitePool,
}

impl Store {
    /// Open (creating the file if missing) and migrate the database at `url`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        if !url.starts_with("sqlite:") {
            return Err(StoreError::Unsupported(redact(url)));
        }
        let memory = url.contains(":memory:") || url.contains("mode=memory");
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .synchronous(SqliteSynchronous::Normal);
        let options = if memory {
            options
        } else {
            options.journal_mode(SqliteJournalMode::Wal)
        };

        // An in-memory database exists once per connection, so it gets one
        // connection that serves reads and writes alike.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone())
            .await?;
        let read = if memory {
            write.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options)
                .await?
        };
        sqlx::migrate!("./migrations").run(&write).await?;
        Ok(Store { read, write })
    }

    /// Close both pools, waiting for connections to be returned.
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
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
    async fn postgres_is_refused_clearly_for_now() {
        let err = Store::open("postgres://u:p@localhost/x").await.unwrap_err();
        assert!(err.to_string().contains("not supported yet"), "{err}");
        assert!(!err.to_string().contains(":p@"));
    }

    #[tokio::test]
    async fn memory_database_opens_and_migrates() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        assert_eq!(store.event_bounds("nope").await.unwrap(), (None, 0));
    }
}
