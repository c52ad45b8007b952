//! Both orders of the optimistic-create race against the real server: the
//! event first or the response first, one row either way.

use std::time::Duration;

use ledgerline_client::{Patch, StatusState};
use tokio::time::Instant;

use crate::helpers::*;
use crate::realtime::*;

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
