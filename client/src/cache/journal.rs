//! The apply journal: a write-optimised log in front of `rows`, folded in
//! later (as an LSM store defers its merges).
//!
//! Maintaining `rows`' three list indexes costs every applied row a few
//! µs, and for dates spread over the year every 1000-row commit rewrites
//! hundreds of index leaf pages: SQLite cannot apply 300k rows/s that way
//! (client/README.md#benchmark). So [`Cache::apply_events`] decides what
//! each event does (the version checks against the overlay, a memo of
//! `rows`, else `rows` by primary key), commits the outcome as one
//! `journal` row (`codec`) beside the seq, puts it in the [`Overlay`] and
//! publishes the same patches it always did. Every read merges the overlay
//! over `rows` (`merge`): nothing waits for a fold.
//!
//! A fold ([`Cache::fold_chunk`]) writes the oldest journal rows' slots
//! into `rows` exactly (their bases are known: no look-up) and deletes
//! those journal rows, in one transaction; it runs
//! - in the background ([`Cache::spawn_folder`]) once the applies pause, a
//!   chunk at a time so an apply never waits long for the writer lock;
//! - in `apply_events` when the overlay would grow past its bound
//!   (back-pressure: memory stays bounded);
//! - before a snapshot's writes ([`Cache::write`]) and an export.
//!
//! A user's write ([`Cache::write_for`]) writes only the slots of the rows
//! it names into `rows` first, and journals a `Forget` of them, so a crash
//! replay never writes their older journaled states over the user's change.
//! When a cache is opened (or a commit failed) the journal on disk is
//! replayed into `rows` with the version checks of a direct apply.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{atomic::Ordering, Arc},
    time::{Duration, Instant},
};

use sqlx::{Row as _, SqliteConnection};

use super::{
    codec::{self, Entry},
    overlay::{Base, Hasher},
    statements::{delete_rows, upsert_rows, write_states},
    Cache,
};
use crate::view::Row;

/// Slots the overlay may hold before `apply_events` folds first.
pub const JOURNAL_BOUND: usize = 100_000;
/// Slots per fold transaction when everything is folded at once.
const SETTLE_CHUNK: usize = 50_000;
/// How long a background fold chunk may hold the writer lock, roughly.
const BACKGROUND_BUDGET: Duration = Duration::from_millis(100);
/// Versions the memo of `rows` keeps before it forgets them all.
const KNOWN_BOUND: usize = 100_000;

/// The writer lock's value: the journal's bookkeeping.
pub(crate) struct Journal {
    /// The journal rows on disk by `n`, each with the ids it gave a slot
    /// (some replaced since by a later row's).
    rows: BTreeMap<u64, Vec<Arc<str>>>,
    /// The `n` of the next journal row.
    next_n: u64,
    /// What `rows` holds, as far as folds and look-ups since the last other
    /// write saw it (`None`: no such row): spares a primary-key look-up.
    pub(super) known: HashMap<String, Option<Base>, Hasher>,
    /// At least the highest server id in `rows` (`Some(None)`: none), for
    /// the same purpose: server ids are UUIDv7, time-ordered, so a new row's
    /// id is nearly always above it. `None`: not known.
    pub(super) max_id: Option<Option<String>>,
    /// The seq in `meta` as the last apply left it (`None`: not known).
    pub(super) seq: Option<u64>,
    /// The journal on disk may hold what the overlay does not (the cache
    /// was just opened, or a commit failed): replay it before going on.
    pub(super) unknown: bool,
    pub(super) bound: usize,
}

impl Default for Journal {
    fn default() -> Journal {
        Journal {
            rows: BTreeMap::new(),
            next_n: 1,
            known: HashMap::default(),
            max_id: None,
            seq: None,
            unknown: true,
            bound: JOURNAL_BOUND,
        }
    }
}

impl Journal {
    /// Another write than an apply or a fold is about to change the cache.
    pub(super) fn forget_known(&mut self) {
        self.known = HashMap::default();
        self.max_id = None;
        self.seq = None;
    }

    /// Takes the next journal row's `n`.
    pub(super) fn take_n(&mut self) -> u64 {
        let n = self.next_n;
        self.next_n += 1;
        n
    }

    pub(super) fn rows_is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Records a committed journal row `n` and the ids it gave a slot.
    pub(super) fn record(&mut self, n: u64, ids: Vec<Arc<str>>) {
        self.rows.insert(n, ids);
    }

    fn learn(&mut self, folded: impl Iterator<Item = (String, Option<Base>)>) {
        for (id, base) in folded {
            // A row put into `rows` raises the highest id it holds (from
            // none, too).
            if let (Some(max), Some(_)) = (&mut self.max_id, &base) {
                if id.as_str() < "local-" && max.as_deref().is_none_or(|m| id.as_str() > m) {
                    *max = Some(id.clone());
                }
            }
            self.known.insert(id, base);
        }
        if self.known.len() > KNOWN_BOUND {
            self.known = HashMap::default();
        }
    }
}

/// An apply's writes: its journal row `n` (if it has entries) and the seq,
/// in one execution (each statement sent is a round trip to sqlx's worker).
pub(super) async fn append(
    conn: &mut SqliteConnection,
    n: u64,
    seq: u64,
    body: Option<Vec<u8>>,
) -> Result<(), sqlx::Error> {
    let Some(body) = body else {
        return super::set_seq(conn, seq).await;
    };
    sqlx::query(
        "INSERT INTO journal (n, body) VALUES (?, ?); \
         INSERT INTO meta (key, value) VALUES ('seq', ?) \
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )
    .bind(n as i64)
    .bind(body)
    .bind(seq.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Cache {
    /// Folds the whole journal into `rows` now; returns the slots folded.
    pub async fn settle(&self) -> Result<usize, sqlx::Error> {
        let mut j = self.writer.lock().await;
        self.settle_locked(&mut j).await
    }

    /// Slots the overlay holds (for the benchmark and tests).
    pub async fn journaled(&self) -> usize {
        self.overlay.read().await.len()
    }

    /// Sets how many slots the overlay may hold (default [`JOURNAL_BOUND`]).
    pub async fn set_journal_bound(&self, bound: usize) {
        self.writer.lock().await.bound = bound.max(1);
    }

    /// [`Cache::settle`] by the holder of the writer lock.
    pub(super) async fn settle_locked(&self, j: &mut Journal) -> Result<usize, sqlx::Error> {
        if j.unknown {
            return self.replay(j).await;
        }
        let mut folded = 0;
        while !j.rows.is_empty() {
            folded += self.fold_chunk(j, SETTLE_CHUNK).await?;
        }
        Ok(folded)
    }

    /// Folds the oldest journal rows holding at least `chunk` live slots
    /// (or all) into `rows` in one transaction, deleting those journal
    /// rows; returns the slots folded.
    pub(super) async fn fold_chunk(
        &self,
        j: &mut Journal,
        chunk: usize,
    ) -> Result<usize, sqlx::Error> {
        let Some(mut through) = j.rows.keys().next().copied() else {
            return Ok(0);
        };
        let overlay = self.overlay.read().await;
        let mut ids: Vec<Arc<str>> = Vec::new();
        for (n, row_ids) in &j.rows {
            if ids.len() >= chunk {
                break;
            }
            through = *n;
            ids.extend(
                row_ids
                    .iter()
                    .filter(|id| overlay.get(id).is_some_and(|s| s.n == *n))
                    .cloned(),
            );
        }
        let mut states = overlay.take_out(ids.iter().map(|id| &**id));
        drop(overlay);
        let mut tx = self.writer_pool.begin().await?;
        write_states(&mut tx, &mut states).await?;
        sqlx::query("DELETE FROM journal WHERE n <= ?")
            .bind(through as i64)
            .execute(&mut *tx)
            .await?;
        let mut overlay = self.overlay.write().await;
        if let Err(e) = tx.commit().await {
            j.unknown = true;
            return Err(e);
        }
        for id in &ids {
            overlay.remove(id);
        }
        drop(overlay);
        j.rows = j.rows.split_off(&(through + 1));
        let n = states.len();
        j.learn(
            states
                .into_iter()
                .map(|s| (s.id.to_string(), s.row.as_deref().map(Base::of))),
        );
        Ok(n)
    }

    /// Writes the journal on disk into `rows` as a direct apply would have
    /// (version checks; each id's last entry decides; a `Forget` drops
    /// what came before it) and empties it and the overlay.
    async fn replay(&self, j: &mut Journal) -> Result<usize, sqlx::Error> {
        let mut tx = self.writer_pool.begin().await?;
        let mut last: HashMap<String, (Option<Row>, bool)> = HashMap::new();
        let mut after = 0i64;
        loop {
            let batch = sqlx::query("SELECT n, body FROM journal WHERE n > ? ORDER BY n LIMIT 64")
                .bind(after)
                .fetch_all(&mut *tx)
                .await?;
            if batch.is_empty() {
                break;
            }
            for r in &batch {
                after = r.try_get(0)?;
                for e in codec::decode(r.try_get::<&[u8], _>(1)?)? {
                    match e {
                        // An id deleted (or new) before its last put is new.
                        Entry::Put { row, new } => {
                            let new =
                                new || last.get(&row.id).is_some_and(|(r, n)| r.is_none() || *n);
                            last.insert(row.id.clone(), (Some(row), new));
                        }
                        Entry::Delete { id } => {
                            last.insert(id, (None, false));
                        }
                        Entry::Forget { id } => {
                            last.remove(&id);
                        }
                    }
                }
            }
        }
        let n = last.len();
        let mut deletes = Vec::new();
        let (mut new, mut old) = (Vec::new(), Vec::new());
        for (id, (row, is_new)) in last {
            match row {
                None => deletes.push(id),
                Some(row) if is_new => new.push(row),
                Some(row) => old.push(row),
            }
        }
        deletes.sort_unstable();
        new.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        old.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        delete_rows(&mut tx, &deletes).await?;
        upsert_rows(&mut tx, &new, true).await?;
        upsert_rows(&mut tx, &old, false).await?;
        sqlx::query("DELETE FROM journal").execute(&mut *tx).await?;
        let mut overlay = self.overlay.write().await;
        tx.commit().await?;
        overlay.clear();
        drop(overlay);
        *j = Journal {
            bound: j.bound,
            unknown: false,
            ..Journal::default()
        };
        Ok(n)
    }

    /// Folds the journal in the background: after `idle` without an apply,
    /// a chunk at a time (about `BACKGROUND_BUDGET` of work, the writer
    /// lock let go between chunks), until it is empty; stops with `cancel`.
    pub fn spawn_folder(
        &self,
        idle: Duration,
        cancel: tokio_util::sync::CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let cache = self.clone();
        tokio::spawn(async move {
            let mut chunk = 2_000usize;
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = cache.applied.notified() => {}
                }
                // Wait for a pause in the applies.
                loop {
                    let seen = cache.applies.load(Ordering::Acquire);
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(idle) => {}
                    }
                    if cache.applies.load(Ordering::Acquire) == seen {
                        break;
                    }
                }
                loop {
                    let mut j = tokio::select! {
                        _ = cancel.cancelled() => return,
                        j = cache.writer.lock() => j,
                    };
                    let started = Instant::now();
                    let folded = match cache.fold_chunk(&mut j, chunk).await {
                        Ok(n) => n,
                        Err(e) => {
                            tracing::warn!(error = %e, "cache journal fold failed");
                            break;
                        }
                    };
                    let more = !j.rows.is_empty();
                    drop(j);
                    // The next chunk sized to the budget at this one's pace.
                    let took = started.elapsed().as_secs_f64().max(1e-3);
                    let pace = folded as f64 / took;
                    chunk = ((pace * BACKGROUND_BUDGET.as_secs_f64()) as usize)
                        .clamp(1_000, SETTLE_CHUNK);
                    if !more {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
            }
        })
    }
}
