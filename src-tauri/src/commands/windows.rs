//! `open_window`, `window_focused` and `retry_sync` (both wake the
//! session's poll loop out of its backoff).

use ledgerline_client::CommandError;
use tauri::{AppHandle, Runtime, State, WebviewWindow};

use crate::{state::Shell, target::WindowTarget};

/// Async so the window is built off the main thread's IPC handler. The new
/// window belongs to `session` if given, else to the opener's session.
#[tauri::command]
pub async fn open_window<R: Runtime>(
    app: AppHandle<R>,
    window: WebviewWindow<R>,
    shell: State<'_, Shell>,
    target: String,
    session: Option<String>,
) -> Result<(), CommandError> {
    let session = session.or_else(|| shell.session_of(window.label()));
    crate::windows::open_in(&app, &target.parse::<WindowTarget>()?, session.as_deref())
}

#[tauri::command]
pub async fn window_focused<R: Runtime>(
    window: WebviewWindow<R>,
    shell: State<'_, Shell>,
) -> Result<(), CommandError> {
    shell.core_for(window.label()).window_focused()
}

#[tauri::command]
pub async fn retry_sync<R: Runtime>(
    window: WebviewWindow<R>,
    shell: State<'_, Shell>,
) -> Result<(), CommandError> {
    shell.core_for(window.label()).retry_sync()
}
