//! `watch_report`, `unwatch_report` (counted per window, so a closed window
//! releases its watches) and `save_csv` (the UI builds the file; the shell
//! picks the folder: the user's download dir, else the data dir).

use std::path::{Path, PathBuf};

use ledgerline_client::{Aggregates, CommandError, ReportRange};
use tauri::{Manager, Runtime, State, WebviewWindow};

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

#[tauri::command]
pub async fn save_csv<R: Runtime>(
    window: WebviewWindow<R>,
    shell: State<'_, Shell>,
    filename: String,
    contents: String,
) -> Result<String, CommandError> {
    let dir = window
        .path()
        .download_dir()
        .ok()
        .filter(|d| d.is_dir())
        .unwrap_or_else(|| shell.data_dir.clone());
    let path = free_path(&dir, &csv_file_name(&filename)?);
    tokio::fs::write(&path, contents)
        .await
        .map_err(|e| CommandError::internal(format!("writing {}: {e}", path.display())))?;
    Ok(path.display().to_string())
}

/// The UI's file name, checked: `[A-Za-z0-9._-]`, no leading dot, `.csv`.
pub fn csv_file_name(name: &str) -> Result<String, CommandError> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !ok {
        return Err(CommandError::invalid(
            "filename",
            "a file name of letters, digits, '.', '_' and '-'",
        ));
    }
    Ok(if name.to_ascii_lowercase().ends_with(".csv") {
        name.to_owned()
    } else {
        format!("{name}.csv")
    })
}

/// `dir/name`, or `dir/stem-2.csv`, `-3`, … when taken: never overwrite
/// an earlier export.
pub fn free_path(dir: &Path, name: &str) -> PathBuf {
    let first = dir.join(name);
    if !first.exists() {
        return first;
    }
    let stem = name.strip_suffix(".csv").unwrap_or(name);
    (2..)
        .map(|n| dir.join(format!("{stem}-{n}.csv")))
        .find(|p| !p.exists())
        .unwrap_or(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_checked_and_get_a_csv_extension() {
        assert_eq!(
            csv_file_name("ledgerline-revenue-all-2026-11-01-2026-11-30.csv").unwrap(),
            "ledgerline-revenue-all-2026-11-01-2026-11-30.csv"
        );
        assert_eq!(csv_file_name("report").unwrap(), "report.csv");
        for bad in ["", "../etc/passwd", ".hidden.csv", "a b.csv", "x/y.csv"] {
            assert_eq!(
                csv_file_name(bad).unwrap_err().field.as_deref(),
                Some("filename"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn an_existing_export_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let first = free_path(dir.path(), "r.csv");
        assert_eq!(first, dir.path().join("r.csv"));
        std::fs::write(&first, "a").unwrap();
        let second = free_path(dir.path(), "r.csv");
        assert_eq!(second, dir.path().join("r-2.csv"));
    }
}
