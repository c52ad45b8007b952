//! Applying the server's rows: a poll answer's events
//! ([`Cache::apply_events`]) and a full snapshot ([`Cache::replace_all`]),
//! each in one write transaction under the one writer lock.

use super::{
    codec, journal,
    journal::Journal,
    overlay::{Hasher, Overlay, Slot},
    statements::*,
    *,
};

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

impl Cache {
    /// [`Cache::apply_answer`] of a copy of `events`.
    pub async fn apply_events(
        &self,
        events: &[Event],
        cursor: u64,
    ) -> Result<Applied, sqlx::Error> {
        self.apply_answer(events.to_vec(), cursor).await
    }

    /// Applies one poll response in one transaction: events at or below the
    /// cache's seq are skipped (idempotent re-apply); a created row replaces
    /// its optimistic `local-<cmid>` twin in the same batch. Only a higher
    /// version is written (an event for a version already held changes
    /// nothing and is not published). The outcome is journaled and held in
    /// the overlay (`journal`): readers see it at once, `rows` takes it at
    /// the next fold. The events are taken: their rows become the patches'
    /// (no copy).
    pub async fn apply_answer(
        &self,
        events: Vec<Event>,
        cursor: u64,
    ) -> Result<Applied, sqlx::Error> {
        let mut j = self.writer.clone().lock_owned().await;
        if j.unknown {
            self.settle_locked(&mut j).await?;
        }
        // Back-pressure: past the bound, the oldest slots are folded first.
        while !j.rows_is_empty() && self.overlay.read().await.len() + events.len() > j.bound {
            self.fold_chunk(&mut j, events.len().max(1_000)).await?;
        }
        let mut tx = self.writer_pool.begin().await?;
        let from_seq = match j.seq {
            Some(seq) => seq,
            None => get_seq(&mut tx).await?.unwrap_or(0),
        };
        let seq = from_seq
            .max(cursor)
            .max(events.iter().map(|e| e.seq).max().unwrap_or(0));
        let fresh: Vec<Event> = events.into_iter().filter(|e| e.seq > from_seq).collect();
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
            settings::set_lock_date(&mut tx, lock_date).await?;
        }
        let fresh: Vec<Event> = fresh
            .into_iter()
            .filter(|e| !e.kind.is_org_wide())
            .collect();

        // The final state of each touched row, in order of its last event.
        let mut locals: Vec<String> = Vec::new();
        let is_final: Vec<bool> = {
            let mut last: HashMap<&str, usize, Hasher> =
                HashMap::with_capacity_and_hasher(fresh.len(), Hasher::default());
            for (i, e) in fresh.iter().enumerate() {
                last.insert(e.row.id(), i);
                if let Some(cmid) = &e.client_mutation_id {
                    locals.push(Row::local_id(cmid));
                }
            }
            fresh
                .iter()
                .enumerate()
                .map(|(i, e)| last.get(e.row.id()) == Some(&i))
                .collect()
        };
        let mut finals: Vec<Event> = fresh
            .into_iter()
            .zip(is_final)
            .filter_map(|(e, keep)| keep.then_some(e))
            .collect();
        finals.sort_by_key(|e| e.seq);

        let mut patches = Vec::new();
        for id in delete_rows(&mut tx, &locals).await? {
            patches.push(Patch::Remove { id });
        }
        let n = j.take_n();
        let mut body = codec::Encoder::with_capacity(finals.len());
        let mut slots: Vec<(Arc<str>, Slot)> = Vec::with_capacity(finals.len());
        {
            let overlay = self.overlay.read().await;
            look_up(&mut tx, &mut j, &overlay, &finals).await?;
            for e in finals {
                let id: Arc<str> = Arc::from(e.row.id());
                // What the cache holds: the overlay's state, else `rows`'
                // (the memo's; an id it does not know is new).
                let (current, base) = match overlay.get(&id) {
                    Some(s) => (s.row.as_ref().map(|r| r.version), s.base.as_ref()),
                    None => {
                        let base = j.known.get(&*id).and_then(Option::as_ref);
                        (base.map(|b| b.version), base)
                    }
                };
                let base = base.cloned();
                let row = match e.row {
                    EventRow::Transaction(t) => {
                        if current.is_some_and(|v| t.version <= v) {
                            continue;
                        }
                        let row = Arc::new(Row::confirmed(*t));
                        body.put(&row, current.is_none());
                        patches.push(Patch::Upsert { row: row.clone() });
                        Some(row)
                    }
                    EventRow::Deleted { id } => {
                        if current.is_none() {
                            continue;
                        }
                        body.delete(&id);
                        patches.push(Patch::Remove { id });
                        None
                    }
                    EventRow::LockDate { .. } => continue,
                };
                slots.push((id, Slot { n, row, base }));
            }
        }
        let body = (body.count > 0).then(|| body.finish());
        journal::append(&mut tx, n, seq, body).await?;
        let mut overlay = self.overlay.write().await;
        if let Err(e) = tx.commit().await {
            j.unknown = true;
            return Err(e);
        }
        overlay.reserve(slots.len());
        let ids: Vec<Arc<str>> = slots.iter().map(|(id, _)| id.clone()).collect();
        for (id, slot) in slots {
            overlay.put(id, slot);
        }
        drop(overlay);
        if !ids.is_empty() {
            j.record(n, ids);
        }
        j.seq = Some(seq);
        let batch = self.published(seq, patches);
        drop(j);
        self.applies
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        self.applied.notify_one();
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
                .map(|row| Patch::Upsert { row: row.into() }),
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

/// Makes the memo know what `rows` holds of the final events' ids the
/// overlay does not hold, by a primary-key look-up of those it does not
/// know — but for ids above every server id held: those are new, and
/// stay out of the memo (the overlay will hold them).
async fn look_up(
    conn: &mut SqliteConnection,
    j: &mut Journal,
    overlay: &Overlay,
    finals: &[Event],
) -> Result<(), sqlx::Error> {
    let unknown: Vec<&str> = finals
        .iter()
        .map(|e| e.row.id())
        .filter(|id| !overlay.contains(id) && !j.known.contains_key(*id))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    if j.max_id.is_none() {
        let max: Option<String> =
            sqlx::query_scalar("SELECT max(id) FROM rows WHERE id < 'local-'")
                .fetch_one(&mut *conn)
                .await?;
        j.max_id = Some(max);
    }
    let max = j.max_id.clone().flatten();
    let look: Vec<&str> = unknown
        .into_iter()
        .filter(|id| *id >= "local-" || max.as_deref().is_some_and(|m| *id <= m))
        .collect();
    if look.is_empty() {
        return Ok(());
    }
    let mut found = bases(conn, &look).await?;
    for id in look {
        let base = found.remove(id);
        j.known.insert(id.to_owned(), base);
    }
    Ok(())
}
