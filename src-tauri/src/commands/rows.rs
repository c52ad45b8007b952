//! `subscribe`, `unsubscribe`, `list_rows`. A window's subscription feeds
//! the core's window messages (`PatchBatch` JSON with `prev_seq`, already
//! serialized, coalesced and split by the core) into the window's own
//! `tauri::ipc::Channel` as they are; the shell remembers it per window so
//! closing the window ends it.

use ledgerline_client::{cache::RowPageJson, CommandError, RowQuery, Subscribed};
use tauri::{
    ipc::{Channel, InvokeResponseBody},
    Runtime, State, WebviewWindow,
};

use crate::state::Shell;

#[tauri::command]
pub async fn subscribe<R: Runtime>(
    window: WebviewWindow<R>,
    shell: State<'_, Shell>,
    on_batch: Channel<InvokeResponseBody>,
) -> Result<Subscribed, CommandError> {
    let label = window.label().to_owned();
    let subscribed = shell
        .core_for(&label)
        .subscribe_with(move |message| {
            // A refused message is a gap the window sees by `prev_seq`.
            if let Err(e) = on_batch.send(InvokeResponseBody::Json(message.json)) {
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
) -> Result<RowPageJson, CommandError> {
    shell.core_for(window.label()).list_rows_json(query).await
}
