//! CSV files: `export_csv` streams a table's whole query from the cache
//! into a file (the core does it, page by page; the window only hears the
//! progress), `save_csv` writes a file the UI built (the report's
//! categories), and `export_location` proposes where: the user's Downloads
//! folder, else their home folder — never, silently, the app's data dir.
//! The UI asks the user with the native save dialog (tauri-plugin-dialog)
//! opened there; the path it answers (or a test's) comes back here.

use std::path::{Path, PathBuf};

use ledgerline_client::{
    export::{ExportProgress, Exported},
    CommandError, RowQuery,
};
use tauri::{ipc::Channel, Manager, Runtime, State, WebviewWindow};

use crate::state::Shell;

/// Where the save dialog opens for `filename`: a free `name.csv` (or
/// `name-2.csv`, …) in Downloads, else home.
#[tauri::command]
pub async fn export_location<R: Runtime>(
    window: WebviewWindow<R>,
    filename: String,
) -> Result<String, CommandError> {
    let dir = default_dir(&window)?;
    Ok(free_path(&dir, &csv_file_name(&filename)?)
        .display()
        .to_string())
}

/// Every row of `query` into `path` (the user's choice in the save dialog),
/// with `on_progress` after each page of 5000 rows.
#[tauri::command]
pub async fn export_csv<R: Runtime>(
    window: WebviewWindow<R>,
    shell: State<'_, Shell>,
    query: RowQuery,
    path: String,
    on_progress: Channel<ExportProgress>,
) -> Result<Exported, CommandError> {
    let path = chosen_path(&path)?;
    shell
        .core_for(window.label())
        .export_csv(query, &path, |p| {
            let _ = on_progress.send(p);
        })
        .await
}

/// `contents` into `path` (the dialog's answer) or, without one, a free
/// name in [`export_location`]'s folder.
#[tauri::command]
pub async fn save_csv<R: Runtime>(
    window: WebviewWindow<R>,
    filename: String,
    contents: String,
    path: Option<String>,
) -> Result<String, CommandError> {
    let path = match path {
        Some(p) => chosen_path(&p)?,
        None => free_path(&default_dir(&window)?, &csv_file_name(&filename)?),
    };
    tokio::fs::write(&path, contents)
        .await
        .map_err(|e| CommandError::internal(format!("writing {}: {e}", path.display())))?;
    Ok(path.display().to_string())
}

fn default_dir<R: Runtime>(window: &WebviewWindow<R>) -> Result<PathBuf, CommandError> {
    let paths = window.path();
    pick_dir(paths.download_dir().ok(), paths.home_dir().ok())
}

/// Downloads when it exists, else home; an error rather than anywhere else.
pub fn pick_dir(
    downloads: Option<PathBuf>,
    home: Option<PathBuf>,
) -> Result<PathBuf, CommandError> {
    downloads
        .filter(|d| d.is_dir())
        .or(home.filter(|h| h.is_dir()))
        .ok_or_else(|| {
            CommandError::internal("there is neither a Downloads nor a home folder to save to")
        })
}

/// A path from the save dialog: absolute, in an existing folder, ending
/// in `.csv` (added when the user left it out).
pub fn chosen_path(path: &str) -> Result<PathBuf, CommandError> {
    let p = Path::new(path);
    let invalid = |why| CommandError::invalid("path", why);
    if !p.is_absolute() {
        return Err(invalid("an absolute path"));
    }
    if !p.parent().is_some_and(Path::is_dir) {
        return Err(invalid("a path in an existing folder"));
    }
    if p.file_name().is_none() || p.is_dir() {
        return Err(invalid("a file name, not a folder"));
    }
    let is_csv = p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    Ok(if is_csv {
        p.to_owned()
    } else {
        PathBuf::from(format!("{path}.csv"))
    })
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
    fn the_default_folder_is_downloads_else_home_never_elsewhere() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let downloads = home.join("Downloads");
        std::fs::create_dir_all(&home).unwrap();
        let missing = Some(downloads.clone());
        assert_eq!(pick_dir(missing.clone(), Some(home.clone())).unwrap(), home);
        std::fs::create_dir_all(&downloads).unwrap();
        assert_eq!(pick_dir(missing, Some(home.clone())).unwrap(), downloads);
        assert!(pick_dir(None, Some(dir.path().join("nobody"))).is_err());
    }

    #[test]
    fn a_chosen_path_is_absolute_in_a_folder_and_ends_in_csv() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        assert_eq!(
            chosen_path(&format!("{d}/march")).unwrap(),
            dir.path().join("march.csv")
        );
        assert_eq!(
            chosen_path(&format!("{d}/m.CSV")).unwrap(),
            dir.path().join("m.CSV")
        );
        for bad in [
            "m.csv".to_owned(),
            format!("{d}/no/such/m.csv"),
            d.to_string(),
        ] {
            assert_eq!(
                chosen_path(&bad).unwrap_err().field.as_deref(),
                Some("path"),
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
