//! `diagnostics` and `set_flag` (the flags persist in the store file).

use ledgerline_client::{CommandError, Diagnostics};
use serde_json::Value;
use tauri::State;

use crate::state::Shell;

#[tauri::command]
pub async fn diagnostics(shell: State<'_, Shell>) -> Result<Diagnostics, CommandError> {
    Ok(shell.core.diagnostics())
}

#[tauri::command]
pub async fn set_flag(
    shell: State<'_, Shell>,
    name: String,
    value: Value,
) -> Result<Diagnostics, CommandError> {
    shell.core.set_flag(&name, value)
}
