//! What a database must know about the servers sharing it: its epoch (the
//! name long-poll cursors carry), once-per-fleet duties, and — for SQLite,
//! which cannot be shared — the lock that keeps a second server off the file.
//!
//! On Postgres a duty is a session-level advisory lock taken with
//! `pg_try_advisory_lock` on one pooled connection: the instance that gets
//! it does the work, the others skip this round, and if the holder dies its
//! connection closes and the lock goes with it. On SQLite there is only ever
//! one server per file ([`SqliteFileLock`]), so a duty always runs.

use std::{fs::File, path::PathBuf};

use rand::{distributions::Alphanumeric, Rng};
use sqlx::{pool::PoolConnection, Any, AnyPool};

use super::{Backend, Store, StoreError};

/// A job that one instance of the fleet does at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FleetDuty {
    /// Pruning the event log and expired sessions.
    Retention,
    /// Creating the demo data on an empty database.
    Demo,
}

impl FleetDuty {
    /// The advisory lock key: fixed, and unlikely to meet another
    /// application's keys in a shared database ("ledg" + a number).
    pub(crate) fn key(self) -> i64 {
        let base = 0x6c65_6467_0000_0000_i64;
        match self {
            FleetDuty::Retention => base + 1,
            FleetDuty::Demo => base + 2,
        }
    }
}

/// Held while this instance performs a [`FleetDuty`]; unlock with
/// [`DutyGuard::release`] (a dropped guard's connection is closed instead,
/// which releases the lock too).
pub struct DutyGuard {
    conn: Option<PoolConnection<Any>>,
    key: i64,
}

impl DutyGuard {
    pub async fn release(mut self) {
        if let Some(mut conn) = self.conn.take() {
            let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(self.key)
                .execute(&mut *conn)
                .await;
            if unlocked.is_err() {
                // The session may still hold the lock: do not pool it.
                let _ = conn.detach();
            }
        }
    }
}

impl Drop for DutyGuard {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // Closing the session is what releases a lock nobody unlocked.
            drop(conn.detach());
        }
    }
}

impl Store {
    /// Claims `duty` for this instance if no other instance holds it now.
    /// `None`: another instance is doing it.
    pub async fn try_duty(&self, duty: FleetDuty) -> Result<Option<DutyGuard>, StoreError> {
        if self.backend == Backend::Sqlite {
            return Ok(Some(DutyGuard {
                conn: None,
                key: duty.key(),
            }));
        }
        let mut conn = self.write.acquire().await?;
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(duty.key())
            .fetch_one(&mut *conn)
            .await?;
        Ok(got.then_some(DutyGuard {
            conn: Some(conn),
            key: duty.key(),
        }))
    }

    /// Gives the database a new epoch, so that every cursor issued before
    /// gets `reset: true`. Run it after restoring a backup
    /// (`ledgerline-server new-epoch`); returns the new epoch.
    pub async fn new_epoch(&self) -> Result<String, StoreError> {
        let epoch = random_epoch();
        sqlx::query("UPDATE meta SET value = $1 WHERE key = 'epoch'")
            .bind(&epoch)
            .execute(&self.write)
            .await?;
        Ok(epoch)
    }
}

/// A fresh epoch: eight lowercase letters and digits.
fn random_epoch() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(8)
        .map(|b| char::from(b).to_ascii_lowercase())
        .collect()
}

/// The database's epoch, created on first open. Concurrent first opens
/// (a fleet starting on an empty database) agree: the first insert wins.
pub(super) async fn ensure_epoch(pool: &AnyPool) -> Result<String, StoreError> {
    sqlx::query("INSERT INTO meta (key, value) VALUES ('epoch', $1) ON CONFLICT (key) DO NOTHING")
        .bind(random_epoch())
        .execute(pool)
        .await?;
    Ok(
        sqlx::query_scalar("SELECT value FROM meta WHERE key = 'epoch'")
            .fetch_one(pool)
            .await?,
    )
}

/// An exclusive lock on `<database file>.lock`, held for the life of a
/// server. A second server on the same SQLite file would never see the
/// first one's writes (each has its own realtime hub), so it is refused.
#[derive(Debug)]
pub struct SqliteFileLock {
    _file: File,
    pub path: PathBuf,
}

/// Why [`SqliteFileLock::acquire`] failed.
#[derive(Debug, thiserror::Error)]
pub enum FileLockError {
    #[error(
        "another ledgerline-server is already serving {0}: one SQLite file serves one \
         server. To run several instances, use Postgres (--database-url postgres://…) \
         and NATS (--nats-url nats://…)"
    )]
    Busy(String),
    #[error("cannot lock {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl SqliteFileLock {
    /// Locks the file behind a `sqlite:` url; `Ok(None)` for in-memory
    /// databases and other backends.
    pub fn acquire(url: &str) -> Result<Option<SqliteFileLock>, FileLockError> {
        if Backend::of(url) != Some(Backend::Sqlite)
            || url.contains(":memory:")
            || url.contains("mode=memory")
        {
            return Ok(None);
        }
        let Ok(options) = url.parse::<sqlx::sqlite::SqliteConnectOptions>() else {
            return Ok(None);
        };
        let db = options.get_filename().to_path_buf();
        let mut path = db.clone().into_os_string();
        path.push(".lock");
        let path = PathBuf::from(path);
        let io = |source| FileLockError::Io {
            path: path.display().to_string(),
            source,
        };
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(SqliteFileLock { _file: file, path })),
            Err(std::fs::TryLockError::WouldBlock) => {
                Err(FileLockError::Busy(db.display().to_string()))
            }
            Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_file_is_refused_and_names_postgres() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("x.db").display());
        let first = SqliteFileLock::acquire(&url).unwrap().expect("a file lock");
        let err = SqliteFileLock::acquire(&url).unwrap_err();
        assert!(err.to_string().contains("Postgres"), "{err}");
        drop(first);
        assert!(SqliteFileLock::acquire(&url).unwrap().is_some());
        assert!(SqliteFileLock::acquire("sqlite::memory:")
            .unwrap()
            .is_none());
        assert!(SqliteFileLock::acquire("postgres://x/y").unwrap().is_none());
    }

    #[tokio::test]
    async fn the_epoch_survives_reopening_and_changes_on_request() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("e.db").display());
        let store = Store::open(&url).await.unwrap();
        let epoch = store.epoch().to_owned();
        assert_eq!(epoch.len(), 8);
        store.close().await;
        let store = Store::open(&url).await.unwrap();
        assert_eq!(store.epoch(), epoch);
        let rotated = store.new_epoch().await.unwrap();
        assert_ne!(rotated, epoch);
        store.close().await;
        assert_eq!(Store::open(&url).await.unwrap().epoch(), rotated);
    }
}
