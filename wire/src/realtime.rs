//! Realtime events and the long-poll response.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::Transaction;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventType {
    #[serde(rename = "transaction.added")]
    Added,
    #[serde(rename = "transaction.updated")]
    Updated,
    #[serde(rename = "transaction.deleted")]
    Deleted,
    #[serde(rename = "transaction.approved")]
    Approved,
    #[serde(rename = "transaction.rejected")]
    Rejected,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "transaction.added",
            EventType::Updated => "transaction.updated",
            EventType::Deleted => "transaction.deleted",
            EventType::Approved => "transaction.approved",
            EventType::Rejected => "transaction.rejected",
        }
    }
}

/// The row an event carries: the whole transaction, or only its id when it
/// was deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventRow {
    Transaction(Box<Transaction>),
    Deleted { id: String },
}

impl EventRow {
    pub fn id(&self) -> &str {
        match self {
            EventRow::Transaction(t) => &t.id,
            EventRow::Deleted { id } => id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    /// Per org, gap-free, starting at 1.
    pub seq: u64,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub property_id: String,
    pub row: EventRow,
    pub client_mutation_id: Option<String>,
    /// The report dates whose aggregates this event changes (old and new
    /// `occurred_on` of an edit).
    pub affected_report_dates: Vec<NaiveDate>,
    pub at: DateTime<Utc>,
}

/// `GET /v1/realtime/poll`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PollResponse {
    pub events: Vec<Event>,
    /// Pass back as `cursor=` on the next poll.
    pub cursor: String,
    /// The cursor was older than anything the server holds: re-snapshot.
    pub reset: bool,
    /// Set when the org's waiter cap was reached: wait this long (plus
    /// jitter) before polling again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deleted_row_is_just_an_id_and_parses_back() {
        let json = serde_json::json!({
            "seq": 7, "type": "transaction.deleted", "property_id": "p1",
            "row": {"id": "t1"}, "client_mutation_id": null,
            "affected_report_dates": ["2026-11-27"], "at": "2026-11-27T10:00:00Z"
        });
        let e: Event = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(e.kind, EventType::Deleted);
        assert_eq!(e.row, EventRow::Deleted { id: "t1".into() });
        assert_eq!(serde_json::to_value(&e).unwrap(), json);
    }
}
