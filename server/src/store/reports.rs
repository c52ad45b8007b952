//! The derived aggregates, computed in SQL over integer minor units: profit
//! and loss by day and by category, the daily approval counts, and today's
//! pending. Rejected transactions do not count towards profit and loss.
//! Each report covers one currency (the org's unless asked otherwise).

use super::sql::Sql;
use chrono::NaiveDate;
use ledgerline_wire::{
    CategoryTotals, Currency, DailyApproval, DayTotals, ProfitLoss, TransactionKind,
};

use super::{
    transactions::{date_text, parse_date},
    Store, StoreError, Visible,
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
        let days: Vec<(String, i64, i64)> = q.fetch_all(&self.read).await.map_err(sum_error)?;

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
            q.fetch_all(&self.read).await.map_err(sum_error)?;

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
        let (pending, approved, rejected, pending_amount_minor): (i64, i64, i64, i64) =
            q.fetch_one(&self.read).await.map_err(sum_error)?;
        Ok(DailyApproval {
            date,
            pending,
            approved,
            rejected,
            pending_amount_minor,
        })
    }

    /// Pending transactions that occurred on `date`: `(count, amount_minor)`.
    pub async fn pending_on(
        &self,
        scope: &ReportScope<'_>,
        date: NaiveDate,
    ) -> Result<(i64, i64), StoreError> {
        let mut q = Sql::new(
            "SELECT COUNT(*), CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM transactions",
        );
        scope.push_where(&mut q);
        q.push(" AND status = 'pending' AND occurred_on = ")
            .push_bind(date_text(date));
        q.fetch_one(&self.read).await.map_err(sum_error)
    }
}
