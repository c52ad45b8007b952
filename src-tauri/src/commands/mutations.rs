//! The optimistic writes: `create_transaction`, `update_transaction`,
//! `delete_transaction`, `approve_transaction`, `reject_transaction`; and
//! the "Needs attention" list: `needs_attention`, `retry_write`,
//! `discard_write`.

use ledgerline_client::{Attention, CommandError, Row, WriteFix};
use ledgerline_wire::{NewTransaction, TransactionPatch};
use tauri::State;

use crate::state::Shell;

#[tauri::command]
pub async fn create_transaction(
    shell: State<'_, Shell>,
    input: NewTransaction,
) -> Result<Row, CommandError> {
    shell.core.create_transaction(input).await
}

#[tauri::command]
pub async fn update_transaction(
    shell: State<'_, Shell>,
    id: String,
    patch: TransactionPatch,
) -> Result<Row, CommandError> {
    shell.core.update_transaction(&id, patch).await
}

#[tauri::command]
pub async fn delete_transaction(shell: State<'_, Shell>, id: String) -> Result<(), CommandError> {
    shell.core.delete_transaction(&id).await
}

#[tauri::command]
pub async fn approve_transaction(shell: State<'_, Shell>, id: String) -> Result<Row, CommandError> {
    shell.core.approve_transaction(&id).await
}

#[tauri::command]
pub async fn reject_transaction(shell: State<'_, Shell>, id: String) -> Result<Row, CommandError> {
    shell.core.reject_transaction(&id).await
}

#[tauri::command]
pub async fn needs_attention(shell: State<'_, Shell>) -> Result<Vec<Attention>, CommandError> {
    shell.core.needs_attention().await
}

#[tauri::command]
pub async fn retry_write(
    shell: State<'_, Shell>,
    client_mutation_id: String,
    fix: Option<WriteFix>,
) -> Result<Row, CommandError> {
    shell
        .core
        .retry_write(&client_mutation_id, fix.unwrap_or_default())
        .await
}

#[tauri::command]
pub async fn discard_write(
    shell: State<'_, Shell>,
    client_mutation_id: String,
) -> Result<(), CommandError> {
    shell.core.discard_write(&client_mutation_id).await
}
