/// Every app command's name: `build.rs` includes this file to generate an
/// `allow-<name>` permission for each, and [`handler`](super::handler)
/// registers the same commands.
pub const NAMES: &[&str] = &[
    "session",
    "sign_in",
    "sign_out",
    "sessions",
    "switch_session",
    "subscribe",
    "unsubscribe",
    "list_rows",
    "create_transaction",
    "update_transaction",
    "delete_transaction",
    "approve_transaction",
    "reject_transaction",
    "needs_attention",
    "retry_write",
    "discard_write",
    "watch_report",
    "unwatch_report",
    "save_csv",
    "window_focused",
    "open_window",
    "diagnostics",
    "set_flag",
    "notices",
];
