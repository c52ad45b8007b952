//! The optimistic-write races, without a session.

use super::sender::confirm;
use super::*;
use crate::cache::{
    get_row,
    tests::{event, open_temp, txn},
};
use ledgerline_wire::EventType;

/// What `create` writes, without a session: the local row and its entry.
async fn optimistic_create(cache: &Cache, cmid: &str) -> Entry {
    let mut t = txn(&Row::local_id(cmid), 0, Some(cmid));
    t.version = 0;
    let mut row = Row::confirmed(t);
    row.pending_sync = true;
    let mut w = cache.write().await.unwrap();
    put_row(&mut w.tx, &row).await.unwrap();
    let mut e = entry(
        cmid.into(),
        Op::Create,
        &row.id,
        Some(serde_json::json!({})),
        None,
    );
    e.id = outbox::push(&mut w.tx, &e).await.unwrap();
    cache
        .finish(w, vec![Patch::Upsert { row: row.into() }])
        .await
        .unwrap();
    e
}

fn shown(
    batches: &mut tokio::sync::mpsc::UnboundedReceiver<crate::view::PatchBatch>,
) -> std::collections::BTreeMap<String, Row> {
    let mut rows = std::collections::BTreeMap::new();
    while let Ok(b) = batches.try_recv() {
        for p in b.patches {
            match p {
                Patch::Upsert { row } => {
                    rows.insert(row.id.clone(), (*row).clone());
                }
                Patch::Remove { id } => {
                    rows.remove(&id);
                }
            }
        }
    }
    rows
}

#[tokio::test]
async fn event_before_response_leaves_one_confirmed_row() {
    let (_dir, cache) = open_temp().await;
    let mut sub = cache.subscribe().await.unwrap();
    let e = optimistic_create(&cache, "m1").await;
    let real = txn("t1", 1, Some("m1"));
    let applied = cache
        .apply_events(&[event(1, EventType::Added, real.clone())], 1)
        .await
        .unwrap();
    let batch = applied.batch.unwrap();
    assert_eq!(
        batch.patches.len(),
        2,
        "remove local and upsert real in one batch"
    );
    confirm(&cache, &e, Some(real)).await.unwrap();
    let rows = cache.all_rows().await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].id.as_str(), rows[0].pending_sync), ("t1", false));
    let seen = shown(&mut sub.batches);
    assert_eq!(seen.keys().collect::<Vec<_>>(), ["t1"]);
    assert!(outbox::all(cache.pool()).await.unwrap().is_empty());
}

#[tokio::test]
async fn response_before_event_leaves_one_confirmed_row() {
    let (_dir, cache) = open_temp().await;
    let mut sub = cache.subscribe().await.unwrap();
    let e = optimistic_create(&cache, "m1").await;
    let real = txn("t1", 1, Some("m1"));
    confirm(&cache, &e, Some(real.clone())).await.unwrap();
    let applied = cache
        .apply_events(&[event(1, EventType::Added, real)], 1)
        .await
        .unwrap();
    assert_eq!(
        applied.batch, None,
        "the event changes nothing already shown"
    );
    let rows = cache.all_rows().await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id, "t1");
    let seen = shown(&mut sub.batches);
    assert_eq!(seen.keys().collect::<Vec<_>>(), ["t1"]);
    assert!(!seen["t1"].pending_sync);
}

#[tokio::test]
async fn a_confirmed_create_keeps_later_queued_edits_on_the_real_id() {
    let (_dir, cache) = open_temp().await;
    let e = optimistic_create(&cache, "m1").await;
    let mut w = cache.write().await.unwrap();
    let mut edited = get_row(&mut w.tx, "local-m1").await.unwrap().unwrap();
    edited.memo = "edited".into();
    put_row(&mut w.tx, &edited).await.unwrap();
    let body = serde_json::json!({"version": 0, "memo": "edited"});
    outbox::push(
        &mut w.tx,
        &entry("m2".into(), Op::Update, "local-m1", Some(body), None),
    )
    .await
    .unwrap();
    cache.finish(w, vec![]).await.unwrap();

    confirm(&cache, &e, Some(txn("t1", 1, Some("m1"))))
        .await
        .unwrap();
    let row = cache.get("t1").await.unwrap().unwrap();
    assert_eq!(
        (row.memo.as_str(), row.pending_sync, row.version),
        ("edited", true, 1)
    );
    let queued = outbox::all(cache.pool()).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].target_id, "t1");
    assert_eq!(queued[0].body.as_ref().unwrap()["version"], 1);
}
