//! The writer path of everything but an apply: a write transaction under
//! the one writer lock — the whole journal folded first
//! ([`Cache::write`], a snapshot's writes), or only the journaled rows it
//! names written into `rows` ([`Cache::write_for`], a user's write, so it
//! never waits for a fold) — and its commit and publication.

use super::{codec, journal::Journal, statements::write_states, *};

/// An open write transaction holding the writer lock.
pub(crate) struct Write {
    pub(crate) tx: sqlx::Transaction<'static, Sqlite>,
    journal: tokio::sync::OwnedMutexGuard<Journal>,
    /// The journaled ids this write settled, with the journal row of their
    /// `Forget`: their slots go from the overlay when it commits.
    settled: Vec<(u64, Vec<Arc<str>>)>,
}

impl Cache {
    /// A write over settled rows: the whole journal is folded first (a
    /// snapshot compares and replaces every row).
    pub(crate) async fn write(&self) -> Result<Write, sqlx::Error> {
        let mut journal = self.writer.clone().lock_owned().await;
        self.settle_locked(&mut journal).await?;
        self.begin(journal).await
    }

    /// A write that reads and changes only the rows `ids` (and no other;
    /// more with [`Cache::settle_in`]): their journaled states are written
    /// into `rows` in this transaction. Any other row may still be in the
    /// journal.
    pub(crate) async fn write_for(&self, ids: &[&str]) -> Result<Write, sqlx::Error> {
        let mut journal = self.writer.clone().lock_owned().await;
        if journal.unknown {
            self.settle_locked(&mut journal).await?;
        }
        let mut w = self.begin(journal).await?;
        self.settle_in(&mut w, ids).await?;
        Ok(w)
    }

    /// Writes the journaled states of `ids` into `rows` in `w`, with a
    /// `Forget` of them in the journal (a crash replay must not write their
    /// older journaled states over what `w` does to them).
    pub(crate) async fn settle_in(&self, w: &mut Write, ids: &[&str]) -> Result<(), sqlx::Error> {
        let mut slots = self.overlay.read().await.take_out(ids.iter().copied());
        if slots.is_empty() {
            return Ok(());
        }
        write_states(&mut w.tx, &mut slots).await?;
        let mut body = codec::Encoder::with_capacity(slots.len());
        for s in &slots {
            body.forget(&s.id);
        }
        let n = w.journal.take_n();
        sqlx::query("INSERT INTO journal (n, body) VALUES (?, ?)")
            .bind(n as i64)
            .bind(body.finish())
            .execute(&mut *w.tx)
            .await?;
        w.settled
            .push((n, slots.into_iter().map(|s| s.id).collect()));
        Ok(())
    }

    async fn begin(
        &self,
        mut journal: tokio::sync::OwnedMutexGuard<Journal>,
    ) -> Result<Write, sqlx::Error> {
        // Whatever this writes, the memo of `rows` may no longer hold.
        journal.forget_known();
        let tx = self.writer_pool.begin().await?;
        Ok(Write {
            tx,
            journal,
            settled: Vec::new(),
        })
    }

    /// Commits and publishes `patches` (if any) stamped with the cache's seq.
    pub(crate) async fn finish(&self, w: Write, patches: Vec<Patch>) -> Result<u64, sqlx::Error> {
        Ok(self.finish_at(w, None, patches).await?.0)
    }

    /// [`Cache::finish`] when the caller knows the seq it set (`Some`: one
    /// query fewer); returns the seq and the batch published (shared with
    /// every subscriber: never copied).
    pub(crate) async fn finish_at(
        &self,
        mut w: Write,
        seq: Option<u64>,
        patches: Vec<Patch>,
    ) -> Result<(u64, Option<Arc<PatchBatch>>), sqlx::Error> {
        let seq = match seq {
            Some(seq) => seq,
            None => get_seq(&mut w.tx).await?.unwrap_or(0),
        };
        if w.settled.is_empty() {
            w.tx.commit().await?;
        } else {
            let mut overlay = self.overlay.write().await;
            if let Err(e) = w.tx.commit().await {
                w.journal.unknown = true;
                return Err(e);
            }
            for (n, ids) in std::mem::take(&mut w.settled) {
                for id in &ids {
                    overlay.remove(id);
                }
                w.journal.record(n, Vec::new());
            }
        }
        Ok((seq, self.published(seq, patches)))
    }

    /// Publishes `patches` at `seq` (just committed; the caller still holds
    /// the writer lock).
    pub(super) fn published(&self, seq: u64, patches: Vec<Patch>) -> Option<Arc<PatchBatch>> {
        Telemetry::set(&self.telemetry.cache_seq, seq);
        if patches.is_empty() {
            return None;
        }
        let batch = Arc::new(PatchBatch { seq, patches });
        self.hub.publish(&batch);
        Some(batch)
    }
}
