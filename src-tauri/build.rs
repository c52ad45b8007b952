//! Generates the Tauri context and one `allow-<command>` permission per app
//! command (granted in `capabilities/default.json`). Keep `COMMANDS` in step
//! with `src/commands/mod.rs` (`NAMES`; a unit test compares them).

const COMMANDS: &[&str] = &[
    "session",
    "sign_in",
    "sign_out",
    "subscribe",
    "unsubscribe",
    "list_rows",
    "create_transaction",
    "update_transaction",
    "delete_transaction",
    "approve_transaction",
    "reject_transaction",
    "watch_report",
    "unwatch_report",
    "save_csv",
    "window_focused",
    "open_window",
    "diagnostics",
    "set_flag",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build step failed");
}
