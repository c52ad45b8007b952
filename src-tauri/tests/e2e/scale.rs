//! The desktop at scale (issue 14), a benchmark more than a test (run it
//! with `scripts/bench.sh desktop`; it is `#[ignore]`d in the e2e suite):
//! a month of 60,000 transactions on the server, the app signed in fresh,
//! and, from launch, the time until the window is Live, shows its first
//! rows, knows the whole month (its tables' totals are the month's), and —
//! a table holds only the rows near its screen — shows the last row once
//! scrolled to the end and a middle row once scrolled to the middle
//! (`[e2e]` figures). Then the whole month exported from the cache into a
//! chosen file (the e2e's stand-in for the save dialog), and checked.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use chrono::Datelike;
use serde_json::{json, Value};

use crate::{
    app::{record_figure, today, App, READ_VIEW},
    driver::{prerequisites, Session},
    server::{TestServer, OWNER},
};

const ROWS: u32 = 60_000;

/// What the window shows: a row on screen in either table, the tables'
/// totals (the count of their queries), and whether the first-sync bar is up.
const READ_SHOWN: &str = r#"
const h = window.__ledgerline;
if (!h) return null;
const shown = (k) => !!document.querySelector(`[data-testid="table-${k}"] .tbody [data-id]`);
return {
  first: shown("revenue") || shown("expense"),
  total: (h.total("revenue") ?? 0) + (h.total("expense") ?? 0),
  syncing: !!document.querySelector('[data-testid="sync-progress"]'),
};
"#;

/// Scrolls the revenue table to `arguments[0]` (0 = top, 1 = end), as a
/// scrollbar drag does.
const SCROLL_REVENUE: &str = r#"
const body = document.querySelector('[data-testid="table-revenue"] .tbody');
body.scrollTop = Math.floor((body.scrollHeight - body.clientHeight) * arguments[0]);
return body.scrollTop;
"#;

/// The revenue table's slots in its visible box (at least half of each):
/// `[index, id or null (a placeholder)]` each, in order.
const VISIBLE_REVENUE: &str = r#"
const body = document.querySelector('[data-testid="table-revenue"] .tbody');
const box = body.getBoundingClientRect();
const out = [];
for (const el of body.querySelectorAll('.vrow')) {
  const r = el.getBoundingClientRect();
  const mid = (r.top + r.bottom) / 2;
  if (mid < box.top || mid > box.bottom) continue;
  const row = el.querySelector('[data-index][data-id]');
  out.push(row ? [Number(row.dataset.index), row.dataset.id] : [Number(el.dataset.slot), null]);
}
return out.sort((a, b) => a[0] - b[0]);
"#;

/// The keys of the revenue table's rows `[offset, offset + limit)` through
/// `list_rows` (an offset page, as a far jump reads it): `{ids, days}`.
const IPC_IDS: &str = r#"
const [from, to, offset, limit] = arguments; const done = arguments[arguments.length - 1];
window.__TAURI_INTERNALS__.invoke("list_rows", {query: {kind: "revenue", from, to, offset, limit}})
  .then((page) => done({ids: page.rows.map((r) => r.id), days: page.rows.map((r) => r.occurred_on)}))
  .catch((e) => done({err: String(e)}));
"#;

/// The count of `arguments[0]` (a first page of one row), timed: `{ms, total}`.
const IPC_COUNT: &str = r#"
const done = arguments[arguments.length - 1];
const t0 = performance.now();
window.__TAURI_INTERNALS__.invoke("list_rows", {query: {...arguments[0], limit: 1}})
  .then((page) => done({ms: performance.now() - t0, total: page.total}))
  .catch((e) => done({err: String(e)}));
"#;

/// One `list_rows` of `arguments[0]`, timed: `{ms, rows}`.
const IPC_READ: &str = r#"
const done = arguments[arguments.length - 1];
const t0 = performance.now();
window.__TAURI_INTERNALS__.invoke("list_rows", {query: arguments[0]})
  .then((page) => done({ms: performance.now() - t0, rows: page.rows.length}))
  .catch((e) => done({err: String(e)}));
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
    // What the window shows, from launch: Live, its first rows, the whole month counted.
    let (mut live, mut first_rows, mut whole) = (None, None, None);
    let (live, first_rows, whole) = loop {
        let v = s.exec(READ_SHOWN, json!([])).await?;
        let at = launched.elapsed();
        if v["first"] == true {
            first_rows.get_or_insert(at);
        }
        if live.is_none() && s.exec(READ_VIEW, json!([[]])).await?["state"] == "live" {
            live = Some(launched.elapsed());
        }
        let total = v["total"].as_u64().unwrap_or(0) as usize;
        if total == want && v["syncing"] == false {
            whole.get_or_insert(at);
        }
        if let (Some(live), Some(first_rows), Some(whole)) = (live, first_rows, whole) {
            break (live, first_rows, whole);
        }
        ensure!(
            at < Duration::from_secs(300),
            "the tables count {total} of {want} rows after {at:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    // The table's filters: the month as the window shows it.
    let range = s
        .exec(
            r#"return [document.querySelector('[data-testid="filter-from"]').value,
                       document.querySelector('[data-testid="filter-to"]').value];"#,
            json!([]),
        )
        .await?;
    let (from, to) = (range[0].clone(), range[1].clone());
    let revenue = s
        .exec("return window.__ledgerline.total('revenue');", json!([]))
        .await?
        .as_u64()
        .context("the revenue total")?;
    // Scrolled to the end, then to the middle: the time until every slot on
    // screen shows its row, the right one (the cache's at that index).
    let (end, end_took) = scrolled_until_shown(s, 1.0, &from, &to).await?;
    let end_at = launched.elapsed();
    let last_shown = end.last().map(|(i, _, _)| *i);
    ensure!(
        last_shown == Some(revenue - 1),
        "scrolled to the end, the last slot shown is {last_shown:?} of {revenue}"
    );
    let (middle, middle_took) = scrolled_until_shown(s, 0.5, &from, &to).await?;
    let middle_at = launched.elapsed();
    // And to the end again, with the first sync's aftermath (indexes, figures) over.
    let (_, again_took) = scrolled_until_shown(s, 1.0, &from, &to).await?;
    let line = format!(
        "first sync of a {ROWS}-row month into a fresh window: Live after {live:.1?}, first rows after {first_rows:.1?}, the whole month ({want} rows) counted in the tables after {whole:.1?}, the last row shown (scrolled to the end) after {end_at:.1?}, a middle row (row {}) after {middle_at:.1?} (from launch; goal <= 3 s); from the scroll to the rows shown: {end_took:.0?} to the end, {middle_took:.0?} to the middle, {again_took:.0?} to the end again",
        middle.first().map_or(0, |(i, _, _)| *i)
    );
    eprintln!("[e2e] {line}");
    record_figure(&line);

    // The reads a table makes, alone (no rendering): a count (a first page
    // of one row), a far jump's offset page at the month's end, a keyset
    // page read on from the middle.
    let read = |q: Value| async move {
        let out = s.exec_async(IPC_READ, json!([q])).await?;
        out["ms"].as_f64().with_context(|| format!("{out}"))
    };
    let revenue_month = json!({"kind": "revenue", "from": from, "to": to});
    let with = |extra: Value| {
        let mut q = revenue_month.clone();
        q.as_object_mut()
            .expect("an object")
            .extend(extra.as_object().expect("an object").clone());
        q
    };
    let count_ms = read(with(json!({"limit": 1}))).await?;
    let jump_ms = read(with(
        json!({"offset": revenue.saturating_sub(640), "limit": 640}),
    ))
    .await?;
    let middle_key = json!({"occurred_on": middle[0].2, "id": middle[0].1});
    let keyset_ms = read(with(json!({"after": middle_key, "limit": 500}))).await?;
    // The same jump as the UI makes it in the far half: the oldest days
    // that hold it counted, then the window by offset within them.
    let tail_day = end
        .first()
        .map(|(_, _, day)| day.clone())
        .context("a row at the end")?;
    let tail = json!({"kind": "revenue", "from": from, "to": tail_day});
    let tail_count = s.exec_async(IPC_COUNT, json!([tail.clone()])).await?;
    let (tail_count_ms, tail_rows) = (
        tail_count["ms"].as_f64().unwrap_or(0.0),
        tail_count["total"].as_u64().context("the tail's count")?,
    );
    let mut tail_page = tail.clone();
    tail_page.as_object_mut().expect("an object").extend(
        json!({"offset": tail_rows.saturating_sub(640), "limit": 640})
            .as_object()
            .expect("an object")
            .clone(),
    );
    let tail_page_ms = read(tail_page).await?;
    let line = format!(
        "a table's reads through IPC, without rendering ({revenue}-row revenue table): a count {count_ms:.0} ms, a far jump's offset page of 640 rows at the end {jump_ms:.0} ms (as the UI reads it, from the {tail_rows} rows of the oldest days: their count {tail_count_ms:.0} ms + the page {tail_page_ms:.0} ms), a keyset page of 500 from the middle {keyset_ms:.0} ms"
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

/// Scrolls the revenue table to `at` and waits until every slot inside its
/// box shows a row, each the cache's row at that index; returns the slots
/// and how long that took from the scroll.
async fn scrolled_until_shown(
    s: &Session,
    at: f64,
    from: &Value,
    to: &Value,
) -> Result<(Vec<(u64, String, String)>, Duration)> {
    let started = Instant::now();
    s.exec(SCROLL_REVENUE, json!([at])).await?;
    let mut polls = 0;
    loop {
        polls += 1;
        let looked = Instant::now();
        let slots: Vec<(u64, Option<String>)> =
            serde_json::from_value(s.exec(VISIBLE_REVENUE, json!([])).await?)?;
        let look = looked.elapsed();
        let rows: Vec<(u64, String)> = slots
            .iter()
            .filter_map(|(i, id)| id.clone().map(|id| (*i, id)))
            .collect();
        if !slots.is_empty() && rows.len() == slots.len() {
            let took = started.elapsed();
            eprintln!("[e2e] scrolled to {at}: shown after {took:.0?}, {polls} looks (the last took {look:.0?})");
            let first = rows[0].0;
            let want = s
                .exec_async(IPC_IDS, json!([from, to, first, rows.len()]))
                .await?;
            let ids: Vec<String> =
                serde_json::from_value(want["ids"].clone()).with_context(|| format!("{want}"))?;
            let days: Vec<String> = serde_json::from_value(want["days"].clone())?;
            let shown: Vec<String> = rows.iter().map(|(_, id)| id.clone()).collect();
            ensure!(
                ids == shown,
                "rows {first}…: shown {shown:?}, the cache has {ids:?}"
            );
            let rows = rows
                .into_iter()
                .zip(days)
                .map(|((i, id), d)| (i, id, d))
                .collect();
            return Ok((rows, took));
        }
        ensure!(
            started.elapsed() < Duration::from_secs(60),
            "scrolled to {at}: {slots:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
