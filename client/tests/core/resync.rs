//! Coming back by itself: a `reset` and another database epoch re-snapshot
//! to the server's rows; a cache that cannot store an answer backs off in an
//! error state, not Live; window focus refetches only stale figures and
//! kicks a loop that is not Live, never losing or reviving a row.

use std::{collections::BTreeSet, sync::Arc, time::Duration};

use chrono::Utc;
use ledgerline_client::{MemoryStore, ReportRange, StatusState};

use crate::helpers::*;
use crate::realtime::*;

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
