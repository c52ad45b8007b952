//! `diagnostics` (this window's session) and `set_flag` (the flags are
//! the app's, persisted in the store file).

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
