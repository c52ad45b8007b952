//! Windows' reads of a large cache: keyset pages over 100k cached rows see
//! every row exactly once, in list order, while live events land between
//! the pages (no restarts); the first page counts once; a CSV export of
//! the whole range streams every row into the file.

use std::{collections::HashSet, sync::Arc};

use anyhow::Result;
use chrono::{Duration as Days, NaiveDate, Utc};
use ledgerline_client::{
    cache::Cache,
    export::{self, ExportProgress, EXPORT_PAGE},
    telemetry::Telemetry,
    RowKey, RowQuery,
};
use ledgerline_wire::{
    Currency, Event, EventRow, EventType, Transaction, TransactionKind, TransactionStatus,
};

const ROWS: u64 = 100_000;

fn txn(i: u64, day: NaiveDate) -> Transaction {
    let at = Utc::now();
    Transaction {
        id: format!("t{i:08}"),
        kind: TransactionKind::Revenue,
        property_id: format!("p{}", i % 3),
        amount_minor: 100 + i as i64,
        currency: Currency::USD,
        category: "rooms".into(),
        memo: format!("row {i}"),
        occurred_on: day,
        status: TransactionStatus::Pending,
        version: 1,
        client_mutation_id: None,
        created_by: "u1".into(),
        created_at: at,
        updated_at: at,
        rejection_reason: None,
    }
}

fn event(seq: u64, kind: EventType, row: EventRow) -> Event {
    Event {
        seq,
        kind,
        property_id: "p0".into(),
        client_mutation_id: None,
        affected_report_dates: vec![],
        row,
        at: Utc::now(),
        moved_from_property_id: None,
    }
}

fn march(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
}

/// A cache with 100k rows in March 2026 (and a few in April, outside the
/// query), at seq 100.
async fn big_cache(dir: &std::path::Path) -> Result<Cache> {
    let cache = Cache::open(&dir.join("c.sqlite"), Arc::new(Telemetry::default())).await?;
    let rows: Vec<Transaction> = (0..ROWS)
        .map(|i| txn(i, march(1) + Days::days((i % 31) as i64)))
        .chain((0..10).map(|i| txn(ROWS + i, NaiveDate::from_ymd_opt(2026, 4, 2).unwrap())))
        .collect();
    cache.replace_all(rows, 100).await?;
    Ok(cache)
}

fn in_march() -> RowQuery {
    RowQuery {
        from: Some(march(1)),
        to: Some(march(31)),
        ..RowQuery::default()
    }
}

#[tokio::test]
async fn keyset_pages_see_every_row_once_while_live_events_land_between_them() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let cache = big_cache(dir.path()).await?;
    let first = cache
        .list(&RowQuery {
            limit: Some(200),
            ..in_march()
        })
        .await?;
    assert_eq!(first.total, Some(ROWS), "the first page counts");
    assert_eq!(first.rows.len(), 200);
    let mut seen: Vec<RowKey> = first.rows.iter().map(RowKey::of).collect();
    let mut after = first.next.clone();
    let mut seq = first.seq;
    let mut pages = 1;
    // Between pages: a new row dated before the frontier (already passed:
    // the window gets it as a patch), one dated after it (this walk meets
    // it), and a deletion of a row not read yet.
    let mut added_later = HashSet::new();
    let mut deleted = HashSet::new();
    while let Some(key) = after.take() {
        if pages % 5 == 0 {
            seq += 1;
            let late = ROWS + 1_000 + pages;
            added_later.insert(format!("t{late:08}"));
            let gone = format!("t{:08}", ROWS - pages * 7);
            deleted.insert(gone.clone());
            let events = vec![
                event(
                    seq,
                    EventType::Added,
                    EventRow::Transaction(Box::new(txn(late, march(1)))),
                ),
                event(
                    seq + 1,
                    EventType::Added,
                    EventRow::Transaction(Box::new(txn(late + 1, march(31)))),
                ),
                event(seq + 2, EventType::Deleted, EventRow::Deleted { id: gone }),
            ];
            seq += 2;
            cache.apply_events(&events, seq).await?;
        }
        let page = cache
            .list(&RowQuery {
                after: Some(key.clone()),
                limit: Some(EXPORT_PAGE),
                ..in_march()
            })
            .await?;
        assert_eq!(page.total, None, "keyset pages do not count again");
        assert!(page.rows.first().is_none_or(|r| RowKey::of(r) < key));
        seen.extend(page.rows.iter().map(RowKey::of));
        after = page.next;
        pages += 1;
    }
    assert!(
        seen.windows(2).all(|w| w[0] > w[1]),
        "strictly in list order: no row twice"
    );
    let ids: HashSet<&str> = seen.iter().map(|k| k.id.as_str()).collect();
    for i in 0..ROWS {
        let id = format!("t{i:08}");
        assert!(
            ids.contains(id.as_str()) || deleted.contains(&id),
            "{id} was never listed"
        );
    }
    assert!(added_later.iter().all(|id| ids.contains(id.as_str())));
    Ok(())
}

#[tokio::test]
async fn an_export_of_100k_cached_rows_writes_every_one_of_them() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let cache = big_cache(dir.path()).await?;
    let path = dir.path().join("march.csv");
    let names = [("p0".to_owned(), "Harbor Inn".to_owned())].into();
    let progress = std::sync::Mutex::new(Vec::<ExportProgress>::new());
    let done = export::write_csv(&cache, &in_march(), &names, &path, |p| {
        progress.lock().unwrap().push(p)
    })
    .await?;
    assert_eq!(done.rows, ROWS);
    let text = std::fs::read_to_string(&path)?;
    let mut lines = text.split_terminator("\r\n");
    assert_eq!(lines.next(), Some(export::HEADER.trim_end()));
    let ids: HashSet<&str> = lines.map(|l| l.rsplit(',').next().unwrap()).collect();
    assert_eq!(ids.len() as u64, ROWS, "every row once");
    assert!((0..ROWS).all(|i| ids.contains(format!("t{i:08}").as_str())));
    assert!(text.contains(",Harbor Inn,"), "property names, not ids");
    let progress = progress.into_inner().unwrap();
    assert_eq!(progress.len() as u64, ROWS / EXPORT_PAGE as u64 + 2);
    assert!(progress.windows(2).all(|w| w[0].written <= w[1].written));
    assert_eq!(
        progress.last(),
        Some(&ExportProgress {
            written: ROWS,
            total: ROWS,
            finished: true
        })
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary file left");
    Ok(())
}
