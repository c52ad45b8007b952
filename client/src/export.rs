//! CSV export of a window's query, streamed from the cache into a file:
//! keyset pages read in one read transaction (so the file is one
//! consistent, complete picture however the cache moves meanwhile), each
//! page written as it is read, into a temporary file beside the target that
//! is renamed over it only once every row is in — a failed export never
//! leaves a partial file under the user's name.
//!
//! The format is the UI's (RFC 4180: CRLF, a field quoted when it holds a
//! comma, quote, CR/LF or edge spaces; amounts as plain decimals; free text
//! that a spreadsheet would run as a formula gets a leading apostrophe).

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use crate::{
    cache::{self, Cache},
    view::{Row, RowKey, RowQuery},
};

/// Rows per page read from the cache (and per progress report).
pub const EXPORT_PAGE: u32 = 5_000;

pub const HEADER: &str = "date,kind,property,category,memo,amount,currency,status,id\r\n";

/// How far an export is: `written` of `total` rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportProgress {
    pub written: u64,
    pub total: u64,
    pub finished: bool,
}

/// A finished export: where, and how many rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exported {
    pub path: String,
    pub rows: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("reading the cache: {0}")]
    Cache(#[from] sqlx::Error),
    #[error("writing {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Writes every row of `q` (its `limit`, `offset` and `after` ignored) to
/// `path` as CSV, calling `progress` after each page. `names` maps
/// property ids to the names the file shows.
pub async fn write_csv(
    cache: &Cache,
    q: &RowQuery,
    names: &HashMap<String, String>,
    path: &Path,
    progress: impl Fn(ExportProgress),
) -> Result<Exported, ExportError> {
    let part = part_path(path);
    let io = |source| ExportError::Io {
        path: path.to_owned(),
        source,
    };
    let result = async {
        let file = tokio::fs::File::create(&part).await.map_err(io)?;
        let mut out = tokio::io::BufWriter::with_capacity(1 << 20, file);
        out.write_all(HEADER.as_bytes()).await.map_err(io)?;
        // Over settled rows: the journal is folded first.
        let mut tx = cache.read_settled().await?;
        let total = cache::count(&mut tx, q).await?;
        let mut page_q = RowQuery {
            limit: None,
            offset: None,
            after: None,
            ..q.clone()
        };
        let mut written = 0u64;
        let mut buf = String::with_capacity(1 << 20);
        loop {
            let rows = cache::page(&mut tx, &page_q, EXPORT_PAGE).await?;
            buf.clear();
            for r in &rows {
                push_row(&mut buf, r, names);
            }
            out.write_all(buf.as_bytes()).await.map_err(io)?;
            written += rows.len() as u64;
            progress(ExportProgress {
                written,
                total,
                finished: false,
            });
            match rows.last() {
                Some(last) if rows.len() == EXPORT_PAGE as usize => {
                    page_q.after = Some(RowKey::of(last));
                }
                _ => break,
            }
        }
        tx.commit().await?;
        out.flush().await.map_err(io)?;
        out.get_ref().sync_all().await.map_err(io)?;
        drop(out);
        tokio::fs::rename(&part, path).await.map_err(io)?;
        progress(ExportProgress {
            written,
            total: written,
            finished: true,
        });
        Ok(Exported {
            path: path.display().to_string(),
            rows: written,
        })
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&part).await;
    }
    result
}

/// `dir/.name.part`: beside the target (so the rename stays on one file
/// system), hidden while it is written.
fn part_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "export.csv".into());
    path.with_file_name(format!(".{name}.part"))
}

/// One CSV line of `r`.
pub fn push_row(buf: &mut String, r: &Row, names: &HashMap<String, String>) {
    let property = names.get(&r.property_id).unwrap_or(&r.property_id);
    let status = if r.pending_sync {
        format!("{} (syncing)", r.status.as_str())
    } else {
        r.status.as_str().to_owned()
    };
    let cells: [&str; 9] = [
        &r.occurred_on.to_string(),
        r.kind.as_str(),
        &safe_text(property),
        &safe_text(&r.category),
        &safe_text(&r.memo),
        &to_decimal(r.amount_minor, r.currency.as_str()),
        r.currency.as_str(),
        &status,
        &r.id,
    ];
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            buf.push(',');
        }
        push_field(buf, cell);
    }
    buf.push_str("\r\n");
}

fn push_field(buf: &mut String, value: &str) {
    let edge_space = value.starts_with(char::is_whitespace) || value.ends_with(char::is_whitespace);
    if edge_space || value.contains(['"', ',', '\r', '\n']) {
        buf.push('"');
        buf.push_str(&value.replace('"', "\"\""));
        buf.push('"');
    } else {
        buf.push_str(value);
    }
}

/// Free text a spreadsheet would run as a formula, neutralised.
fn safe_text(value: &str) -> std::borrow::Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}").into()
    } else {
        value.into()
    }
}

/// How many decimals the minor unit of `currency` has (ISO 4217; default 2),
/// as the UI's `minorDigits`.
fn minor_digits(currency: &str) -> u32 {
    const ZERO: &[&str] = &[
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV",
        "XAF", "XOF", "XPF",
    ];
    const THREE: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
    if ZERO.contains(&currency) {
        0
    } else if THREE.contains(&currency) {
        3
    } else {
        2
    }
}

/// Minor units as a plain decimal: 123450 USD → "1234.50", never a float.
fn to_decimal(minor: i64, currency: &str) -> String {
    let digits = minor_digits(currency);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    if digits == 0 {
        return format!("{sign}{abs}");
    }
    let scale = 10u64.pow(digits);
    format!(
        "{sign}{}.{:0width$}",
        abs / scale,
        abs % scale,
        width = digits as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::tests::txn;

    #[test]
    fn fields_are_quoted_and_formulas_neutralised_as_the_ui_does() {
        let mut t = txn("t1", 1, None);
        t.memo = "=SUM(A1), \"big\"".into();
        t.category = " rooms".into();
        t.amount_minor = 123_450;
        let mut row = Row::confirmed(t);
        row.pending_sync = true;
        let names = HashMap::from([("p1".to_owned(), "Harbor, Inn".to_owned())]);
        let mut buf = String::new();
        push_row(&mut buf, &row, &names);
        assert_eq!(
            buf,
            "2026-11-27,revenue,\"Harbor, Inn\",\" rooms\",\"'=SUM(A1), \"\"big\"\"\",1234.50,USD,pending (syncing),t1\r\n"
        );
    }

    #[test]
    fn amounts_are_decimals_in_the_currencys_minor_unit() {
        assert_eq!(to_decimal(5, "USD"), "0.05");
        assert_eq!(to_decimal(1200, "JPY"), "1200");
        assert_eq!(to_decimal(1_234_567, "KWD"), "1234.567");
        assert_eq!(to_decimal(-150, "EUR"), "-1.50");
    }
}
