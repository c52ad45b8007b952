//! The cache's unit tests: applying events and snapshots, listing, claiming
//! and recovering a file.

use super::*;
use ledgerline_wire::{Currency, EventType};

pub(crate) fn txn(id: &str, version: i64, cmid: Option<&str>) -> Transaction {
    let at: DateTime<Utc> = "2026-11-27T10:00:00Z".parse().unwrap();
    Transaction {
        id: id.to_owned(),
        kind: TransactionKind::Revenue,
        property_id: "p1".into(),
        amount_minor: 1000 + version,
        currency: Currency::USD,
        category: "rooms".into(),
        memo: String::new(),
        occurred_on: "2026-11-27".parse().unwrap(),
        status: TransactionStatus::Pending,
        version,
        client_mutation_id: cmid.map(str::to_owned),
        created_by: "u1".into(),
        created_at: at,
        updated_at: at,
        rejection_reason: None,
    }
}

pub(crate) fn event(seq: u64, kind: EventType, t: Transaction) -> Event {
    Event {
        seq,
        kind,
        property_id: t.property_id.clone(),
        client_mutation_id: t.client_mutation_id.clone(),
        affected_report_dates: vec![t.occurred_on],
        row: if kind == EventType::Deleted {
            EventRow::Deleted { id: t.id.clone() }
        } else {
            EventRow::Transaction(Box::new(t))
        },
        at: "2026-11-27T10:00:00Z".parse().unwrap(),
        moved_from_property_id: None,
    }
}

pub(crate) async fn open_temp() -> (tempfile::TempDir, Cache) {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(
        &dir.path().join("cache.sqlite"),
        Arc::new(Telemetry::default()),
    )
    .await
    .unwrap();
    (dir, cache)
}

fn ids(batch: &PatchBatch) -> Vec<String> {
    batch
        .patches
        .iter()
        .map(|p| match p {
            Patch::Upsert { row } => format!("+{}", row.id),
            Patch::Remove { id } => format!("-{id}"),
        })
        .collect()
}

#[tokio::test]
async fn events_insert_update_and_remove_rows_in_one_batch() {
    let (_dir, cache) = open_temp().await;
    let mut sub = cache.subscribe().await.unwrap();
    assert_eq!(sub.seq, 0);
    let events = vec![
        event(1, EventType::Added, txn("a", 1, None)),
        event(2, EventType::Added, txn("b", 1, None)),
        event(3, EventType::Updated, txn("a", 2, None)),
        event(4, EventType::Deleted, txn("b", 1, None)),
    ];
    let applied = cache.apply_events(&events, 4).await.unwrap();
    assert_eq!((applied.from_seq, applied.seq, applied.fresh), (0, 4, 4));
    let batch = sub.batches.try_recv().unwrap();
    assert_eq!(batch.seq, 4);
    // b was added and deleted within the batch: never existed for a window.
    assert_eq!(ids(&batch), vec!["+a"]);
    let rows = cache.all_rows().await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].version, 2);
    assert_eq!(cache.seq().await.unwrap(), Some(4));

    let more = vec![event(5, EventType::Deleted, txn("a", 2, None))];
    cache.apply_events(&more, 5).await.unwrap();
    assert_eq!(ids(&sub.batches.try_recv().unwrap()), vec!["-a"]);
    assert!(cache.all_rows().await.unwrap().is_empty());
}

#[tokio::test]
async fn re_applying_the_same_seq_changes_nothing() {
    let (_dir, cache) = open_temp().await;
    let mut sub = cache.subscribe().await.unwrap();
    let events = vec![
        event(1, EventType::Added, txn("a", 1, None)),
        event(2, EventType::Updated, txn("a", 2, None)),
    ];
    cache.apply_events(&events, 2).await.unwrap();
    sub.batches.try_recv().unwrap();
    let again = cache.apply_events(&events, 2).await.unwrap();
    assert_eq!((again.fresh, again.batch), (0, None));
    // A partly new response applies only its new part.
    let overlap = vec![
        event(2, EventType::Updated, txn("a", 2, None)),
        event(3, EventType::Added, txn("c", 1, None)),
    ];
    let applied = cache.apply_events(&overlap, 3).await.unwrap();
    assert_eq!(applied.fresh, 1);
    assert_eq!(ids(&sub.batches.try_recv().unwrap()), vec!["+c"]);
    assert!(sub.batches.try_recv().is_err());
    assert_eq!(cache.all_rows().await.unwrap().len(), 2);
}

#[tokio::test]
async fn an_empty_poll_still_moves_the_seq_past_filtered_events() {
    let (_dir, cache) = open_temp().await;
    let applied = cache.apply_events(&[], 17).await.unwrap();
    assert_eq!((applied.seq, applied.batch), (17, None));
    assert_eq!(cache.seq().await.unwrap(), Some(17));
}

#[tokio::test]
async fn an_older_version_never_overwrites_a_newer_row() {
    let (_dir, cache) = open_temp().await;
    cache
        .apply_events(&[event(1, EventType::Added, txn("a", 3, None))], 1)
        .await
        .unwrap();
    let mut sub = cache.subscribe().await.unwrap();
    let applied = cache
        .apply_events(&[event(2, EventType::Updated, txn("a", 2, None))], 2)
        .await
        .unwrap();
    assert_eq!(applied.batch, None, "nothing changed, nothing sent");
    assert!(sub.batches.try_recv().is_err());
    assert_eq!(cache.get("a").await.unwrap().unwrap().version, 3);
}

#[tokio::test]
async fn updates_that_move_a_row_in_the_lists_reach_the_indexes() {
    let (_dir, cache) = open_temp().await;
    let mut events = vec![
        event(1, EventType::Added, txn("a", 1, None)),
        event(2, EventType::Added, txn("b", 1, None)),
    ];
    cache.apply_events(&events, 2).await.unwrap();
    // a keeps its list keys; b moves date, property and status; c is
    // added and moved within one batch.
    let mut b = txn("b", 2, None);
    b.occurred_on = "2026-01-05".parse().unwrap();
    b.property_id = "p2".into();
    b.status = TransactionStatus::Approved;
    let mut c = txn("c", 2, None);
    c.property_id = "p2".into();
    events = vec![
        event(3, EventType::Updated, txn("a", 2, None)),
        event(4, EventType::Updated, b),
        event(5, EventType::Added, txn("c", 1, None)),
        event(6, EventType::Updated, c),
    ];
    cache.apply_events(&events, 6).await.unwrap();
    let listed = |q: RowQuery| {
        let cache = cache.clone();
        async move {
            let mut ids: Vec<String> = cache
                .list(&q)
                .await
                .unwrap()
                .rows
                .into_iter()
                .map(|r| format!("{}@{}", r.id, r.amount_minor))
                .collect();
            ids.sort();
            ids
        }
    };
    let p = |id: &str| RowQuery {
        property_id: Some(id.into()),
        ..RowQuery::default()
    };
    assert_eq!(listed(p("p1")).await, vec!["a@1002"]);
    assert_eq!(listed(p("p2")).await, vec!["b@1002", "c@1002"]);
    let approved = RowQuery {
        status: Some(TransactionStatus::Approved),
        ..RowQuery::default()
    };
    assert_eq!(listed(approved).await, vec!["b@1002"]);
    let january = RowQuery {
        to: NaiveDate::from_ymd_opt(2026, 1, 31),
        ..RowQuery::default()
    };
    assert_eq!(listed(january).await, vec!["b@1002"]);
}

#[tokio::test]
async fn a_snapshot_with_an_id_twice_keeps_its_higher_version() {
    let (_dir, cache) = open_temp().await;
    let mut moved = txn("a", 2, None);
    moved.property_id = "p2".into();
    cache
        .replace_all(vec![txn("a", 1, None), moved], 1)
        .await
        .unwrap();
    let row = cache.get("a").await.unwrap().unwrap();
    assert_eq!((row.version, row.property_id.as_str()), (2, "p2"));
    let page = cache
        .list(&RowQuery {
            property_id: Some("p2".into()),
            ..RowQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, Some(1));
}

#[tokio::test]
async fn a_snapshot_replaces_rows_and_publishes_the_difference() {
    let (_dir, cache) = open_temp().await;
    cache
        .apply_events(
            &[
                event(1, EventType::Added, txn("keep", 1, None)),
                event(2, EventType::Added, txn("gone", 1, None)),
                event(3, EventType::Added, txn("old", 1, None)),
            ],
            3,
        )
        .await
        .unwrap();
    let mut sub = cache.subscribe().await.unwrap();
    let changed = cache
        .replace_all(
            vec![
                txn("keep", 1, None),
                txn("old", 2, None),
                txn("new", 1, None),
            ],
            9,
        )
        .await
        .unwrap();
    assert_eq!(changed, 3);
    let mut got = ids(&sub.batches.try_recv().unwrap());
    got.sort();
    assert_eq!(got, vec!["+new", "+old", "-gone"]);
    assert_eq!(cache.seq().await.unwrap(), Some(9));
    let mut rows: Vec<_> = cache
        .all_rows()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.id, r.version))
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        vec![("keep".into(), 1), ("new".into(), 1), ("old".into(), 2)]
    );
}

#[tokio::test]
async fn a_cache_is_never_claimed_for_someone_else() {
    let (_dir, cache) = open_temp().await;
    cache.claim("srv|org|alice").await.unwrap();
    cache
        .apply_events(&[event(1, EventType::Added, txn("a", 1, None))], 1)
        .await
        .unwrap();
    cache.claim("srv|org|alice").await.unwrap();
    assert!(matches!(
        cache.claim("srv|org|bob").await,
        Err(CacheError::Foreign)
    ));
    assert_eq!(cache.all_rows().await.unwrap().len(), 1, "nothing wiped");
}

async fn with_one_unsent_create(path: &Path) {
    let cache = Cache::open(path, Default::default()).await.unwrap();
    cache.claim("srv|org|alice").await.unwrap();
    let mut w = cache.write().await.unwrap();
    let body = serde_json::json!({
        "kind": "revenue", "property_id": "p1", "amount_minor": 500, "currency": "USD",
        "category": "rooms", "memo": "kept", "occurred_on": "2026-11-27",
        "client_mutation_id": "m1"
    });
    crate::outbox::push(
        &mut w.tx,
        &crate::outbox::Entry {
            id: 0,
            client_mutation_id: "m1".into(),
            op: crate::outbox::Op::Create,
            target_id: "local-m1".into(),
            body: Some(body),
            prior: None,
            state: crate::outbox::State::Queued,
            error: None,
        },
    )
    .await
    .unwrap();
    cache.finish(w, vec![]).await.unwrap();
    cache.close().await;
}

#[tokio::test]
async fn a_cache_from_a_newer_app_is_moved_aside_and_its_unsent_writes_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite");
    with_one_unsent_create(&path).await;
    // A migration this app does not know: a newer app wrote the file.
    {
        let cache = Cache::open_unlocked(&path, Default::default(), BUSY_TIMEOUT)
            .await
            .unwrap();
        sqlx::query("INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) VALUES (9999, 'from the future', CURRENT_TIMESTAMP, 1, x'00', 0)")
            .execute(&cache.writer_pool)
            .await
            .unwrap();
        cache.close().await;
    }
    let (cache, recovered) =
        Cache::open_or_rebuild(&path, "srv|org|alice", Default::default(), BUSY_TIMEOUT)
            .await
            .unwrap();
    let recovered = recovered.expect("moved aside");
    assert!(recovered.moved_to.exists());
    assert_eq!(recovered.salvaged, 1);
    let queued = crate::outbox::all(cache.pool()).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].client_mutation_id, "m1");
    let row = cache
        .get("local-m1")
        .await
        .unwrap()
        .expect("its row is back");
    assert!(row.pending_sync);
    assert_eq!(cache.seq().await.unwrap(), None, "to be re-snapshotted");
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_rebuilt_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite");
    std::fs::write(&path, b"this is not an sqlite file, not even close........").unwrap();
    let (cache, recovered) =
        Cache::open_or_rebuild(&path, "srv|org|alice", Default::default(), BUSY_TIMEOUT)
            .await
            .unwrap();
    let recovered = recovered.expect("moved aside");
    assert_eq!(recovered.salvaged, 0);
    assert!(recovered.message().contains("rebuilt"));
    assert!(cache.all_rows().await.unwrap().is_empty());
    // And the rebuilt one opens cleanly next time.
    drop(cache);
}

#[tokio::test]
async fn a_second_opener_of_a_cache_is_refused_while_the_first_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite");
    let (first, _) =
        Cache::open_or_rebuild(&path, "srv|org|alice", Default::default(), BUSY_TIMEOUT)
            .await
            .unwrap();
    let second =
        Cache::open_or_rebuild(&path, "srv|org|alice", Default::default(), BUSY_TIMEOUT).await;
    assert!(matches!(second, Err(CacheError::Locked { .. })));
    first.close().await;
    drop(first);
    Cache::open_or_rebuild(&path, "srv|org|alice", Default::default(), BUSY_TIMEOUT)
        .await
        .expect("free once the first is gone");
}

#[tokio::test]
async fn another_accounts_file_is_moved_aside_and_nothing_of_it_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite");
    with_one_unsent_create(&path).await;
    let (cache, recovered) =
        Cache::open_or_rebuild(&path, "srv|org|bob", Default::default(), BUSY_TIMEOUT)
            .await
            .unwrap();
    let recovered = recovered.unwrap();
    assert_eq!(recovered.salvaged, 0);
    assert!(recovered.moved_to.exists(), "alice's writes are kept aside");
    assert!(crate::outbox::all(cache.pool()).await.unwrap().is_empty());
}
