//! Applying the server's rows: a poll answer's events
//! ([`Cache::apply_events`]) and a full snapshot ([`Cache::replace_all`]),
//! each in one write transaction under the one writer lock, with the
//! multi-row statements they are made of.

use super::*;

/// Rows per multi-row statement: 17 columns × 1000 = 17000 bind
/// parameters, under SQLite's 32766 (also ids per `DELETE … WHERE id IN (…)`):
/// a 1000-event poll answer is one statement.
pub(super) const CHUNK: usize = 1000;
/// What applying a poll response did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The seq the cache was at before: events above it were new.
    pub from_seq: u64,
    /// The seq it is at now.
    pub seq: u64,
    /// How many events were new (not applied before).
    pub fresh: usize,
    /// What was published (None when nothing changed).
    pub batch: Option<Arc<PatchBatch>>,
    /// The org's new lock date, when these events changed it (`Some(None)`:
    /// cleared).
    pub lock_date: Option<Option<chrono::NaiveDate>>,
}

/// Inserts only the rows whose id is new, and says which: rows expected
/// to be new skip the look-up of what they held before.
const INSERT_NEW_TAIL: &str = " ON CONFLICT(id) DO NOTHING RETURNING id";

pub(super) const UPSERT_TAIL: &str = " ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, \
    property_id = excluded.property_id, amount_minor = excluded.amount_minor, \
    currency = excluded.currency, category = excluded.category, memo = excluded.memo, \
    occurred_on = excluded.occurred_on, status = excluded.status, version = excluded.version, \
    client_mutation_id = excluded.client_mutation_id, created_by = excluded.created_by, \
    created_at = excluded.created_at, updated_at = excluded.updated_at, \
    pending_sync = excluded.pending_sync, sync_error = excluded.sync_error, \
    rejection_reason = excluded.rejection_reason WHERE excluded.version > rows.version RETURNING id";

/// [`UPSERT_TAIL`] for rows whose indexed columns (`property_id`,
/// `occurred_on`, `status`) hold what the row already holds: the same
/// result, but SQLite rewrites the entries of every index whose column is
/// in the `SET` list, changed or not, so leaving them out spares the three
/// list indexes (2.5–3× cheaper per updated row in the `sqlite3` CLI).
const UPSERT_TAIL_SAME_KEYS: &str = " ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, \
    amount_minor = excluded.amount_minor, \
    currency = excluded.currency, category = excluded.category, memo = excluded.memo, \
    version = excluded.version, \
    client_mutation_id = excluded.client_mutation_id, created_by = excluded.created_by, \
    created_at = excluded.created_at, updated_at = excluded.updated_at, \
    pending_sync = excluded.pending_sync, sync_error = excluded.sync_error, \
    rejection_reason = excluded.rejection_reason WHERE excluded.version > rows.version RETURNING id";

impl Cache {
    /// Applies one poll response in one transaction: events at or below the
    /// cache's seq are skipped (idempotent re-apply); a created row replaces
    /// its optimistic `local-<cmid>` twin in the same batch.
    pub async fn apply_events(
        &self,
        events: &[Event],
        cursor: u64,
    ) -> Result<Applied, sqlx::Error> {
        let mut w = self.write().await?;
        let from_seq = get_seq(&mut w.tx).await?.unwrap_or(0);
        let seq = from_seq
            .max(cursor)
            .max(events.iter().map(|e| e.seq).max().unwrap_or(0));
        let fresh: Vec<&Event> = events.iter().filter(|e| e.seq > from_seq).collect();
        if fresh.is_empty() && seq == from_seq {
            return Ok(Applied {
                from_seq,
                seq,
                fresh: 0,
                batch: None,
                lock_date: None,
            });
        }
        let fresh_count = fresh.len();
        // The org's settings are not rows: the newest lock date is kept.
        let lock_date = fresh.iter().rev().find_map(|e| match &e.row {
            EventRow::LockDate { lock_date } => Some(*lock_date),
            _ => None,
        });
        if let Some(lock_date) = lock_date {
            settings::set_lock_date(&mut w.tx, lock_date).await?;
        }
        let fresh: Vec<&Event> = fresh
            .into_iter()
            .filter(|e| !e.kind.is_org_wide())
            .collect();

        // The final state of each touched row, in order of its last event.
        let mut last: HashMap<&str, usize> = HashMap::new();
        let mut locals: Vec<String> = Vec::new();
        for (i, e) in fresh.iter().enumerate() {
            last.insert(e.row.id(), i);
            if let Some(cmid) = &e.client_mutation_id {
                locals.push(Row::local_id(cmid));
            }
        }
        let mut finals: Vec<&Event> = fresh
            .iter()
            .enumerate()
            .filter(|(i, e)| last.get(e.row.id()) == Some(i))
            .map(|(_, e)| *e)
            .collect();
        finals.sort_by_key(|e| e.seq);

        let mut patches = Vec::new();
        for id in delete_rows(&mut w.tx, &locals).await? {
            patches.push(Patch::Remove { id });
        }
        let upserts: Vec<Row> = finals
            .iter()
            .filter_map(|e| match &e.row {
                EventRow::Transaction(t) => Some(Row::confirmed((**t).clone())),
                EventRow::Deleted { .. } | EventRow::LockDate { .. } => None,
            })
            .collect();
        let removes: Vec<String> = finals
            .iter()
            .filter_map(|e| match &e.row {
                EventRow::Deleted { id } => Some(id.clone()),
                EventRow::Transaction(_) | EventRow::LockDate { .. } => None,
            })
            .collect();
        let added = finals
            .iter()
            .filter(|e| e.kind == ledgerline_wire::EventType::Added)
            .count();
        let written: HashSet<String> = upsert_rows(&mut w.tx, &upserts, added * 2 > finals.len())
            .await?
            .into_iter()
            .collect();
        let removed: HashSet<String> = delete_rows(&mut w.tx, &removes)
            .await?
            .into_iter()
            .collect();
        let mut upserts = upserts.into_iter();
        for e in &finals {
            match &e.row {
                EventRow::Transaction(_) => {
                    let row = upserts.next().expect("one upsert per transaction event");
                    if written.contains(&row.id) {
                        patches.push(Patch::Upsert { row });
                    }
                }
                EventRow::Deleted { id } => {
                    if removed.contains(id) {
                        patches.push(Patch::Remove { id: id.clone() });
                    }
                }
                EventRow::LockDate { .. } => {}
            }
        }
        set_seq(&mut w.tx, seq).await?;
        let (seq, batch) = self.finish_at(w, Some(seq), patches).await?;
        Telemetry::add(&self.telemetry.events_applied, fresh_count as u64);
        Ok(Applied {
            from_seq,
            seq,
            fresh: fresh_count,
            batch,
            lock_date,
        })
    }

    /// Makes the rows equal to a full snapshot (keeping rows with writes
    /// still in the outbox), publishes the difference, and moves the cache
    /// to `head`, the head fetched before the snapshot's pages (a reset may
    /// move it back). Returns how many rows changed.
    ///
    /// Snapshots are taken only by the poll loop (a first sync, a `reset`),
    /// one at a time, so none races the events it applies: every write of
    /// the server's rows goes through the one writer lock stamped with the
    /// seq it reflects.
    pub async fn replace_all(
        &self,
        rows: Vec<Transaction>,
        head: u64,
    ) -> Result<usize, sqlx::Error> {
        let mut w = self.write().await?;
        let existing: HashMap<String, (i64, bool)> =
            sqlx::query("SELECT id, version, pending_sync FROM rows")
                .fetch_all(&mut *w.tx)
                .await?
                .into_iter()
                .map(|r| {
                    (
                        r.get::<String, _>(0),
                        (r.get::<i64, _>(1), r.get::<bool, _>(2)),
                    )
                })
                .collect();
        // Rows with a write on its way keep their overlay; a held write's
        // row follows the server (the write is in the attention list).
        let protected = super::stream::queued_targets(&mut w.tx).await?;
        let incoming: HashSet<&str> = rows.iter().map(|t| t.id.as_str()).collect();
        let confirmed_locals: Vec<String> = rows
            .iter()
            .filter_map(|t| t.client_mutation_id.as_deref().map(Row::local_id))
            .filter(|id| existing.contains_key(id))
            .collect();
        let removes: Vec<String> = existing
            .iter()
            .filter(|(id, (_, pending))| {
                !incoming.contains(id.as_str())
                    && !protected.contains(*id)
                    && !*pending
                    && !id.starts_with("local-")
            })
            .map(|(id, _)| id.clone())
            .collect();
        let upserts: Vec<Row> = rows
            .into_iter()
            .filter(|t| !protected.contains(&t.id))
            .filter(|t| match existing.get(&t.id) {
                None => true,
                Some((v, pending)) => t.version > *v || (!pending && t.version != *v),
            })
            .map(Row::confirmed)
            .collect();
        let mut patches = Vec::new();
        for id in delete_rows(&mut w.tx, &confirmed_locals).await? {
            patches.push(Patch::Remove { id });
        }
        for id in delete_rows(&mut w.tx, &removes).await? {
            patches.push(Patch::Remove { id });
        }
        let new = upserts
            .iter()
            .filter(|r| !existing.contains_key(&r.id))
            .count();
        let written: HashSet<String> = upsert_rows(&mut w.tx, &upserts, new * 2 > upserts.len())
            .await?
            .into_iter()
            .collect();
        patches.extend(
            upserts
                .into_iter()
                .filter(|r| written.contains(&r.id))
                .map(|row| Patch::Upsert { row }),
        );
        set_seq(&mut w.tx, head).await?;
        let changed = patches.len();
        if changed > SNAPSHOT_PATCH_LIMIT {
            patches.clear();
        }
        self.finish(w, patches).await?;
        Ok(changed)
    }
}

/// Inserts rows, or updates them to a higher version only (an event for a
/// version already shown changes nothing);
/// returns the ids actually written. `likely_new` (most of them are new
/// rows, e.g. a burst of `added` events) tries one plain insert of the
/// chunk first and looks up only the rows it left.
pub(crate) async fn upsert_rows(
    conn: &mut SqliteConnection,
    rows: &[Row],
    likely_new: bool,
) -> Result<Vec<String>, sqlx::Error> {
    let mut written = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(CHUNK) {
        let all: Vec<&Row> = chunk.iter().collect();
        let chunk: Vec<&Row> = if likely_new {
            let mut inserted: HashSet<String> = upsert_chunk(conn, &all, INSERT_NEW_TAIL)
                .await?
                .into_iter()
                .collect();
            written.extend(inserted.iter().cloned());
            // The first row of an inserted id went in; a later one of the
            // same id (a snapshot may hold one twice) still upserts.
            all.into_iter()
                .filter(|r| !inserted.remove(&r.id))
                .collect()
        } else {
            all
        };
        if chunk.is_empty() {
            continue;
        }
        // What the existing rows hold in their indexed columns: rows that
        // keep them (and new rows) take the upsert that leaves the indexes be.
        let mut qb = QueryBuilder::<Sqlite>::new(
            "SELECT id, property_id, occurred_on, status FROM rows WHERE id IN (",
        );
        let mut sep = qb.separated(", ");
        for r in &chunk {
            sep.push_bind(r.id.as_str());
        }
        qb.push(")");
        let mut prior: HashMap<String, (String, NaiveDate, String)> = HashMap::new();
        for p in qb.build().fetch_all(&mut *conn).await? {
            prior.insert(p.try_get(0)?, (p.try_get(1)?, p.try_get(2)?, p.try_get(3)?));
        }
        // An id twice in one statement (the later row upserts over the
        // earlier one) takes the full upsert too.
        let mut seen: HashSet<&str> = HashSet::with_capacity(chunk.len());
        let mut moved: HashSet<&str> = HashSet::new();
        for r in &chunk {
            let keeps = prior
                .get(&r.id)
                .is_none_or(|(property_id, occurred_on, status)| {
                    r.property_id == *property_id
                        && r.occurred_on == *occurred_on
                        && r.status.as_str() == status
                });
            if !seen.insert(r.id.as_str()) || !keeps {
                moved.insert(r.id.as_str());
            }
        }
        let (moving, keeping): (Vec<&Row>, Vec<&Row>) =
            chunk.iter().partition(|r| moved.contains(r.id.as_str()));
        written.extend(upsert_chunk(conn, &keeping, UPSERT_TAIL_SAME_KEYS).await?);
        written.extend(upsert_chunk(conn, &moving, UPSERT_TAIL).await?);
    }
    Ok(written)
}

/// One multi-row `INSERT … ON CONFLICT` of `rows` ending in `tail`; returns
/// the ids written.
pub(super) async fn upsert_chunk(
    conn: &mut SqliteConnection,
    rows: &[&Row],
    tail: &str,
) -> Result<Vec<String>, sqlx::Error> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    chunk_statement(rows, tail)
        .build_query_scalar()
        .fetch_all(&mut *conn)
        .await
}

/// The multi-row `INSERT INTO rows … VALUES (…), … {tail}` of `rows`.
pub(super) fn chunk_statement<'a>(rows: &[&'a Row], tail: &str) -> QueryBuilder<'a, Sqlite> {
    let mut qb = QueryBuilder::<Sqlite>::new(format!("INSERT INTO rows ({COLS}) "));
    qb.push_values(rows, |mut b, r| {
        b.push_bind(r.id.as_str())
            .push_bind(r.kind.as_str())
            .push_bind(r.property_id.as_str())
            .push_bind(r.amount_minor)
            .push_bind(r.currency.as_str())
            .push_bind(r.category.as_str())
            .push_bind(r.memo.as_str())
            .push_bind(r.occurred_on)
            .push_bind(r.status.as_str())
            .push_bind(r.version)
            .push_bind(r.client_mutation_id.as_deref())
            .push_bind(r.created_by.as_str())
            .push_bind(r.created_at)
            .push_bind(r.updated_at)
            .push_bind(r.pending_sync)
            .push_bind(r.sync_error.as_deref())
            .push_bind(r.rejection_reason.as_deref());
    });
    qb.push(tail);
    qb
}

/// Deletes rows by id; returns the ids that existed.
pub(crate) async fn delete_rows(
    conn: &mut SqliteConnection,
    ids: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    let mut deleted = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let mut qb = QueryBuilder::<Sqlite>::new("DELETE FROM rows WHERE id IN (");
        let mut sep = qb.separated(", ");
        for id in chunk {
            sep.push_bind(id.as_str());
        }
        qb.push(") RETURNING id");
        let ids: Vec<String> = qb.build_query_scalar().fetch_all(&mut *conn).await?;
        deleted.extend(ids);
    }
    Ok(deleted)
}

/// Writes one row as it is (no version check): optimistic edits and rollbacks.
pub(crate) async fn put_row(conn: &mut SqliteConnection, row: &Row) -> Result<(), sqlx::Error> {
    delete_rows(conn, std::slice::from_ref(&row.id)).await?;
    upsert_chunk(conn, &[row], UPSERT_TAIL).await?;
    Ok(())
}
