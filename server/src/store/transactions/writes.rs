//! The writes: create (idempotent), update (on `version`; an edit of what
//! an approval vouched for sends the row back to pending) and delete; the
//! decisions (approve, reject) are in [`super::decisions`]. Each records
//! its event and history entry with [`super::append_change`].

use ledgerline_wire::{Event, NewTransaction, Transaction, TransactionPatch, TransactionStatus};

use super::{
    append_change, check_property, date_text, fetch_visible, in_scope, lost_race,
    mutations::{record, replayed, MutationOp},
    save,
};
use crate::store::{history::Action, now, Store, StoreError, Visible};

/// The outcome of an idempotent create.
#[derive(Debug)]
pub enum Created {
    /// A new row, and the event recorded with it.
    New(Transaction, Event),
    /// The row an earlier request with the same `client_mutation_id` made.
    Existing(Transaction),
}

/// Who is writing: named in the row's history. Approvers (managers and
/// owners) may also delete an approved row.
#[derive(Debug, Clone, Copy)]
pub struct Deleter<'a> {
    pub user_id: &'a str,
    pub approver: bool,
}

/// Whether an edit from `before` to `after` changes what an approval or a
/// rejection was about: everything but the memo.
fn voids_decision(before: &Transaction, after: &Transaction) -> bool {
    before.kind != after.kind
        || before.property_id != after.property_id
        || before.amount_minor != after.amount_minor
        || before.currency != after.currency
        || before.category != after.category
        || before.occurred_on != after.occurred_on
}

impl Store {
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
            rejection_reason: None,
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
        let event = append_change(
            &mut tx,
            org_id,
            created_by,
            Action::Created,
            None,
            Some(&t),
            at,
        )
        .await?;
        tx.commit().await?;
        Ok(Created::New(t, event))
    }

    /// Apply `patch` if the row is still at `patch.version`. Amount and
    /// currency are validated by the caller. An approved or rejected row
    /// whose amount, currency, date, kind, category or property changes is
    /// pending again.
    #[tracing::instrument(skip_all, fields(org_id = %org_id), err(level = "debug"))]
    pub async fn update_transaction(
        &self,
        org_id: &str,
        user_id: &str,
        id: &str,
        patch: &TransactionPatch,
        visible: Visible<'_>,
    ) -> Result<(Transaction, Option<Event>), StoreError> {
        let cmid = patch.client_mutation_id.as_deref();
        let outcome = self.update_once(org_id, user_id, id, patch, visible).await;
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

    async fn update_once(
        &self,
        org_id: &str,
        user_id: &str,
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
        if after.status != TransactionStatus::Pending && voids_decision(&before, &after) {
            after.status = TransactionStatus::Pending;
            after.rejection_reason = None;
        }
        after.version += 1;
        after.updated_at = at;
        save(&mut tx, org_id, &after, before.version).await?;
        if let Some(cmid) = &patch.client_mutation_id {
            record(&mut tx, org_id, cmid, MutationOp::Update, id, Some(&after)).await?;
        }
        let (from, to) = (Some(&before), Some(&after));
        let event = append_change(&mut tx, org_id, user_id, Action::Updated, from, to, at).await?;
        tx.commit().await?;
        Ok((after, Some(event)))
    }

    /// Delete a row; its event carries only the id. An approved row is for
    /// approvers to delete.
    #[tracing::instrument(skip_all, fields(org_id = %org_id), err(level = "debug"))]
    pub async fn delete_transaction(
        &self,
        org_id: &str,
        by: Deleter<'_>,
        id: &str,
        cmid: Option<&str>,
        visible: Visible<'_>,
    ) -> Result<Option<Event>, StoreError> {
        let outcome = self.delete_once(org_id, by, id, cmid, visible).await;
        Ok(self
            .or_replayed(outcome, org_id, cmid, MutationOp::Delete, id, visible)
            .await?
            .unwrap_or(None))
    }

    async fn delete_once(
        &self,
        org_id: &str,
        by: Deleter<'_>,
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
            if before.status == TransactionStatus::Approved && !by.approver {
                return Err(StoreError::Forbidden(
                    "only managers and owners delete an approved transaction",
                ));
            }
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
        let event = append_change(
            &mut tx,
            org_id,
            by.user_id,
            Action::Deleted,
            Some(&before),
            None,
            now(),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledgerline_wire::TransactionKind;

    fn row() -> Transaction {
        crate::store::transactions::sample_row()
    }

    /// A named edit of one field.
    type Edit = (&'static str, fn(&mut Transaction));

    #[test]
    fn every_field_an_approval_vouches_for_voids_it_and_the_memo_does_not() {
        let before = row();
        let edits: [Edit; 6] = [
            ("kind", |t| t.kind = TransactionKind::Revenue),
            ("property", |t| t.property_id = "p2".into()),
            ("amount", |t| t.amount_minor = 999_999),
            ("currency", |t| t.currency = "EUR".parse().unwrap()),
            ("category", |t| t.category = "Other".into()),
            ("date", |t| {
                t.occurred_on = t.occurred_on.succ_opt().unwrap()
            }),
        ];
        for (what, edit) in edits {
            let mut after = before.clone();
            edit(&mut after);
            assert!(voids_decision(&before, &after), "{what}");
        }
        let mut memo_only = before.clone();
        memo_only.memo = "boiler, second visit".into();
        assert!(!voids_decision(&before, &memo_only));
    }
}
