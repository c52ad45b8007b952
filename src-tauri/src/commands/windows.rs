//! `open_window` and `window_focused`.

use ledgerline_client::CommandError;
use tauri::{AppHandle, Runtime, State};

use crate::{state::Shell, target::WindowTarget};

/// Async so the window is built off the main thread's IPC handler.
#[tauri::command]
pub async fn open_window<R: Runtime>(
    app: AppHandle<R>,
    target: String,
) -> Result<(), CommandError> {
    crate::windows::open(&app, &target.parse::<WindowTarget>()?)
}

#[tauri::command]
pub async fn window_focused(shell: State<'_, Shell>) -> Result<(), CommandError> {
    shell.core.window_focused()
}
