//! The shapes windows see, exactly as `docs/desktop-api.md` names them: rows,
//! patches and their batches, the list query, the session, the status badge,
//! the aggregates of a report range, sync progress and the diagnostics panel.
//! All serialize with serde in `snake_case`; the Tauri shell passes them on
//! untouched.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use ledgerline_wire::{
    Currency, DailyApproval, OrgInfo, ProfitLoss, PropertyInfo, TodayPending, Transaction,
    TransactionKind, TransactionStatus, UserInfo,
};
use serde::{Deserialize, Serialize};

use crate::error::CommandError;

/// A cached transaction as the UI shows it: the wire `Transaction` plus the
/// local sync state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub id: String,
    pub kind: TransactionKind,
    pub property_id: String,
    pub amount_minor: i64,
    pub currency: Currency,
    pub category: String,
    pub memo: String,
    pub occurred_on: NaiveDate,
    pub status: TransactionStatus,
    pub version: i64,
    pub client_mutation_id: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// An optimistic write the server has not confirmed yet.
    pub pending_sync: bool,
    /// Plain words when the server refused the last write of this row.
    pub sync_error: Option<String>,
    /// Why an approver rejected it, if they said.
    pub rejection_reason: Option<String>,
}

impl Row {
    /// A row as the server has it: confirmed, no error.
    pub fn confirmed(t: Transaction) -> Row {
        Row {
            id: t.id,
            kind: t.kind,
            property_id: t.property_id,
            amount_minor: t.amount_minor,
            currency: t.currency,
            category: t.category,
            memo: t.memo,
            occurred_on: t.occurred_on,
            status: t.status,
            version: t.version,
            client_mutation_id: t.client_mutation_id,
            created_by: t.created_by,
            created_at: t.created_at,
            updated_at: t.updated_at,
            pending_sync: false,
            sync_error: None,
            rejection_reason: t.rejection_reason,
        }
    }

    /// The id an optimistic create carries until the server confirms it.
    pub fn local_id(client_mutation_id: &str) -> String {
        format!("local-{client_mutation_id}")
    }

    pub fn is_local(&self) -> bool {
        self.id.starts_with("local-")
    }
}

/// One change to a window's list. An upsert's row is shared (the cache's
/// journal holds the same row: one copy of it per apply, not two).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Patch {
    Upsert { row: Arc<Row> },
    Remove { id: String },
}

/// Patches in order; `seq` is the event seq the cache is at after them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatchBatch {
    pub seq: u64,
    pub patches: Vec<Patch>,
}

/// Where a row sits in list order (`occurred_on` desc, then `id` desc):
/// the keyset cursor of [`RowQuery::after`] and [`RowPage::next`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RowKey {
    pub occurred_on: NaiveDate,
    pub id: String,
}

impl RowKey {
    pub fn of(row: &Row) -> RowKey {
        RowKey {
            occurred_on: row.occurred_on,
            id: row.id.clone(),
        }
    }
}

/// What a window lists. Every field is optional; `limit` defaults to 100.
/// A page is either the first (no `after`, no `offset`), a keyset page
/// (`after`: the rows after that key, in list order; no count) or, kept
/// for older callers, an `offset` page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowQuery {
    #[serde(default)]
    pub property_id: Option<String>,
    #[serde(default)]
    pub kind: Option<TransactionKind>,
    #[serde(default)]
    pub status: Option<TransactionStatus>,
    #[serde(default)]
    pub from: Option<NaiveDate>,
    #[serde(default)]
    pub to: Option<NaiveDate>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub offset: Option<u32>,
    #[serde(default)]
    pub after: Option<RowKey>,
}

/// `list_rows`: one page, the total matching count (`None` on a keyset
/// page: counted once, on the first), the seq it is at, and the key to ask
/// the next page `after` (`None` when this page is the last).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowPage {
    pub rows: Vec<Row>,
    pub total: Option<u64>,
    pub seq: u64,
    pub next: Option<RowKey>,
}

/// `subscribe`: the subscription id and the seq the cache was at, so a window
/// can read its snapshot and then apply only later batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscribed {
    pub subscription: u64,
    pub seq: u64,
}

/// The org's settings a window needs: rows dated on or before `lock_date`
/// show as locked (no Edit, no Delete).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSettings {
    pub lock_date: Option<NaiveDate>,
    /// What a write into the locked period is refused with (the server's
    /// words), for windows to show when a locked row is acted on.
    pub lock_message: Option<String>,
}

impl OrgSettings {
    pub fn new(lock_date: Option<NaiveDate>) -> OrgSettings {
        OrgSettings {
            lock_date,
            lock_message: lock_date.map(ledgerline_wire::rules::period_locked_message),
        }
    }
}

/// A row's history (`row_history`): as fetched now, or — offline — as last
/// fetched (`offline: true`, `fetched_at` says when).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowHistory {
    pub items: Vec<ledgerline_wire::HistoryItem>,
    pub fetched_at: DateTime<Utc>,
    pub offline: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    /// Which session: server and user (the name of its cache file). Every
    /// window belongs to one session; events name it.
    pub id: String,
    pub server_url: String,
    pub user: UserInfo,
    pub org: OrgInfo,
    pub properties: Vec<PropertyInfo>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusState {
    Live,
    Reconnecting,
    Offline,
    /// The server answers but the cache cannot store what it sends (disk
    /// full, file locked): retried with backoff; not live.
    CacheError,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub state: StatusState,
    pub since: DateTime<Utc>,
}

/// A report a window has open.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ReportRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property_id: Option<String>,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl ReportRange {
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }

    /// The day whose approvals the range's daily-approval figure counts:
    /// today while the range contains it (the usual "this month" view), else
    /// the range's last day.
    pub fn approval_day(&self, today: NaiveDate) -> NaiveDate {
        if self.contains(today) {
            today
        } else {
            self.to
        }
    }

    /// Whether an event of `property_id` may change this range's figures.
    pub fn covers_property(&self, property_id: &str) -> bool {
        self.property_id.as_deref().is_none_or(|p| p == property_id)
    }
}

/// The derived figures of one report range. The daily approval is of the
/// range's [`ReportRange::approval_day`]; today-pending is of today (UTC, as
/// the server counts it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aggregates {
    pub range: ReportRange,
    pub profit_loss: Option<ProfitLoss>,
    pub daily_approval: Option<DailyApproval>,
    pub today_pending: Option<TodayPending>,
    pub fetched_at: DateTime<Utc>,
    /// The oldest org seq the figures reflect (`as_of_seq` of the parts
    /// fetched; 0 before any): "as of #N".
    pub as_of_seq: u64,
    /// The cache holds changes to this range newer than the figures: the
    /// rows beside them are ahead, and fresh figures are on their way.
    pub catching_up: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncProgress {
    pub done: u64,
    pub total: Option<u64>,
    pub finished: bool,
    /// A first sync written into the cache page by page, in list order:
    /// a table read up to `frontier` reads on after it, and needs no re-read
    /// when it finishes (false: a re-snapshot; tables re-read on `finished`).
    #[serde(default)]
    pub streamed: bool,
    /// The last key the streamed snapshot has written: every server row up
    /// to it is in the cache, every later one sorts after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontier: Option<RowKey>,
    /// The snapshot failed (why): it is retried on the backoff, or at once
    /// with `retry_sync`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A queued write the server refused: its row was rolled back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MutationFailure {
    pub client_mutation_id: String,
    pub row_id: String,
    pub error: CommandError,
}

/// One entry of the "Needs attention" list: a write not yet on the server
/// — unsent (queued, e.g. offline), refused by the server, or in conflict
/// with a change made there — with the server's reason when it has one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attention {
    pub client_mutation_id: String,
    pub op: crate::outbox::Op,
    pub state: crate::outbox::State,
    /// The row the write is for (`local-<cmid>` for an unconfirmed create).
    pub row_id: String,
    /// That row as the cache has it now (None once it is gone).
    pub row: Option<Row>,
    /// The server's reason (refused, conflict); None while unsent.
    pub reason: Option<String>,
    /// The write's fields (the create body or the patch), for showing and fixing.
    pub body: Option<serde_json::Value>,
}

/// How many writes need attention: the badge, and the sign-out warning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttentionSummary {
    pub unsent: u64,
    pub refused: u64,
    pub conflict: u64,
}

impl AttentionSummary {
    pub fn total(&self) -> u64 {
        self.unsent + self.refused + self.conflict
    }
}

/// The user's fix to a held write before it is sent again: any of the
/// editable fields (a create's body or an update's patch gets them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteFix {
    #[serde(default)]
    pub kind: Option<ledgerline_wire::TransactionKind>,
    #[serde(default)]
    pub property_id: Option<String>,
    #[serde(default)]
    pub amount_minor: Option<i64>,
    #[serde(default)]
    pub currency: Option<ledgerline_wire::Currency>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub memo: Option<String>,
    #[serde(default)]
    pub occurred_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub leader_acquired: u64,
    pub leader_lost: u64,
    pub follower_suppressed_polls: u64,
    pub derived_debounce_fired: u64,
    pub polls: u64,
    pub events_applied: u64,
    pub aggregate_fetches: u64,
    pub outbox_depth: u64,
    /// Events of a type or shape this client cannot read, left out.
    #[serde(default)]
    pub events_skipped: u64,
    /// Poll answers the cache failed to store.
    #[serde(default)]
    pub cache_write_failures: u64,
    pub lag_behind_head: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagValues {
    #[serde(rename = "FIN_LEADER_ENABLED")]
    pub leader_enabled: bool,
    #[serde(rename = "FIN_DERIVED_DEBOUNCE_MS")]
    pub derived_debounce_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostics {
    pub status: Status,
    pub seq: u64,
    pub counters: Counters,
    pub flags: FlagValues,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_and_status_have_the_documented_json_shapes() {
        let p = Patch::Remove { id: "t1".into() };
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            serde_json::json!({"op": "remove", "id": "t1"})
        );
        let s = Status {
            state: StatusState::Reconnecting,
            since: "2026-11-27T10:00:00Z".parse().unwrap(),
        };
        assert_eq!(
            serde_json::to_value(s).unwrap(),
            serde_json::json!({"state": "reconnecting", "since": "2026-11-27T10:00:00Z"})
        );
        let f = FlagValues {
            leader_enabled: true,
            derived_debounce_ms: 1000,
        };
        assert_eq!(
            serde_json::to_value(f).unwrap(),
            serde_json::json!({"FIN_LEADER_ENABLED": true, "FIN_DERIVED_DEBOUNCE_MS": 1000})
        );
    }
}
