//! The journal's tests: applying through it gives the rows and patches of
//! an apply folded at once, whenever (and however) it is folded; reads see
//! journaled rows without a fold and without waiting for the writer; a
//! user's write to a journaled row survives folds and a crash replay; the
//! bound, the background fold, and a killed app.

use std::time::Duration;

use super::tests::{event, open_temp, txn};
use super::*;
use ledgerline_wire::EventType;

/// A batch's patches as `+id@version` / `-id`.
pub(super) fn shown(batch: &PatchBatch) -> Vec<String> {
    batch
        .patches
        .iter()
        .map(|p| match p {
            Patch::Upsert { row } => format!("+{}@{}", row.id, row.version),
            Patch::Remove { id } => format!("-{id}"),
        })
        .collect()
}

pub(super) async fn sorted_rows(cache: &Cache) -> Vec<Row> {
    let mut rows = cache.all_rows().await.unwrap();
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    rows
}

/// The rows in the table itself, under no overlay.
pub(super) async fn rows_in_table(cache: &Cache) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM rows")
        .fetch_one(cache.pool())
        .await
        .unwrap()
}

pub(super) async fn journal_rows(cache: &Cache) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM journal")
        .fetch_one(cache.pool())
        .await
        .unwrap()
}

/// What an optimistic write does (`mutations::queue`): `row` as it is, or
/// the row `id` removed.
pub(super) async fn optimistic(cache: &Cache, id: &str, row: Option<&Row>) {
    let mut w = cache.write_for(&[id]).await.unwrap();
    match row {
        Some(row) => put_row(&mut w.tx, row).await.unwrap(),
        None => {
            delete_rows(&mut w.tx, &[id.to_owned()]).await.unwrap();
        }
    }
    cache.finish(w, Vec::new()).await.unwrap();
}

fn local_twin(cmid: &str) -> Row {
    let mut row = Row::confirmed(txn(&Row::local_id(cmid), 0, Some(cmid)));
    row.pending_sync = true;
    row
}

/// Adds, updates (one moving the row in every list index), out-of-order
/// and already-held versions, deletes (of a row, of nothing), one id
/// several times in a batch, a create replacing its local twin, a row
/// deleted and added again.
pub(super) fn mixed_batches() -> Vec<(Vec<Event>, u64)> {
    let t = |id: &str, v: i64| txn(id, v, None);
    let mut moved = t("c", 5);
    moved.occurred_on = "2026-03-01".parse().unwrap();
    moved.status = TransactionStatus::Approved;
    moved.property_id = "p2".into();
    vec![
        (
            vec![
                event(1, EventType::Added, t("a", 1)),
                event(2, EventType::Added, t("b", 1)),
                event(3, EventType::Updated, t("a", 2)),
                event(4, EventType::Added, t("c", 1)),
                event(5, EventType::Deleted, t("b", 1)),
                event(6, EventType::Added, t("d", 3)),
                event(7, EventType::Updated, t("d", 2)),
            ],
            7,
        ),
        (
            vec![
                event(8, EventType::Updated, t("a", 1)),
                event(9, EventType::Updated, moved),
                event(10, EventType::Deleted, t("x", 1)),
                event(11, EventType::Added, txn("e", 1, Some("m1"))),
                event(12, EventType::Updated, t("d", 2)),
            ],
            12,
        ),
        (
            vec![
                event(13, EventType::Deleted, t("c", 5)),
                event(14, EventType::Updated, t("a", 3)),
                event(15, EventType::Added, t("f", 1)),
            ],
            15,
        ),
        (
            vec![
                event(16, EventType::Added, t("c", 1)),
                event(17, EventType::Deleted, t("f", 1)),
            ],
            18,
        ),
    ]
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Fold {
    /// After every apply: as if applied straight into `rows`.
    EachApply,
    /// Never: every read merges the journal.
    Never,
    /// At the end, one journal row per fold transaction.
    Chunked,
}

pub(super) async fn run_mixed(how: Fold) -> (Vec<Vec<String>>, Vec<Row>) {
    let (_dir, cache) = open_temp().await;
    optimistic(&cache, "local-m1", Some(&local_twin("m1"))).await;
    let mut sub = cache.subscribe().await.unwrap();
    let mut published = Vec::new();
    for (events, cursor) in mixed_batches() {
        cache.apply_events(&events, cursor).await.unwrap();
        published.push(shown(&sub.batches.try_recv().unwrap()));
        if let Fold::EachApply = how {
            cache.settle().await.unwrap();
        }
    }
    assert!(sub.batches.try_recv().is_err(), "one batch per apply");
    match how {
        Fold::EachApply => assert_eq!(cache.journaled().await, 0),
        Fold::Never => {
            assert_eq!(cache.journaled().await, 5, "a c d e, f deleted");
            // The local twin went at once; the rest is only journaled.
            assert_eq!(rows_in_table(&cache).await, 0);
        }
        Fold::Chunked => {
            let mut j = cache.writer.lock().await;
            let mut folds = 0;
            while !j.rows_is_empty() {
                cache.fold_chunk(&mut j, 1).await.unwrap();
                folds += 1;
            }
            assert_eq!(folds, 4, "one fold per journal row");
        }
    }
    assert_eq!(cache.seq().await.unwrap(), Some(18));
    (published, sorted_rows(&cache).await)
}

#[tokio::test]
async fn journaled_rows_read_and_fold_as_a_direct_apply_wrote_them() {
    let (direct_patches, direct_rows) = run_mixed(Fold::EachApply).await;
    assert_eq!(
        direct_patches,
        vec![
            // b added and deleted in one batch; d's last event wins.
            vec!["+a@2", "+c@1", "+d@2"],
            // a@1 older, d@2 held, x never there: nothing for them.
            vec!["-local-m1", "+c@5", "+e@1"],
            vec!["-c", "+a@3", "+f@1"],
            // c deleted, then added again at a lower version.
            vec!["+c@1", "-f"],
        ]
    );
    let versions: Vec<(String, i64)> = direct_rows
        .iter()
        .map(|r| (r.id.clone(), r.version))
        .collect();
    let expected = [("a", 3), ("c", 1), ("d", 2), ("e", 1)];
    assert_eq!(
        versions,
        expected.map(|(id, v)| (id.to_owned(), v)).to_vec()
    );
    for how in [Fold::Never, Fold::Chunked] {
        let (patches, rows) = run_mixed(how).await;
        assert_eq!(patches, direct_patches, "{how:?}");
        assert_eq!(rows, direct_rows, "{how:?}");
    }
}

#[tokio::test]
async fn a_read_sees_every_journaled_row_without_a_fold_or_the_writer_lock() {
    let (_dir, cache) = open_temp().await;
    let events: Vec<Event> = (1..=250)
        .map(|i| event(i, EventType::Added, txn(&format!("t{i:03}"), 1, None)))
        .collect();
    for chunk in events.chunks(100) {
        let cursor = chunk.last().unwrap().seq;
        cache.apply_events(chunk, cursor).await.unwrap();
    }
    cache
        .apply_events(&[event(251, EventType::Updated, txn("t001", 2, None))], 251)
        .await
        .unwrap();
    cache
        .apply_events(&[event(252, EventType::Deleted, txn("t002", 1, None))], 252)
        .await
        .unwrap();
    // Somebody holds the writer (a fold, a write): reads go on regardless.
    let writer = cache.writer.lock().await;
    let q = RowQuery {
        limit: Some(10),
        ..RowQuery::default()
    };
    let read = async {
        let page = cache.list(&q).await.unwrap();
        let json = cache.list_json(&q).await.unwrap();
        let t001 = cache.get("t001").await.unwrap();
        let t002 = cache.get("t002").await.unwrap();
        (page, json, t001, t002)
    };
    let (page, json, t001, t002) = tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .expect("reads do not wait for the writer lock");
    drop(writer);
    assert_eq!(
        (page.total, page.seq, page.rows.len()),
        (Some(249), 252, 10)
    );
    assert_eq!(
        serde_json::to_value(&json).unwrap(),
        serde_json::to_value(&page).unwrap()
    );
    assert_eq!(t001.map(|r| r.version), Some(2));
    assert_eq!(t002, None);
    assert_eq!(rows_in_table(&cache).await, 0, "nothing was folded");
    assert_eq!(cache.journaled().await, 250);
    // An export reads settled rows: it folds first.
    let mut tx = cache.read_settled().await.unwrap();
    assert_eq!(count(&mut tx, &RowQuery::default()).await.unwrap(), 249);
    drop(tx);
    assert_eq!(
        (cache.journaled().await, journal_rows(&cache).await),
        (0, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_read_is_one_state_of_the_cache_while_applies_and_folds_go_on() {
    let (_dir, cache) = open_temp().await;
    let cancel = tokio_util::sync::CancellationToken::new();
    // Folds as soon as the applies pause: as many folds between reads as
    // can be.
    let folder = cache.spawn_folder(Duration::ZERO, cancel.clone());
    let writer = {
        let cache = cache.clone();
        tokio::spawn(async move {
            // Every event adds one row: a state at seq s holds s rows.
            for b in 0..150u64 {
                let events: Vec<Event> = (1..=10)
                    .map(|i| {
                        let seq = b * 10 + i;
                        event(seq, EventType::Added, txn(&format!("a{seq:05}"), 1, None))
                    })
                    .collect();
                cache.apply_answer(events, b * 10 + 10).await.unwrap();
                if b % 7 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    let q = RowQuery {
        limit: Some(3),
        ..RowQuery::default()
    };
    let mut reads = 0;
    let mut merged_reads = 0;
    while !writer.is_finished() || reads == 0 {
        let journaled = cache.journaled().await;
        let page = cache.list(&q).await.unwrap();
        assert_eq!(page.total, Some(page.seq), "a count and its seq agree");
        if page.seq > 0 {
            let newest = format!("a{:05}", page.seq);
            assert_eq!(page.rows[0].id, newest, "the newest row of that seq");
        }
        let json = cache.list_json(&q).await.unwrap();
        assert_eq!(json.total, Some(json.seq));
        reads += 1;
        merged_reads += usize::from(journaled > 0);
    }
    writer.await.unwrap();
    cancel.cancel();
    folder.await.unwrap();
    assert!(
        reads > 10 && merged_reads > 0,
        "{reads} reads, {merged_reads} over a journal"
    );
    cache.settle().await.unwrap();
    assert_eq!(rows_in_table(&cache).await, 1500);
}

#[tokio::test]
async fn a_users_write_to_a_journaled_row_outlives_folds_and_a_replay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.sqlite");
    let cache = Cache::open(&path, Default::default()).await.unwrap();
    let batch = [
        event(1, EventType::Added, txn("t1", 1, None)),
        event(2, EventType::Updated, txn("t1", 2, None)),
        event(3, EventType::Added, txn("t3", 1, None)),
        event(4, EventType::Added, txn("t4", 1, None)),
    ];
    cache.apply_events(&batch, 4).await.unwrap();
    // The user edits t1 and deletes t3 while they are only journaled; t4
    // stays journaled.
    let mut edited = cache.get("t1").await.unwrap().expect("journaled");
    assert_eq!(edited.version, 2);
    edited.memo = "edited".into();
    edited.pending_sync = true;
    optimistic(&cache, "t1", Some(&edited)).await;
    optimistic(&cache, "t3", None).await;
    assert_eq!(cache.journaled().await, 1, "t4");
    assert_eq!(cache.get("t1").await.unwrap(), Some(edited.clone()));
    assert_eq!(cache.get("t3").await.unwrap(), None);
    // Older and equal versions arrive again, beside another row.
    let mut sub = cache.subscribe().await.unwrap();
    let again = [
        event(5, EventType::Updated, txn("t1", 1, None)),
        event(6, EventType::Added, txn("t2", 1, None)),
        event(7, EventType::Updated, txn("t1", 2, None)),
    ];
    cache.apply_events(&again, 7).await.unwrap();
    assert_eq!(shown(&sub.batches.try_recv().unwrap()), vec!["+t2@1"]);
    // Closed without a fold, opened again: the journal is replayed.
    cache.close().await;
    drop(cache);
    let cache = Cache::open(&path, Default::default()).await.unwrap();
    assert_eq!(
        (cache.journaled().await, journal_rows(&cache).await),
        (0, 0)
    );
    assert_eq!(cache.get("t1").await.unwrap(), Some(edited));
    assert_eq!(cache.get("t3").await.unwrap(), None, "not brought back");
    let ids: Vec<String> = sorted_rows(&cache)
        .await
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["t1", "t2", "t4"]);
    // A newer version from the server replaces the edit, as it always did.
    cache
        .apply_events(&[event(8, EventType::Updated, txn("t1", 3, None))], 8)
        .await
        .unwrap();
    let t1 = cache.get("t1").await.unwrap().unwrap();
    assert_eq!((t1.version, t1.memo.as_str()), (3, ""));
}

#[tokio::test]
async fn another_write_makes_the_applies_read_rows_again() {
    let (_dir, cache) = open_temp().await;
    let batch = [
        event(1, EventType::Added, txn("t1", 1, None)),
        event(2, EventType::Added, txn("t2", 1, None)),
    ];
    cache.apply_events(&batch, 2).await.unwrap();
    cache.settle().await.unwrap();
    // Removed by something else than an apply (the fold saw it at v1).
    let mut w = cache.write_for(&[]).await.unwrap();
    delete_rows(&mut w.tx, &["t1".to_owned()]).await.unwrap();
    cache.finish(w, vec![]).await.unwrap();
    let mut sub = cache.subscribe().await.unwrap();
    let again = [
        event(3, EventType::Updated, txn("t1", 1, None)),
        event(4, EventType::Updated, txn("t2", 1, None)),
    ];
    cache.apply_events(&again, 4).await.unwrap();
    assert_eq!(shown(&sub.batches.try_recv().unwrap()), vec!["+t1@1"]);
    let ids: Vec<String> = sorted_rows(&cache)
        .await
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, vec!["t1", "t2"]);
}

#[tokio::test]
async fn rows_folded_into_an_empty_cache_are_known_as_held_once_the_memo_forgets_them() {
    let (_dir, cache) = open_temp().await;
    let batch = [
        event(1, EventType::Added, txn("a1", 2, None)),
        event(2, EventType::Added, txn("a2", 1, None)),
    ];
    cache.apply_events(&batch, 2).await.unwrap();
    cache.settle().await.unwrap();
    // Ids below `local-` (server ids are UUIDv7: hex digits) above the
    // highest held need no look-up. The memo of `rows` is bounded: it
    // forgets, the highest id stays.
    cache.writer.lock().await.known.clear();
    let mut sub = cache.subscribe().await.unwrap();
    let again = [
        // Older than what `rows` holds: nothing, even though no memo knows a1.
        event(3, EventType::Updated, txn("a1", 1, None)),
        event(4, EventType::Updated, txn("a2", 2, None)),
    ];
    cache.apply_events(&again, 4).await.unwrap();
    assert_eq!(shown(&sub.batches.try_recv().unwrap()), vec!["+a2@2"]);
    let page = cache.list(&RowQuery::default()).await.unwrap();
    assert_eq!(page.total, Some(2), "a2 is counted once, not as a new row");
    assert_eq!(cache.get("a1").await.unwrap().unwrap().version, 2);
    cache.settle().await.unwrap();
    assert_eq!(cache.get("a2").await.unwrap().unwrap().version, 2);
}

#[tokio::test]
async fn past_its_bound_the_oldest_journaled_rows_are_folded_by_the_apply() {
    let (_dir, cache) = open_temp().await;
    cache.set_journal_bound(4).await;
    for b in 0..5u64 {
        let events: Vec<Event> = (1..=3)
            .map(|i| {
                let seq = b * 3 + i;
                event(seq, EventType::Added, txn(&format!("t{seq:02}"), 1, None))
            })
            .collect();
        cache.apply_events(&events, b * 3 + 3).await.unwrap();
        assert!(cache.journaled().await <= 4);
    }
    // Each apply after the first found the last one's rows and folded them.
    assert_eq!(rows_in_table(&cache).await, 12);
    assert_eq!(cache.all_rows().await.unwrap().len(), 15);
    assert_eq!(journal_rows(&cache).await, 1);
}

#[tokio::test]
async fn the_background_fold_empties_the_journal_once_applies_pause() {
    let (_dir, cache) = open_temp().await;
    let cancel = tokio_util::sync::CancellationToken::new();
    let folder = cache.spawn_folder(Duration::from_millis(5), cancel.clone());
    for b in 0..3u64 {
        let events: Vec<Event> = (1..=100)
            .map(|i| {
                let seq = b * 100 + i;
                event(seq, EventType::Added, txn(&format!("t{seq:03}"), 1, None))
            })
            .collect();
        cache.apply_events(&events, b * 100 + 100).await.unwrap();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while rows_in_table(&cache).await < 300 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the background fold never ran"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        (cache.journaled().await, journal_rows(&cache).await),
        (0, 0)
    );
    cancel.cancel();
    folder.await.unwrap();
}

mod crash;
