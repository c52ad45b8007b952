//! The local SQLite cache (WAL, `synchronous=NORMAL`) in the app's data
//! directory: the rows windows list, the event `seq` they are at, and (in
//! the same file, see [`crate::outbox`]) the writes not yet confirmed.
//!
//! Every change goes through one writer lock and one transaction, and is
//! published to the subscribers ([`Hub`]) after its commit while the lock is
//! still held — so batches reach windows in exactly the order they were
//! applied, each stamped with the `seq` the cache is at after it. Poll
//! answers are committed to a journal and held in memory (`journal`,
//! `overlay`) until they are folded into `rows`; reads merge the two
//! (`merge`), writes settle the rows they name (`writes`).
//!
//! One file per identity (server + user), each with its lock file
//! (`lock`); opening one that cannot be used moves it aside and rebuilds
//! it (`recovery`); [`CacheError`] says why a cache could not be opened.
//! Here: the schema (opening, migrating, the meta table) and the writer
//! path; `apply` writes the server's rows (`stream`: a first snapshot page
//! by page), `queries` reads them; `statements` are the writes' SQL.

use std::{
    collections::{HashMap, HashSet},
    path::Path,
    str::FromStr,
    sync::Arc,
    time::Duration,
};

use chrono::{DateTime, NaiveDate, Utc};
use ledgerline_wire::{Cursor, Event, EventRow, Transaction, TransactionKind, TransactionStatus};
use sqlx::{
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
    },
    QueryBuilder, Row as _, Sqlite, SqliteConnection, SqlitePool,
};
use tokio::sync::{Mutex, Notify, RwLock};

mod apply;
mod codec;
mod error;
mod journal;
mod json;
mod lock;
mod merge;
mod overlay;
mod queries;
mod recovery;
mod settings;
mod statements;
mod stream;
mod writes;

pub use apply::Applied;
pub use error::CacheError;
use journal::Journal;
pub use journal::JOURNAL_BOUND;
pub use json::RowPageJson;
use overlay::Overlay;
pub(crate) use queries::{count, get_row, page};
pub use recovery::Recovered;
pub(crate) use statements::{delete_rows, put_row};

use crate::{
    delivery::WindowMessage,
    fanout::{Hub, Subscription},
    telemetry::Telemetry,
    view::{Patch, PatchBatch, Row, RowKey, RowPage, RowQuery, Subscribed},
};

/// A re-snapshot that changes more rows than this is not sent as patches;
/// windows re-read their lists on `sync_progress { finished: true }`.
pub const SNAPSHOT_PATCH_LIMIT: usize = 10_000;
pub const DEFAULT_PAGE: u32 = 100;
/// How long a write waits for a lock held elsewhere, unless told otherwise.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
pub const MAX_PAGE: u32 = 5_000;

const COLS: &str = "id, kind, property_id, amount_minor, currency, category, memo, occurred_on, \
    status, version, client_mutation_id, created_by, created_at, updated_at, pending_sync, sync_error, rejection_reason";

/// The cache. Cheap to clone.
#[derive(Clone)]
pub struct Cache {
    /// Reads (lists, the outbox's head, the seq).
    pool: SqlitePool,
    /// Writes: one connection.
    writer_pool: SqlitePool,
    /// The one writer, and the journal's bookkeeping (the lock's value). A
    /// tokio Mutex: it is held across the transaction's awaits.
    writer: Arc<Mutex<Journal>>,
    /// What the journal holds that `rows` does not yet. Readers hold its
    /// read guard across their read transaction; commits that change what
    /// it shadows take its write guard.
    overlay: Arc<RwLock<Overlay>>,
    /// Applies so far, and a wake-up for the background fold after each.
    applies: Arc<std::sync::atomic::AtomicU64>,
    applied: Arc<Notify>,
    hub: Hub,
    telemetry: Arc<Telemetry>,
    /// The lock file, held until [`Cache::close`] (or the last clone goes).
    /// A std Mutex: taken once, never across `.await`.
    lock: Arc<std::sync::Mutex<Option<lock::CacheLock>>>,
}

impl Cache {
    /// Opens (creating if missing) and migrates the cache at `path`, taking
    /// its lock file first. See [`Cache::open_or_rebuild`] for the core's way.
    pub async fn open(path: &Path, telemetry: Arc<Telemetry>) -> Result<Cache, CacheError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let lock = lock::CacheLock::acquire(path)?;
        let cache = Cache::open_unlocked(path, telemetry, BUSY_TIMEOUT).await?;
        cache.hold(lock);
        Ok(cache)
    }

    /// Where the lock file is, if this cache holds one.
    pub fn lock_path(&self) -> Option<std::path::PathBuf> {
        self.lock
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|l| l.path().to_owned())
    }

    fn hold(&self, lock: lock::CacheLock) {
        *self.lock.lock().unwrap_or_else(|p| p.into_inner()) = Some(lock);
    }

    async fn open_unlocked(
        path: &Path,
        telemetry: Arc<Telemetry>,
        busy_timeout: Duration,
    ) -> Result<Cache, CacheError> {
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(busy_timeout)
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-32000")
            // Checkpoints (the only fsyncs under synchronous=NORMAL) run in
            // the background (`spawn_checkpointer`), not in a commit on the
            // hot path; this is only the safety net if nobody runs one.
            .pragma("wal_autocheckpoint", "20000")
            // Reads of pages map the file instead of copying it in.
            .pragma("mmap_size", "268435456")
            .statement_cache_capacity(256);
        // One connection for every write: its page cache stays warm (a
        // page cache is dropped whenever another connection wrote) and its
        // prepared statements stay cached.
        let writer_pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations").run(&writer_pool).await?;
        // A first sync a crash cut short may have left its deferred list
        // indexes unbuilt (`stream`).
        stream::ensure_indexes(&mut *writer_pool.acquire().await?).await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(1)
            .connect_with(options)
            .await?;
        let cache = Cache {
            pool,
            writer_pool,
            writer: Arc::new(Mutex::new(Journal::default())),
            overlay: Default::default(),
            applies: Default::default(),
            applied: Default::default(),
            hub: Hub::default(),
            telemetry,
            lock: Default::default(),
        };
        // A journal left by an app stopped before it folded.
        cache.settle().await?;
        let seq = cache.seq().await?.unwrap_or(0);
        Telemetry::set(&cache.telemetry.cache_seq, seq);
        Ok(cache)
    }

    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes the pool (waits for its connections to finish) and releases
    /// the lock file, so the same identity can open it again at once.
    pub async fn close(&self) {
        self.pool.close().await;
        self.writer_pool.close().await;
        self.lock.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// Copies the WAL into the database every `every` (off the apply path),
    /// and once more, truncating the WAL, when `cancel` fires.
    pub fn spawn_checkpointer(
        &self,
        every: Duration,
        cancel: tokio_util::sync::CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let pool = self.pool.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tick.tick() => {}
                }
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&pool)
                    .await
                {
                    tracing::warn!(error = %e, "cache checkpoint failed");
                }
            }
            let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&pool)
                .await;
        })
    }

    /// The event seq the rows are at; `None` before the first snapshot.
    pub async fn seq(&self) -> Result<Option<u64>, sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        get_seq(&mut conn).await
    }

    /// Where the cache is, as the cursor to poll from: its seq and the
    /// epoch of the database that seq belongs to. `None` before the first
    /// snapshot.
    pub async fn cursor(&self) -> Result<Option<Cursor>, sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        let Some(seq) = get_seq(&mut conn).await? else {
            return Ok(None);
        };
        Ok(Some(match get_epoch(&mut conn).await? {
            Some(epoch) if ledgerline_wire::cursor::is_epoch(&epoch) => {
                Cursor::with_epoch(&epoch, seq)
            }
            _ => Cursor::at(seq),
        }))
    }

    /// Records the epoch of the server's cursors (kept beside the seq).
    pub async fn remember_epoch(&self, cursor: &Cursor) -> Result<(), sqlx::Error> {
        let Some(epoch) = cursor.epoch() else {
            return Ok(());
        };
        let _writer = self.writer.lock().await;
        let mut conn = self.writer_pool.acquire().await?;
        if get_epoch(&mut conn).await?.as_deref() != Some(epoch) {
            set_epoch(&mut conn, epoch).await?;
        }
        Ok(())
    }

    /// A channel subscription whose `seq` is exactly where its batches start.
    pub async fn subscribe(&self) -> Result<Subscription, sqlx::Error> {
        let _writer = self.writer.lock().await;
        let seq = self.seq().await?.unwrap_or(0);
        Ok(self.hub.subscribe(seq))
    }

    /// A window's subscription: its messages start right after `seq`.
    pub async fn subscribe_window(
        &self,
        f: Arc<dyn Fn(WindowMessage) + Send + Sync>,
    ) -> Result<Subscribed, sqlx::Error> {
        let _writer = self.writer.lock().await;
        let seq = self.seq().await?.unwrap_or(0);
        Ok(Subscribed {
            subscription: self.hub.subscribe_window(seq, f),
            seq,
        })
    }

    /// Marks the cache as `identity`'s (server, org, user), or refuses
    /// ([`CacheError::Foreign`]) if it holds somebody else's rows — their
    /// unsent writes are never wiped, nor sent as this identity.
    pub async fn claim(&self, identity: &str) -> Result<(), CacheError> {
        let mut w = self.write_for(&[]).await?;
        let current: Option<String> =
            sqlx::query_scalar("SELECT value FROM meta WHERE key = 'identity'")
                .fetch_optional(&mut *w.tx)
                .await?;
        match current {
            Some(c) if c != identity => return Err(CacheError::Foreign),
            Some(_) => {}
            None => {
                sqlx::query("INSERT INTO meta (key, value) VALUES ('identity', ?)")
                    .bind(identity)
                    .execute(&mut *w.tx)
                    .await?;
            }
        }
        self.finish(w, Vec::new()).await?;
        Ok(())
    }

    /// Forgets the seq so the next poll loop starts with a full snapshot.
    pub async fn forget_seq(&self) -> Result<(), sqlx::Error> {
        let mut w = self.write_for(&[]).await?;
        sqlx::query("DELETE FROM meta WHERE key = 'seq'")
            .execute(&mut *w.tx)
            .await?;
        self.finish(w, Vec::new()).await?;
        Ok(())
    }
}

pub(crate) async fn get_seq(conn: &mut SqliteConnection) -> Result<Option<u64>, sqlx::Error> {
    let v: Option<String> = sqlx::query_scalar("SELECT value FROM meta WHERE key = 'seq'")
        .fetch_optional(&mut *conn)
        .await?;
    Ok(v.and_then(|v| v.parse().ok()))
}

/// The epoch of the server database the cached seq belongs to (the first
/// part of its cursors); `None` before the first snapshot, or for a cache
/// written before servers had epochs.
pub(crate) async fn get_epoch(conn: &mut SqliteConnection) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT value FROM meta WHERE key = 'epoch'")
        .fetch_optional(&mut *conn)
        .await
}

pub(crate) async fn set_epoch(conn: &mut SqliteConnection, epoch: &str) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO meta (key, value) VALUES ('epoch', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
        .bind(epoch)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(crate) async fn set_seq(conn: &mut SqliteConnection, seq: u64) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO meta (key, value) VALUES ('seq', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
        .bind(seq.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod journal_tests;
#[cfg(test)]
mod list_tests;
#[cfg(test)]
mod merge_tests;
#[cfg(test)]
pub(crate) mod tests;
