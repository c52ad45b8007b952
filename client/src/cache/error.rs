//! [`CacheError`]: why a cache could not be opened — the one error type of
//! opening, locking and rebuilding a cache file. (Queries on an open cache
//! still return `sqlx::Error`; the core turns both into a `CommandError`
//! whose text says "see the log".)

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// Another process (a second launch without D-Bus, or a copy of the app)
    /// holds this cache's lock file.
    #[error("this account's cache ({path}) is in use by another Ledgerline process{}", pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Locked { path: PathBuf, pid: Option<u32> },
    /// The file holds someone else's rows.
    #[error("the cache file belongs to another account")]
    Foreign,
    #[error("cache database: {0}")]
    Sqlite(#[from] sqlx::Error),
    #[error("cache schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cache file: {0}")]
    Io(#[from] std::io::Error),
}
