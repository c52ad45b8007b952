//! `watch_report`, `unwatch_report` (counted per window, so a closed window
//! releases its watches).

use ledgerline_client::{Aggregates, CommandError, ReportRange};
use tauri::{Runtime, State, WebviewWindow};

use crate::state::Shell;

#[tauri::command]
pub async fn watch_report<R: Runtime>(
    window: WebviewWindow<R>,
    shell: State<'_, Shell>,
    range: ReportRange,
) -> Result<Aggregates, CommandError> {
    let aggregates = shell
        .core_for(window.label())
        .watch_report(range.clone())
        .await?;
    shell.add_watch(window.label(), range);
    Ok(aggregates)
}

#[tauri::command]
pub async fn unwatch_report<R: Runtime>(
    window: WebviewWindow<R>,
    shell: State<'_, Shell>,
    range: ReportRange,
) -> Result<(), CommandError> {
    if shell.remove_watch(window.label(), &range) {
        shell.core_for(window.label()).unwatch_report(&range);
    }
    Ok(())
}
