//! End-to-end tests of the real `ledgerline` binary (the one this `cargo
//! test` build produced) under tauri-driver + WebKitWebDriver, against the
//! real server in-process — the QA checklist of the multi-window issue.
//! Run under `xvfb-run` and `dbus-run-session` (scripts/test.sh does).
//! Scenarios run one at a time: they share the D-Bus single-instance name
//! and two cores. Each has its own server, database and data dir.
//!
//! Timing figures are printed (`[e2e] …`) and appended to
//! `$LEDGERLINE_E2E_OUT/timings.txt`, not asserted tightly.
//!
//! | test | checklist item |
//! |---|---|
//! | `windows::many_windows_share_one_long_poll_and_all_see_a_remote_write` | 1 (+ screenshots, `save_csv`, capability refusals) |
//! | `windows::a_burst_of_200_writes_lands_once_everywhere_and_kpis_catch_up` | 2 |
//! | `lifecycle::offline_then_live_again_with_the_rows_written_meanwhile` | 3 |
//! | `windows::leader_disabled_runs_one_long_poll_per_window_and_stays_correct` | 4 |
//! | `windows::optimistic_add_in_one_window_shows_pending_then_real_in_another_never_twice` | 5 |
//! | `lifecycle::a_second_launch_opens_a_window_in_the_running_app` | 6 (+ `--open` at first launch) |
//! | `lifecycle::a_restart_opens_the_cached_data_in_the_saved_windows` | session + cache + layout kept across starts |
//! | `lifecycle::saved_window_positions_and_sizes_are_restored` | layout geometry |
//! | `lifecycle::signing_in_through_the_form_persists_the_session_and_sign_out_ends_it` | sign-in form, store, sign-out |
//! | `attention::a_refused_write_stays_visible_with_its_reason_until_fixed_and_resent` | issue 12: a refused write stays in sight with the server's reason |
//! | `sessions::two_organizations_side_by_side_with_four_windows_run_two_long_polls` | issue 12: several sessions, one long-poll each |
//! | `sessions::a_second_launch_without_dbus_runs_no_second_long_poll_and_says_why` | issue 12: the caches' lock files without D-Bus |
//! | `scale::a_60k_row_month_reaches_a_fresh_window_and_exports_whole` | issue 14: first sync of a 60k-row month, export (`#[ignore]`: `scripts/bench.sh desktop`) |
//! | `attention::a_row_entered_offline_outlives_another_users_sign_in_and_reaches_the_server_once` | issue 12: per-identity cache, sign-out warning |

mod app;
mod driver;
mod server;
mod wait;

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use ledgerline_wire::TransactionKind;
use serde_json::json;

use crate::{
    app::{num, out_dir, today, App},
    driver::prerequisites,
    server::{Remote, OWNER},
    wait::until,
};

/// Prints a timing figure and appends it to `$LEDGERLINE_E2E_OUT/timings.txt`
/// (cargo test hides a passing test's output).
macro_rules! figure {
    ($($arg:tt)*) => {{
        let line = format!($($arg)*);
        eprintln!("[e2e] {line}");
        app::record_figure(&line);
    }};
}

/// One scenario at a time (see the crate doc).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

macro_rules! prereqs_or_skip {
    ($name:expr) => {
        match prerequisites($name) {
            Some(p) => p,
            None => return Ok(()),
        }
    };
}

mod attention;
mod integrity;
mod lifecycle;
mod scale;
mod sessions;
mod windows;

// ---- helpers ------------------------------------------------------------------

/// The URL of every open window.
async fn window_urls(app: &App) -> Result<Vec<String>> {
    let s = app.s();
    let mut urls = Vec::new();
    for h in s.handles().await? {
        s.switch_to(&h).await?;
        urls.push(s.url().await?);
    }
    Ok(urls)
}

/// `n` writes from `remote`, 8 at a time, alternating revenue and expense.
async fn burst(remote: &Remote, n: usize, on: chrono::NaiveDate) -> Result<Vec<String>> {
    let mut ids = Vec::with_capacity(n);
    let mut pending = tokio::task::JoinSet::new();
    for i in 0..n {
        let remote = remote.clone();
        pending.spawn(async move {
            let kind = if i % 2 == 0 {
                TransactionKind::Revenue
            } else {
                TransactionKind::Expense
            };
            remote
                .create(kind, 100 + i as i64, &format!("burst {i}"), on)
                .await
        });
        if pending.len() >= 8 {
            ids.push(pending.join_next().await.context("join")???.id);
        }
    }
    while let Some(row) = pending.join_next().await {
        ids.push(row??.id);
    }
    Ok(ids)
}

/// Binds `port` again once the stopped server has let go of it.
async fn bind_retry(port: u16) -> Result<tokio::net::TcpListener> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => return Ok(l),
            Err(e) if Instant::now() < deadline => {
                eprintln!("[e2e] port {port} not free yet: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Start times of the bursts of connection attempts after `after` (attempts
/// less than 700 ms apart are one tick: a tick re-fetches and probes).
fn bursts(attempts: &[Instant], after: Instant) -> Vec<Instant> {
    let mut starts: Vec<Instant> = Vec::new();
    let mut last: Option<Instant> = None;
    for &t in attempts.iter().filter(|t| **t >= after) {
        if last.is_none_or(|l| t - l > Duration::from_millis(700)) {
            starts.push(t);
        }
        last = Some(t);
    }
    starts
}

/// Makes window `handle` sample, every 5 ms, the rows whose memo is `memo`
/// (id, pending) into `window.__e2eMemoLog` whenever they change.
async fn record_memo_in(app: &App, handle: &str, memo: &str) -> Result<()> {
    let s = app.s();
    s.switch_to(handle).await?;
    s.exec(
        r#"
        const memo = arguments[0];
        if (window.__e2eTimer) clearInterval(window.__e2eTimer);
        window.__e2eMemoLog = [];
        let last = "";
        window.__e2eTimer = setInterval(() => {
          const h = window.__ledgerline; if (!h) return;
          const rows = [...h.rows("revenue"), ...h.rows("expense")].filter((r) => r.memo === memo);
          const sample = rows.map((r) => [r.id, !!r.pending_sync]);
          const key = JSON.stringify(sample);
          if (key !== last && rows.length > 0) { window.__e2eMemoLog.push(sample); last = key; }
        }, 5);
        "#,
        json!([memo]),
    )
    .await?;
    Ok(())
}

async fn memo_log(app: &App, handle: &str) -> Result<Vec<Vec<(String, bool)>>> {
    let s = app.s();
    s.switch_to(handle).await?;
    let v = s
        .exec("return window.__e2eMemoLog || [];", json!([]))
        .await?;
    Ok(serde_json::from_value(v)?)
}

/// Types a revenue entry into window `handle`'s new-row line and presses Enter.
pub(crate) async fn type_new_revenue(
    app: &App,
    handle: &str,
    amount: &str,
    memo: &str,
) -> Result<()> {
    let s = app.s();
    s.switch_to(handle).await?;
    let line = "[data-testid=\"new-row-revenue\"]";
    let category = s
        .find(&format!("{line} [data-testid=\"new-category\"]"))
        .await?;
    s.clear(&category).await?;
    s.send_keys(&category, "e2e").await?;
    let memo_el = s
        .find(&format!("{line} [data-testid=\"new-memo\"]"))
        .await?;
    s.clear(&memo_el).await?;
    s.send_keys(&memo_el, memo).await?;
    let amount_el = s
        .find(&format!("{line} [data-testid=\"new-amount\"]"))
        .await?;
    s.clear(&amount_el).await?;
    // U+E007 is WebDriver's Enter key.
    s.send_keys(&amount_el, &format!("{amount}\u{E007}"))
        .await?;
    Ok(())
}
