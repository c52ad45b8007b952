//! A transaction's history: every change, who made it, and each changed
//! field from → to (`GET /v1/transactions/{id}/history`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a change did to the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum HistoryAction {
    Created,
    Updated,
    Deleted,
    Approved,
    Rejected,
}

impl HistoryAction {
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryAction::Created => "created",
            HistoryAction::Updated => "updated",
            HistoryAction::Deleted => "deleted",
            HistoryAction::Approved => "approved",
            HistoryAction::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "created" => HistoryAction::Created,
            "updated" => HistoryAction::Updated,
            "deleted" => HistoryAction::Deleted,
            "approved" => HistoryAction::Approved,
            "rejected" => HistoryAction::Rejected,
            _ => return None,
        })
    }
}

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Actor {
    pub id: String,
    pub name: String,
}

/// One change: each field it changed maps to `[from, to]` (`null` for a
/// field that did not exist before a create or after a delete).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryItem {
    pub at: DateTime<Utc>,
    pub by: Actor,
    pub action: HistoryAction,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub changes: BTreeMap<String, (serde_json::Value, serde_json::Value)>,
}

/// `GET /v1/transactions/{id}/history`: oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct History {
    pub items: Vec<HistoryItem>,
}

/// `GET` and `PUT /v1/settings/lock-date`: no row on or before `lock_date`
/// may change; `null` when the org has no lock date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LockDate {
    /// Required, `null` included: `{}` is refused rather than read as "no
    /// lock date".
    #[serde(deserialize_with = "Option::deserialize")]
    pub lock_date: Option<chrono::NaiveDate>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_reads_as_field_to_from_and_to() {
        let json = serde_json::json!({
            "at": "2026-11-27T10:00:00Z", "by": {"id": "u1", "name": "Ada"},
            "action": "updated",
            "changes": {"amount_minor": [1000, 999999], "status": ["approved", "pending"]}
        });
        let item: HistoryItem = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(item.action, HistoryAction::Updated);
        assert_eq!(
            item.changes["status"],
            (serde_json::json!("approved"), serde_json::json!("pending"))
        );
        assert_eq!(serde_json::to_value(&item).unwrap(), json);
    }

    #[test]
    fn a_lock_date_body_takes_only_lock_date() {
        let ok: LockDate = serde_json::from_str(r#"{"lock_date": null}"#).unwrap();
        assert_eq!(ok.lock_date, None);
        assert!(serde_json::from_str::<LockDate>(r#"{"lock_date": null, "x": 1}"#).is_err());
        assert!(serde_json::from_str::<LockDate>(r#"{"lock_date": "31/10/2026"}"#).is_err());
        assert!(serde_json::from_str::<LockDate>("{}").is_err());
    }
}
