//! The wire contract of Ledgerline: every type the server sends or accepts and
//! the desktop core reads or writes. `docs/api.md` is the prose
//! version; this crate is the one both sides compile against.
//!
//! # Layout
//! - [`money`]: `Currency` (ISO 4217, parsed once) and amount rules.
//! - [`cursor`]: the opaque long-poll cursor.
//! - [`auth`]: login request and response, roles.
//! - [`finance`]: transactions, their create/update bodies and list pages.
//! - [`history`]: a transaction's change history, and the lock-date body.
//! - [`reports`]: the derived aggregates (profit-loss, daily approval, today-pending).
//! - [`realtime`]: events and the long-poll response.
//! - [`telemetry`]: the desktop core's sampled counters upload.
//! - [`rules`]: the field rules both sides check (lengths, dates, amounts).
//! - [`error`]: the `{"error": {code, message}}` body.
//! - [`whole`]: whole numbers in request bodies (`100` or `100.0`).
//!
//! With the `openapi` feature every type derives `utoipa::ToSchema`.

pub mod auth;
pub mod cursor;
pub mod error;
pub mod finance;
pub mod history;
pub mod money;
pub mod realtime;
pub mod reports;
pub mod rules;
pub mod telemetry;
pub mod whole;

pub use auth::{LoginRequest, LoginResponse, OrgInfo, PropertyInfo, Role, UserInfo};
pub use cursor::Cursor;
pub use error::{ErrorBody, ErrorDetail};
pub use finance::{
    NewTransaction, Transaction, TransactionKind, TransactionPage, TransactionPatch,
    TransactionStatus,
};
pub use history::{Actor, History, HistoryAction, HistoryItem, LockDate};
pub use money::Currency;
pub use realtime::{Event, EventRow, EventType, PollResponse};
pub use reports::{CategoryTotals, DailyApproval, DayTotals, ProfitLoss, TodayPending};
pub use telemetry::TelemetryUpload;
