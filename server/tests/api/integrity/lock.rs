//! The period lock: `GET`/`PUT /v1/settings/lock-date` by role, its
//! `settings.lock_date` event on every poll, and the 409 `period_locked` of
//! every write touching a day on or before it — for every role, the owner
//! included — while later days stay writable.

use ledgerline_wire::{EventRow, EventType};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{
    create_on, decide, decided, lock_until, patch, patched, put_lock, OWNER, ROLES, STAFF,
};
use crate::helpers::{assert_error, new_tx, spawn_app, Session, TestApp};

const LOCK: &str = "2026-10-31";

async fn lock_date(app: &TestApp, who: &Session) -> Value {
    let response = app.get("/v1/settings/lock-date", &who.token).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// Asserts a 409 `period_locked` naming the lock date.
async fn assert_locked(response: reqwest::Response, what: &str) {
    let message = assert_error(response, StatusCode::CONFLICT, "period_locked").await;
    assert!(message.contains(LOCK), "{what}: {message}");
}

#[tokio::test]
async fn every_role_reads_the_lock_date_and_only_owners_set_it() {
    let app = spawn_app().await;
    let owner = app.login(OWNER).await;
    for (email, _) in ROLES {
        let who = app.login(email).await;
        assert_eq!(
            lock_date(&app, &who).await,
            json!({"lock_date": null}),
            "{email}"
        );
    }
    lock_until(&app, &owner, Some(LOCK)).await;
    let events = app.event_count().await;
    for (email, _) in ROLES {
        let who = app.login(email).await;
        assert_eq!(
            lock_date(&app, &who).await,
            json!({"lock_date": LOCK}),
            "{email}"
        );
        if email == OWNER {
            continue;
        }
        for body in [
            json!({"lock_date": null}),
            json!({"lock_date": "2026-12-31"}),
        ] {
            let response = put_lock(&app, &who, &body).await;
            assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
        }
    }
    assert_eq!(lock_date(&app, &owner).await, json!({"lock_date": LOCK}));
    assert_eq!(
        app.event_count().await,
        events,
        "a refused PUT records nothing"
    );
    // The date the org already has changes nothing.
    lock_until(&app, &owner, Some(LOCK)).await;
    assert_eq!(app.event_count().await, events);
    lock_until(&app, &owner, None).await;
    assert_eq!(lock_date(&app, &owner).await, json!({"lock_date": null}));
    assert_eq!(app.event_count().await, events + 1);
}

#[tokio::test]
async fn a_change_of_the_lock_date_reaches_every_poll_whatever_its_filter() {
    let app = spawn_app().await;
    let owner = app.login(OWNER).await;
    let staff = app.login(STAFF).await;
    let elsewhere = owner.properties[1].clone();
    assert!(!staff.properties.contains(&elsewhere));
    let head = app.head(&owner).await;
    lock_until(&app, &owner, Some(LOCK)).await;
    lock_until(&app, &owner, None).await;
    let readers = [
        (&staff, None),
        (&staff, Some(staff.properties[0].as_str())),
        (&owner, Some(elsewhere.as_str())),
        (&owner, None),
    ];
    for (who, filter) in readers {
        let (events, _) = app.collect(who, head, filter, 2).await;
        let dates: Vec<_> = events
            .iter()
            .map(|e| {
                assert_eq!(e.kind, EventType::LockDate, "{filter:?}");
                assert_eq!(e.property_id, "");
                assert!(e.affected_report_dates.is_empty());
                e.row.clone()
            })
            .collect();
        let lock = LOCK.parse().ok();
        assert_eq!(
            dates,
            [
                EventRow::LockDate { lock_date: lock },
                EventRow::LockDate { lock_date: None }
            ],
            "{filter:?}"
        );
    }
    // On the wire the row is only the date.
    let raw: Value = app
        .poll_raw(&staff.token, &format!("cursor={head}&timeout_ms=5000"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(raw["events"][0]["type"], "settings.lock_date");
    assert_eq!(raw["events"][0]["row"], json!({"lock_date": LOCK}));
    assert_eq!(raw["events"][1]["row"], json!({"lock_date": null}));
}

#[tokio::test]
async fn no_role_creates_a_row_on_or_before_the_lock_date() {
    let app = spawn_app().await;
    let owner = app.login(OWNER).await;
    lock_until(&app, &owner, Some(LOCK)).await;
    let (rows, events) = (app.transaction_count().await, app.event_count().await);
    for (email, _) in ROLES {
        let who = app.login(email).await;
        for day in [LOCK, "2026-10-30", "1900-01-01"] {
            let mut body = new_tx(&who.properties[0]);
            body["occurred_on"] = json!(day);
            let response = app.post_json("/v1/transactions", &who.token, &body).await;
            assert_locked(response, &format!("{email} creates on {day}")).await;
        }
    }
    assert_eq!(app.transaction_count().await, rows);
    assert_eq!(app.event_count().await, events);
    // The day after the lock date is open to everyone.
    for (email, _) in ROLES {
        let who = app.login(email).await;
        create_on(&app, &who, &who.properties[0], "2026-11-01").await;
    }
}

#[tokio::test]
async fn no_role_edits_or_deletes_a_row_whose_old_or_new_date_is_locked() {
    let app = spawn_app().await;
    let owner = app.login(OWNER).await;
    let p1 = app.login(STAFF).await.properties[0].clone();
    let locked = create_on(&app, &owner, &p1, "2026-10-15").await;
    let on_the_day = create_on(&app, &owner, &p1, LOCK).await;
    let open = create_on(&app, &owner, &p1, "2026-11-20").await;
    lock_until(&app, &owner, Some(LOCK)).await;
    let events = app.event_count().await;
    let rows: Vec<_> = [&locked, &on_the_day, &open]
        .iter()
        .map(|t| t.id.clone())
        .collect();
    let mut stored = Vec::new();
    for id in &rows {
        stored.push(app.stored_row(id).await);
    }
    for (email, _) in ROLES {
        let who = app.login(email).await;
        for t in [&locked, &on_the_day] {
            let memo = patch(&app, &who, &t.id, 1, json!({"memo": "late fix"})).await;
            assert_locked(memo, &format!("{email}: memo of a locked row")).await;
            // Moving it out of the locked period is a change in it too.
            let out = patch(&app, &who, &t.id, 1, json!({"occurred_on": "2026-11-20"})).await;
            assert_locked(out, &format!("{email}: old date locked")).await;
            let delete = app
                .delete(&format!("/v1/transactions/{}", t.id), &who.token)
                .await;
            assert_locked(delete, &format!("{email}: delete")).await;
        }
        for day in [LOCK, "2026-01-01"] {
            let into = patch(&app, &who, &open.id, 1, json!({"occurred_on": day})).await;
            assert_locked(into, &format!("{email}: new date {day} locked")).await;
        }
    }
    for (id, before) in rows.iter().zip(&stored) {
        assert_eq!(&app.stored_row(id).await, before, "{id} unchanged");
    }
    assert_eq!(app.event_count().await, events);
}

#[tokio::test]
async fn approvers_get_period_locked_and_the_others_forbidden_on_a_locked_row() {
    let app = spawn_app().await;
    let owner = app.login(OWNER).await;
    let p1 = app.login(STAFF).await.properties[0].clone();
    let pending = create_on(&app, &owner, &p1, "2026-10-15").await;
    let approved = create_on(&app, &owner, &p1, "2026-10-16").await;
    let approved = decided(&app, &owner, &approved.id, "approve", &[]).await;
    let rejected = create_on(&app, &owner, &p1, LOCK).await;
    let rejected = decided(&app, &owner, &rejected.id, "reject", &[("reason", "x")]).await;
    lock_until(&app, &owner, Some(LOCK)).await;
    let events = app.event_count().await;
    for (email, approver) in ROLES {
        let who = app.login(email).await;
        for t in [&pending, &approved, &rejected] {
            let version = t.version.to_string();
            for (action, query) in [
                ("approve", vec![]),
                ("approve", vec![("version", version.as_str())]),
                ("reject", vec![]),
                (
                    "reject",
                    vec![("version", version.as_str()), ("reason", "late")],
                ),
            ] {
                let response = decide(&app, &who, &t.id, action, &query).await;
                let what = format!("{email} {action} {:?} {query:?}", t.status);
                if approver {
                    // Deciding what the row already has is refused too.
                    assert_locked(response, &what).await;
                } else {
                    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
                }
            }
        }
    }
    assert_eq!(app.event_count().await, events);
    assert_eq!(
        app.stored_row(&approved.id).await.unwrap()["status"],
        "approved"
    );
}

#[tokio::test]
async fn rows_after_the_lock_date_stay_writable_and_clearing_the_lock_unlocks() {
    let app = spawn_app().await;
    let owner = app.login(OWNER).await;
    let p1 = app.login(STAFF).await.properties[0].clone();
    let old = create_on(&app, &owner, &p1, "2026-10-15").await;
    lock_until(&app, &owner, Some(LOCK)).await;
    for (email, approver) in ROLES {
        let who = app.login(email).await;
        let t = create_on(&app, &who, &p1, "2026-11-01").await;
        let t = patched(&app, &who, &t.id, t.version, json!({"amount_minor": 50})).await;
        let t = if approver {
            let t = decided(&app, &who, &t.id, "reject", &[("reason", "x")]).await;
            decided(&app, &who, &t.id, "approve", &[]).await
        } else {
            t
        };
        let response = app
            .delete(&format!("/v1/transactions/{}", t.id), &who.token)
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "{email}");
    }
    lock_until(&app, &owner, None).await;
    for (email, approver) in ROLES {
        let who = app.login(email).await;
        let version = app.stored_row(&old.id).await.unwrap()["version"]
            .as_i64()
            .unwrap();
        let memo = format!("edited by {email}");
        patched(&app, &who, &old.id, version, json!({"memo": memo})).await;
        if approver {
            decided(&app, &who, &old.id, "approve", &[]).await;
            decided(&app, &who, &old.id, "reject", &[]).await;
        }
    }
    let response = app
        .delete(&format!("/v1/transactions/{}", old.id), &owner.token)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn the_lock_date_is_the_orgs_own_and_its_event_is_served_from_the_log_too() {
    let mut app = spawn_app().await;
    let owner = app.login(OWNER).await;
    let rival = app.login("owner@rival.test").await;
    let rival_head = app.head(&rival).await;
    let head = app.head(&owner).await;
    lock_until(&app, &owner, Some(LOCK)).await;
    // Another org is neither locked nor told.
    assert_eq!(lock_date(&app, &rival).await, json!({"lock_date": null}));
    create_on(&app, &rival, &rival.properties[0], "2026-10-01").await;
    let (events, _) = app.collect(&rival, rival_head, None, 1).await;
    assert_eq!(events[0].kind, EventType::Added, "only its own write");
    // After a restart the hub is empty: the event comes from the log, and
    // still passes a property filter.
    app.restart().await;
    let staff = app.login(STAFF).await;
    let (events, _) = app
        .collect(&staff, head, Some(&staff.properties[0]), 1)
        .await;
    assert_eq!(events[0].kind, EventType::LockDate);
    let lock = LOCK.parse().ok();
    assert_eq!(events[0].row, EventRow::LockDate { lock_date: lock });
    let owner = app.login(OWNER).await;
    assert_eq!(lock_date(&app, &owner).await, json!({"lock_date": LOCK}));
    let mut body = new_tx(&owner.properties[0]);
    body["occurred_on"] = json!(LOCK);
    let response = app.post_json("/v1/transactions", &owner.token, &body).await;
    assert_locked(response, "after a restart").await;
}

#[tokio::test]
async fn a_write_racing_the_lock_date_commits_before_it_or_not_at_all() {
    let app = spawn_app().await;
    let owner = app.login(OWNER).await;
    let manager = app.login(super::MANAGER).await;
    let writes = (0..12).map(|i| {
        let (app, manager) = (&app, &manager);
        async move {
            let mut body = new_tx(&manager.properties[i % 3]);
            body["occurred_on"] = json!(LOCK);
            app.post_json("/v1/transactions", &manager.token, &body)
                .await
                .status()
        }
    });
    let lock = async {
        lock_until(&app, &owner, Some(LOCK)).await;
        StatusCode::OK
    };
    let (statuses, _) = tokio::join!(futures::future::join_all(writes), lock);
    for status in &statuses {
        assert!(
            [StatusCode::CREATED, StatusCode::CONFLICT].contains(status),
            "{status}"
        );
    }
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let events = app.events(&owner.org_id).await;
    let locked_at = events
        .iter()
        .find(|e| e.kind == EventType::LockDate)
        .expect("the lock event")
        .seq;
    let added: Vec<u64> = events
        .iter()
        .filter(|e| e.kind == EventType::Added)
        .map(|e| e.seq)
        .collect();
    assert_eq!(added.len(), created, "every 201 has its event, no other");
    assert_eq!(app.transaction_count().await as usize, created);
    assert!(
        added.iter().all(|seq| *seq < locked_at),
        "a row dated {LOCK} committed after the lock: {added:?} vs {locked_at}"
    );
}
