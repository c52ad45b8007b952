//! The desktop at scale (issue 14), a benchmark more than a test (run it
//! with `scripts/bench.sh desktop`; it is `#[ignore]`d in the e2e suite):
//! a month of 60,000 transactions on the server, the app signed in fresh,
//! and the time until the window shows its first rows and then every row
//! (`[e2e]` figures). Then the whole month exported from the cache into a
//! chosen file (the e2e's stand-in for the save dialog), and checked.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use chrono::Datelike;
use serde_json::json;

use crate::{
    app::{record_figure, today, App, READ_VIEW},
    driver::prerequisites,
    server::{TestServer, OWNER},
};

const ROWS: u32 = 60_000;

/// Rows of `revenue` and `expense` the window has loaded.
const READ_LOADED: &str = r#"
const h = window.__ledgerline;
if (!h) return null;
return [h.rows("revenue").length, h.rows("expense").length];
"#;

/// Every keyset page of `[from, to]` through `list_rows`, as load.ts asks
/// them: `{rows, ms, first_ms}`.
const IPC_READ: &str = r#"
const [from, to] = arguments; const done = arguments[arguments.length - 1];
const invoke = window.__TAURI_INTERNALS__.invoke;
(async () => {
  const t0 = performance.now();
  let page = await invoke("list_rows", {query: {from, to, limit: 200}});
  const first_ms = performance.now() - t0;
  let rows = page.rows.length;
  while (page.next) {
    page = await invoke("list_rows", {query: {from, to, limit: 5000, after: page.next}});
    rows += page.rows.length;
  }
  done({rows, ms: performance.now() - t0, first_ms});
})().catch((e) => done({err: String(e)}));
"#;

/// `ROWS` transactions this month in the demo org's first property
/// (`sqlite_busy_month`).
async fn seed(server: &mut TestServer) -> Result<()> {
    server.stop();
    let url = format!("sqlite://{}", server.db.display());
    let first_of_month = today().with_day(1).context("the 1st")?;
    // Up to today: the month so far.
    ledgerline_server::store::demo::sqlite_busy_month(
        &url,
        OWNER,
        ROWS,
        first_of_month,
        today().day(),
        chrono::Utc::now(),
    )
    .await?;
    server.restart().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: scripts/bench.sh desktop"]
async fn a_60k_row_month_reaches_a_fresh_window_and_exports_whole() -> Result<()> {
    let Some(pre) = prerequisites("a_60k_row_month") else {
        return Ok(());
    };
    let _one = crate::ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir()?;
    let mut server = TestServer::spawn(dir.path()).await?;
    let demo_rows = server.remote(OWNER).await?.all().await?;
    let month = today().with_day(1).context("the 1st")?;
    let in_month = demo_rows
        .iter()
        .filter(|t| t.occurred_on >= month && t.occurred_on <= today())
        .count();
    seed(&mut server).await?;
    let want = ROWS as usize + in_month;

    let launched = Instant::now();
    let app = App::launch_unwaited(pre, dir, server).await?;
    let s = app.s();
    // What the window shows, from launch: Live, its first rows, every row.
    let (mut live, mut first_rows, mut all_rows) = (None, None, None);
    let (live, first_rows, all_rows) = loop {
        let v = s.exec(READ_LOADED, json!([])).await?;
        let at = launched.elapsed();
        let n: u64 = v
            .as_array()
            .map_or(0, |a| a.iter().filter_map(|n| n.as_u64()).sum());
        if n > 0 {
            first_rows.get_or_insert(at);
        }
        if live.is_none() && s.exec(READ_VIEW, json!([[]])).await?["state"] == "live" {
            live = Some(launched.elapsed());
        }
        if n as usize >= want {
            all_rows.get_or_insert(at);
        }
        if let (Some(live), Some(first_rows), Some(all_rows)) = (live, first_rows, all_rows) {
            break (live, first_rows, all_rows);
        }
        ensure!(
            at < Duration::from_secs(300),
            "{n} of {want} rows after {at:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let line = format!(
        "first sync of a {ROWS}-row month into a fresh window: Live after {live:.1?}, first rows after {first_rows:.1?}, all {want} rows after {all_rows:.1?} (from launch; goal <= 3 s)"
    );
    eprintln!("[e2e] {line}");
    record_figure(&line);

    // The same rows through IPC alone (no rendering): where the window's
    // part of the time goes.
    let out = s
        .exec_async(IPC_READ, json!([month.to_string(), today().to_string()]))
        .await?;
    let line = format!(
        "the month read again through IPC as a window reads it, without rendering: {} rows in {:.0} ms (first page {:.0} ms)",
        out["rows"], out["ms"].as_f64().unwrap_or(0.0), out["first_ms"].as_f64().unwrap_or(0.0)
    );
    eprintln!("[e2e] {line}");
    record_figure(&line);

    let path = app.data_dir.join("month.csv");
    let query = json!({"from": month.to_string(), "to": today().to_string()});
    let started = Instant::now();
    let (out, progress) = s
        .invoke_with_channel(
            "export_csv",
            json!({"query": query, "path": path.display().to_string()}),
            "onProgress",
        )
        .await?;
    let took = started.elapsed();
    ensure!(out["rows"] == want, "{out}");
    let lines = std::fs::read_to_string(&path)?.lines().count();
    ensure!(lines == want + 1, "{lines} lines for {want} rows");
    let line = format!(
        "export of the {want}-row month from the window: {took:.1?} ({:.0} rows/s, {} progress messages)",
        want as f64 / took.as_secs_f64(),
        progress
    );
    eprintln!("[e2e] {line}");
    record_figure(&line);
    Ok(())
}
