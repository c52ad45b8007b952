//! The long-poll against the real server: one waiter per session however
//! many windows, the rollback flag, a 1000-event burst (offline and back:
//! `offline.rs`; the optimistic-create race: `races.rs`; re-snapshots and
//! focus: `resync.rs`), and the helpers those share.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
    time::Duration,
};

use chrono::Utc;
use ledgerline_client::KvStore;
use ledgerline_client::{
    flags, MemoryStore, Patch, PatchBatch, ReportRange, Row, StatusState, Subscription,
};
use ledgerline_wire::Transaction;
use tokio::time::Instant;

use crate::helpers::*;

/// What a window shows: its starting rows plus every batch it was sent.
pub(crate) struct Window {
    pub(crate) sub: Subscription,
    pub(crate) rows: BTreeMap<String, Row>,
}

impl Window {
    pub(crate) async fn open(core: &ledgerline_client::Core) -> Window {
        let sub = core.subscribe().await.unwrap();
        let rows = core
            .cache()
            .all_rows()
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
        Window { sub, rows }
    }

    pub(crate) fn apply(&mut self, batch: PatchBatch) {
        for p in batch.patches {
            match p {
                Patch::Upsert { row } => {
                    self.rows.insert(row.id.clone(), (*row).clone());
                }
                Patch::Remove { id } => {
                    self.rows.remove(&id);
                }
            }
        }
    }

    pub(crate) fn drain(&mut self) -> Vec<PatchBatch> {
        let mut got = Vec::new();
        while let Ok(b) = self.sub.batches.try_recv() {
            got.push(b.clone());
            self.apply(b);
        }
        got
    }

    /// (id, version) of every row shown.
    pub(crate) fn shown(&self) -> BTreeSet<(String, i64)> {
        self.rows
            .values()
            .map(|r| (r.id.clone(), r.version))
            .collect()
    }
}

pub(crate) fn server_set(rows: &[Transaction]) -> BTreeSet<(String, i64)> {
    rows.iter().map(|t| (t.id.clone(), t.version)).collect()
}

pub(crate) async fn live(core: &ledgerline_client::Core) {
    let core = core.clone();
    wait_until("live", Duration::from_secs(15), || {
        let core = core.clone();
        async move {
            core.status().state == StatusState::Live && core.cache().seq().await.unwrap().is_some()
        }
    })
    .await
    .unwrap();
}

/// Waits for `n` waiters, lets any cancelled poll run out its server-side
/// timeout (2 s here), then checks it stays at most `n` and is `n` again.
pub(crate) async fn waiters_settle_at(server: &TestServer, n: u64) {
    let exactly = |n: u64| async move {
        wait_until(
            &format!("{n} waiters"),
            Duration::from_secs(15),
            || async move { server.waiters().await.unwrap() == n },
        )
        .await
        .unwrap();
    };
    exactly(n).await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    for _ in 0..20 {
        let w = server.waiters().await.unwrap();
        assert!(w <= n, "{w} waiters, expected at most {n}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    exactly(n).await;
}

#[tokio::test]
async fn six_windows_share_one_long_poll_and_the_flag_rolls_back_to_six() {
    let server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let c = TestCore::signed_in(&server, dir.path(), OWNER).await;
    live(&c.core).await;
    let mut windows = Vec::new();
    for _ in 0..6 {
        windows.push(c.core.subscribe().await.unwrap());
    }
    waiters_settle_at(&server, 1).await;
    assert!(c.core.diagnostics().counters.leader_acquired >= 1);

    c.core
        .set_flag(flags::LEADER_ENABLED, false.into())
        .unwrap();
    waiters_settle_at(&server, 6).await;

    c.core.set_flag(flags::LEADER_ENABLED, true.into()).unwrap();
    waiters_settle_at(&server, 1).await;
    drop(windows);
}

#[tokio::test]
async fn two_sessions_cost_two_long_polls() {
    let server = TestServer::spawn().await;
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = TestCore::signed_in(&server, a_dir.path(), OWNER).await;
    let b = TestCore::signed_in(&server, b_dir.path(), ACCOUNTANT).await;
    let mut windows = Vec::new();
    for _ in 0..3 {
        windows.push(a.core.subscribe().await.unwrap());
        windows.push(b.core.subscribe().await.unwrap());
    }
    live(&a.core).await;
    live(&b.core).await;
    waiters_settle_at(&server, 2).await;
}

#[tokio::test]
async fn a_burst_of_1000_events_reaches_every_window_exactly_and_aggregates_are_debounced() {
    let server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let c = TestCore::signed_in(&server, dir.path(), OWNER).await;
    live(&c.core).await;
    let today = Utc::now().date_naive();
    let range = ReportRange {
        property_id: None,
        from: today - chrono::Duration::days(30),
        to: today,
    };
    c.core.watch_report(range.clone()).await.unwrap();
    let before = c.core.reports().fetch_counts();
    let mut windows = Vec::new();
    for _ in 0..6 {
        windows.push(Window::open(&c.core).await);
    }

    let other = server.http().login(MANAGER).await.unwrap();
    let properties: Vec<String> = c
        .core
        .session()
        .unwrap()
        .properties
        .iter()
        .map(|p| p.id.clone())
        .collect();
    let burst_start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let other = other.clone();
        let properties = properties.clone();
        tasks.spawn(async move {
            for i in 0..125 {
                let p = &properties[(worker + i) % properties.len()];
                other
                    .create(&new_txn(p, 100 + i as i64, &format!("burst {worker}/{i}")))
                    .await
                    .unwrap();
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let last_event = Instant::now();

    let expected = server_set(&other.all().await.unwrap());
    let core = c.core.clone();
    wait_until(
        "every window to show the server's rows",
        Duration::from_secs(30),
        || {
            let ok = windows.iter_mut().all(|w| {
                w.drain();
                w.shown() == expected
            });
            let _ = &core;
            async move { ok }
        },
    )
    .await
    .unwrap();
    let applied_all = Instant::now();
    for w in &windows {
        assert_eq!(w.rows.len(), expected.len(), "no duplicates");
        assert!(w.rows.values().all(|r| !r.id.starts_with("local-")));
    }

    // Let the trailing refresh happen (one debounce window after the last event).
    let debounce = Duration::from_millis(c.core.diagnostics().flags.derived_debounce_ms);
    tokio::time::sleep(debounce + Duration::from_millis(500)).await;
    let window_secs = (applied_all - burst_start).as_secs_f64() / debounce.as_secs_f64();
    let allowed = window_secs.ceil() as u64 + 2;
    let after = c.core.reports().fetch_counts();
    let last = c.core.reports().last_fetches();
    for (k, name) in ["profit_loss", "daily_approval", "today_pending"]
        .iter()
        .enumerate()
    {
        let fetched = after[k] - before[k];
        assert!(fetched >= 1, "{name} refreshed");
        assert!(
            fetched <= allowed,
            "{name}: {fetched} fetches, allowed {allowed}"
        );
        assert!(
            last[k].unwrap() >= last_event,
            "{name}: the last fetch follows the last event"
        );
    }
    assert!(c.core.diagnostics().counters.derived_debounce_fired >= 3);

    let latest = c.core.reports().latest(&range).unwrap();
    let server_pl: ledgerline_wire::ProfitLoss = serde_json::from_value(
        other
            .get_json(&format!(
                "/v1/reports/profit-loss?from={}&to={}",
                range.from, range.to
            ))
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(latest.profit_loss, Some(server_pl));
    let server_tp: ledgerline_wire::TodayPending =
        serde_json::from_value(other.get_json("/v1/approvals/today-pending").await.unwrap())
            .unwrap();
    assert_eq!(latest.today_pending, Some(server_tp));
    let server_daily: ledgerline_wire::DailyApproval = serde_json::from_value(
        other
            .get_json(&format!("/v1/approvals/daily?date={}", range.to))
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(latest.daily_approval, Some(server_daily));
}

/// A core whose poll loops run only while a window is subscribed
/// (`FIN_LEADER_ENABLED=false`), after its first snapshot.
pub(crate) async fn quiet_core(
    server: &TestServer,
    dir: &std::path::Path,
    backoff: Duration,
) -> TestCore {
    let store = Arc::new(MemoryStore::new());
    store.set(flags::LEADER_ENABLED, false.into()).unwrap();
    let config = ledgerline_client::CoreConfig {
        backoff_base: backoff,
        backoff_max: backoff,
        offline_after_failures: 100,
        ..test_config(dir)
    };
    let c = TestCore::open_with(config, store).await;
    c.core
        .sign_in(&server.url, ACCOUNTANT, PASSWORD)
        .await
        .unwrap();
    let first = c.core.subscribe().await.unwrap();
    live(&c.core).await;
    drop(first);
    waiters_settle_at(server, 0).await;
    c
}
