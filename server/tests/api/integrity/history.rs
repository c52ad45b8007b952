//! `GET /v1/transactions/{id}/history`: every change, oldest first, with
//! who made it and each changed field `[from, to]`; readable by whoever may
//! see the row (where it is, or where it was last once deleted) and a 404
//! for everyone else.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{create_on, decided, patched, ACCOUNTANT, MANAGER, OWNER, ROLES, STAFF};
use crate::helpers::{assert_error, spawn_app, Session, TestApp};

async fn history(app: &TestApp, who: &Session, id: &str) -> Vec<Value> {
    let response = app
        .get(&format!("/v1/transactions/{id}/history"), &who.token)
        .await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body.as_object().unwrap().len(), 1, "only items: {body}");
    body["items"].as_array().unwrap().clone()
}

/// Asserts one entry: its action, its author and exactly these changes.
#[track_caller]
fn assert_entry(item: &Value, action: &str, by: &Session, name: &str, changes: Value) {
    assert_eq!(item["action"], action, "{item}");
    assert_eq!(
        item["by"],
        json!({"id": by.user_id, "name": name}),
        "{item}"
    );
    assert_eq!(item["changes"], changes, "{action}");
    assert!(item["at"]
        .as_str()
        .unwrap()
        .parse::<chrono::DateTime<chrono::Utc>>()
        .is_ok());
    assert_eq!(item.as_object().unwrap().len(), 4, "{item}");
}

#[tokio::test]
async fn the_history_records_every_change_field_by_field_oldest_first() {
    let app = spawn_app().await;
    let owner = app.login(OWNER).await;
    let manager = app.login(MANAGER).await;
    let accountant = app.login(ACCOUNTANT).await;
    let staff = app.login(STAFF).await;
    let p1 = staff.properties[0].clone();

    let t = create_on(&app, &staff, &p1, "2026-11-20").await;
    let t = decided(&app, &manager, &t.id, "approve", &[]).await;
    let t = patched(
        &app,
        &accountant,
        &t.id,
        t.version,
        json!({"amount_minor": 999_999, "memo": "corrected"}),
    )
    .await;
    let t = decided(&app, &owner, &t.id, "reject", &[("reason", "too much")]).await;
    let t = patched(
        &app,
        &staff,
        &t.id,
        t.version,
        json!({"memo": "see receipt"}),
    )
    .await;
    let t = decided(
        &app,
        &manager,
        &t.id,
        "approve",
        &[("version", &t.version.to_string())],
    )
    .await;
    let response = app
        .delete(&format!("/v1/transactions/{}", t.id), &owner.token)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let items = history(&app, &owner, &t.id).await;
    assert_eq!(items.len(), 7, "{items:#?}");
    assert_entry(
        &items[0],
        "created",
        &staff,
        "Sam Staff",
        json!({
            "kind": [null, "revenue"],
            "property_id": [null, p1],
            "amount_minor": [null, 12_345],
            "currency": [null, "USD"],
            "category": [null, "rooms"],
            "memo": [null, "night 1"],
            "occurred_on": [null, "2026-11-20"],
            "status": [null, "pending"],
        }),
    );
    assert_entry(
        &items[1],
        "approved",
        &manager,
        "Manuel Manager",
        json!({
            "status": ["pending", "approved"],
        }),
    );
    // The amount edit sent it back to pending, and the history says so.
    assert_entry(
        &items[2],
        "updated",
        &accountant,
        "Ada Accountant",
        json!({
            "amount_minor": [12_345, 999_999],
            "memo": ["night 1", "corrected"],
            "status": ["approved", "pending"],
        }),
    );
    assert_entry(
        &items[3],
        "rejected",
        &owner,
        "Olivia Owner",
        json!({
            "status": ["pending", "rejected"],
            "rejection_reason": [null, "too much"],
        }),
    );
    // A memo-only edit keeps the rejection.
    assert_entry(
        &items[4],
        "updated",
        &staff,
        "Sam Staff",
        json!({
            "memo": ["corrected", "see receipt"],
        }),
    );
    assert_entry(
        &items[5],
        "approved",
        &manager,
        "Manuel Manager",
        json!({
            "status": ["rejected", "approved"],
            "rejection_reason": ["too much", null],
        }),
    );
    assert_entry(
        &items[6],
        "deleted",
        &owner,
        "Olivia Owner",
        json!({
            "kind": ["revenue", null],
            "property_id": [p1, null],
            "amount_minor": [999_999, null],
            "currency": ["USD", null],
            "category": ["rooms", null],
            "memo": ["see receipt", null],
            "occurred_on": ["2026-11-20", null],
            "status": ["approved", null],
        }),
    );
    let times: Vec<&str> = items.iter().map(|i| i["at"].as_str().unwrap()).collect();
    let parsed: Vec<chrono::DateTime<chrono::Utc>> =
        times.iter().map(|t| t.parse().unwrap()).collect();
    assert!(
        parsed.windows(2).all(|w| w[0] <= w[1]),
        "oldest first: {times:?}"
    );
    // A deleted row's history stays readable for everyone who saw it last.
    for (email, _) in ROLES {
        let who = app.login(email).await;
        assert_eq!(history(&app, &who, &t.id).await, items, "{email}");
    }
}

#[tokio::test]
async fn a_move_and_each_field_edit_is_one_entry_with_only_that_field() {
    let app = spawn_app().await;
    let owner = app.login(OWNER).await;
    let (p1, p2) = (owner.properties[0].clone(), owner.properties[1].clone());
    let t = create_on(&app, &owner, &p1, "2026-11-20").await;
    let edits = [
        ("currency", json!("USD"), json!("EUR")),
        ("occurred_on", json!("2026-11-20"), json!("2026-11-22")),
        ("kind", json!("revenue"), json!("expense")),
        ("category", json!("rooms"), json!("spa")),
        ("property_id", json!(p1), json!(p2)),
    ];
    let mut version = t.version;
    for (field, _, to) in &edits {
        version = patched(&app, &owner, &t.id, version, json!({ *field: to }))
            .await
            .version;
    }
    let items = history(&app, &owner, &t.id).await;
    assert_eq!(items.len(), 1 + edits.len());
    for ((field, from, to), item) in edits.iter().zip(&items[1..]) {
        assert_entry(
            item,
            "updated",
            &owner,
            "Olivia Owner",
            json!({ *field: [from, to] }),
        );
    }
}

#[tokio::test]
async fn another_org_or_property_gets_a_404_for_a_history() {
    let app = spawn_app().await;
    let owner = app.login(OWNER).await;
    let staff = app.login(STAFF).await;
    let rival = app.login("owner@rival.test").await;
    let elsewhere = owner
        .properties
        .iter()
        .find(|p| !staff.properties.contains(p))
        .unwrap()
        .clone();
    let theirs = create_on(&app, &owner, &elsewhere, "2026-11-20").await;
    let mine = create_on(&app, &owner, &staff.properties[0], "2026-11-20").await;
    let path = |id: &str| format!("/v1/transactions/{id}/history");
    for id in [&theirs.id, &mine.id] {
        let response = app.get(&path(id), &rival.token).await;
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    let response = app.get(&path(&theirs.id), &staff.token).await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(history(&app, &staff, &mine.id).await.len(), 1);
    let unknown = app.get(&path("no-such-row"), &owner.token).await;
    assert_error(unknown, StatusCode::NOT_FOUND, "not_found").await;

    // Deleted where the staff member cannot see it: still a 404 for them,
    // readable for the owner.
    let response = app
        .delete(&format!("/v1/transactions/{}", theirs.id), &owner.token)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = app.get(&path(&theirs.id), &staff.token).await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(history(&app, &owner, &theirs.id).await.len(), 2);

    // Moved out of the staff member's property: no longer theirs to read,
    // and deleted there, it stays so.
    patched(
        &app,
        &owner,
        &mine.id,
        mine.version,
        json!({"property_id": elsewhere}),
    )
    .await;
    let response = app.get(&path(&mine.id), &staff.token).await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    let response = app
        .delete(&format!("/v1/transactions/{}", mine.id), &owner.token)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = app.get(&path(&mine.id), &staff.token).await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    let response = app.get(&path(&mine.id), &rival.token).await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(history(&app, &owner, &mine.id).await.len(), 3);
}
