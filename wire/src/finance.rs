//! Transactions (revenues and expenses), the bodies that create and change
//! them, and the keyset-paginated list page.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::Currency;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TransactionKind {
    Revenue,
    Expense,
}

impl TransactionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransactionKind::Revenue => "revenue",
            TransactionKind::Expense => "expense",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "revenue" => Some(TransactionKind::Revenue),
            "expense" => Some(TransactionKind::Expense),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TransactionStatus {
    Pending,
    Approved,
    Rejected,
}

impl TransactionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TransactionStatus::Pending => "pending",
            TransactionStatus::Approved => "approved",
            TransactionStatus::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(TransactionStatus::Pending),
            "approved" => Some(TransactionStatus::Approved),
            "rejected" => Some(TransactionStatus::Rejected),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Transaction {
    pub id: String,
    pub kind: TransactionKind,
    pub property_id: String,
    pub amount_minor: i64,
    pub currency: Currency,
    pub category: String,
    pub memo: String,
    pub occurred_on: NaiveDate,
    pub status: TransactionStatus,
    /// Starts at 1; every change increments it. `PATCH` must send the
    /// version it read, or gets 409.
    pub version: i64,
    pub client_mutation_id: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Why it was rejected, when the approver said so; only on a rejected
    /// row (approving or sending it back to pending clears it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
}

/// `POST /v1/transactions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewTransaction {
    pub kind: TransactionKind,
    pub property_id: String,
    #[serde(deserialize_with = "crate::whole::i64")]
    pub amount_minor: i64,
    pub currency: Currency,
    pub category: String,
    #[serde(default)]
    pub memo: String,
    pub occurred_on: NaiveDate,
    /// Makes the create idempotent: the same id again returns the same row.
    pub client_mutation_id: Option<String>,
}

/// `PATCH /v1/transactions/{id}`: any subset of the editable fields, plus the
/// `version` the change was based on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransactionPatch {
    #[serde(deserialize_with = "crate::whole::i64")]
    pub version: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<TransactionKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property_id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::whole::option_i64"
    )]
    pub amount_minor: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_on: Option<NaiveDate>,
    /// Makes the update idempotent: a replay of one the server already
    /// applied is answered with that update's result, not a 409.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_mutation_id: Option<String>,
}

/// `GET /v1/transactions`: one page, newest first; `next` is the opaque
/// `after=` value of the following page, or null at the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransactionPage {
    pub items: Vec<Transaction>,
    pub next: Option<String>,
}
