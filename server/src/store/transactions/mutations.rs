//! The replay record of idempotent writes: each update, delete, approve or
//! reject that carries a `client_mutation_id` is recorded in `mutations` in
//! the same transaction as the change, with the row it returned, so a
//! replay (its response was lost; the client sends it again) is answered
//! with that result instead of being applied twice or refused.

use ledgerline_wire::Transaction;
use sqlx::{Any, Transaction as DbTx};

use super::{in_scope, Row, COLUMNS};
use crate::store::{now, Store, StoreError, Visible};

/// A write that carries a `client_mutation_id` — which one, and how it
/// is recorded in `mutations` so a replay is answered with its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MutationOp {
    Update,
    Delete,
    Approve,
    Reject,
}

impl MutationOp {
    pub(super) fn as_str(self) -> &'static str {
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
pub(super) async fn replayed<'e, E>(
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
pub(super) async fn record(
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

impl Store {
    pub(super) async fn by_mutation_id(
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

    /// A write that lost a race or failed on its record may have lost it to
    /// an earlier send of itself (a replay that overtook or ran beside the
    /// first send): answer with that one's result (`Err(result)`) if so.
    pub(super) async fn or_replayed<T>(
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
}
