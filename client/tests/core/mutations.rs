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
    // Listed at once: as the optimistic row, or — if the outbox sender and
    // the server were quicker than this read — already as the real one.
    let page = c.core.list_rows(RowQuery::default()).await.unwrap();
    let listed: Vec<_> = page
        .rows
        .iter()
        .filter(|r| r.client_mutation_id.as_deref() == Some(cmid.as_str()))
        .collect();
    assert_eq!(listed.len(), 1, "listed at once, once: {listed:?}");

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
                    shown.insert(row.id.clone(), (*row).clone());
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
async fn a_write_the_server_would_refuse_is_refused_before_queuing_in_the_servers_words() {
    let server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let c = TestCore::signed_in(&server, dir.path(), ACCOUNTANT).await;
    let p = first_property(&c.core);
    let remote = server.http().login(ACCOUNTANT).await.unwrap();
    let mut long_category = new_txn(&p, 100, "");
    long_category.category = "c".repeat(101);
    let mut old = new_txn(&p, 100, "");
    old.occurred_on = chrono::NaiveDate::from_ymd_opt(1899, 12, 31).unwrap();
    let cases = [
        (new_txn(&p, 100, &"x".repeat(2_001)), "memo"),
        (long_category, "category"),
        (old, "occurred_on"),
        (new_txn(&p, 0, ""), "amount_minor"),
    ];
    for (input, field) in cases {
        let err = c.core.create_transaction(input.clone()).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid, "{field}");
        assert_eq!(err.field.as_deref(), Some(field));
        // The server's own words for the same body.
        let said = remote
            .http
            .post(format!("{}/v1/transactions", remote.url))
            .bearer_auth(&remote.token)
            .json(&input)
            .send()
            .await
            .unwrap();
        assert!(said.status().is_client_error());
        let body: serde_json::Value = said.json().await.unwrap();
        assert_eq!(body["error"]["message"], err.message.as_str(), "{field}");
    }
    assert!(c.core.outbox().await.unwrap().is_empty(), "nothing queued");
    // An edit is checked the same way.
    let row = c
        .core
        .create_transaction(new_txn(&p, 100, "ok"))
        .await
        .unwrap();
    let err = c
        .core
        .update_transaction(
            &row.id,
            ledgerline_wire::TransactionPatch {
                version: 0,
                memo: Some("m".repeat(2_001)),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.field.as_deref(), Some("memo"));
}

/// A core whose stored session lists one property the server does not
/// know: a create on it passes the core's checks and the server refuses it.
async fn core_with_a_property_the_server_refuses(
    server: &TestServer,
    dir: &std::path::Path,
) -> TestCore {
    let store = Arc::new(MemoryStore::new());
    let first = TestCore::open(dir, store.clone()).await;
    first
        .core
        .sign_in(&server.url, ACCOUNTANT, PASSWORD)
        .await
        .unwrap();
    first.core.shutdown().await;
    drop(first);
    use ledgerline_client::KvStore;
    let mut stored = store.get("sessions").unwrap().unwrap();
    stored[0]["properties"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"id": "closed-hotel", "name": "Closed hotel"}));
    store.set("sessions", stored).unwrap();
    TestCore::open(dir, store).await
}

#[tokio::test]
async fn a_refused_create_stays_in_sight_with_its_reason_until_fixed_and_resent() {
    let server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let mut c = core_with_a_property_the_server_refuses(&server, dir.path()).await;
    let real = first_property(&c.core);
    let row = c
        .core
        .create_transaction(new_txn("closed-hotel", 4_200, "refused"))
        .await
        .unwrap();
    let cmid = row.client_mutation_id.clone().unwrap();
    let core = c.core.clone();
    let held = wait_for("the refusal", Duration::from_secs(10), || {
        let core = core.clone();
        async move {
            let list = core.needs_attention().await.unwrap();
            list.into_iter()
                .find(|a| a.state == ledgerline_client::outbox::State::Refused)
        }
    })
    .await
    .unwrap();
    assert_eq!(held.client_mutation_id, cmid);
    assert!(held.reason.is_some());
    // Still in sight, marked with the reason.
    let shown = c.core.cache().get(&row.id).await.unwrap().expect("kept");
    assert_eq!(shown.sync_error, held.reason);
    assert!(c
        .drain()
        .iter()
        .any(|e| matches!(e, CoreEvent::Attention(s) if s.refused == 1)));
    // Fixed and resent: it reaches the server once and leaves the list.
    let fix = ledgerline_client::WriteFix {
        property_id: Some(real.clone()),
        ..Default::default()
    };
    c.core.retry_write(&cmid, fix).await.unwrap();
    let remote = server.http().login(OWNER).await.unwrap();
    wait_until(
        "the fixed write on the server",
        Duration::from_secs(10),
        || {
            let remote = remote.clone();
            let cmid = cmid.clone();
            async move {
                remote.all().await.unwrap().iter().any(|t| {
                    t.client_mutation_id.as_deref() == Some(&cmid)
                        && t.property_id != "closed-hotel"
                })
            }
        },
    )
    .await
    .unwrap();
    let core = c.core.clone();
    wait_until("an empty list", Duration::from_secs(10), || {
        let core = core.clone();
        async move { core.needs_attention().await.unwrap().is_empty() }
    })
    .await
    .unwrap();
    let all = remote.all().await.unwrap();
    let made = all
        .iter()
        .filter(|t| t.client_mutation_id.as_deref() == Some(&cmid))
        .count();
    assert_eq!(made, 1);
}

#[tokio::test]
async fn a_refused_create_discarded_leaves_no_row_and_no_entry() {
    let server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let c = core_with_a_property_the_server_refuses(&server, dir.path()).await;
    let row = c
        .core
        .create_transaction(new_txn("closed-hotel", 4_200, "refused"))
        .await
        .unwrap();
    let cmid = row.client_mutation_id.clone().unwrap();
    // While it is on its way it cannot be discarded; once refused it can.
    let core = c.core.clone();
    wait_until("the refusal", Duration::from_secs(10), || {
        let core = core.clone();
        async move {
            core.needs_attention()
                .await
                .unwrap()
                .iter()
                .any(|a| a.reason.is_some())
        }
    })
    .await
    .unwrap();
    c.core.discard_write(&cmid).await.unwrap();
    assert!(c.core.cache().get(&row.id).await.unwrap().is_none());
    assert!(c.core.needs_attention().await.unwrap().is_empty());
    assert_eq!(c.core.diagnostics().counters.outbox_depth, 0);
}

#[tokio::test]
async fn a_replayed_update_whose_answer_was_lost_is_not_a_conflict() {
    let server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let mut c = TestCore::signed_in(&server, dir.path(), ACCOUNTANT).await;
    let p = first_property(&c.core);
    let remote = server.http().login(ACCOUNTANT).await.unwrap();
    let t = remote.create(&new_txn(&p, 100, "v1")).await.unwrap();
    let core = c.core.clone();
    let id = t.id.clone();
    wait_until("the row in the cache", Duration::from_secs(10), || {
        let core = core.clone();
        let id = id.clone();
        async move { core.cache().get(&id).await.unwrap().is_some() }
    })
    .await
    .unwrap();
    c.core.shutdown().await;
    // The server applied the update; its answer never arrived (a crash).
    let patch = ledgerline_wire::TransactionPatch {
        version: 1,
        memo: Some("sent once".into()),
        client_mutation_id: Some("lost-answer".into()),
        ..Default::default()
    };
    let first = remote
        .http
        .patch(format!("{}/v1/transactions/{}", remote.url, t.id))
        .bearer_auth(&remote.token)
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert!(first.status().is_success());
    // The same write, replayed from the outbox after the restart.
    let mut again = TestCore::signed_in(&server, dir.path(), ACCOUNTANT).await;
    let core = again.core.clone();
    let id = t.id.clone();
    wait_until("the row in the cache", Duration::from_secs(10), || {
        let core = core.clone();
        let id = id.clone();
        async move { core.cache().get(&id).await.unwrap().is_some() }
    })
    .await
    .unwrap();
    again.core.update_transaction(&t.id, patch).await.unwrap();
    let core = again.core.clone();
    wait_until("the outbox to drain", Duration::from_secs(10), || {
        let core = core.clone();
        async move { core.needs_attention().await.unwrap().is_empty() }
    })
    .await
    .unwrap();
    assert!(
        !again
            .drain()
            .iter()
            .any(|e| matches!(e, CoreEvent::MutationFailed(_))),
        "no false conflict"
    );
    let row = again.core.cache().get(&t.id).await.unwrap().unwrap();
    assert_eq!(
        (row.memo.as_str(), row.version, row.sync_error),
        ("sent once", 2, None)
    );
    let _ = c.drain();
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
    // Held in the list; resent, it goes on top of the server's row.
    let held = c.core.needs_attention().await.unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].state, ledgerline_client::outbox::State::Conflict);
    c.core
        .retry_write(&held[0].client_mutation_id, Default::default())
        .await
        .unwrap();
    let core = c.core.clone();
    let id = confirmed.id.clone();
    wait_until(
        "the resent change confirmed",
        Duration::from_secs(10),
        || {
            let core = core.clone();
            let id = id.clone();
            async move {
                let r = core.cache().get(&id).await.unwrap().unwrap();
                !r.pending_sync && r.memo == "from a stale read" && r.sync_error.is_none()
            }
        },
    )
    .await
    .unwrap();
    assert!(c.core.needs_attention().await.unwrap().is_empty());
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
