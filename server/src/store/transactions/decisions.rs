//! The decisions: approve and reject, on the version decided on (or on the
//! row as it is now), a rejection with its reason. Like every write, each
//! records its event and history entry with [`super::append_change`].

use ledgerline_wire::{Event, Transaction, TransactionStatus};

use super::{
    append_change, fetch_visible,
    mutations::{record, replayed, MutationOp},
    save,
};
use crate::store::{history::Action, now, settings, Store, StoreError, Visible};

/// An approve or reject: the status, the version it was decided on (`None`:
/// whatever the row is at now), the reason of a rejection, and the
/// `client_mutation_id` that makes it idempotent.
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub status: TransactionStatus,
    pub version: Option<i64>,
    pub reason: Option<String>,
    pub client_mutation_id: Option<String>,
}

impl Store {
    /// Approve or reject. Deciding what a row already has (the same status,
    /// and for a rejection no new reason) changes nothing and records no
    /// event (`None`). With `change.version`, a row at another version is a
    /// 409; without it the decision applies to the row as it is now.
    #[tracing::instrument(skip_all, fields(org_id = %org_id), err(level = "debug"))]
    pub async fn set_status(
        &self,
        org_id: &str,
        user_id: &str,
        id: &str,
        change: &StatusChange,
        visible: Visible<'_>,
    ) -> Result<(Transaction, Option<Event>), StoreError> {
        let op = match change.status {
            TransactionStatus::Rejected => MutationOp::Reject,
            _ => MutationOp::Approve,
        };
        let cmid = change.client_mutation_id.as_deref();
        let outcome = self
            .set_status_once(org_id, user_id, id, change, op, visible)
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
        user_id: &str,
        id: &str,
        change: &StatusChange,
        op: MutationOp,
        visible: Visible<'_>,
    ) -> Result<(Transaction, Option<Event>), StoreError> {
        let mut tx = self.write.begin().await?;
        let cmid = change.client_mutation_id.as_deref();
        if let Some(cmid) = cmid {
            if let Some(done) = replayed(&mut *tx, org_id, cmid, op, id, visible).await? {
                tx.rollback().await?;
                let t = done.ok_or_else(|| {
                    StoreError::Corrupt(format!("status of {id} recorded without its row"))
                })?;
                return Ok((t, None));
            }
        }
        let reason = match change.status {
            TransactionStatus::Rejected => change.reason.clone(),
            _ => None,
        };
        // Without a version, a concurrent change that commits between the
        // read and the write is read again and the decision applied to it
        // (or found already made), never a false 409. With one, the
        // decision was about that version only.
        let mut attempts = 0;
        let (before, after, at) = loop {
            let before = fetch_visible(&mut *tx, org_id, id, visible).await?;
            if let Some(version) = change.version {
                if before.version != version {
                    return Err(StoreError::VersionConflict {
                        current: before.version,
                    });
                }
            }
            let unchanged = before.status == change.status
                && (reason.is_none() || reason == before.rejection_reason);
            if unchanged {
                // Nothing to write, but a locked period is still locked.
                settings::check_unlocked(&mut *tx, org_id, &[before.occurred_on]).await?;
                tx.rollback().await?;
                return Ok((before, None));
            }
            let at = now();
            let mut after = before.clone();
            after.status = change.status;
            after.rejection_reason = reason.clone();
            after.version += 1;
            after.updated_at = at;
            match save(&mut tx, org_id, &after, before.version).await {
                Ok(()) => break (before, after, at),
                Err(StoreError::VersionConflict { .. })
                    if change.version.is_none() && attempts < 4 =>
                {
                    attempts += 1
                }
                Err(e) => return Err(e),
            }
        };
        let action = match change.status {
            TransactionStatus::Rejected => Action::Rejected,
            TransactionStatus::Approved => Action::Approved,
            TransactionStatus::Pending => Action::Updated,
        };
        if let Some(cmid) = cmid {
            record(&mut tx, org_id, cmid, op, id, Some(&after)).await?;
        }
        let (from, to) = (Some(&before), Some(&after));
        let event = append_change(&mut tx, org_id, user_id, action, from, to, at).await?;
        tx.commit().await?;
        Ok((after, Some(event)))
    }
}
