//! The org's settings. Today one: the lock date (Xero's lock date,
//! QuickBooks' closing date) — no row whose `occurred_on` is on or before it
//! is created, changed, deleted, approved or rejected, whoever asks; the
//! owner moves the date first. The check itself is in
//! [`super::events::append`], under the org's row lock.

use chrono::NaiveDate;
use ledgerline_wire::{Event, EventRow, EventType};
use sqlx::Any;

use super::{
    events::{self, NewEvent},
    now,
    transactions::{date_text, parse_date},
    Store, StoreError,
};

/// The stored text of a lock date, parsed.
pub(crate) fn parse_lock_date(text: Option<String>) -> Result<Option<NaiveDate>, StoreError> {
    text.map(|t| parse_date(&t).ok_or_else(|| StoreError::Corrupt(format!("lock date {t:?}"))))
        .transpose()
}

/// The org's lock date (`None` inside: it has none); NotFound without the org.
async fn read_lock_date<'e, E>(executor: E, org_id: &str) -> Result<Option<NaiveDate>, StoreError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let text: Option<Option<String>> =
        sqlx::query_scalar("SELECT lock_date FROM orgs WHERE id = $1")
            .bind(org_id)
            .fetch_optional(executor)
            .await?;
    parse_lock_date(text.ok_or(StoreError::NotFound)?)
}

/// Refuses when any of `dates` is on or before the org's lock date: for the
/// paths that write nothing (and so never reach `append`).
pub(crate) async fn check_unlocked<'e, E>(
    executor: E,
    org_id: &str,
    dates: &[NaiveDate],
) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    match read_lock_date(executor, org_id).await? {
        Some(lock_date) if dates.iter().any(|d| *d <= lock_date) => {
            Err(StoreError::PeriodLocked { lock_date })
        }
        _ => Ok(()),
    }
}

impl Store {
    /// The org's lock date, if it has one.
    pub async fn lock_date(&self, org_id: &str) -> Result<Option<NaiveDate>, StoreError> {
        read_lock_date(&self.read, org_id).await
    }

    /// Sets (or with `None` clears) the lock date. A change is a
    /// `settings.lock_date` event every reader receives; setting the date
    /// the org already has records nothing (`None`).
    #[tracing::instrument(skip_all, fields(org_id = %org_id), err(level = "debug"))]
    pub async fn set_lock_date(
        &self,
        org_id: &str,
        lock_date: Option<NaiveDate>,
    ) -> Result<Option<Event>, StoreError> {
        let mut tx = self.write.begin().await?;
        if read_lock_date(&mut *tx, org_id).await? == lock_date {
            tx.rollback().await?;
            return Ok(None);
        }
        sqlx::query("UPDATE orgs SET lock_date = $1 WHERE id = $2")
            .bind(lock_date.map(date_text))
            .bind(org_id)
            .execute(&mut *tx)
            .await?;
        let event = events::append(
            &mut tx,
            org_id,
            NewEvent {
                kind: EventType::LockDate,
                property_id: String::new(),
                row: EventRow::LockDate { lock_date },
                client_mutation_id: None,
                affected_report_dates: Vec::new(),
                moved_from_property_id: None,
            },
            now(),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(event))
    }
}
