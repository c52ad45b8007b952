//! `session`, `sign_in`, `sign_out`.

use ledgerline_client::{CommandError, SessionView};
use tauri::State;

use crate::state::Shell;

#[tauri::command]
pub async fn session(shell: State<'_, Shell>) -> Result<Option<SessionView>, CommandError> {
    Ok(shell.core.session())
}

#[tauri::command]
pub async fn sign_in(
    shell: State<'_, Shell>,
    server_url: String,
    email: String,
    password: String,
) -> Result<SessionView, CommandError> {
    shell.core.sign_in(&server_url, &email, &password).await
}

/// Refuses with `kind: "unsent"` (and how many) while writes are not on
/// the server, unless `force`.
#[tauri::command]
pub async fn sign_out(shell: State<'_, Shell>, force: Option<bool>) -> Result<(), CommandError> {
    shell.core.sign_out(force.unwrap_or(false)).await
}
