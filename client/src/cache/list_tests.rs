//! Lists read from the cache: filters, counts, offset pages (as keyset
//! walks) and keyset pages (one index walk from the key).

use super::tests::{event, open_temp, txn};
use super::*;
use ledgerline_wire::EventType;

#[tokio::test]
async fn list_filters_pages_and_counts() {
    let (_dir, cache) = open_temp().await;
    let mut events = Vec::new();
    for i in 0..30u64 {
        let mut t = txn(&format!("t{i:02}"), 1, None);
        t.property_id = if i % 2 == 0 { "p1".into() } else { "p2".into() };
        t.kind = if i % 3 == 0 {
            TransactionKind::Expense
        } else {
            TransactionKind::Revenue
        };
        t.occurred_on = NaiveDate::from_ymd_opt(2026, 11, 1 + (i as u32 % 28)).unwrap();
        events.push(event(i + 1, EventType::Added, t));
    }
    cache.apply_events(&events, 30).await.unwrap();
    let page = cache
        .list(&RowQuery {
            property_id: Some("p1".into()),
            limit: Some(5),
            ..RowQuery::default()
        })
        .await
        .unwrap();
    assert_eq!((page.rows.len(), page.total, page.seq), (5, Some(15), 30));
    assert!(page
        .rows
        .windows(2)
        .all(|w| w[0].occurred_on >= w[1].occurred_on));
    let page = cache
        .list(&RowQuery {
            kind: Some(TransactionKind::Expense),
            from: NaiveDate::from_ymd_opt(2026, 11, 4),
            to: NaiveDate::from_ymd_opt(2026, 11, 10),
            offset: Some(1),
            ..RowQuery::default()
        })
        .await
        .unwrap();
    // Expenses are i = 0,3,6,...; dates 1 + i: in [4, 10] are i = 3, 6, 9.
    assert_eq!(page.total, Some(3));
    assert_eq!(page.rows.len(), 2);
}

/// An offset page (read as a keyset walk from the key of the row before
/// it) is the slice of the whole list at that offset, for every filter
/// shape, past the end too, from both the decoded and the JSON page.
#[tokio::test]
async fn an_offset_page_is_the_slice_of_the_list_at_that_offset() {
    let (_dir, cache) = open_temp().await;
    let mut events = Vec::new();
    for i in 0..40u64 {
        let mut t = txn(&format!("t{i:02}"), 1, None);
        t.property_id = format!("p{}", i % 3);
        t.kind = if i % 4 == 0 {
            TransactionKind::Expense
        } else {
            TransactionKind::Revenue
        };
        // Several rows a day: the id orders them within it.
        t.occurred_on = NaiveDate::from_ymd_opt(2026, 11, 1 + (i as u32 % 9)).unwrap();
        events.push(event(i + 1, EventType::Added, t));
    }
    cache.apply_events(&events, 40).await.unwrap();
    cache.settle().await.unwrap();
    let queries = [
        RowQuery::default(),
        RowQuery {
            property_id: Some("p1".into()),
            ..RowQuery::default()
        },
        RowQuery {
            kind: Some(TransactionKind::Revenue),
            from: NaiveDate::from_ymd_opt(2026, 11, 3),
            to: NaiveDate::from_ymd_opt(2026, 11, 7),
            ..RowQuery::default()
        },
    ];
    for q in queries {
        let whole = cache
            .list(&RowQuery {
                limit: Some(MAX_PAGE),
                ..q.clone()
            })
            .await
            .unwrap();
        let ids: Vec<&str> = whole.rows.iter().map(|r| r.id.as_str()).collect();
        for offset in 0..=ids.len() as u32 + 2 {
            let at = RowQuery {
                limit: Some(4),
                offset: Some(offset),
                ..q.clone()
            };
            let page = cache.list(&at).await.unwrap();
            let want: Vec<&str> = ids.iter().copied().skip(offset as usize).take(4).collect();
            let got: Vec<&str> = page.rows.iter().map(|r| r.id.as_str()).collect();
            assert_eq!(got, want, "{at:?}");
            assert_eq!(page.total, Some(ids.len() as u64));
            let json = cache.list_json(&at).await.unwrap();
            assert_eq!(
                serde_json::to_value(&json).unwrap(),
                serde_json::to_value(&page).unwrap(),
                "{at:?} as JSON"
            );
        }
    }
}

/// Every keyset page is one index walk from its key: the row-value bound
/// is the range the index is searched by (not a filter on a walk from the
/// top), whichever filters the window has.
#[tokio::test]
async fn keyset_pages_search_an_index_from_the_key() {
    let (_dir, cache) = open_temp().await;
    let after = Some(RowKey {
        occurred_on: "2026-11-20".parse().unwrap(),
        id: "t5".into(),
    });
    let month = |q: RowQuery| RowQuery {
        from: NaiveDate::from_ymd_opt(2026, 11, 1),
        to: NaiveDate::from_ymd_opt(2026, 11, 30),
        after: after.clone(),
        ..q
    };
    let shapes = [
        (month(RowQuery::default()), "rows_by_date"),
        (
            month(RowQuery {
                property_id: Some("p1".into()),
                ..RowQuery::default()
            }),
            "rows_by_property",
        ),
        (
            month(RowQuery {
                status: Some(TransactionStatus::Pending),
                kind: Some(TransactionKind::Revenue),
                ..RowQuery::default()
            }),
            "rows_by_status",
        ),
        (
            RowQuery {
                after: after.clone(),
                ..RowQuery::default()
            },
            "rows_by_date",
        ),
    ];
    for (q, index) in shapes {
        let plan: Vec<String> = queries::page_select("EXPLAIN QUERY PLAN ", &q, 5000)
            .build()
            .fetch_all(cache.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>(3))
            .collect();
        let plan = plan.join(" | ");
        assert!(
            plan.contains(&format!("USING INDEX {index}"))
                && plan.contains("(occurred_on,id)<(?,?)"),
            "{q:?}: {plan}"
        );
        assert!(!plan.contains("TEMP B-TREE"), "{q:?} sorts: {plan}");
    }
}
