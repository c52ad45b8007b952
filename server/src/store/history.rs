//! Every change to a transaction, recorded in the same database transaction
//! as the change: who, when, the action, and each changed field from → to.
//! Keyed by the change's event seq (one event per change), so the history
//! is in commit order. Kept for good: retention prunes the event log, not
//! this.

use std::collections::BTreeMap;

use ledgerline_wire::{Actor, Event, HistoryAction, HistoryItem, Transaction};
use serde_json::Value;
use sqlx::{Any, Transaction as DbTx};

use super::{from_millis, transactions::in_scope, Store, StoreError, Visible};

pub(crate) use ledgerline_wire::HistoryAction as Action;

/// The fields a history entry compares, in the wire's names.
pub const FIELDS: [&str; 9] = [
    "kind",
    "property_id",
    "amount_minor",
    "currency",
    "category",
    "memo",
    "occurred_on",
    "status",
    "rejection_reason",
];

/// Each of [`FIELDS`] that differs between `before` and `after` (`None`:
/// the row did not exist), as `[from, to]`.
fn changes(
    before: Option<&Transaction>,
    after: Option<&Transaction>,
) -> Result<BTreeMap<String, (Value, Value)>, StoreError> {
    let as_map = |t: Option<&Transaction>| -> Result<serde_json::Map<String, Value>, StoreError> {
        Ok(match t.map(serde_json::to_value).transpose()? {
            Some(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        })
    };
    let (before, after) = (as_map(before)?, as_map(after)?);
    let mut out = BTreeMap::new();
    for field in FIELDS {
        let from = before.get(field).cloned().unwrap_or(Value::Null);
        let to = after.get(field).cloned().unwrap_or(Value::Null);
        if from != to {
            out.insert(field.to_owned(), (from, to));
        }
    }
    Ok(out)
}

/// Records the change `event` made to a row (`before` → `after`), by
/// `actor_id`, inside the write's transaction.
pub(crate) async fn record(
    tx: &mut DbTx<'_, Any>,
    org_id: &str,
    event: &Event,
    actor_id: &str,
    action: Action,
    before: Option<&Transaction>,
    after: Option<&Transaction>,
) -> Result<(), StoreError> {
    let row = after.or(before).ok_or_else(|| {
        StoreError::Corrupt("a history entry needs the row before or after".into())
    })?;
    sqlx::query(
        "INSERT INTO history (org_id, seq, transaction_id, property_id, actor_id, action,
             changes, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(org_id)
    .bind(i64::try_from(event.seq).map_err(|_| StoreError::Corrupt("seq past i64".into()))?)
    .bind(&row.id)
    .bind(&row.property_id)
    .bind(actor_id)
    .bind(action.as_str())
    .bind(serde_json::to_string(&changes(before, after)?)?)
    .bind(event.at.timestamp_millis())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

type HistoryRow = (i64, String, Option<String>, String, String, String);

impl Store {
    /// The history of row `id`, oldest first, if the caller may see the row:
    /// where it is now, or for a deleted row where it was last.
    pub async fn history(
        &self,
        org_id: &str,
        id: &str,
        visible: Visible<'_>,
    ) -> Result<Vec<HistoryItem>, StoreError> {
        // One read transaction: the row's place and its history agree.
        let mut tx = self.read.begin().await?;
        let current: Option<String> = sqlx::query_scalar(
            "SELECT property_id FROM transactions WHERE id = $1 AND org_id = $2",
        )
        .bind(id)
        .bind(org_id)
        .fetch_optional(&mut *tx)
        .await?;
        let rows: Vec<HistoryRow> = sqlx::query_as(
            "SELECT h.at, h.actor_id, u.name, h.action, h.changes, h.property_id
             FROM history h LEFT JOIN users u ON u.id = h.actor_id
             WHERE h.org_id = $1 AND h.transaction_id = $2 ORDER BY h.seq",
        )
        .bind(org_id)
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let place = current.or_else(|| rows.last().map(|r| r.5.clone()));
        match place {
            Some(p) if in_scope(visible, &p) => {}
            _ => return Err(StoreError::NotFound),
        }
        rows.into_iter()
            .map(|(at, actor_id, name, action, changes, _)| {
                Ok(HistoryItem {
                    at: from_millis(at)
                        .ok_or_else(|| StoreError::Corrupt(format!("history time {at}")))?,
                    action: HistoryAction::parse(&action)
                        .ok_or_else(|| StoreError::Corrupt(format!("history action {action:?}")))?,
                    changes: serde_json::from_str(&changes)?,
                    by: Actor {
                        name: name.unwrap_or_default(),
                        id: actor_id,
                    },
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledgerline_wire::TransactionStatus;
    use serde_json::json;

    fn row() -> Transaction {
        crate::store::transactions::sample_row()
    }

    #[test]
    fn an_edit_lists_only_what_changed() {
        let before = row();
        let mut after = before.clone();
        after.amount_minor = 999_999;
        after.status = TransactionStatus::Pending;
        after.version = 4;
        let c = changes(Some(&before), Some(&after)).unwrap();
        assert_eq!(
            c.into_iter().collect::<Vec<_>>(),
            vec![
                ("amount_minor".to_owned(), (json!(1000), json!(999_999))),
                ("status".to_owned(), (json!("approved"), json!("pending"))),
            ]
        );
    }

    #[test]
    fn a_create_and_a_delete_compare_with_nothing() {
        let t = row();
        let created = changes(None, Some(&t)).unwrap();
        assert_eq!(created["amount_minor"], (Value::Null, json!(1000)));
        // An empty memo is still a value; a missing reason is not a change.
        assert_eq!(created["memo"], (Value::Null, json!("")));
        assert!(!created.contains_key("rejection_reason"));
        let deleted = changes(Some(&t), None).unwrap();
        assert_eq!(deleted["occurred_on"], (json!("2026-11-02"), Value::Null));
        assert_eq!(deleted.len(), 8);
    }
}
