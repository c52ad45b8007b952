//! Opening an identity's cache whatever state the file is in. A file that
//! cannot be opened or migrated — corrupt, not a database, written by an
//! older app whose schema cannot be migrated or by a newer one whose
//! migrations this app does not know — is moved aside
//! (`<name>.broken-<time>`) and a fresh cache is made in its place, to be
//! filled from the server by the first snapshot. The unsent writes of the
//! old file are salvaged first where they can still be read (each entry on
//! its own: one unreadable entry loses only itself), so no write is lost to
//! a broken cache. Never a panic: the caller gets a [`Recovered`] to tell
//! the user about.
//!
//! A file that holds another account's rows is moved aside too, but
//! nothing of it is salvaged: its writes are not this account's to send.

use std::{
    path::{Path, PathBuf},
    str::FromStr,
    sync::Arc,
};

use chrono::Utc;
use ledgerline_wire::{NewTransaction, TransactionStatus};
use serde_json::Value;
use sqlx::{sqlite::SqliteConnectOptions, ConnectOptions, Row as _};

use super::{lock::CacheLock, put_row, Cache, CacheError};
use crate::{
    outbox::{self, Entry, Op, State},
    telemetry::Telemetry,
    view::Row,
};

/// What was done to a cache that could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// Where the old file now is.
    pub moved_to: PathBuf,
    /// Unsent writes carried over into the new cache.
    pub salvaged: usize,
    /// Why the old file could not be used.
    pub reason: String,
}

impl Recovered {
    /// The message for the user.
    pub fn message(&self) -> String {
        format!(
            "The local cache could not be used ({}); it was moved to {} and is being rebuilt from the server. {} unsent {} kept.",
            self.reason,
            self.moved_to.display(),
            self.salvaged,
            if self.salvaged == 1 { "write was" } else { "writes were" },
        )
    }
}

impl Cache {
    /// Opens `identity`'s cache at `path` (taking its lock first), moving
    /// aside and rebuilding a file that cannot be used. Only a lock held by
    /// another process (and I/O errors making a fresh file) are errors.
    pub async fn open_or_rebuild(
        path: &Path,
        identity: &str,
        telemetry: Arc<Telemetry>,
        busy_timeout: std::time::Duration,
    ) -> Result<(Cache, Option<Recovered>), CacheError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let lock = CacheLock::acquire(path)?;
        let failure = match Cache::open_unlocked(path, telemetry.clone(), busy_timeout).await {
            Ok(cache) => match cache.claim(identity).await {
                Ok(()) => {
                    cache.hold(lock);
                    return Ok((cache, None));
                }
                Err(e) => {
                    cache.close().await;
                    e
                }
            },
            Err(e) => e,
        };
        tracing::warn!(error = %failure, path = %path.display(), "cache unusable; moving it aside");
        let salvaged = match failure {
            CacheError::Foreign => Vec::new(),
            _ => salvage(path).await,
        };
        let moved_to = move_aside(path)?;
        let cache = Cache::open_unlocked(path, telemetry, busy_timeout).await?;
        cache.claim(identity).await?;
        let count = restore(&cache, &salvaged).await?;
        cache.hold(lock);
        Ok((
            cache,
            Some(Recovered {
                moved_to,
                salvaged: count,
                reason: failure.to_string(),
            }),
        ))
    }
}

/// The outbox entries still readable in the file at `path`, oldest first.
async fn salvage(path: &Path) -> Vec<Entry> {
    let Ok(options) = SqliteConnectOptions::from_str("sqlite://") else {
        return Vec::new();
    };
    let Ok(mut conn) = options
        .filename(path)
        .create_if_missing(false)
        .connect()
        .await
    else {
        return Vec::new();
    };
    // Only the columns every version of the outbox has.
    let rows = match sqlx::query(
        "SELECT id, client_mutation_id, op, target_id, body, prior FROM outbox ORDER BY id",
    )
    .fetch_all(&mut conn)
    .await
    {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "no outbox could be read from the old cache");
            return Vec::new();
        }
    };
    rows.iter()
        .filter_map(|r| {
            let op: String = r.try_get("op").ok()?;
            let body: Option<String> = r.try_get("body").ok()?;
            let prior: Option<String> = r.try_get("prior").ok()?;
            Some(Entry {
                id: r.try_get("id").ok()?,
                client_mutation_id: r.try_get("client_mutation_id").ok()?,
                op: Op::parse(&op)?,
                target_id: r.try_get("target_id").ok()?,
                body: match body {
                    Some(b) => Some(serde_json::from_str::<Value>(&b).ok()?),
                    None => None,
                },
                prior: prior.and_then(|p| serde_json::from_str(&p).ok()),
                state: State::Queued,
                error: None,
            })
        })
        .collect()
}

/// Renames the file (and its WAL and shared-memory files) out of the way.
fn move_aside(path: &Path) -> Result<PathBuf, CacheError> {
    let stamp = Utc::now().format("%Y%m%dT%H%M%S%.3f");
    let with = |p: &Path, suffix: &str| {
        let mut s = p.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    let moved_to = with(path, &format!(".broken-{stamp}"));
    if path.exists() {
        std::fs::rename(path, &moved_to)?;
    }
    for side in ["-wal", "-shm"] {
        let p = with(path, side);
        if p.exists() {
            std::fs::rename(&p, with(&moved_to, side))?;
        }
    }
    Ok(moved_to)
}

/// Queues the salvaged writes again; an unconfirmed create gets its
/// pending row back from its body.
async fn restore(cache: &Cache, entries: &[Entry]) -> Result<usize, CacheError> {
    let mut w = cache.write_for(&[]).await?;
    let mut n = 0;
    for e in entries {
        if outbox::push(&mut w.tx, e).await.is_err() {
            continue;
        }
        n += 1;
        if e.op != Op::Create {
            continue;
        }
        let Some(new) = e
            .body
            .clone()
            .and_then(|b| serde_json::from_value::<NewTransaction>(b).ok())
        else {
            continue;
        };
        let now = Utc::now();
        let row = Row {
            id: e.target_id.clone(),
            kind: new.kind,
            property_id: new.property_id,
            amount_minor: new.amount_minor,
            currency: new.currency,
            category: new.category,
            memo: new.memo,
            occurred_on: new.occurred_on,
            status: TransactionStatus::Pending,
            version: 0,
            client_mutation_id: Some(e.client_mutation_id.clone()),
            created_by: String::new(),
            created_at: now,
            updated_at: now,
            pending_sync: true,
            sync_error: None,
            rejection_reason: None,
        };
        put_row(&mut w.tx, &row).await?;
    }
    cache.finish(w, Vec::new()).await?;
    Ok(n)
}
