//! Transactions (revenues and expenses): the row and its reads — the
//! keyset-paginated list and one row — and what the writes share. The
//! writes themselves are in [`writes`] (create, update, delete) and
//! [`decisions`] (approve, reject); the replay record of idempotent writes
//! in [`mutations`].
//!
//! Each write runs in one database transaction that checks the caller's
//! scope, changes the row, appends its event and its history entry; it
//! returns the event so the caller can hand it to the realtime hub after
//! commit.

mod decisions;
mod json;
mod mutations;
mod writes;

use chrono::{DateTime, NaiveDate, Utc};
use ledgerline_wire::{
    Event, EventRow, EventType, Transaction, TransactionKind, TransactionStatus,
};
use sqlx::{Any, Transaction as DbTx};

use super::sql::Sql;

use super::{
    events::{self, NewEvent},
    from_millis,
    history::{self, Action},
    Store, StoreError, Visible,
};
use crate::domain::page::PageCursor;

pub use decisions::StatusChange;
pub use json::JsonPage;
pub use writes::{Created, Deleter};

const COLUMNS: &str =
    "id, property_id, kind, amount_minor, currency, category, memo, occurred_on, \
     status, version, client_mutation_id, created_by, created_at, updated_at, rejection_reason";

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
    rejection_reason: Option<String>,
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
            rejection_reason: r.rejection_reason,
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

/// Restrict a query to the caller's visible properties.
pub(super) fn push_scope(q: &mut Sql<'_>, visible: Visible<'_>) {
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

pub(super) fn in_scope(visible: Visible<'_>, property_id: &str) -> bool {
    visible.is_none_or(|v| v.iter().any(|p| p == property_id))
}

/// The org's row `id`, if `visible` lets the caller see it; on the read pool
/// or inside a write transaction.
pub(super) async fn fetch_visible<'e, E>(
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
              category = $5, memo = $6, occurred_on = $7, status = $8, version = $9, updated_at = $10,
             rejection_reason = $11
         WHERE id = $12 AND org_id = $13 AND version = $14",
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
    .bind(&t.rejection_reason)
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

/// Records a change to a row by `by` inside the write's transaction: its
/// event — refused in a locked period, see [`events::append`] — and its
/// history entry. `before` is `None` for a create, `after` for a delete; a
/// row that moved to another property names the one it left.
async fn append_change(
    tx: &mut DbTx<'_, Any>,
    org_id: &str,
    by: &str,
    action: Action,
    before: Option<&Transaction>,
    after: Option<&Transaction>,
    at: DateTime<Utc>,
) -> Result<Event, StoreError> {
    let kind = match action {
        Action::Created => EventType::Added,
        Action::Updated => EventType::Updated,
        Action::Deleted => EventType::Deleted,
        Action::Approved => EventType::Approved,
        Action::Rejected => EventType::Rejected,
    };
    let new = match (before, after) {
        (before, Some(after)) => {
            let before = before.unwrap_or(after);
            NewEvent {
                kind,
                property_id: after.property_id.clone(),
                row: EventRow::Transaction(Box::new(after.clone())),
                client_mutation_id: after.client_mutation_id.clone(),
                affected_report_dates: vec![before.occurred_on, after.occurred_on],
                moved_from_property_id: (before.property_id != after.property_id)
                    .then(|| before.property_id.clone()),
            }
        }
        (Some(before), None) => NewEvent {
            kind,
            property_id: before.property_id.clone(),
            row: EventRow::Deleted {
                id: before.id.clone(),
            },
            client_mutation_id: before.client_mutation_id.clone(),
            affected_report_dates: vec![before.occurred_on],
            moved_from_property_id: None,
        },
        (None, None) => {
            return Err(StoreError::Corrupt(
                "a change needs the row before or after".into(),
            ))
        }
    };
    let event = events::append(tx, org_id, new, at).await?;
    history::record(tx, org_id, &event, by, action, before, after).await?;
    Ok(event)
}

impl Store {
    /// One page, newest first by `(occurred_on, id)`: up to `filter.limit`
    /// rows, decoded. The API serves [`Store::list_transactions_json`]; this
    /// is what its test compares it with.
    #[cfg(test)]
    pub(crate) async fn list_transactions(
        &self,
        org_id: &str,
        filter: &TransactionFilter,
        visible: Visible<'_>,
    ) -> Result<Vec<Transaction>, StoreError> {
        let rows: Vec<Row> = list_query(&format!("SELECT {COLUMNS}"), org_id, filter, visible)
            .fetch_all(&self.read)
            .await?;
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
}

/// `select` (the columns) of the org's rows matching `filter`, newest first.
fn list_query(
    select: &str,
    org_id: &str,
    filter: &TransactionFilter,
    visible: Visible<'_>,
) -> Sql<'static> {
    let mut q = Sql::new(format!("{select} FROM transactions WHERE org_id = "));
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
    // One upper bound, a range on the (…, occurred_on, id) index: the
    // page's key as a row value, or `to` when it is below that key
    // (either implies the other). The key written as `occurred_on < d
    // OR (occurred_on = d AND id < x)` gave SQLite only `occurred_on <=
    // d` to seek by: each page walked past every row of its day before
    // its key, so a snapshot of one busy month was quadratic.
    match (&filter.after, filter.to) {
        (Some(after), Some(to)) if to < after.occurred_on => {
            q.push(" AND occurred_on <= ").push_bind(date_text(to));
        }
        (Some(after), _) => {
            q.push(" AND (occurred_on, id) < (")
                .push_bind(date_text(after.occurred_on))
                .push(", ")
                .push_bind(after.id.clone())
                .push(")");
        }
        (None, Some(to)) => {
            q.push(" AND occurred_on <= ").push_bind(date_text(to));
        }
        (None, None) => {}
    }
    q.push(" ORDER BY occurred_on DESC, id DESC LIMIT ")
        .push_bind(i64::from(filter.limit));
    q
}

/// An approved expense, for the store's unit tests.
#[cfg(test)]
pub(crate) fn sample_row() -> Transaction {
    Transaction {
        id: "t1".into(),
        kind: TransactionKind::Expense,
        property_id: "p1".into(),
        amount_minor: 1000,
        currency: ledgerline_wire::Currency::USD,
        category: "Repairs".into(),
        memo: String::new(),
        occurred_on: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap_or_default(),
        status: TransactionStatus::Approved,
        version: 3,
        client_mutation_id: None,
        created_by: "u1".into(),
        created_at: Utc::now(),
        updated_at: Utc::now(),
        rejection_reason: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What SQLite plans for a list page: the detail lines of `EXPLAIN
    /// QUERY PLAN`.
    async fn plan(filter: &TransactionFilter, visible: Visible<'_>) -> String {
        let store = Store::open("sqlite::memory:").await.unwrap();
        // id, parent, notused, detail
        let rows: Vec<(i64, i64, i64, String)> =
            list_query("EXPLAIN QUERY PLAN SELECT *", "o1", filter, visible)
                .fetch_all(&store.read)
                .await
                .unwrap();
        rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("; ")
    }

    #[tokio::test]
    async fn a_keyset_page_seeks_to_its_key_whatever_the_other_filters() {
        let key = PageCursor {
            occurred_on: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
            id: "t5".into(),
        };
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d);
        for to in [None, day(30), day(2)] {
            let filter = TransactionFilter {
                to,
                after: Some(key.clone()),
                limit: 501,
                ..TransactionFilter::default()
            };
            let plan = plan(&filter, None).await;
            assert!(plan.contains("(occurred_on,id)<(?,?)"), "to {to:?}: {plan}");
            assert!(!plan.contains("TEMP B-TREE"), "to {to:?}: {plan}");
        }
        // `to` below the key bounds the page by itself.
        let filter = TransactionFilter {
            to: day(1),
            after: Some(key),
            limit: 501,
            ..TransactionFilter::default()
        };
        let plan = plan(&filter, None).await;
        assert!(plan.contains("occurred_on<?"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
