//! The derived aggregates, computed in SQL over integer minor units: profit
//! and loss by day and by category, the daily approval counts, and today's
//! pending. Rejected transactions do not count towards profit and loss.
//! Each report covers one currency (the org's unless asked otherwise).
//!
//! Each report runs in one read snapshot together with the org's event seq,
//! its `as_of_seq`: the totals count every change up to that seq and none
//! after it (SQLite: a read transaction; Postgres: REPEATABLE READ).

use super::sql::Sql;
use chrono::NaiveDate;
use ledgerline_wire::{
    CategoryTotals, Currency, DailyApproval, DayTotals, ProfitLoss, TransactionKind,
};

use sqlx::{Any, Transaction as DbTx};

use super::{
    transactions::{date_text, parse_date},
    Backend, Store, StoreError, Visible,
};

/// Which rows a report covers.
#[derive(Debug, Clone)]
pub struct ReportScope<'a> {
    pub org_id: &'a str,
    pub currency: Currency,
    pub property_id: Option<&'a str>,
    pub visible: Visible<'a>,
}

impl ReportScope<'_> {
    fn push_where(&self, q: &mut Sql<'_>) {
        q.push(" WHERE org_id = ").push_bind(self.org_id.to_owned());
        q.push(" AND currency = ")
            .push_bind(self.currency.as_str().to_owned());
        if let Some(p) = self.property_id {
            q.push(" AND property_id = ").push_bind(p.to_owned());
        }
        if let Some(ids) = self.visible {
            if ids.is_empty() {
                q.push(" AND 1 = 0");
            } else {
                q.push(" AND property_id IN (");
                let mut list = q.separated(", ");
                for id in ids {
                    list.push_bind(id.clone());
                }
                list.push_unseparated(")");
            }
        }
    }
}

/// A sum past 64 bits is [`StoreError::Overflow`], not a database failure
/// (SQLite: "integer overflow"; Postgres: "bigint out of range").
fn sum_error(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        let message = db.message();
        if message.contains("integer overflow") || message.contains("out of range") {
            return StoreError::Overflow;
        }
    }
    e.into()
}

impl Store {
    /// A read-only snapshot of the database, and the org's seq in it.
    async fn snapshot(&self, org_id: &str) -> Result<(DbTx<'static, Any>, u64), StoreError> {
        let mut tx = self.read.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        let seq: Option<i64> = sqlx::query_scalar("SELECT event_seq FROM orgs WHERE id = $1")
            .bind(org_id)
            .fetch_optional(&mut *tx)
            .await?;
        Ok((tx, seq.and_then(|s| u64::try_from(s).ok()).unwrap_or(0)))
    }

    pub async fn profit_loss(
        &self,
        scope: &ReportScope<'_>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<ProfitLoss, StoreError> {
        let mut q = Sql::new(
            "SELECT occurred_on,
                CAST(COALESCE(SUM(CASE WHEN kind = 'revenue' THEN amount_minor ELSE 0 END), 0) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN kind = 'expense' THEN amount_minor ELSE 0 END), 0) AS BIGINT)
             FROM transactions",
        );
        scope.push_where(&mut q);
        q.push(" AND status <> 'rejected' AND occurred_on >= ")
            .push_bind(date_text(from));
        q.push(" AND occurred_on <= ").push_bind(date_text(to));
        q.push(" GROUP BY occurred_on ORDER BY occurred_on");
        let (mut tx, as_of_seq) = self.snapshot(scope.org_id).await?;
        let days: Vec<(String, i64, i64)> = q.fetch_all(&mut *tx).await.map_err(sum_error)?;

        let mut q = Sql::new(
            "SELECT kind, category, CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM transactions",
        );
        scope.push_where(&mut q);
        q.push(" AND status <> 'rejected' AND occurred_on >= ")
            .push_bind(date_text(from));
        q.push(" AND occurred_on <= ").push_bind(date_text(to));
        q.push(
            " GROUP BY kind, category
              ORDER BY CASE kind WHEN 'revenue' THEN 0 ELSE 1 END, category",
        );
        let categories: Vec<(String, String, i64)> =
            q.fetch_all(&mut *tx).await.map_err(sum_error)?;
        tx.commit().await?;

        let mut revenue_minor = 0i64;
        let mut expense_minor = 0i64;
        let mut by_day = Vec::with_capacity(days.len());
        for (date, revenue, expense) in days {
            revenue_minor = revenue_minor
                .checked_add(revenue)
                .ok_or(StoreError::Overflow)?;
            expense_minor = expense_minor
                .checked_add(expense)
                .ok_or(StoreError::Overflow)?;
            by_day.push(DayTotals {
                date: parse_date(&date)
                    .ok_or_else(|| StoreError::Corrupt(format!("date {date:?}")))?,
                revenue_minor: revenue,
                expense_minor: expense,
            });
        }
        let by_category = categories
            .into_iter()
            .map(|(kind, category, amount_minor)| {
                Ok(CategoryTotals {
                    kind: TransactionKind::parse(&kind)
                        .ok_or_else(|| StoreError::Corrupt(format!("kind {kind:?}")))?,
                    category,
                    amount_minor,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(ProfitLoss {
            from,
            to,
            revenue_minor,
            expense_minor,
            net_minor: revenue_minor
                .checked_sub(expense_minor)
                .ok_or(StoreError::Overflow)?,
            currency: scope.currency,
            by_day,
            by_category,
            as_of_seq,
        })
    }

    /// Transactions that occurred on `date`, counted by status.
    pub async fn daily_approval(
        &self,
        scope: &ReportScope<'_>,
        date: NaiveDate,
    ) -> Result<DailyApproval, StoreError> {
        let mut q = Sql::new(
            "SELECT
                COUNT(CASE WHEN status = 'pending' THEN 1 END),
                COUNT(CASE WHEN status = 'approved' THEN 1 END),
                COUNT(CASE WHEN status = 'rejected' THEN 1 END),
                CAST(COALESCE(SUM(CASE WHEN status = 'pending' THEN amount_minor ELSE 0 END), 0) AS BIGINT)
             FROM transactions",
        );
        scope.push_where(&mut q);
        q.push(" AND occurred_on = ").push_bind(date_text(date));
        let (mut tx, as_of_seq) = self.snapshot(scope.org_id).await?;
        let (pending, approved, rejected, pending_amount_minor): (i64, i64, i64, i64) =
            q.fetch_one(&mut *tx).await.map_err(sum_error)?;
        tx.commit().await?;
        Ok(DailyApproval {
            date,
            pending,
            approved,
            rejected,
            pending_amount_minor,
            as_of_seq,
        })
    }

    /// Pending transactions that occurred on `date`: `(count,
    /// amount_minor, as_of_seq)`.
    pub async fn pending_on(
        &self,
        scope: &ReportScope<'_>,
        date: NaiveDate,
    ) -> Result<(i64, i64, u64), StoreError> {
        let mut q = Sql::new(
            "SELECT COUNT(*), CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM transactions",
        );
        scope.push_where(&mut q);
        q.push(" AND status = 'pending' AND occurred_on = ")
            .push_bind(date_text(date));
        let (mut tx, as_of_seq) = self.snapshot(scope.org_id).await?;
        let (count, amount_minor): (i64, i64) = q.fetch_one(&mut *tx).await.map_err(sum_error)?;
        tx.commit().await?;
        Ok((count, amount_minor, as_of_seq))
    }
}
