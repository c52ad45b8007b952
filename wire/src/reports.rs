//! The derived aggregates, computed in SQL on the server and debounced by the
//! desktop core. All sums are integer minor units.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::Currency;

/// `GET /v1/reports/profit-loss?from=&to=&property_id=`. Rejected
/// transactions are not counted; pending and approved are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfitLoss {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub revenue_minor: i64,
    pub expense_minor: i64,
    pub net_minor: i64,
    pub currency: Currency,
    /// One entry per day that has at least one counted transaction, ascending.
    pub by_day: Vec<DayTotals>,
    /// One entry per (kind, category), ordered by kind then category.
    pub by_category: Vec<CategoryTotals>,
    /// The org's event seq these totals reflect: every change up to and
    /// including it is counted, none after it.
    #[serde(default)]
    pub as_of_seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayTotals {
    pub date: NaiveDate,
    pub revenue_minor: i64,
    pub expense_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CategoryTotals {
    pub kind: crate::TransactionKind,
    pub category: String,
    pub amount_minor: i64,
}

/// `GET /v1/approvals/daily?date=&property_id=`: transactions that occurred
/// on `date`, by status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DailyApproval {
    pub date: NaiveDate,
    pub pending: i64,
    pub approved: i64,
    pub rejected: i64,
    pub pending_amount_minor: i64,
    /// The org's event seq these counts reflect.
    #[serde(default)]
    pub as_of_seq: u64,
}

/// `GET /v1/approvals/today-pending?property_id=`: pending transactions that
/// occurred today (server's UTC date).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TodayPending {
    pub date: NaiveDate,
    pub count: i64,
    pub amount_minor: i64,
    /// The org's event seq these counts reflect.
    #[serde(default)]
    pub as_of_seq: u64,
}
