//! Transactions (revenues and expenses): the keyset-paginated list, and the
//! writes. Each write runs in one database transaction that checks the
//! caller's scope, changes the row, and appends its event; it returns the
//! event so the caller can hand it to the realtime hub after commit.

use chrono::NaiveDate;
use ledgerline_wire::{
    Event, EventRow, EventType, NewTransaction, Transaction, TransactionKind, TransactionPatch,
    TransactionStatus,
};
use sqlx::{Any, Transaction as DbTx};

use super::sql::Sql;

use super::{
    events::{self, NewEvent},
    from_millis, now, Store, StoreError, Visible,
};
use crate::domain::page::PageCursor;

const COLUMNS: &str =
    "id, property_id, kind, amount_minor, currency, category, memo, occurred_on, \
     status, version, client_mutation_id, created_by, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    property_id: String,
    kind: String,
    amount_minor: i64,
    currency: String,
    category: String,
    memo: String,
    occurred_on: String,
    status: String,
    version: i64,
    client_mutation_id: Option<String>,
    created_by: String,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<Row> for Transaction {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self, StoreError> {
        let bad = |what: &str, v: &str| {
            StoreError::Corrupt(format!("transaction {}: {what} {v:?}", r.id))
        };
        Ok(Transaction {
            kind: TransactionKind::parse(&r.kind).ok_or_else(|| bad("kind", &r.kind))?,
            currency: r
                .currency
                .parse()
                .map_err(|_| bad("currency", &r.currency))?,
            occurred_on: parse_date(&r.occurred_on)
                .ok_or_else(|| bad("occurred_on", &r.occurred_on))?,
            status: TransactionStatus::parse(&r.status).ok_or_else(|| bad("status", &r.status))?,
            created_at: from_millis(r.created_at).ok_or_else(|| bad("created_at", ""))?,
            updated_at: from_millis(r.updated_at).ok_or_else(|| bad("updated_at", ""))?,
            id: r.id,
            property_id: r.property_id,
            amount_minor: r.amount_minor,
            category: r.category,
            memo: r.memo,
            version: r.version,
            client_mutation_id: r.client_mutation_id,
            created_by: r.created_by,
        })
    }
}

pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

pub(crate) fn date_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The list's filters, already validated.
#[derive(Debug, Clone, Default)]
pub struct TransactionFilter {
    pub property_id: Option<String>,
    pub kind: Option<TransactionKind>,
    pub status: Option<TransactionStatus>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub after: Option<PageCursor>,
    pub limit: u32,
}

/// The outcome of an idempotent create.
#[derive(Debug)]
pub enum Created {
    /// A new row, and the event recorded with it.
    New(Transaction, Event),
    /// The row an earlier request with the same `client_mutation_id` made.
    Existing(Transaction),
}

/// A write that carries a `client_mutation_id` — which one, and how it
/// is recorded in `mutations` so a replay is answered with its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MutationOp {
    Update,
    Delete,
    Approve,
    Reject,
}

impl MutationOp {
    fn as_str(self) -> &'static str {
        match self {
            MutationOp::Update => "update",
            MutationOp::Delete => "delete",
            MutationOp::Approve => "approve",
            MutationOp::Reject => "reject",
        }
    }
}

/// What an earlier write with this `client_mutation_id` did: `Some(row)` it
/// returned (`None` for a delete). Err when the id was used for another write.
async fn replayed<'e, E>(
    executor: E,
    org_id: &str,
    cmid: &str,
    op: MutationOp,
    target_id: &str,
    visible: Visible<'_>,
) -> Result<Option<Option<Transaction>>, StoreError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let found: Option<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT op, target_id, result FROM mutations WHERE org_id = $1 AND client_mutation_id = $2",
    )
    .bind(org_id)
    .bind(cmid)
    .fetch_optional(executor)
    .await?;
    let Some((done_op, done_target, result)) = found else {
        return Ok(None);
    };
    if done_op != op.as_str() || done_target != target_id {
        return Err(StoreError::MutationReused);
    }
    let result: Option<Transaction> = result.map(|r| serde_json::from_str(&r)).transpose()?;
    if result
        .as_ref()
        .is_some_and(|t| !in_scope(visible, &t.property_id))
    {
        return Err(StoreError::NotFound);
    }
    Ok(Some(result))
}

/// Records a write made under `cmid` in its own transaction.
async fn record(
    tx: &mut DbTx<'_, Any>,
    org_id: &str,
    cmid: &str,
    op: MutationOp,
    target_id: &str,
    result: Option<&Transaction>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO mutations (org_id, client_mutation_id, op, target_id, result, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(org_id)
    .bind(cmid)
    .bind(op.as_str())
    .bind(target_id)
    .bind(result.map(serde_json::to_string).transpose()?)
    .bind(now().timestamp_millis())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Restrict a query to the caller's visible properties.
fn push_scope(q: &mut Sql<'_>, visible: Visible<'_>) {
    if let Some(ids) = visible {
        if ids.is_empty() {
            q.push(" AND 1 = 0");
            return;
        }
        q.push(" AND property_id IN (");
        let mut list = q.separated(", ");
        for id in ids {
            list.push_bind(id.clone());
        }
        list.push_unseparated(")");
    }
}

fn in_scope(visible: Visible<'_>, property_id: &str) -> bool {
    visible.is_none_or(|v| v.iter().any(|p| p == property_id))
}

/// The org's row `id`, if `visible` lets the caller see it; on the read pool
/// or inside a write transaction.
async fn fetch_visible<'e, E>(
    executor: E,
    org_id: &str,
    id: &str,
    visible: Visible<'_>,
) -> Result<Transaction, StoreError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM transactions WHERE id = $1 AND org_id = $2"
    ))
    .bind(id)
    .bind(org_id)
    .fetch_optional(executor)
    .await?;
    let t: Transaction = row.ok_or(StoreError::NotFound)?.try_into()?;
    if !in_scope(visible, &t.property_id) {
        return Err(StoreError::NotFound);
    }
    Ok(t)
}

async fn check_property(
    tx: &mut DbTx<'_, Any>,
    org_id: &str,
    property_id: &str,
    visible: Visible<'_>,
) -> Result<(), StoreError> {
    if !in_scope(visible, property_id) {
        return Err(StoreError::NotFound);
    }
    let found: Option<String> =
        sqlx::query_scalar("SELECT id FROM properties WHERE id = $1 AND org_id = $2")
            .bind(property_id)
            .bind(org_id)
            .fetch_optional(&mut **tx)
            .await?;
    found.map(|_| ()).ok_or(StoreError::NotFound)
}

/// Writes `t` over the row if the row is still at `expected` — the version
/// check is in the UPDATE itself, so under Postgres' READ COMMITTED two
/// writers that read the same version cannot both win: the second waits for
/// the first's row lock, re-checks the condition, and updates nothing.
async fn save(
    tx: &mut DbTx<'_, Any>,
    org_id: &str,
    t: &Transaction,
    expected: i64,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE transactions SET property_id = $1, kind = $2, amount_minor = $3, currency = $4,
             category = $5, memo = $6, occurred_on = $7, status = $8, version = $9, updated_at = $10
         WHERE id = $11 AND org_id = $12 AND version = $13",
    )
    .bind(&t.property_id)
    .bind(t.kind.as_str())
    .bind(t.amount_minor)
    .bind(t.currency.as_str())
    .bind(&t.category)
    .bind(&t.memo)
    .bind(date_text(t.occurred_on))
    .bind(t.status.as_str())
    .bind(t.version)
    .bind(t.updated_at.timestamp_millis())
    .bind(&t.id)
    .bind(org_id)
    .bind(expected)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 1 {
        return Ok(());
    }
    lost_race(tx, org_id, &t.id).await
}

/// A conditional write matched no row: another writer changed the row
/// (409 with its version) or deleted it (404) after we read it.
async fn lost_race<T>(tx: &mut DbTx<'_, Any>, org_id: &str, id: &str) -> Result<T, StoreError> {
    let current: Option<i64> =
        sqlx::query_scalar("SELECT version FROM transactions WHERE id = $1 AND org_id = $2")
            .bind(id)
            .bind(org_id)
            .fetch_optional(&mut **tx)
            .await?;
    Err(match current {
        Some(current) => StoreError::VersionConflict { current },
        None => StoreError::NotFound,
    })
}

fn changed_event(kind: EventType, before: &Transaction, after: &Transaction) -> NewEvent {
    NewEvent {
        kind,
        property_id: after.property_id.clone(),
        row: EventRow::Transaction(Box::new(after.clone())),
        client_mutation_id: after.client_mutation_id.clone(),
        affected_report_dates: vec![before.occurred_on, after.occurred_on],
    }
}

impl Store {
    /// One page, newest first by `(occurred_on, id)`: up to `filter.limit` rows.
    pub async fn list_transactions(
        &self,
        org_id: &str,
        filter: &TransactionFilter,
        visible: Visible<'_>,
    ) -> Result<Vec<Transaction>, StoreError> {
        let mut q = Sql::new(format!(
            "SELECT {COLUMNS} FROM transactions WHERE org_id = "
        ));
        q.push_bind(org_id.to_owned());
        push_scope(&mut q, visible);
        if let Some(p) = &filter.property_id {
            q.push(" AND property_id = ").push_bind(p.clone());
        }
        if let Some(k) = filter.kind {
            q.push(" AND kind = ").push_bind(k.as_str());
        }
        if let Some(s) = filter.status {
            q.push(" AND status = ").push_bind(s.as_str());
        }
        if let Some(from) = filter.from {
            q.push(" AND occurred_on >= ").push_bind(date_text(from));
        }
        if let Some(to) = filter.to {
            q.push(" AND occurred_on <= ").push_bind(date_text(to));
        }
        if let Some(after) = &filter.after {
            let day = date_text(after.occurred_on);
            q.push(" AND (occurred_on < ").push_bind(day.clone());
            q.push(" OR (occurred_on = ").push_bind(day);
            q.push(" AND id < ").push_bind(after.id.clone()).push("))");
        }
        q.push(" ORDER BY occurred_on DESC, id DESC LIMIT ")
            .push_bind(i64::from(filter.limit));
        let rows: Vec<Row> = q.fetch_all(&self.read).await?;
        rows.into_iter().map(Transaction::try_from).collect()
    }

    pub async fn transaction(
        &self,
        org_id: &str,
        id: &str,
        visible: Visible<'_>,
    ) -> Result<Transaction, StoreError> {
        fetch_visible(&self.read, org_id, id, visible).await
    }

    async fn by_mutation_id(
        tx: &mut DbTx<'_, Any>,
        org_id: &str,
        client_mutation_id: &str,
    ) -> Result<Option<Transaction>, StoreError> {
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM transactions WHERE org_id = $1 AND client_mutation_id = $2"
        ))
        .bind(org_id)
        .bind(client_mutation_id)
        .fetch_optional(&mut **tx)
        .await?;
        row.map(Transaction::try_from).transpose()
    }

    /// Create a transaction, or return the one an earlier request with the
    /// same `client_mutation_id` created. Amount and currency are validated
    /// by the caller.
    #[tracing::instrument(skip_all, fields(org_id = %org_id), err(level = "debug"))]
    pub async fn create_transaction(
        &self,
        org_id: &str,
        created_by: &str,
        new: &NewTransaction,
        visible: Visible<'_>,
    ) -> Result<Created, StoreError> {
        let mut tx = self.write.begin().await?;
        if let Some(cmid) = &new.client_mutation_id {
            if let Some(existing) = Self::by_mutation_id(&mut tx, org_id, cmid).await? {
                tx.rollback().await?;
                return if in_scope(visible, &existing.property_id) {
                    Ok(Created::Existing(existing))
                } else {
                    Err(StoreError::NotFound)
                };
            }
        }
        check_property(&mut tx, org_id, &new.property_id, visible).await?;
        let at = now();
        let t = Transaction {
            id: uuid::Uuid::now_v7().to_string(),
            kind: new.kind,
            property_id: new.property_id.clone(),
            amount_minor: new.amount_minor,
            currency: new.currency,
            category: new.category.clone(),
            memo: new.memo.clone(),
            occurred_on: new.occurred_on,
            status: TransactionStatus::Pending,
            version: 1,
            client_mutation_id: new.client_mutation_id.clone(),
            created_by: created_by.to_owned(),
            created_at: at,
            updated_at: at,
        };
        let inserted = sqlx::query(
            "INSERT INTO transactions (id, org_id, property_id, kind, amount_minor, currency,
                 category, memo, occurred_on, status, version, client_mutation_id, created_by,
                 created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(&t.id)
        .bind(org_id)
        .bind(&t.property_id)
        .bind(t.kind.as_str())
        .bind(t.amount_minor)
        .bind(t.currency.as_str())
        .bind(&t.category)
        .bind(&t.memo)
        .bind(date_text(t.occurred_on))
        .bind(t.status.as_str())
        .bind(t.version)
        .bind(&t.client_mutation_id)
        .bind(&t.created_by)
        .bind(at.timestamp_millis())
        .bind(at.timestamp_millis())
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            // A concurrent create with the same client_mutation_id won the
            // race (possible on Postgres, where writers do not queue on one
            // connection): return its row.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                tx.rollback().await?;
                let cmid = new
                    .client_mutation_id
                    .as_deref()
                    .ok_or(StoreError::NotFound)?;
                let mut tx = self.write.begin().await?;
                let existing = Self::by_mutation_id(&mut tx, org_id, cmid).await?;
                tx.rollback().await?;
                return existing
                    .filter(|t| in_scope(visible, &t.property_id))
                    .map(Created::Existing)
                    .ok_or(StoreError::NotFound);
            }
            Err(e) => return Err(e.into()),
        }
        let event = events::append(
            &mut tx,
            org_id,
            NewEvent {
                kind: EventType::Added,
                property_id: t.property_id.clone(),
                row: EventRow::Transaction(Box::new(t.clone())),
                client_mutation_id: t.client_mutation_id.clone(),
                affected_report_dates: vec![t.occurred_on],
            },
            at,
        )
        .await?;
        tx.commit().await?;
        Ok(Created::New(t, event))
    }

    /// Apply `patch` if the row is still at `patch.version`. Amount and
    /// currency are validated by the caller.
    #[tracing::instrument(skip_all, fields(org_id = %org_id), err(level = "debug"))]
    pub async fn update_transaction(
        &self,
        org_id: &str,
        id: &str,
        patch: &TransactionPatch,
        visible: Visible<'_>,
    ) -> Result<(Transaction, Option<Event>), StoreError> {
        let cmid = patch.client_mutation_id.as_deref();
        let outcome = self.update_once(org_id, id, patch, visible).await;
        match self
            .or_replayed(outcome, org_id, cmid, MutationOp::Update, id, visible)
            .await?
        {
            Ok(written) => Ok(written),
            Err(Some(t)) => Ok((t, None)),
            Err(None) => Err(StoreError::Corrupt(format!(
                "update {id} recorded without its row"
            ))),
        }
    }

    /// A write that lost a race or failed on its record may have lost it to
    /// an earlier send of itself (a replay that overtook or ran beside the
    /// first send): answer with that one's result (`Err(result)`) if so.
    async fn or_replayed<T>(
        &self,
        outcome: Result<T, StoreError>,
        org_id: &str,
        cmid: Option<&str>,
        op: MutationOp,
        target_id: &str,
        visible: Visible<'_>,
    ) -> Result<Result<T, Option<Transaction>>, StoreError> {
        match (outcome, cmid) {
            (Ok(t), _) => Ok(Ok(t)),
            (Err(e), Some(cmid)) if e.may_be_replay() => {
                match replayed(&self.write, org_id, cmid, op, target_id, visible).await? {
                    Some(result) => Ok(Err(result)),
                    None => Err(e),
                }
            }
            (Err(e), _) => Err(e),
        }
    }

    async fn update_once(
        &self,
        org_id: &str,
        id: &str,
        patch: &TransactionPatch,
        visible: Visible<'_>,
    ) -> Result<(Transaction, Option<Event>), StoreError> {
        let mut tx = self.write.begin().await?;
        if let Some(cmid) = &patch.client_mutation_id {
            if let Some(done) =
                replayed(&mut *tx, org_id, cmid, MutationOp::Update, id, visible).await?
            {
                tx.rollback().await?;
                let t = done.ok_or_else(|| {
                    StoreError::Corrupt(format!("update {id} recorded without its row"))
                })?;
                return Ok((t, None));
            }
        }
        let before = fetch_visible(&mut *tx, org_id, id, visible).await?;
        if before.version != patch.version {
            return Err(StoreError::VersionConflict {
                current: before.version,
            });
        }
        if let Some(p) = &patch.property_id {
            check_property(&mut tx, org_id, p, visible).await?;
        }
        let at = now();
        let mut after = before.clone();
        if let Some(v) = patch.kind {
            after.kind = v;
        }
        if let Some(v) = &patch.property_id {
            after.property_id = v.clone();
        }
        if let Some(v) = patch.amount_minor {
            after.amount_minor = v;
        }
        if let Some(v) = patch.currency {
            after.currency = v;
        }
        if let Some(v) = &patch.category {
            after.category = v.clone();
        }
        if let Some(v) = &patch.memo {
            after.memo = v.clone();
        }
        if let Some(v) = patch.occurred_on {
            after.occurred_on = v;
        }
        after.version += 1;
        after.updated_at = at;
        save(&mut tx, org_id, &after, before.version).await?;
        if let Some(cmid) = &patch.client_mutation_id {
            record(&mut tx, org_id, cmid, MutationOp::Update, id, Some(&after)).await?;
        }
        let event = events::append(
            &mut tx,
            org_id,
            changed_event(EventType::Updated, &before, &after),
            at,
        )
        .await?;
        tx.commit().await?;
        Ok((after, Some(event)))
    }

    /// Delete a row; its event carries only the id.
    #[tracing::instrument(skip_all, fields(org_id = %org_id), err(level = "debug"))]
    pub async fn delete_transaction(
        &self,
        org_id: &str,
        id: &str,
        cmid: Option<&str>,
        visible: Visible<'_>,
    ) -> Result<Option<Event>, StoreError> {
        let outcome = self.delete_once(org_id, id, cmid, visible).await;
        Ok(self
            .or_replayed(outcome, org_id, cmid, MutationOp::Delete, id, visible)
            .await?
            .unwrap_or(None))
    }

    async fn delete_once(
        &self,
        org_id: &str,
        id: &str,
        cmid: Option<&str>,
        visible: Visible<'_>,
    ) -> Result<Option<Event>, StoreError> {
        let mut tx = self.write.begin().await?;
        if let Some(cmid) = cmid {
            if replayed(&mut *tx, org_id, cmid, MutationOp::Delete, id, visible)
                .await?
                .is_some()
            {
                tx.rollback().await?;
                return Ok(None);
            }
        }
        // Conditional on the version read, so the event describes the row
        // that was really deleted: if a concurrent update committed in
        // between, read the row again (each statement sees the newest
        // commits under READ COMMITTED) and retry; a concurrent delete that
        // committed first makes this one a 404, never a second event.
        let mut attempts = 0;
        let before = loop {
            let before = fetch_visible(&mut *tx, org_id, id, visible).await?;
            let done = sqlx::query(
                "DELETE FROM transactions WHERE id = $1 AND org_id = $2 AND version = $3",
            )
            .bind(id)
            .bind(org_id)
            .bind(before.version)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                break before;
            }
            attempts += 1;
            if attempts == 5 {
                return lost_race(&mut tx, org_id, id).await;
            }
        };
        if let Some(cmid) = cmid {
            record(&mut tx, org_id, cmid, MutationOp::Delete, id, None).await?;
        }
        let event = events::append(
            &mut tx,
            org_id,
            NewEvent {
                kind: EventType::Deleted,
                property_id: before.property_id.clone(),
                row: EventRow::Deleted {
                    id: before.id.clone(),
                },
                client_mutation_id: before.client_mutation_id.clone(),
                affected_report_dates: vec![before.occurred_on],
            },
            now(),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(event))
    }

    /// Approve or reject. Setting the status a row already has changes
    /// nothing and records no event (`None`).
    #[tracing::instrument(skip_all, fields(org_id = %org_id), err(level = "debug"))]
    pub async fn set_status(
        &self,
        org_id: &str,
        id: &str,
        status: TransactionStatus,
        cmid: Option<&str>,
        visible: Visible<'_>,
    ) -> Result<(Transaction, Option<Event>), StoreError> {
        let op = match status {
            TransactionStatus::Rejected => MutationOp::Reject,
            _ => MutationOp::Approve,
        };
        let outcome = self
            .set_status_once(org_id, id, status, op, cmid, visible)
            .await;
        match self
            .or_replayed(outcome, org_id, cmid, op, id, visible)
            .await?
        {
            Ok(written) => Ok(written),
            Err(Some(t)) => Ok((t, None)),
            Err(None) => Err(StoreError::Corrupt(format!(
                "status of {id} recorded without its row"
            ))),
        }
    }

    async fn set_status_once(
        &self,
        org_id: &str,
        id: &str,
        status: TransactionStatus,
        op: MutationOp,
        cmid: Option<&str>,
        visible: Visible<'_>,
    ) -> Result<(Transaction, Option<Event>), StoreError> {
        let mut tx = self.write.begin().await?;
        if let Some(cmid) = cmid {
            if let Some(done) = replayed(&mut *tx, org_id, cmid, op, id, visible).await? {
                tx.rollback().await?;
                let t = done.ok_or_else(|| {
                    StoreError::Corrupt(format!("status of {id} recorded without its row"))
                })?;
                return Ok((t, None));
            }
        }
        // Approve and reject carry no version: a concurrent change that
        // commits between the read and the write is read again and the
        // status applied to it (or found already set), never a false 409.
        let mut attempts = 0;
        let (before, after, at) = loop {
            let before = fetch_visible(&mut *tx, org_id, id, visible).await?;
            if before.status == status {
                tx.rollback().await?;
                return Ok((before, None));
            }
            let at = now();
            let mut after = before.clone();
            after.status = status;
            after.version += 1;
            after.updated_at = at;
            match save(&mut tx, org_id, &after, before.version).await {
                Ok(()) => break (before, after, at),
                Err(StoreError::VersionConflict { .. }) if attempts < 4 => attempts += 1,
                Err(e) => return Err(e),
            }
        };
        let kind = match status {
            TransactionStatus::Rejected => EventType::Rejected,
            TransactionStatus::Approved => EventType::Approved,
            TransactionStatus::Pending => EventType::Updated,
        };
        if let Some(cmid) = cmid {
            record(&mut tx, org_id, cmid, op, id, Some(&after)).await?;
        }
        let event =
            events::append(&mut tx, org_id, changed_event(kind, &before, &after), at).await?;
        tx.commit().await?;
        Ok((after, Some(event)))
    }
}
