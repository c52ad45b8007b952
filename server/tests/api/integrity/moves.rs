//! A row moved between properties, as each reader receives it: a reader of
//! only the old property gets a bare removal (`row` is only `{"id"}`), a
//! reader of both the update naming where it came from, a reader of only
//! the new property the update without it. And the reports' `as_of_seq`:
//! the org seq they reflect.

use ledgerline_wire::{DailyApproval, Event, EventType, ProfitLoss, TodayPending};
use serde_json::{json, Value};

use super::{create_on, decided, lock_until, patched, OWNER, STAFF};
use crate::helpers::{spawn_app, Session, TestApp};

/// The events after `cursor` as JSON, exactly as `who` receives them on a
/// poll with `query` (`&property_id=…` or empty); `count` of them.
async fn raw_events(
    app: &TestApp,
    who: &Session,
    cursor: u64,
    query: &str,
    count: usize,
) -> Vec<Value> {
    let body: Value = app
        .poll_raw(
            &who.token,
            &format!("cursor={cursor}&timeout_ms=5000{query}"),
        )
        .await
        .json()
        .await
        .unwrap();
    let events = body["events"].as_array().unwrap().clone();
    assert_eq!(events.len(), count, "{body}");
    events
}

#[tokio::test]
async fn a_row_moved_away_reaches_a_reader_of_only_the_old_property_as_a_bare_removal() {
    let app = spawn_app().await;
    let owner = app.login(OWNER).await;
    let staff = app.login(STAFF).await;
    let p1 = staff.properties[0].clone();
    let p2 = owner.properties.iter().find(|p| **p != p1).unwrap().clone();
    let t = create_on(&app, &owner, &p1, "2026-11-20").await;
    let head = app.head(&owner).await;
    let moved = patched(&app, &owner, &t.id, t.version, json!({"property_id": p2})).await;

    let p1_filter = format!("&property_id={p1}");
    let readers: [(&Session, Option<&str>, &str); 2] =
        [(&staff, None, ""), (&owner, Some(p1.as_str()), &p1_filter)];
    for (who, filter, query) in readers {
        let (events, _) = app.collect(who, head, filter, 1).await;
        let e = &events[0];
        assert_eq!(e.kind, EventType::Deleted, "{filter:?}");
        assert_eq!(e.property_id, p1);
        assert_eq!(e.row.id(), t.id);
        assert_eq!(e.moved_from_property_id, None);
        // Nothing else of the row leaks: `row` has the id alone, and
        // nothing names the property it went to.
        let raw = &raw_events(&app, who, head, query, 1).await[0];
        assert_eq!(raw["type"], "transaction.deleted");
        assert_eq!(raw["row"], json!({"id": t.id}));
        assert_eq!(raw["row"].as_object().unwrap().len(), 1);
        assert!(raw.get("moved_from_property_id").is_none(), "{raw}");
        assert!(!raw.to_string().contains(&p2), "{raw}");
    }
    // The staff member cannot read the row any more.
    let response = app
        .get(&format!("/v1/transactions/{}", t.id), &staff.token)
        .await;
    assert_eq!(response.status(), reqwest::StatusCode::NOT_FOUND);

    // A reader of both gets the update, naming where it came from.
    let (events, _) = app.collect(&owner, head, None, 1).await;
    assert_eq!(events[0].kind, EventType::Updated);
    assert_eq!(events[0].property_id, p2);
    assert_eq!(
        events[0].moved_from_property_id.as_deref(),
        Some(p1.as_str())
    );
    let raw = &raw_events(&app, &owner, head, "", 1).await[0];
    assert_eq!(raw["row"]["property_id"], p2);
    assert_eq!(raw["row"]["version"], moved.version);
    // A reader of only the new property gets it without the old one.
    let (events, _) = app.collect(&owner, head, Some(&p2), 1).await;
    assert_only_update(&events, &p2);
}

#[track_caller]
fn assert_only_update(events: &[Event], to: &str) {
    assert_eq!(events[0].kind, EventType::Updated);
    assert_eq!(events[0].property_id, to);
    assert_eq!(
        events[0].moved_from_property_id, None,
        "never a property it may not see"
    );
}

#[tokio::test]
async fn a_row_moved_into_a_staff_members_property_reaches_them_as_an_update_without_its_origin() {
    let app = spawn_app().await;
    let owner = app.login(OWNER).await;
    let staff = app.login(STAFF).await;
    let p1 = staff.properties[0].clone();
    let p2 = owner.properties.iter().find(|p| **p != p1).unwrap().clone();
    let t = create_on(&app, &owner, &p2, "2026-11-20").await;
    let head = app.head(&staff).await;
    patched(&app, &owner, &t.id, t.version, json!({"property_id": p1})).await;
    let (events, _) = app.collect(&staff, head, None, 1).await;
    assert_only_update(&events, &p1);
    let raw = &raw_events(&app, &staff, head, "", 1).await[0];
    assert!(raw.get("moved_from_property_id").is_none(), "{raw}");
    assert_eq!(raw["row"]["id"], t.id);
    // A poll that sees neither property hears nothing of it.
    let p3 = owner
        .properties
        .iter()
        .find(|p| **p != p1 && **p != p2)
        .unwrap();
    app.collect(&owner, head, Some(p3), 0).await;
}

#[tokio::test]
async fn the_reports_carry_the_seq_of_the_last_change_they_count() {
    let app = spawn_app().await;
    let owner = app.login(OWNER).await;
    let staff = app.login(STAFF).await;
    let p1 = staff.properties[0].clone();
    let today = chrono::Utc::now().date_naive().to_string();
    let reports = [
        "/v1/reports/profit-loss?from=2026-01-01&to=2026-12-31".to_owned(),
        format!("/v1/approvals/daily?date={today}"),
        "/v1/approvals/today-pending".to_owned(),
    ];
    let as_of = |who: &Session| {
        let app = &app;
        let reports = &reports;
        let token = who.token.clone();
        async move {
            let mut seqs = Vec::new();
            for (i, path) in reports.iter().enumerate() {
                let response = app.get(path, &token).await;
                assert_eq!(response.status(), reqwest::StatusCode::OK, "{path}");
                let seq = match i {
                    0 => response.json::<ProfitLoss>().await.unwrap().as_of_seq,
                    1 => response.json::<DailyApproval>().await.unwrap().as_of_seq,
                    _ => response.json::<TodayPending>().await.unwrap().as_of_seq,
                };
                seqs.push(seq);
            }
            seqs
        }
    };
    assert_eq!(as_of(&owner).await, [0, 0, 0], "no change yet");
    let t = create_on(&app, &owner, &p1, &today).await;
    decided(&app, &owner, &t.id, "approve", &[]).await;
    lock_until(&app, &owner, Some("2000-01-01")).await;
    // A change elsewhere in the org moves the seq for a staff member too.
    create_on(&app, &owner, &owner.properties[2], &today).await;
    let head = app.head(&owner).await;
    assert_eq!(head, 4);
    assert_eq!(app.head(&staff).await, head);
    for who in [&owner, &staff] {
        assert_eq!(as_of(who).await, [head; 3]);
    }
}

#[tokio::test]
async fn a_removal_served_from_the_log_names_only_the_old_day_and_nothing_of_the_new_place() {
    let mut app = spawn_app().await;
    let owner = app.login(OWNER).await;
    let p1 = app.login(STAFF).await.properties[0].clone();
    let p2 = owner.properties.iter().find(|p| **p != p1).unwrap().clone();
    let t = create_on(&app, &owner, &p1, "2026-11-20").await;
    let head = app.head(&owner).await;
    let moved = json!({"property_id": p2, "occurred_on": "2026-11-25"});
    patched(&app, &owner, &t.id, t.version, moved).await;
    for restarted in [false, true] {
        if restarted {
            // An empty hub: the poll is served from the durable log.
            app.restart().await;
        }
        let staff = app.login(STAFF).await;
        let raw = &raw_events(&app, &staff, head, "", 1).await[0];
        assert_eq!(raw["type"], "transaction.deleted", "restarted: {restarted}");
        assert_eq!(raw["property_id"], p1);
        assert_eq!(raw["row"], json!({"id": t.id}));
        // Its reports change on the day the row left; the day it moved to
        // is the new property's business.
        assert_eq!(raw["affected_report_dates"], json!(["2026-11-20"]), "{raw}");
        assert!(raw.get("client_mutation_id").is_none_or(Value::is_null));
        let owner = app.login(OWNER).await;
        let (events, _) = app.collect(&owner, head, None, 1).await;
        assert_eq!(
            events[0].moved_from_property_id.as_deref(),
            Some(p1.as_str())
        );
        assert_eq!(events[0].affected_report_dates.len(), 2);
    }
}
