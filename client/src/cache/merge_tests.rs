//! Reads merged over the journal are the reads of the same cache folded:
//! random poll answers (adds, updates that move rows between properties,
//! days and statuses, stale versions, deletes of held and unknown rows,
//! creates replacing their local twins) and user writes, applied to two
//! caches — one folded after every answer, one folded only now and then,
//! a few slots at a time, its memo of `rows` forgetting now and then — then
//! every query shape read from both: pages by offset and by keyset, counts,
//! the JSON pages, single rows. Ids sort below `local-`, as server ids
//! (UUIDv7) do, so new ones skip the look-up.

use rand::{rngs::StdRng, Rng, SeedableRng};

use super::journal_tests::shown;
use super::tests::{event, open_temp, txn};
use super::*;
use ledgerline_wire::EventType;

const IDS: usize = 80;

fn random_txn(rng: &mut StdRng, id: &str, version: i64) -> Transaction {
    let mut t = txn(id, version, None);
    t.property_id = format!("p{}", rng.gen_range(1..=3));
    t.kind = if rng.gen_bool(0.5) {
        TransactionKind::Revenue
    } else {
        TransactionKind::Expense
    };
    t.status = [
        TransactionStatus::Pending,
        TransactionStatus::Approved,
        TransactionStatus::Rejected,
    ][rng.gen_range(0..3)];
    t.occurred_on = NaiveDate::from_ymd_opt(2026, 11, rng.gen_range(1..=8)).unwrap();
    t.memo = format!("v{version}");
    t
}

fn queries() -> Vec<RowQuery> {
    let day = |d| NaiveDate::from_ymd_opt(2026, 11, d);
    let q = |limit| RowQuery {
        limit: Some(limit),
        ..RowQuery::default()
    };
    vec![
        q(7),
        q(500),
        RowQuery {
            property_id: Some("p1".into()),
            ..q(5)
        },
        RowQuery {
            status: Some(TransactionStatus::Approved),
            kind: Some(TransactionKind::Expense),
            ..q(3)
        },
        RowQuery {
            from: day(3),
            to: day(6),
            ..q(4)
        },
        RowQuery {
            offset: Some(5),
            ..q(6)
        },
        RowQuery {
            property_id: Some("p2".into()),
            offset: Some(2),
            to: day(5),
            ..q(3)
        },
    ]
}

/// Every page of `q` (by keyset after the first), from both caches, equal.
async fn same_reads(merged: &Cache, folded: &Cache, round: usize) {
    for q in queries() {
        let mut q = q;
        loop {
            let want = folded.list(&q).await.unwrap();
            let got = merged.list(&q).await.unwrap();
            assert_eq!(got, want, "round {round}: {q:?}");
            let json = merged.list_json(&q).await.unwrap();
            assert_eq!(
                serde_json::to_value(&json).unwrap(),
                serde_json::to_value(&want).unwrap(),
                "round {round}: {q:?} as JSON"
            );
            match want.next {
                Some(next) => {
                    q.after = Some(next);
                    q.offset = None;
                }
                None => break,
            }
        }
    }
    for i in 0..IDS {
        let id = format!("b{i:02}");
        assert_eq!(
            merged.get(&id).await.unwrap(),
            folded.get(&id).await.unwrap()
        );
    }
}

#[tokio::test]
async fn reads_merged_over_the_journal_are_the_reads_of_the_folded_cache() {
    let mut rng = StdRng::seed_from_u64(14);
    let (_a, merged) = open_temp().await;
    let (_b, folded) = open_temp().await;
    let mut versions: Vec<i64> = vec![0; IDS];
    let mut seq = 0u64;
    let mut was_journaled = 0;
    for round in 0..60 {
        // Sometimes a user's create first: the answer may confirm it.
        let cmid = format!("m{round}");
        if rng.gen_bool(0.2) {
            let mut local = Row::confirmed(txn(&Row::local_id(&cmid), 0, Some(&cmid)));
            local.pending_sync = true;
            for cache in [&merged, &folded] {
                let mut w = cache.write_for(&[&local.id]).await.unwrap();
                put_row(&mut w.tx, &local).await.unwrap();
                cache.finish(w, Vec::new()).await.unwrap();
            }
        }
        let mut events = Vec::new();
        for _ in 0..rng.gen_range(1..=40) {
            seq += 1;
            let i = rng.gen_range(0..IDS);
            let id = format!("b{i:02}");
            let e = match rng.gen_range(0..10) {
                0..=1 => event(seq, EventType::Deleted, txn(&id, versions[i], None)),
                2 => {
                    // Stale: a version already held (or older).
                    let v = rng.gen_range(0..=versions[i].max(1));
                    event(seq, EventType::Updated, random_txn(&mut rng, &id, v))
                }
                _ => {
                    versions[i] += rng.gen_range(1..=2);
                    let mut t = random_txn(&mut rng, &id, versions[i]);
                    if rng.gen_bool(0.1) {
                        t.client_mutation_id = Some(cmid.clone());
                    }
                    event(seq, EventType::Updated, t)
                }
            };
            events.push(e);
        }
        seq += rng.gen_range(0..=2);
        let a = merged.apply_events(&events, seq).await.unwrap();
        let b = folded.apply_events(&events, seq).await.unwrap();
        assert_eq!(a.batch.as_deref().map(shown), b.batch.as_deref().map(shown));
        folded.settle().await.unwrap();
        // A user's edit of a row the journal may hold.
        if rng.gen_bool(0.3) {
            let id = format!("b{:02}", rng.gen_range(0..IDS));
            for cache in [&merged, &folded] {
                let mut w = cache.write_for(&[&id]).await.unwrap();
                if let Some(mut row) = get_row(&mut w.tx, &id).await.unwrap() {
                    row.memo = format!("edited in round {round}");
                    row.pending_sync = true;
                    put_row(&mut w.tx, &row).await.unwrap();
                }
                cache.finish(w, Vec::new()).await.unwrap();
            }
        }
        // The memo of `rows` forgets now and then (it is bounded).
        if rng.gen_bool(0.2) {
            merged.writer.lock().await.known.clear();
        }
        // Now and then a few of the oldest slots are folded.
        if rng.gen_bool(0.25) {
            let mut j = merged.writer.lock().await;
            merged
                .fold_chunk(&mut j, rng.gen_range(1..=10))
                .await
                .unwrap();
        }
        was_journaled = was_journaled.max(merged.journaled().await);
        same_reads(&merged, &folded, round).await;
    }
    assert!(
        was_journaled > 40,
        "the merged reads had a journal to merge"
    );
    assert_eq!(folded.journaled().await, 0);
    // And once folded, the tables themselves agree.
    merged.settle().await.unwrap();
    let mut a = merged.all_rows().await.unwrap();
    let mut b = folded.all_rows().await.unwrap();
    a.sort_by(|x, y| x.id.cmp(&y.id));
    b.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(a, b);
}
