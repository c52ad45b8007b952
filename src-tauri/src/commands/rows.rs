//! `subscribe`, `unsubscribe`, `list_rows`. A window's subscription feeds
//! the core's ordered [`PatchBatch`]es into the window's own
//! `tauri::ipc::Channel`; the shell remembers it per window so closing the
//! window ends it.

use ledgerline_client::{CommandError, PatchBatch, RowPage, RowQuery, Subscribed};
use tauri::{ipc::Channel, Runtime, State, WebviewWindow};

use crate::state::Shell;

#[tauri::command]
pub async fn subscribe<R: Runtime>(
    window: WebviewWindow<R>,
    shell: State<'_, Shell>,
    on_batch: Channel<PatchBatch>,
) -> Result<Subscribed, CommandError> {
    let label = window.label().to_owned();
    let subscribed = shell
        .core_for(&label)
        .subscribe_with(move |batch| {
            if let Err(e) = on_batch.send(batch) {
                tracing::debug!(error = %e, "a window's channel refused a batch");
            }
        })
        .await?;
    shell.add_subscription(&label, subscribed.subscription);
    Ok(subscribed)
}

#[tauri::command]
pub async fn unsubscribe<R: Runtime>(
    window: WebviewWindow<R>,
    shell: State<'_, Shell>,
    subscription: u64,
) -> Result<(), CommandError> {
    shell.remove_subscription(window.label(), subscription);
    shell.core_for(window.label()).unsubscribe(subscription);
    Ok(())
}

#[tauri::command]
pub async fn list_rows<R: Runtime>(
    window: WebviewWindow<R>,
    shell: State<'_, Shell>,
    query: RowQuery,
) -> Result<RowPage, CommandError> {
    shell.core_for(window.label()).list_rows(query).await
}
