//! `org_settings`, `set_lock_date` and `row_history`: the lock date and a
//! row's history (see `docs/desktop-api.md`).

use chrono::NaiveDate;
use ledgerline_client::{CommandError, OrgSettings, RowHistory};
use tauri::{Runtime, State, WebviewWindow};

use crate::state::Shell;

#[tauri::command]
pub async fn org_settings<R: Runtime>(
    window: WebviewWindow<R>,
    shell: State<'_, Shell>,
) -> Result<OrgSettings, CommandError> {
    shell.core_for(window.label()).org_settings().await
}

#[tauri::command]
pub async fn set_lock_date<R: Runtime>(
    window: WebviewWindow<R>,
    shell: State<'_, Shell>,
    lock_date: Option<NaiveDate>,
) -> Result<OrgSettings, CommandError> {
    shell
        .core_for(window.label())
        .set_lock_date(lock_date)
        .await
}

#[tauri::command]
pub async fn row_history<R: Runtime>(
    window: WebviewWindow<R>,
    shell: State<'_, Shell>,
    id: String,
) -> Result<RowHistory, CommandError> {
    shell.core_for(window.label()).row_history(&id).await
}
