//! Every write records exactly one event with the org's next `seq`, in the
//! same database transaction as the row.

use chrono::{NaiveDate, TimeDelta, Utc};
use ledgerline_server::{store::Backend, Store};
use ledgerline_wire::{EventRow, EventType, Transaction};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{assert_error, backend, new_tx, spawn_app};

#[tokio::test]
async fn each_write_appends_one_event_with_the_next_seq() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let manager = app.login("manager@demo.test").await;
    let mut body = new_tx(&owner.properties[0]);
    body["client_mutation_id"] = json!("ev-1");
    let created = app.create(&owner, body).await;
    let path = format!("/v1/transactions/{}", created.id);
    let updated: Transaction = app
        .patch_json(
            &path,
            &owner.token,
            &json!({"version": 1, "occurred_on": "2026-11-22"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let approved: Transaction = app
        .post(&format!("{path}/approve"), &manager.token)
        .await
        .json()
        .await
        .unwrap();
    let rejected: Transaction = app
        .post(&format!("{path}/reject"), &manager.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        app.delete(&path, &owner.token).await.status(),
        StatusCode::NO_CONTENT
    );

    let events = app.events(&owner.org_id).await;
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    let kinds: Vec<EventType> = events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventType::Added,
            EventType::Updated,
            EventType::Approved,
            EventType::Rejected,
            EventType::Deleted
        ]
    );
    let d20 = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let d22 = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    assert_eq!(
        events[0].row,
        EventRow::Transaction(Box::new(created.clone()))
    );
    assert_eq!(events[0].affected_report_dates, [d20]);
    assert_eq!(
        events[1].row,
        EventRow::Transaction(Box::new(updated.clone()))
    );
    assert_eq!(
        events[1].affected_report_dates,
        [d20, d22],
        "old and new day"
    );
    assert_eq!(events[2].row, EventRow::Transaction(Box::new(approved)));
    assert_eq!(events[3].row, EventRow::Transaction(Box::new(rejected)));
    assert_eq!(
        events[4].row,
        EventRow::Deleted {
            id: created.id.clone()
        }
    );
    assert_eq!(events[4].affected_report_dates, [d22]);
    for e in &events {
        assert_eq!(e.property_id, owner.properties[0]);
        assert_eq!(e.client_mutation_id.as_deref(), Some("ev-1"));
        assert!(e.at <= Utc::now());
    }
    assert!(events.windows(2).all(|w| w[0].at <= w[1].at));
    let head: i64 = sqlx::query_scalar("SELECT event_seq FROM orgs WHERE id = $1")
        .bind(&owner.org_id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(head, 5);
}

#[tokio::test]
async fn seq_is_per_org_and_gap_free_under_concurrent_writes() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let rival = app.login("owner@rival.test").await;
    let demo_body = new_tx(&owner.properties[0]);
    let rival_body = new_tx(&rival.properties[0]);
    let writes = (0..20).map(|i| {
        let (who, body) = if i % 2 == 0 {
            (&owner, &demo_body)
        } else {
            (&rival, &rival_body)
        };
        app.post_json("/v1/transactions", &who.token, body)
    });
    for response in futures::future::join_all(writes).await {
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    for org in [&owner.org_id, &rival.org_id] {
        let seqs: Vec<u64> = app.events(org).await.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=10).collect::<Vec<u64>>());
    }
}

#[tokio::test]
async fn a_failed_write_leaves_neither_row_nor_event() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let t = app.create(&owner, new_tx(&owner.properties[0])).await;
    let row = app.stored_row(&t.id).await;
    // Force the event insert to fail, after the row write succeeded.
    let (create, drop) = match backend() {
        Backend::Sqlite => (
            vec![
                "CREATE TRIGGER fail_events BEFORE INSERT ON events
                  BEGIN SELECT RAISE(ABORT, 'forced failure'); END",
            ],
            "DROP TRIGGER fail_events",
        ),
        Backend::Postgres => (
            vec![
                "CREATE FUNCTION fail_events() RETURNS trigger LANGUAGE plpgsql
                 AS $$ BEGIN RAISE EXCEPTION 'forced failure'; END $$",
                "CREATE TRIGGER fail_events BEFORE INSERT ON events
                 FOR EACH ROW EXECUTE FUNCTION fail_events()",
            ],
            "DROP TRIGGER fail_events ON events",
        ),
    };
    for sql in create {
        sqlx::query(sql).execute(&app.db).await.unwrap();
    }

    let created = app
        .post_json(
            "/v1/transactions",
            &owner.token,
            &new_tx(&owner.properties[1]),
        )
        .await;
    let message = assert_error(created, StatusCode::INTERNAL_SERVER_ERROR, "internal").await;
    assert!(
        !message.contains("forced"),
        "database text must not leak: {message}"
    );
    let path = format!("/v1/transactions/{}", t.id);
    let updated = app
        .patch_json(&path, &owner.token, &json!({"version": 1, "memo": "x"}))
        .await;
    assert_error(updated, StatusCode::INTERNAL_SERVER_ERROR, "internal").await;
    let deleted = app.delete(&path, &owner.token).await;
    assert_error(deleted, StatusCode::INTERNAL_SERVER_ERROR, "internal").await;

    assert_eq!(app.transaction_count().await, 1);
    assert_eq!(app.stored_row(&t.id).await, row);
    assert_eq!(app.events(&owner.org_id).await.len(), 1);
    let head: i64 = sqlx::query_scalar("SELECT event_seq FROM orgs WHERE id = $1")
        .bind(&owner.org_id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(head, 1, "the seq bump rolled back too");

    sqlx::query(drop).execute(&app.db).await.unwrap();
    let next = app.create(&owner, new_tx(&owner.properties[1])).await;
    let events = app.events(&owner.org_id).await;
    assert_eq!(events.last().unwrap().seq, 2, "no gap after the failure");
    assert_eq!(events.last().unwrap().row.id(), next.id);
}

#[tokio::test]
async fn store_reads_the_log_after_a_seq_and_reports_its_bounds() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    for _ in 0..5 {
        app.create(&owner, new_tx(&owner.properties[0])).await;
    }
    let store = Store::open(app.database_url()).await.unwrap();
    let after: Vec<u64> = store
        .events_after(&owner.org_id, 2, 2)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(after, [3, 4]);
    assert!(store
        .events_after(&owner.org_id, 5, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.event_bounds(&owner.org_id).await.unwrap(),
        (Some(1), 5)
    );
    let rival = app.login("owner@rival.test").await;
    assert_eq!(store.event_bounds(&rival.org_id).await.unwrap(), (None, 0));

    // Age the first two events past retention, prune, and the bounds move.
    sqlx::query("UPDATE events SET created_at = 0 WHERE seq <= 2")
        .execute(&app.db)
        .await
        .unwrap();
    let pruned = store
        .prune_events(Utc::now() - TimeDelta::days(7))
        .await
        .unwrap();
    assert_eq!(pruned, 2);
    assert_eq!(
        store.event_bounds(&owner.org_id).await.unwrap(),
        (Some(3), 5)
    );
    assert_eq!(
        store
            .events_after(&owner.org_id, 0, 10)
            .await
            .unwrap()
            .len(),
        3
    );
    store.close().await;
}

#[tokio::test]
async fn published_events_are_counted_in_metrics() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let mut body = new_tx(&owner.properties[0]);
    body["client_mutation_id"] = json!("once");
    app.create(&owner, body.clone()).await;
    app.post_json("/v1/transactions", &owner.token, &body).await; // replay: no event
    app.create(&owner, new_tx(&owner.properties[0])).await;
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.lines()
            .any(|l| l == "ledgerline_events_published_total 2"),
        "{text}"
    );
}
