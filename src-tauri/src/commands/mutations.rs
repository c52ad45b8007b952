//! The optimistic writes: `create_transaction`, `update_transaction`,
//! `delete_transaction`, `approve_transaction`, `reject_transaction`; and
//! the "Needs attention" list: `needs_attention`, `retry_write`,
//! `discard_write`.

use ledgerline_client::{Attention, CommandError, Row, WriteFix};
use ledgerline_wire::{NewTransaction, TransactionPatch};
use tauri::{Runtime, State, WebviewWindow};

use crate::state::Shell;

#[tauri::command]
pub async fn create_transaction<R: Runtime>(
    window: WebviewWindow<R>,
    shell: State<'_, Shell>,
    input: NewTransaction,
) -> Result<Row, CommandError> {
    shell
        .core_for(window.label())
        .create_transaction(input)
        .await
}

#[tauri::command]
pub async fn update_transaction<R: Runtime>(
    window: WebviewWindow<R>,
    shell: State<'_, Shell>,
    id: String,
    patch: TransactionPatch,
) -> Result<Row, CommandError> {
    shell
        .core_for(window.label())
        .update_transaction(&id, patch)
        .await
}

#[tauri::command]
pub async fn delete_transaction<R: Runtime>(
    window: WebviewWindow<R>,
    shell: State<'_, Shell>,
    id: String,
) -> Result<(), CommandError> {
    shell.core_for(window.label()).delete_transaction(&id).await
}

#[tauri::command]
pub async fn approve_transaction<R: Runtime>(
    window: WebviewWindow<R>,
    shell: State<'_, Shell>,
    id: String,
) -> Result<Row, CommandError> {
    shell
        .core_for(window.label())
        .approve_transaction(&id)
        .await
}

#[tauri::command]
pub async fn reject_transaction<R: Runtime>(
    window: WebviewWindow<R>,
    shell: State<'_, Shell>,
    id: String,
    reason: Option<String>,
) -> Result<Row, CommandError> {
    shell
        .core_for(window.label())
        .reject_transaction(&id, reason)
        .await
}

#[tauri::command]
pub async fn needs_attention<R: Runtime>(
    window: WebviewWindow<R>,
    shell: State<'_, Shell>,
) -> Result<Vec<Attention>, CommandError> {
    shell.core_for(window.label()).needs_attention().await
}

#[tauri::command]
pub async fn retry_write<R: Runtime>(
    window: WebviewWindow<R>,
    shell: State<'_, Shell>,
    client_mutation_id: String,
    fix: Option<WriteFix>,
) -> Result<Row, CommandError> {
    shell
        .core_for(window.label())
        .retry_write(&client_mutation_id, fix.unwrap_or_default())
        .await
}

#[tauri::command]
pub async fn discard_write<R: Runtime>(
    window: WebviewWindow<R>,
    shell: State<'_, Shell>,
    client_mutation_id: String,
) -> Result<(), CommandError> {
    shell
        .core_for(window.label())
        .discard_write(&client_mutation_id)
        .await
}
