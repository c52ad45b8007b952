//! `session`, `sessions`, `sign_in`, `sign_out`, `switch_session`. Each
//! window belongs to one session: signing in from a window (or switching
//! it) makes it that session's, and its title names the org.

use ledgerline_client::{CommandError, SessionView};
use tauri::{Runtime, State, WebviewWindow};

use crate::state::Shell;

#[tauri::command]
pub async fn session<R: Runtime>(
    window: WebviewWindow<R>,
    shell: State<'_, Shell>,
) -> Result<Option<SessionView>, CommandError> {
    Ok(shell.core_for(window.label()).session())
}

/// Every signed-in session (the main window's switcher).
#[tauri::command]
pub async fn sessions(shell: State<'_, Shell>) -> Result<Vec<SessionView>, CommandError> {
    Ok(shell.core.sessions())
}

/// Signs in beside the sessions already signed in; this window becomes
/// the new session's.
#[tauri::command]
pub async fn sign_in<R: Runtime>(
    window: WebviewWindow<R>,
    shell: State<'_, Shell>,
    server_url: String,
    email: String,
    password: String,
) -> Result<SessionView, CommandError> {
    let view = shell.core.sign_in(&server_url, &email, &password).await?;
    shell.bind(window.label(), &view.id);
    crate::windows::name_after(&window, &view);
    Ok(view)
}

/// Refuses with `kind: "unsent"` (and how many) while this window's
/// session has writes not on the server, unless `force`.
#[tauri::command]
pub async fn sign_out<R: Runtime>(
    window: WebviewWindow<R>,
    shell: State<'_, Shell>,
    force: Option<bool>,
) -> Result<(), CommandError> {
    shell
        .core_for(window.label())
        .sign_out(force.unwrap_or(false))
        .await
}

/// Makes this window show session `id`.
#[tauri::command]
pub async fn switch_session<R: Runtime>(
    window: WebviewWindow<R>,
    shell: State<'_, Shell>,
    id: String,
) -> Result<SessionView, CommandError> {
    let view = shell
        .core
        .in_session(&id)
        .session()
        .ok_or_else(CommandError::signed_out)?;
    shell.bind(window.label(), &id);
    crate::windows::name_after(&window, &view);
    Ok(view)
}
