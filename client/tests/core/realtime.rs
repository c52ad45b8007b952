//! The long-poll against the real server: one waiter per session however
//! many windows, the rollback flag, a 1000-event burst (offline and back:
//! `offline.rs`), both orders of the optimistic-create race, and `reset`.

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
struct Window {
    sub: Subscription,
    rows: BTreeMap<String, Row>,
}

impl Window {
    async fn open(core: &ledgerline_client::Core) -> Window {
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

    fn apply(&mut self, batch: PatchBatch) {
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

    fn drain(&mut self) -> Vec<PatchBatch> {
        let mut got = Vec::new();
        while let Ok(b) = self.sub.batches.try_recv() {
            got.push(b.clone());
            self.apply(b);
        }
        got
    }

    /// (id, version) of every row shown.
    fn shown(&self) -> BTreeSet<(String, i64)> {
        self.rows
            .values()
            .map(|r| (r.id.clone(), r.version))
            .collect()
    }
}

fn server_set(rows: &[Transaction]) -> BTreeSet<(String, i64)> {
    rows.iter().map(|t| (t.id.clone(), t.version)).collect()
}

async fn live(core: &ledgerline_client::Core) {
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
async fn waiters_settle_at(server: &TestServer, n: u64) {
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
async fn quiet_core(server: &TestServer, dir: &std::path::Path, backoff: Duration) -> TestCore {
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

#[tokio::test]
async fn optimistic_create_when_the_event_wins_the_race_shows_one_row() {
    let mut server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let c = quiet_core(&server, dir.path(), Duration::from_secs(10)).await;
    let p = first_property(&c.core);
    // The send fails and backs off for 5–10 s (the status stays live, so
    // nothing wakes the sender early) ...
    server.stop();
    let mut input = new_txn(&p, 4_242, "event first");
    let row = c.core.create_transaction(input.clone()).await.unwrap();
    let cmid = row.client_mutation_id.clone().unwrap();
    let core = c.core.clone();
    wait_until("the first send to fail", Duration::from_secs(5), || {
        let core = core.clone();
        async move {
            core.status().state != StatusState::Live || core.outbox().await.unwrap().len() == 1
        }
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.restart().await;
    // ... while the same write reaches the server another way, and its
    // event reaches the core first.
    input.client_mutation_id = Some(cmid.clone());
    let other = server.http().login(ACCOUNTANT).await.unwrap();
    let real = other.create(&input).await.unwrap();
    let mut w = Window::open(&c.core).await;
    let deadline = Instant::now() + Duration::from_secs(4);
    let mut replaced = false;
    while !replaced && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
        for b in w.drain() {
            let removes_local = b
                .patches
                .iter()
                .any(|p| matches!(p, Patch::Remove { id } if *id == row.id));
            let adds_real = b
                .patches
                .iter()
                .any(|p| matches!(p, Patch::Upsert { row } if row.id == real.id));
            if removes_local && adds_real {
                replaced = true;
            }
        }
    }
    assert!(replaced, "local row replaced by the real one in one batch");
    assert_eq!(
        c.core.outbox().await.unwrap().len(),
        1,
        "the event won: the create is still queued"
    );
    let core = c.core.clone();
    wait_until(
        "the queued create to be confirmed",
        Duration::from_secs(20),
        || {
            let core = core.clone();
            async move { core.outbox().await.unwrap().is_empty() }
        },
    )
    .await
    .unwrap();
    w.drain();
    let mine: Vec<_> = w
        .rows
        .values()
        .filter(|r| r.client_mutation_id.as_deref() == Some(&cmid))
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].id, real.id);
    let on_server = other.all().await.unwrap();
    assert_eq!(
        on_server
            .iter()
            .filter(|t| t.client_mutation_id.as_deref() == Some(&cmid))
            .count(),
        1
    );
}

#[tokio::test]
async fn optimistic_create_when_the_response_wins_the_race_shows_one_row() {
    let server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let c = quiet_core(&server, dir.path(), Duration::from_millis(100)).await;
    let p = first_property(&c.core);
    let w = Window::open(&c.core).await;
    // The window's own poll loop starts with it; stop it so the answer
    // certainly comes before the event.
    c.core.unsubscribe(w.sub.id);
    let row = c
        .core
        .create_transaction(new_txn(&p, 5_151, "response first"))
        .await
        .unwrap();
    let cmid = row.client_mutation_id.clone().unwrap();
    let core = c.core.clone();
    wait_until("the answer", Duration::from_secs(10), || {
        let core = core.clone();
        async move { core.outbox().await.unwrap().is_empty() }
    })
    .await
    .unwrap();
    let applied = c.core.telemetry().counters().events_applied;
    // Now the event arrives.
    let mut w2 = Window::open(&c.core).await;
    let core = c.core.clone();
    wait_until("the event", Duration::from_secs(10), || {
        let n = core.telemetry().counters().events_applied;
        async move { n > applied }
    })
    .await
    .unwrap();
    w2.drain();
    let rows = c.core.cache().all_rows().await.unwrap();
    let mine: Vec<_> = rows
        .iter()
        .filter(|r| r.client_mutation_id.as_deref() == Some(&cmid))
        .collect();
    assert_eq!(mine.len(), 1);
    assert!(!mine[0].pending_sync && !mine[0].id.starts_with("local-"));
    assert_eq!(
        w2.rows
            .values()
            .filter(|r| r.client_mutation_id.as_deref() == Some(&cmid))
            .count(),
        1
    );
    drop(w);
}

#[tokio::test]
async fn a_reset_from_the_server_re_snapshots_to_the_servers_rows() {
    let mut server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryStore::new());
    let c = TestCore::open(dir.path(), store.clone()).await;
    c.core.sign_in(&server.url, OWNER, PASSWORD).await.unwrap();
    live(&c.core).await;
    let p = first_property(&c.core);
    let seq_before = c.core.cache().seq().await.unwrap().unwrap();
    c.core.shutdown().await;
    drop(c);

    // While the app is closed: writes, then the server forgets their events.
    let other = server.http().login(MANAGER).await.unwrap();
    for i in 0..10 {
        other
            .create(&new_txn(&p, 300 + i, "while closed"))
            .await
            .unwrap();
    }
    server.stop();
    let store_db = ledgerline_server::Store::open(&format!("sqlite://{}", server.db.display()))
        .await
        .unwrap();
    assert!(
        store_db
            .prune_events(Utc::now() + chrono::Duration::seconds(1))
            .await
            .unwrap()
            >= 10
    );
    store_db.close().await;
    server.restart().await;

    let mut c = TestCore::open(dir.path(), store).await;
    let core = c.core.clone();
    let other2 = other.clone();
    wait_until(
        "the cache to equal the server",
        Duration::from_secs(15),
        || {
            let core = core.clone();
            let other = other2.clone();
            async move {
                let server = server_set(&other.all().await.unwrap());
                let cached: BTreeSet<_> = core
                    .cache()
                    .all_rows()
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|r| (r.id, r.version))
                    .collect();
                server == cached
            }
        },
    )
    .await
    .unwrap();
    assert!(c.core.cache().seq().await.unwrap().unwrap() > seq_before);
    assert!(c
        .drain()
        .iter()
        .any(|e| matches!(e, ledgerline_client::CoreEvent::SyncProgress(p) if p.finished)));
}

#[tokio::test]
async fn a_server_database_with_another_epoch_makes_the_core_re_snapshot() {
    let mut server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryStore::new());
    let c = TestCore::open(dir.path(), store.clone()).await;
    c.core.sign_in(&server.url, OWNER, PASSWORD).await.unwrap();
    live(&c.core).await;
    let p = first_property(&c.core);
    let other = server.http().login(MANAGER).await.unwrap();
    let gone = other
        .create(&new_txn(&p, 700, "restored away"))
        .await
        .unwrap();
    let core = c.core.clone();
    wait_until("the row is cached", Duration::from_secs(15), || {
        let core = core.clone();
        let id = gone.id.clone();
        async move {
            core.cache()
                .all_rows()
                .await
                .unwrap()
                .iter()
                .any(|r| r.id == id)
        }
    })
    .await
    .unwrap();
    let before = c.core.cache().cursor().await.unwrap().expect("a cursor");
    let old_epoch = before
        .epoch()
        .expect("the cache keeps the epoch")
        .to_owned();
    c.core.shutdown().await;
    drop(c);

    // "Restore a backup": the row vanishes without an event, and the
    // operator gives the database a new epoch.
    server.stop();
    let url = format!("sqlite://{}", server.db.display());
    let db = ledgerline_server::Store::open(&url).await.unwrap();
    let new_epoch = db.new_epoch().await.unwrap();
    db.close().await;
    let raw = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("DELETE FROM transactions WHERE id = ?")
        .bind(&gone.id)
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;
    server.restart().await;

    // The old cursor is answered `reset`: the core re-snapshots, so the
    // row no event announced is gone from the cache too.
    let c = TestCore::open(dir.path(), store).await;
    let core = c.core.clone();
    wait_until(
        "a re-snapshot under the new epoch",
        Duration::from_secs(15),
        || {
            let core = core.clone();
            let (id, epoch) = (gone.id.clone(), new_epoch.clone());
            async move {
                let cursor = core.cache().cursor().await.unwrap();
                let rows = core.cache().all_rows().await.unwrap();
                cursor.is_some_and(|c| c.epoch() == Some(epoch.as_str()))
                    && !rows.iter().any(|r| r.id == id)
            }
        },
    )
    .await
    .unwrap();
    assert_ne!(old_epoch, new_epoch);
}

#[tokio::test]
async fn window_focus_refetches_only_stale_figures() {
    let server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let config = ledgerline_client::CoreConfig {
        profit_loss_stale_live: Duration::from_millis(300),
        ..test_config(dir.path())
    };
    let c = TestCore::open_with(config, Arc::new(MemoryStore::new())).await;
    c.core.sign_in(&server.url, OWNER, PASSWORD).await.unwrap();
    live(&c.core).await;
    let today = Utc::now().date_naive();
    let range = ReportRange {
        property_id: None,
        from: today,
        to: today,
    };
    c.core.watch_report(range.clone()).await.unwrap();
    let fetched = c.core.reports().fetch_counts();
    // Fresh: focus changes nothing.
    c.core.window_focused().unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(c.core.reports().fetch_counts(), fetched);
    // Stale: focus refreshes every figure of the range once.
    let core = c.core.clone();
    let watched = range.clone();
    wait_until("the figures go stale", Duration::from_secs(10), || {
        let stale = core
            .reports()
            .stale(&watched, Duration::from_millis(300))
            .len();
        async move { stale == 3 }
    })
    .await
    .unwrap();
    c.core.window_focused().unwrap();
    let core = c.core.clone();
    wait_until("the refresh", Duration::from_secs(10), || {
        let now = core.reports().fetch_counts();
        async move { (0..3).all(|k| now[k] == fetched[k] + 1) }
    })
    .await
    .unwrap();
    // A second window on the same range shares it; the last unwatch forgets it.
    c.core.watch_report(range.clone()).await.unwrap();
    c.core.unwatch_report(&range);
    assert_eq!(c.core.reports().ranges(), vec![range.clone()]);
    c.core.unwatch_report(&range);
    assert!(c.core.reports().ranges().is_empty());
}

/// The cache file of the one identity signed in under `dir`.
fn cache_file(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::read_dir(dir.join("caches"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "sqlite"))
        .expect("a cache file")
}

#[tokio::test]
async fn a_cache_that_cannot_store_an_answer_backs_off_in_an_error_state_not_live() {
    use sqlx::{Connection, Executor};
    let server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let config = ledgerline_client::CoreConfig {
        cache_busy_timeout: Duration::from_millis(100),
        ..test_config(dir.path())
    };
    let c = TestCore::open_with(config, Arc::new(MemoryStore::new())).await;
    c.core
        .sign_in(&server.url, ACCOUNTANT, PASSWORD)
        .await
        .unwrap();
    live(&c.core).await;
    let p = first_property(&c.core);
    // Something else holds the cache's write lock (like a full disk, every
    // write fails).
    let url = format!("sqlite://{}", cache_file(dir.path()).display());
    let mut blocker = sqlx::SqliteConnection::connect(&url).await.unwrap();
    blocker.execute("BEGIN IMMEDIATE").await.unwrap();
    let remote = server.http().login(ACCOUNTANT).await.unwrap();
    let t = remote
        .create(&new_txn(&p, 321, "while blocked"))
        .await
        .unwrap();
    let core = c.core.clone();
    wait_until("the cache-error state", Duration::from_secs(10), || {
        let core = core.clone();
        async move { core.status().state == StatusState::CacheError }
    })
    .await
    .unwrap();
    // Backing off, not spinning: each retry waits (40 ms doubling to 200 ms
    // here) plus the 100 ms lock wait, so two seconds hold a handful.
    let failures = c.core.diagnostics().counters.cache_write_failures;
    assert!(failures >= 1);
    blocker.execute("ROLLBACK").await.unwrap();
    let core = c.core.clone();
    let id = t.id.clone();
    wait_until("live again with the row", Duration::from_secs(10), || {
        let core = core.clone();
        let id = id.clone();
        async move {
            core.status().state == StatusState::Live
                && core.cache().get(&id).await.unwrap().is_some()
        }
    })
    .await
    .unwrap();
    let polls = c.core.diagnostics().counters.cache_write_failures;
    assert!(polls < 60, "{polls} failed stores: no backoff");
}

#[tokio::test]
async fn focus_while_not_live_kicks_the_poll_loop_and_never_loses_or_revives_a_row() {
    let mut server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let config = ledgerline_client::CoreConfig {
        snapshot_page: 7,
        lists_stale: Duration::ZERO,
        ..test_config(dir.path())
    };
    let c = TestCore::open_with(config, Arc::new(MemoryStore::new())).await;
    c.core
        .sign_in(&server.url, ACCOUNTANT, PASSWORD)
        .await
        .unwrap();
    live(&c.core).await;
    let p = first_property(&c.core);
    let remote = server.http().login(ACCOUNTANT).await.unwrap();
    let mut made = Vec::new();
    for i in 0..60 {
        made.push(remote.create(&new_txn(&p, 100 + i, "seed")).await.unwrap());
    }
    live(&c.core).await;
    // Down and back: the core is not live for a moment, so each focus
    // kicks the poll loop into its next try at once while it reconnects
    // and applies the writes made meanwhile.
    server.stop();
    let core = c.core.clone();
    wait_until("not live", Duration::from_secs(10), || {
        let core = core.clone();
        async move { core.status().state != StatusState::Live }
    })
    .await
    .unwrap();
    server.restart().await;
    let writer = {
        let remote = remote.clone();
        let p = p.clone();
        let doomed: Vec<String> = made.iter().take(20).map(|t| t.id.clone()).collect();
        tokio::spawn(async move {
            for (i, id) in doomed.iter().enumerate() {
                remote
                    .create(&new_txn(&p, 900 + i as i64, "during"))
                    .await
                    .unwrap();
                remote
                    .http
                    .delete(format!("{}/v1/transactions/{id}", remote.url))
                    .bearer_auth(&remote.token)
                    .send()
                    .await
                    .unwrap();
            }
        })
    };
    while !writer.is_finished() {
        let _ = c.core.window_focused();
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    writer.await.unwrap();
    let server_ids: BTreeSet<String> = remote
        .all()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    let core = c.core.clone();
    wait_for(
        "the cache to equal the server",
        Duration::from_secs(15),
        || {
            let core = core.clone();
            let server_ids = server_ids.clone();
            async move { (cached_ids(&core).await == server_ids).then_some(()) }
        },
    )
    .await
    .unwrap();
}
