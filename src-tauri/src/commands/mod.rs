//! The IPC commands of `docs/desktop-api.md`, one module per area. Each is
//! a one-line call into the core (or into [`crate::windows`]); every one
//! rejects with the core's serializable
//! [`CommandError`](ledgerline_client::CommandError) `{kind, message, field?}`.
//!
//! [`NAMES`] must list exactly the commands of [`handler`]: `build.rs`
//! generates an `allow-<name>` permission for each, which
//! `capabilities/default.json` grants.

pub mod diagnostics;
pub mod export;
pub mod integrity;
pub mod mutations;
pub mod reports;
pub mod rows;
pub mod session;
pub mod windows;

use tauri::{ipc::Invoke, Runtime};

mod names;
pub use names::NAMES;

pub fn handler<R: Runtime>() -> impl Fn(Invoke<R>) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        session::session,
        session::sign_in,
        session::sign_out,
        session::sessions,
        session::switch_session,
        rows::subscribe,
        rows::unsubscribe,
        rows::list_rows,
        mutations::create_transaction,
        mutations::update_transaction,
        mutations::delete_transaction,
        mutations::approve_transaction,
        mutations::reject_transaction,
        integrity::org_settings,
        integrity::set_lock_date,
        integrity::row_history,
        mutations::needs_attention,
        mutations::retry_write,
        mutations::discard_write,
        reports::watch_report,
        reports::unwatch_report,
        export::save_csv,
        export::export_csv,
        export::export_location,
        windows::window_focused,
        windows::retry_sync,
        windows::open_window,
        diagnostics::diagnostics,
        diagnostics::set_flag,
        diagnostics::notices,
    ]
}

#[cfg(test)]
mod tests {
    use super::NAMES;

    #[test]
    fn every_command_is_granted_by_the_capability() {
        let capability = include_str!("../../capabilities/default.json");
        for name in NAMES {
            let permission = format!("\"allow-{}\"", name.replace('_', "-"));
            assert!(
                capability.contains(&permission),
                "{permission} missing from the capability"
            );
        }
    }
}
