//! Offline and back: probes that ask the server only for what changed
//! (its requests counted in `/metrics`), the reconnect schedule on a
//! paused clock, a first sync that fails and is retried on demand, and the
//! sampled counter uploads summed by the server.

use std::{collections::BTreeSet, sync::Arc, time::Duration};

use ledgerline_client::{
    backoff::{Backoff, Retry},
    CoreConfig, CoreEvent, MemoryStore, Patch, StatusState,
};
use tokio::time::Instant;

use crate::helpers::*;

async fn status_is(core: &ledgerline_client::Core, state: StatusState) {
    let core = core.clone();
    wait_until(&format!("{state:?}"), Duration::from_secs(15), || {
        let s = core.status().state;
        async move { s == state }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn offline_probes_ask_only_for_what_changed_and_only_changed_rows_are_patched() {
    let mut server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let mut c = TestCore::signed_in(&server, dir.path(), OWNER).await;
    status_is(&c.core, StatusState::Live).await;
    let p = first_property(&c.core);
    let other = server.http().login(MANAGER).await.unwrap();
    for i in 0..20 {
        other.create(&new_txn(&p, 100 + i, "before")).await.unwrap();
    }
    let core = c.core.clone();
    let before = wait_for("the rows before", Duration::from_secs(15), || {
        let core = core.clone();
        async move {
            let ids = cached_ids(&core).await;
            (ids.len() >= 20).then_some(ids)
        }
    })
    .await
    .unwrap();
    let mut window = c.core.subscribe().await.unwrap();

    server.stop();
    status_is(&c.core, StatusState::Offline).await;
    let core = c.core.clone();
    wait_until("a few probes", Duration::from_secs(15), || {
        let n = core.telemetry().offline_probes();
        async move { n >= 3 }
    })
    .await
    .unwrap();
    for i in 0..3 {
        c.core
            .create_transaction(new_txn(&p, 700 + i, "while offline"))
            .await
            .unwrap();
    }
    c.drain();

    // Back, with fresh counters: five rows written by someone else.
    server.restart().await;
    let other = server.http().login(MANAGER).await.unwrap();
    let mut written = BTreeSet::new();
    for i in 0..5 {
        let t = other
            .create(&new_txn(&p, 900 + i, "written as it came back"))
            .await
            .unwrap();
        written.insert(t.id);
    }
    status_is(&c.core, StatusState::Live).await;
    let core = c.core.clone();
    let expected = before.len() + 3 + 5;
    wait_until("the new rows cached", Duration::from_secs(15), || {
        let core = core.clone();
        async move {
            let rows = core.cache().all_rows().await.unwrap();
            rows.len() == expected
                && rows.iter().all(|r| !r.pending_sync)
                && core.outbox().await.unwrap().is_empty()
        }
    })
    .await
    .unwrap();

    // The server was asked for changes only: not one list page since it
    // came back, and polls did the work.
    let listed = server
        .metric("ledgerline_http_requests_total{method=\"GET\",route=\"/v1/transactions\"}")
        .await
        .unwrap();
    assert_eq!(listed, 0.0, "an org re-list after the outage");
    let polls = server
        .metric("ledgerline_realtime_polls_total{outcome=\"events\"}")
        .await
        .unwrap();
    assert!(polls >= 1.0, "{polls} polls answered with events");
    // No snapshot, so no "reload everything" signal to the windows…
    let snapshots: Vec<_> = c
        .drain()
        .into_iter()
        .filter(|e| matches!(e, CoreEvent::SyncProgress(_)))
        .collect();
    assert!(snapshots.is_empty(), "{snapshots:?}");
    // …and the window's patches touch only rows written meanwhile.
    let mut touched = BTreeSet::new();
    while let Ok(batch) = window.batches.try_recv() {
        for patch in batch.patches {
            touched.insert(match patch {
                Patch::Upsert { row } => row.id.clone(),
                Patch::Remove { id } => id,
            });
        }
    }
    assert!(written.is_subset(&touched), "{touched:?}");
    let old: Vec<_> = touched.intersection(&before).collect();
    assert!(
        old.is_empty(),
        "rows unchanged by the outage were patched: {old:?}"
    );
}

/// The poll loop's schedule ([`Backoff`], what it sleeps between tries) on
/// a paused clock: the server goes away at 0 and is back at `back`; each
/// try at or after `back` is answered.
async fn live_after(config: &CoreConfig, back: Duration) -> (Duration, u32) {
    let start = Instant::now();
    let mut backoff = Backoff::new(config);
    let mut tries = 0;
    loop {
        tries += 1;
        if start.elapsed() >= back {
            return (start.elapsed() - back, tries);
        }
        let (Retry::Reconnect(d) | Retry::Offline(d)) = backoff.failed();
        tokio::time::sleep(d).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_server_back_from_any_outage_is_found_within_5_seconds() {
    let config = CoreConfig::default();
    for secs in (1..=600).step_by(7) {
        for extra_ms in [0, 250, 999] {
            let back = Duration::from_secs(secs) + Duration::from_millis(extra_ms);
            let (late, _) = live_after(&config, back).await;
            assert!(
                late <= Duration::from_secs(5),
                "back after {back:?}, found {late:?} later"
            );
        }
    }
    // Never a hot loop: on average at least 2.5 s between tries of a long
    // outage (the capped backoff's floor is 5 s / 2).
    let (_, tries) = live_after(&config, Duration::from_secs(600)).await;
    assert!(tries <= 600 / 2 + 10, "{tries} tries in 10 minutes");
}

#[tokio::test(start_paused = true)]
async fn a_server_that_answers_probes_but_not_long_polls_is_probed_every_12_to_18_seconds() {
    let config = CoreConfig::default();
    let mut backoff = Backoff::new(&config);
    for _ in 0..config.offline_after_failures {
        backoff.failed();
    }
    let mut gaps = Vec::new();
    for _ in 0..20 {
        // The probe is answered; the long-poll after it fails.
        assert!(backoff.is_offline());
        backoff.probe_answered();
        let started = Instant::now();
        let (Retry::Reconnect(d) | Retry::Offline(d)) = backoff.failed();
        tokio::time::sleep(d).await;
        gaps.push(started.elapsed());
    }
    // The first round might be a server going down again: probed fast.
    assert!(gaps[0] <= Duration::from_secs(5), "{:?}", gaps[0]);
    for gap in &gaps[1..] {
        assert!(
            *gap >= Duration::from_secs(12) && *gap <= Duration::from_secs(18),
            "{gap:?}"
        );
    }
}

#[tokio::test]
async fn a_first_sync_that_fails_says_why_and_retry_sync_tries_at_once() {
    let mut server = TestServer::spawn().await;
    let store = Arc::new(MemoryStore::new());
    // Signed in once (the store keeps the session), then opened on an
    // empty data directory with the server down: the first sync fails.
    let first = tempfile::tempdir().unwrap();
    let c = TestCore::open(first.path(), store.clone()).await;
    c.core.sign_in(&server.url, OWNER, PASSWORD).await.unwrap();
    status_is(&c.core, StatusState::Live).await;
    c.core.shutdown().await;
    drop(c);
    server.stop();

    let dir = tempfile::tempdir().unwrap();
    // Backoff so long that only `retry_sync` can bring the sync within
    // the deadline below.
    let config = CoreConfig {
        backoff_base: Duration::from_secs(60),
        backoff_max: Duration::from_secs(60),
        offline_probe_max: Duration::from_secs(60),
        ..test_config(dir.path())
    };
    let mut c = TestCore::open_with(config, store).await;
    let failed = wait_for("a failed sync", Duration::from_secs(15), || {
        let got = c.drain().into_iter().find_map(|e| match e {
            CoreEvent::SyncProgress(p) => p.error,
            _ => None,
        });
        async move { got }
    })
    .await
    .unwrap();
    assert!(failed.contains("unreachable"), "{failed}");

    server.restart().await;
    let core = c.core.clone();
    wait_until("the retried sync", Duration::from_secs(15), || {
        core.retry_sync().unwrap();
        let core = core.clone();
        async move { core.cache().seq().await.unwrap().is_some() }
    })
    .await
    .unwrap();
    let finished = c
        .drain()
        .into_iter()
        .any(|e| matches!(e, CoreEvent::SyncProgress(p) if p.finished && p.error.is_none()));
    assert!(finished, "the bar was told the sync finished");
}

#[tokio::test]
async fn a_sampled_session_uploads_its_counters_and_the_server_sums_them() {
    let server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let _c = sampled_session(&server, dir.path(), Duration::from_millis(200)).await;
    wait_until("an upload", Duration::from_secs(15), || async {
        uploads(&server).await >= 1.0
    })
    .await
    .unwrap();
    // The session's one leader loop, counted once by the server.
    let acquired = server
        .metric("ledgerline_client_leader_acquired_total")
        .await
        .unwrap();
    assert_eq!(acquired, 1.0);
}

/// A signed-in, Live session that uploads its counters every
/// jitter(`every` / 2, `every`).
async fn sampled_session(server: &TestServer, dir: &std::path::Path, every: Duration) -> TestCore {
    let config = CoreConfig {
        telemetry_sample_rate: 1.0,
        telemetry_every: every,
        ..test_config(dir)
    };
    let c = TestCore::open_with(config, Arc::new(MemoryStore::new())).await;
    c.core.sign_in(&server.url, OWNER, PASSWORD).await.unwrap();
    status_is(&c.core, StatusState::Live).await;
    c
}

/// Uploads the server has taken.
async fn uploads(server: &TestServer) -> f64 {
    server
        .metric("ledgerline_client_telemetry_uploads_total")
        .await
        .unwrap()
}

#[tokio::test]
async fn a_sampled_session_uploads_what_it_counted_when_it_signs_out() {
    let server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    // No upload on the timer in this test: only the last one.
    let c = sampled_session(&server, dir.path(), Duration::from_secs(3600)).await;
    assert_eq!(uploads(&server).await, 0.0);
    c.core.sign_out(false).await.unwrap();
    // Taken before the token was revoked.
    assert_eq!(uploads(&server).await, 1.0);
    let acquired = server
        .metric("ledgerline_client_leader_acquired_total")
        .await
        .unwrap();
    assert_eq!(acquired, 1.0);
}

#[tokio::test]
async fn after_a_reconnect_watched_reports_are_refreshed_after_a_jittered_delay() {
    let mut server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let config = CoreConfig {
        reconnect_refresh_spread: Duration::from_millis(500),
        ..test_config(dir.path())
    };
    let c = TestCore::open_with(config, Arc::new(MemoryStore::new())).await;
    c.core.sign_in(&server.url, OWNER, PASSWORD).await.unwrap();
    status_is(&c.core, StatusState::Live).await;
    let today = chrono::Utc::now().date_naive();
    let range = ledgerline_client::ReportRange {
        property_id: None,
        from: today,
        to: today,
    };
    c.core.watch_report(range).await.unwrap();
    server.stop();
    status_is(&c.core, StatusState::Offline).await;
    let before = c.core.reports().fetch_counts();
    server.restart().await;
    status_is(&c.core, StatusState::Live).await;
    let core = c.core.clone();
    wait_until("every figure refreshed", Duration::from_secs(15), || {
        let now = core.reports().fetch_counts();
        async move { (0..3).all(|k| now[k] > before[k]) }
    })
    .await
    .unwrap();
}
