//! Optimistic writes against the real server: confirmation, rollback, and
//! the outbox surviving a restart.

use std::{collections::HashMap, sync::Arc, time::Duration};

use ledgerline_client::{CoreEvent, ErrorKind, MemoryStore, Patch, RowQuery};

use crate::helpers::*;

#[tokio::test]
async fn an_optimistic_create_shows_at_once_and_is_replaced_by_the_real_row() {
    let server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let c = TestCore::signed_in(&server, dir.path(), ACCOUNTANT).await;
    let mut sub = c.core.subscribe().await.unwrap();
    let p = first_property(&c.core);
    let row = c
        .core
        .create_transaction(new_txn(&p, 5_000, "optimistic"))
        .await
        .unwrap();
    assert!(row.pending_sync);
    let cmid = row.client_mutation_id.clone().unwrap();
    assert_eq!(row.id, format!("local-{cmid}"));
    let page = c.core.list_rows(RowQuery::default()).await.unwrap();
    assert!(page.rows.iter().any(|r| r.id == row.id), "listed at once");

    // What a window shows, built from its batches only.
    let mut shown: HashMap<String, ledgerline_client::Row> = HashMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let batch = tokio::time::timeout_at(deadline, sub.batches.recv())
            .await
            .expect("the confirmation arrives")
            .unwrap();
        for patch in batch.patches {
            match patch {
                Patch::Upsert { row } => {
                    shown.insert(row.id.clone(), row);
                }
                Patch::Remove { id } => {
                    shown.remove(&id);
                }
            }
        }
        let mine: Vec<_> = shown
            .values()
            .filter(|r| r.client_mutation_id.as_deref() == Some(&cmid))
            .collect();
        assert!(mine.len() <= 1, "never shown twice: {mine:?}");
        if mine.len() == 1 && !mine[0].pending_sync {
            assert!(!mine[0].id.starts_with("local-"));
            break;
        }
    }
    let server_rows = server
        .http()
        .login(OWNER)
        .await
        .unwrap()
        .all()
        .await
        .unwrap();
    assert_eq!(
        server_rows
            .iter()
            .filter(|t| t.client_mutation_id.as_deref() == Some(&cmid))
            .count(),
        1
    );
}

#[tokio::test]
async fn a_rejected_create_rolls_back_and_reports_why() {
    let server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let mut c = TestCore::signed_in(&server, dir.path(), ACCOUNTANT).await;
    let p = first_property(&c.core);
    // The server refuses memos over 2000 characters; the core does not check.
    let row = c
        .core
        .create_transaction(new_txn(&p, 100, &"x".repeat(2_001)))
        .await
        .unwrap();
    let local = row.id.clone();
    let core = c.core.clone();
    wait_until("the rollback", Duration::from_secs(10), || {
        let core = core.clone();
        let local = local.clone();
        async move { core.cache().get(&local).await.unwrap().is_none() }
    })
    .await
    .unwrap();
    let failure = c
        .drain()
        .into_iter()
        .find_map(|e| match e {
            CoreEvent::MutationFailed(f) => Some(f),
            _ => None,
        })
        .expect("the failure is reported");
    assert_eq!(failure.row_id, local);
    assert_eq!(failure.error.kind, ErrorKind::Invalid);
    assert!(c.core.outbox().await.unwrap().is_empty());
    assert_eq!(c.core.diagnostics().counters.outbox_depth, 0);
}

#[tokio::test]
async fn a_stale_version_surfaces_as_a_conflict_and_rolls_back() {
    let server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let mut c = TestCore::signed_in(&server, dir.path(), ACCOUNTANT).await;
    let p = first_property(&c.core);
    let row = c
        .core
        .create_transaction(new_txn(&p, 100, "v1"))
        .await
        .unwrap();
    let cmid = row.client_mutation_id.unwrap();
    let core = c.core.clone();
    let confirmed = wait_for(
        "the create to be confirmed",
        Duration::from_secs(10),
        || {
            let core = core.clone();
            let cmid = cmid.clone();
            async move {
                let rows = core.cache().all_rows().await.unwrap();
                rows.into_iter()
                    .find(|r| r.client_mutation_id.as_deref() == Some(&cmid) && !r.pending_sync)
            }
        },
    )
    .await
    .unwrap();
    let patch = ledgerline_wire::TransactionPatch {
        version: confirmed.version + 5,
        memo: Some("from a stale read".into()),
        ..Default::default()
    };
    let pending = c
        .core
        .update_transaction(&confirmed.id, patch)
        .await
        .unwrap();
    assert!(pending.pending_sync);
    let core = c.core.clone();
    let id = confirmed.id.clone();
    wait_until("the rollback", Duration::from_secs(10), || {
        let core = core.clone();
        let id = id.clone();
        async move {
            let r = core.cache().get(&id).await.unwrap().unwrap();
            !r.pending_sync && r.sync_error.is_some()
        }
    })
    .await
    .unwrap();
    let now = c.core.cache().get(&confirmed.id).await.unwrap().unwrap();
    assert_eq!(now.memo, "v1", "rolled back");
    let failure = c
        .drain()
        .into_iter()
        .find_map(|e| match e {
            CoreEvent::MutationFailed(f) => Some(f),
            _ => None,
        })
        .unwrap();
    assert_eq!(failure.error.kind, ErrorKind::Conflict);
}

#[tokio::test]
async fn twenty_writes_queued_offline_reach_the_server_once_after_a_restart() {
    let mut server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryStore::new());
    let c = TestCore::open(dir.path(), store.clone()).await;
    c.core
        .sign_in(&server.url, ACCOUNTANT, PASSWORD)
        .await
        .unwrap();
    let p = first_property(&c.core);
    server.stop();
    let mut cmids = Vec::new();
    for i in 0..20 {
        let row = c
            .core
            .create_transaction(new_txn(&p, 100 + i, &format!("offline {i}")))
            .await
            .unwrap();
        cmids.push(row.client_mutation_id.unwrap());
    }
    assert_eq!(c.core.outbox().await.unwrap().len(), 20);
    // A crash: no goodbye, the tasks are simply gone.
    drop(c);

    server.restart().await;
    let c = TestCore::open(dir.path(), store).await;
    assert!(c.core.session().is_some(), "resumed from the store");
    let core = c.core.clone();
    wait_until("the outbox to drain", Duration::from_secs(15), || {
        let core = core.clone();
        async move { core.outbox().await.unwrap().is_empty() }
    })
    .await
    .unwrap();
    let server_rows = server
        .http()
        .login(OWNER)
        .await
        .unwrap()
        .all()
        .await
        .unwrap();
    for cmid in &cmids {
        let n = server_rows
            .iter()
            .filter(|t| t.client_mutation_id.as_deref() == Some(cmid.as_str()))
            .count();
        assert_eq!(n, 1, "{cmid} reached the server exactly once");
    }
    // And the cache shows each once, confirmed.
    let rows = c.core.cache().all_rows().await.unwrap();
    for cmid in &cmids {
        let mine: Vec<_> = rows
            .iter()
            .filter(|r| r.client_mutation_id.as_deref() == Some(cmid.as_str()))
            .collect();
        assert_eq!(mine.len(), 1);
        assert!(!mine[0].pending_sync);
    }
}

#[tokio::test]
async fn the_same_client_mutation_id_twice_makes_one_row() {
    let server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let c = TestCore::signed_in(&server, dir.path(), ACCOUNTANT).await;
    let p = first_property(&c.core);
    let mut input = new_txn(&p, 777, "twice");
    input.client_mutation_id = Some("retry-me".into());
    let first = c.core.create_transaction(input.clone()).await.unwrap();
    let second = c.core.create_transaction(input.clone()).await.unwrap();
    assert_eq!(first.client_mutation_id, second.client_mutation_id);
    let core = c.core.clone();
    wait_until(
        "the create to be confirmed",
        Duration::from_secs(10),
        || {
            let core = core.clone();
            async move { core.outbox().await.unwrap().is_empty() }
        },
    )
    .await
    .unwrap();
    // Again after confirmation: the confirmed row.
    let third = c.core.create_transaction(input).await.unwrap();
    assert!(!third.id.starts_with("local-"));
    let on_server = server
        .http()
        .login(OWNER)
        .await
        .unwrap()
        .all()
        .await
        .unwrap();
    let n = on_server
        .iter()
        .filter(|t| t.client_mutation_id.as_deref() == Some("retry-me"))
        .count();
    assert_eq!(n, 1);
}
