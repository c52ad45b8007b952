//! `diagnostics` (this window's session), `set_flag` (the flags are the
//! app's, persisted in the store file) and `notices` (what could not be
//! done at start, e.g. a session held by another Ledgerline process).

use ledgerline_client::{CommandError, Diagnostics};
use serde_json::Value;
use tauri::{Runtime, State, WebviewWindow};

use crate::state::Shell;

#[tauri::command]
pub async fn diagnostics<R: Runtime>(
    window: WebviewWindow<R>,
    shell: State<'_, Shell>,
) -> Result<Diagnostics, CommandError> {
    Ok(shell.core_for(window.label()).diagnostics())
}

#[tauri::command]
pub async fn set_flag<R: Runtime>(
    window: WebviewWindow<R>,
    shell: State<'_, Shell>,
    name: String,
    value: Value,
) -> Result<Diagnostics, CommandError> {
    shell.core_for(window.label()).set_flag(&name, value)
}

#[tauri::command]
pub async fn notices(shell: State<'_, Shell>) -> Result<Vec<String>, CommandError> {
    Ok(shell.core.notices())
}
