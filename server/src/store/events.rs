//! The durable, per-org event log (transactional outbox). Every write appends
//! its event inside its own database transaction: the org's `event_seq`
//! counter is bumped with `UPDATE … RETURNING`, which also serializes writers
//! of one org (a row lock on Postgres), so `seq` is gap-free. The realtime hub
//! reads the log to back-fill cursors older than its memory buffer, through
//! the [`EventLog`] implementation at the end of this file.

use chrono::{DateTime, NaiveDate, Utc};
use ledgerline_wire::{Event, EventRow, EventType};
use sqlx::{Any, Transaction as DbTx};

use super::{settings, sql::Sql, Store, StoreError};
use crate::realtime::{EventLog, LogError, LogFuture};

/// Events deleted per statement when pruning.
const PRUNE_BATCH: i64 = 10_000;

/// What a write hands [`append`]; the seq and timestamp are assigned there.
pub(crate) struct NewEvent {
    pub kind: EventType,
    pub property_id: String,
    pub row: EventRow,
    pub client_mutation_id: Option<String>,
    pub affected_report_dates: Vec<NaiveDate>,
    pub moved_from_property_id: Option<String>,
}

/// Append one event to `org_id`'s log inside the caller's transaction.
///
/// This is also where the period lock holds: a change to a row whose old or
/// new `occurred_on` (its affected report dates) is on or before the org's
/// lock date is refused with [`StoreError::PeriodLocked`]. The lock date is
/// read by the same `UPDATE … RETURNING` that takes the org's row lock, so
/// a concurrent change of the lock date (which bumps the same row) cannot
/// slip between the check and the commit.
pub(crate) async fn append(
    tx: &mut DbTx<'_, Any>,
    org_id: &str,
    new: NewEvent,
    at: DateTime<Utc>,
) -> Result<Event, StoreError> {
    let (seq, lock_date): (i64, Option<String>) = sqlx::query_as(
        "UPDATE orgs SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq, lock_date",
    )
    .bind(org_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(StoreError::NotFound)?;
    if let Some(lock_date) = settings::parse_lock_date(lock_date)? {
        if new.affected_report_dates.iter().any(|d| *d <= lock_date) {
            return Err(StoreError::PeriodLocked { lock_date });
        }
    }
    let mut dates = new.affected_report_dates;
    dates.sort();
    dates.dedup();
    let event = Event {
        seq: u64::try_from(seq).map_err(|_| StoreError::Corrupt(format!("negative seq {seq}")))?,
        kind: new.kind,
        property_id: new.property_id,
        row: new.row,
        client_mutation_id: new.client_mutation_id,
        affected_report_dates: dates,
        at,
        moved_from_property_id: new.moved_from_property_id,
    };
    sqlx::query(
        "INSERT INTO events (org_id, seq, property_id, kind, payload, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(org_id)
    .bind(seq)
    .bind(&event.property_id)
    .bind(event.kind.as_str())
    .bind(serde_json::to_string(&event)?)
    .bind(at.timestamp_millis())
    .execute(&mut **tx)
    .await?;
    Ok(event)
}

impl Store {
    /// Up to `limit` events of `org_id` with `seq > after_seq`, ascending.
    pub async fn events_after(
        &self,
        org_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        let after = i64::try_from(after_seq).unwrap_or(i64::MAX);
        let payloads: Vec<String> = sqlx::query_scalar(
            "SELECT payload FROM events WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(org_id)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        payloads
            .iter()
            .map(|p| serde_json::from_str(p).map_err(StoreError::from))
            .collect()
    }

    /// `(oldest retained seq, head seq)` of `org_id`'s log. The oldest is
    /// `None` when nothing is retained (no writes yet, or all pruned); the head
    /// is 0 for an org that never wrote (or does not exist).
    pub async fn event_bounds(&self, org_id: &str) -> Result<(Option<u64>, u64), StoreError> {
        let row: Option<(i64, Option<i64>)> = sqlx::query_as(
            "SELECT o.event_seq, (SELECT MIN(e.seq) FROM events e WHERE e.org_id = o.id)
             FROM orgs o WHERE o.id = $1",
        )
        .bind(org_id)
        .fetch_optional(&self.read)
        .await?;
        let to_u64 = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(match row {
            Some((head, oldest)) => (oldest.map(to_u64), to_u64(head)),
            None => (None, 0),
        })
    }

    /// The log heads (`event_seq`) of the orgs in `org_ids` that exist.
    pub async fn heads(&self, org_ids: &[&str]) -> Result<Vec<(String, u64)>, StoreError> {
        if org_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = Sql::new("SELECT id, event_seq FROM orgs WHERE id IN (");
        let mut list = q.separated(", ");
        for id in org_ids {
            list.push_bind(*id);
        }
        list.push_unseparated(")");
        let rows: Vec<(String, i64)> = q.fetch_all(&self.read).await?;
        Ok(rows
            .into_iter()
            .map(|(id, head)| (id, u64::try_from(head).unwrap_or(0)))
            .collect())
    }

    /// Delete events created before `cutoff`; returns how many went. Works
    /// in batches so writers are never held up for long.
    #[tracing::instrument(skip_all, err)]
    pub async fn prune_events(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut pruned = 0;
        loop {
            let done = sqlx::query(
                "DELETE FROM events WHERE (org_id, seq) IN
                     (SELECT org_id, seq FROM events WHERE created_at < $1 LIMIT $2)",
            )
            .bind(cutoff.timestamp_millis())
            .bind(PRUNE_BATCH)
            .execute(&self.write)
            .await?;
            pruned += done.rows_affected();
            if done.rows_affected() < PRUNE_BATCH as u64 {
                // The replay records go with the events of their time: a
                // client that stayed away longer re-snapshots anyway.
                sqlx::query("DELETE FROM mutations WHERE created_at < $1")
                    .bind(cutoff.timestamp_millis())
                    .execute(&self.write)
                    .await?;
                return Ok(pruned);
            }
        }
    }
}

/// The hub reads the log through the same queries as everything else; the
/// store's error becomes a [`LogError`] whose text is only ever logged.
impl EventLog for Store {
    fn events_after<'a>(
        &'a self,
        org_id: &'a str,
        after_seq: u64,
        limit: usize,
    ) -> LogFuture<'a, Vec<Event>> {
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        Box::pin(async move {
            Store::events_after(self, org_id, after_seq, limit)
                .await
                .map_err(LogError::new)
        })
    }

    fn epoch(&self) -> Option<&str> {
        Some(Store::epoch(self))
    }

    fn event_bounds<'a>(&'a self, org_id: &'a str) -> LogFuture<'a, (Option<u64>, u64)> {
        Box::pin(async move {
            Store::event_bounds(self, org_id)
                .await
                .map_err(LogError::new)
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[tokio::test]
    async fn pruning_removes_every_old_event_across_batches_and_keeps_new_ones() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        sqlx::query(
            "INSERT INTO orgs (id, name, created_at, event_seq) VALUES ('o', 'O', 0, 25005)",
        )
        .execute(&store.write)
        .await
        .unwrap();
        let now = Utc::now().timestamp_millis();
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 25005)
             INSERT INTO events (org_id, seq, property_id, kind, payload, created_at)
             SELECT 'o', i, 'p', 'transaction.added', '{}', CASE WHEN i <= 25000 THEN 0 ELSE $1 END FROM n",
        )
        .bind(now)
        .execute(&store.write)
        .await
        .unwrap();
        let pruned = store
            .prune_events(Utc::now() - TimeDelta::days(1))
            .await
            .unwrap();
        assert_eq!(pruned, 25_000);
        assert_eq!(
            store.event_bounds("o").await.unwrap(),
            (Some(25_001), 25_005)
        );
    }
}
