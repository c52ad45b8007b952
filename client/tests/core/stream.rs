//! A first sync written into the cache page by page, in list order: every
//! `sync_progress` names the frontier written so far, and every server row
//! up to it is in the cache by then; the end needs no re-read; a stream a
//! crash cut short is finished over what it left. (A created row's
//! optimistic twin going as its confirmed row arrives: `cache::stream`'s
//! unit tests.)

use std::{collections::HashSet, sync::Arc, time::Duration};

use anyhow::Result;
use chrono::{Duration as Days, NaiveDate, Utc};
use ledgerline_client::{
    cache::Cache, telemetry::Telemetry, CoreEvent, MemoryStore, Patch, RowKey, RowQuery,
};
use ledgerline_wire::{Currency, Transaction, TransactionKind, TransactionStatus};

use crate::helpers::*;

#[tokio::test]
async fn a_first_sync_is_written_page_by_page_and_each_frontier_is_in_the_cache() -> Result<()> {
    let server = TestServer::spawn().await;
    let owner = server.http().login(OWNER).await?;
    let today = Utc::now().date_naive();
    let property = owner_property(&owner).await?;
    for i in 0..60 {
        let mut t = new_txn(&property, 100 + i, &format!("row {i}"));
        t.occurred_on = today - Days::days(i % 9);
        owner.create(&t).await?;
    }
    let rows = owner.all().await?;
    let key = |t: &Transaction| (t.occurred_on, t.id.clone());

    let dir = tempfile::tempdir()?;
    let config = ledgerline_client::CoreConfig {
        snapshot_page: 7,
        ..test_config(dir.path())
    };
    let mut c = TestCore::open_with(config, Arc::new(MemoryStore::new())).await;
    c.core.sign_in(&server.url, OWNER, PASSWORD).await?;
    let mut frontiers: Vec<RowKey> = Vec::new();
    loop {
        let e = tokio::time::timeout(Duration::from_secs(20), c.events.recv())
            .await?
            .expect("the core emits until the sync ends");
        let CoreEvent::SyncProgress(p) = e else {
            continue;
        };
        assert!(p.streamed, "a first sync streams: {p:?}");
        assert!(p.error.is_none(), "{p:?}");
        if let Some(f) = &p.frontier {
            if frontiers.last() != Some(f) {
                frontiers.push(f.clone());
            }
            // Rows only arrive: whatever the cache holds now, it holds every
            // server row from the top down to the frontier.
            let cached: HashSet<String> = cached_ids(&c.core).await.into_iter().collect();
            for t in rows
                .iter()
                .filter(|t| key(t) >= (f.occurred_on, f.id.clone()))
            {
                assert!(cached.contains(&t.id), "{} above the frontier {f:?}", t.id);
            }
        }
        if p.finished {
            assert_eq!(p.total, Some(rows.len() as u64));
            break;
        }
    }
    // One frontier per page, each further down the list than the last.
    assert_eq!(frontiers.len(), rows.len().div_ceil(7));
    for pair in frontiers.windows(2) {
        assert!(
            (pair[1].occurred_on, &pair[1].id) < (pair[0].occurred_on, &pair[0].id),
            "{pair:?}"
        );
    }
    let want: HashSet<String> = rows.iter().map(|t| t.id.clone()).collect();
    let cached: HashSet<String> = cached_ids(&c.core).await.into_iter().collect();
    assert_eq!(cached, want);
    let page = c
        .core
        .list_rows(RowQuery {
            limit: Some(5000),
            ..RowQuery::default()
        })
        .await?;
    assert_eq!(page.total, Some(rows.len() as u64));
    assert!(
        page.seq > 0,
        "the cache is at the head once the stream ends"
    );
    c.core.shutdown().await;
    Ok(())
}

async fn owner_property(owner: &Remote) -> Result<String> {
    let properties = owner.get_json("/v1/properties").await?;
    Ok(properties[0]["id"]
        .as_str()
        .expect("the owner has a property")
        .to_owned())
}

fn txn(id: &str, day: NaiveDate, cmid: Option<&str>) -> Transaction {
    let at = Utc::now();
    Transaction {
        id: id.into(),
        kind: TransactionKind::Revenue,
        property_id: "p1".into(),
        amount_minor: 100,
        currency: Currency::USD,
        category: "rooms".into(),
        memo: id.into(),
        occurred_on: day,
        status: TransactionStatus::Pending,
        version: 1,
        client_mutation_id: cmid.map(str::to_owned),
        created_by: "u1".into(),
        created_at: at,
        updated_at: at,
        rejection_reason: None,
    }
}

#[tokio::test]
async fn a_stream_cut_short_is_finished_over_what_it_left() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("cache.sqlite");
    let day = NaiveDate::from_ymd_opt(2026, 11, 10).unwrap();
    {
        // The first run wrote two pages, then the app was killed: no seq.
        let cache = Cache::open(&path, Arc::new(Telemetry::default())).await?;
        cache
            .stream_page(vec![txn("t9", day, None), txn("t8", day, None)])
            .await?;
        cache.stream_page(vec![txn("t7", day, None)]).await?;
        assert_eq!(cache.seq().await?, None);
        cache.close().await;
    }
    let cache = Cache::open(&path, Arc::new(Telemetry::default())).await?;
    assert!(cache.has_server_rows().await?);
    let mut sub = cache.subscribe().await?;
    // The next run streams again: t8 was deleted on the server meanwhile,
    // and t5 is new. A page the cache already holds changes nothing.
    let mut seen = HashSet::new();
    for page in [
        vec![txn("t9", day, None), txn("t7", day, None)],
        vec![txn("t5", day, None)],
    ] {
        seen.extend(page.iter().map(|t| t.id.clone()));
        cache.stream_page(page).await?;
    }
    assert_eq!(cache.finish_stream(42, Some(&seen)).await?, 1);
    assert_eq!(cache.seq().await?, Some(42));
    let ids: Vec<String> = cache.all_rows().await?.into_iter().map(|r| r.id).collect();
    assert_eq!(ids, ["t5", "t7", "t9"]);
    let batch = sub.batches.recv().await.expect("the removal is published");
    assert_eq!(batch.seq, 42);
    assert!(matches!(&batch.patches[..], [Patch::Remove { id }] if id == "t8"));
    cache.close().await;
    Ok(())
}
