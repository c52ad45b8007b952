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
    /// The org's lock date changed; `row` is `{"lock_date"}` and
    /// `property_id` is empty: it concerns every property.
    #[serde(rename = "settings.lock_date")]
    LockDate,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "transaction.added",
            EventType::Updated => "transaction.updated",
            EventType::Deleted => "transaction.deleted",
            EventType::Approved => "transaction.approved",
            EventType::Rejected => "transaction.rejected",
            EventType::LockDate => "settings.lock_date",
        }
    }

    /// Events about the org, not one property's row: every poll sees them,
    /// whatever its property filter.
    pub fn is_org_wide(self) -> bool {
        matches!(self, EventType::LockDate)
    }
}

/// The row an event carries: the whole transaction, or only its id when it
/// was deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventRow {
    Transaction(Box<Transaction>),
    Deleted {
        id: String,
    },
    /// A `settings.lock_date` event: the org's new lock date (null: none).
    LockDate {
        lock_date: Option<NaiveDate>,
    },
}

impl EventRow {
    /// The transaction's id; empty for an org-wide event.
    pub fn id(&self) -> &str {
        match self {
            EventRow::Transaction(t) => &t.id,
            EventRow::Deleted { id } => id,
            EventRow::LockDate { .. } => "",
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
    /// On a `transaction.updated` that moved the row to another property:
    /// the property it left. Present only for readers who may see that
    /// property; a reader who may see it but not the new one receives a
    /// `transaction.deleted` with only the id instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_from_property_id: Option<String>,
}

impl Event {
    /// What a reader who may see the property the row left, but not the one
    /// it moved to, receives instead of this event: a removal that carries
    /// only the id (and the old property and day, for its reports — not
    /// the day it moved to, which is the new property's business).
    pub fn moved_out(&self) -> Option<Event> {
        let from = self.moved_from_property_id.as_ref()?;
        let mut dates = self.affected_report_dates.clone();
        // Old and new `occurred_on`, deduplicated: when they differ, the new
        // one is the row's own date now.
        if let (EventRow::Transaction(t), true) = (&self.row, dates.len() > 1) {
            dates.retain(|d| *d != t.occurred_on);
        }
        Some(Event {
            seq: self.seq,
            kind: EventType::Deleted,
            property_id: from.clone(),
            row: EventRow::Deleted {
                id: self.row.id().to_owned(),
            },
            client_mutation_id: None,
            affected_report_dates: dates,
            at: self.at,
            moved_from_property_id: None,
        })
    }
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

    #[test]
    fn a_lock_date_event_parses_back_and_is_org_wide() {
        let json = serde_json::json!({
            "seq": 8, "type": "settings.lock_date", "property_id": "",
            "row": {"lock_date": "2026-10-31"}, "client_mutation_id": null,
            "affected_report_dates": [], "at": "2026-11-27T10:00:00Z"
        });
        let e: Event = serde_json::from_value(json.clone()).unwrap();
        assert!(e.kind.is_org_wide());
        assert_eq!(
            e.row,
            EventRow::LockDate {
                lock_date: NaiveDate::from_ymd_opt(2026, 10, 31)
            }
        );
        assert_eq!(serde_json::to_value(&e).unwrap(), json);
        let cleared: EventRow =
            serde_json::from_value(serde_json::json!({"lock_date": null})).unwrap();
        assert_eq!(cleared, EventRow::LockDate { lock_date: None });
        // A deletion's row still reads as one, not as a lock date.
        let deleted: EventRow = serde_json::from_value(serde_json::json!({"id": "t1"})).unwrap();
        assert_eq!(deleted, EventRow::Deleted { id: "t1".into() });
    }

    #[test]
    fn a_moved_out_removal_names_only_the_old_property_and_day() {
        let json = serde_json::json!({
            "seq": 9, "type": "transaction.updated", "property_id": "p2",
            "row": {
                "id": "t1", "kind": "expense", "property_id": "p2", "amount_minor": 100,
                "currency": "USD", "category": "Repairs", "memo": "", "occurred_on": "2026-11-25",
                "status": "pending", "version": 2, "client_mutation_id": "m1", "created_by": "u1",
                "created_at": "2026-11-27T10:00:00Z", "updated_at": "2026-11-27T10:00:00Z"
            },
            "client_mutation_id": "m1",
            "affected_report_dates": ["2026-11-20", "2026-11-25"],
            "at": "2026-11-27T10:00:00Z", "moved_from_property_id": "p1"
        });
        let moved: Event = serde_json::from_value(json).unwrap();
        let out = moved.moved_out().expect("a removal");
        assert_eq!(
            serde_json::to_value(&out).unwrap(),
            serde_json::json!({
                "seq": 9, "type": "transaction.deleted", "property_id": "p1",
                "row": {"id": "t1"}, "client_mutation_id": null,
                "affected_report_dates": ["2026-11-20"], "at": "2026-11-27T10:00:00Z"
            })
        );
        // Moved on the same day: that day is the old one too.
        let same_day = Event {
            affected_report_dates: vec![NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()],
            ..moved.clone()
        };
        assert_eq!(
            same_day.moved_out().unwrap().affected_report_dates,
            same_day.affected_report_dates
        );
        let not_moved = Event {
            moved_from_property_id: None,
            ..moved
        };
        assert!(not_moved.moved_out().is_none());
    }
}
