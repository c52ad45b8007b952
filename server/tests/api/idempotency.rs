use ledgerline_wire::Transaction;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{assert_error, new_tx, spawn_app};

#[tokio::test]
async fn replayed_create_returns_200_with_the_same_row() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let mut body = new_tx(&owner.properties[0]);
    body["client_mutation_id"] = json!("m-42");
    let first = app.post_json("/v1/transactions", &owner.token, &body).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Transaction = first.json().await.unwrap();
    // Even with a different body, the id wins: the row is never doubled.
    body["amount_minor"] = json!(1);
    let again = app.post_json("/v1/transactions", &owner.token, &body).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<Transaction>().await.unwrap(), first);
    assert_eq!(app.transaction_count().await, 1);
    assert_eq!(app.event_count().await, 1);
}

#[tokio::test]
async fn ten_concurrent_creates_with_one_mutation_id_make_one_row_and_one_event() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let mut body = new_tx(&owner.properties[0]);
    body["client_mutation_id"] = json!("burst");
    let sends = (0..10).map(|_| app.post_json("/v1/transactions", &owner.token, &body));
    let responses = futures::future::join_all(sends).await;
    let mut statuses = Vec::new();
    let mut rows = Vec::new();
    for response in responses {
        statuses.push(response.status());
        rows.push(response.json::<Transaction>().await.unwrap());
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1
    );
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 9);
    assert!(rows.iter().all(|r| *r == rows[0]));
    assert_eq!(app.transaction_count().await, 1);
    let events = app.events(&owner.org_id).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].client_mutation_id.as_deref(), Some("burst"));
}

#[tokio::test]
async fn a_replayed_update_is_answered_with_its_first_result_not_a_409() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let t = app.create(&owner, new_tx(&owner.properties[0])).await;
    let path = format!("/v1/transactions/{}", t.id);
    let body = json!({"version": 1, "memo": "fixed", "client_mutation_id": "u-1"});
    let first = app.patch_json(&path, &owner.token, &body).await;
    assert_eq!(first.status(), StatusCode::OK);
    let first: Transaction = first.json().await.unwrap();
    assert_eq!(first.version, 2);
    let events = app.event_count().await;
    // The first response was lost; the client sends the same write again.
    let again = app.patch_json(&path, &owner.token, &body).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<Transaction>().await.unwrap(), first);
    assert_eq!(app.event_count().await, events, "applied once");
    // Another write on the same stale version is still a conflict.
    let other = json!({"version": 1, "memo": "other", "client_mutation_id": "u-2"});
    let stale = app.patch_json(&path, &owner.token, &other).await;
    assert_error(stale, StatusCode::CONFLICT, "conflict").await;
    // The same id for another write is refused, not taken as a replay.
    let reused = json!({"version": 2, "memo": "x", "client_mutation_id": "u-1"});
    let reused_path = format!(
        "/v1/transactions/{}",
        app.create(&owner, new_tx(&owner.properties[0])).await.id
    );
    let r = app.patch_json(&reused_path, &owner.token, &reused).await;
    assert!(r.status().is_client_error() && r.status() != StatusCode::CONFLICT);
}

#[tokio::test]
async fn replayed_deletes_approvals_and_rejections_repeat_their_result() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let a = app.create(&owner, new_tx(&owner.properties[0])).await;
    let b = app.create(&owner, new_tx(&owner.properties[0])).await;
    let c = app.create(&owner, new_tx(&owner.properties[0])).await;

    let del = format!("/v1/transactions/{}?client_mutation_id=d-1", a.id);
    assert_eq!(
        app.delete(&del, &owner.token).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete(&del, &owner.token).await.status(),
        StatusCode::NO_CONTENT
    );
    // Without an id a second delete is still a 404.
    let bare = format!("/v1/transactions/{}", a.id);
    assert_error(
        app.delete(&bare, &owner.token).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let approve = format!("/v1/transactions/{}/approve?client_mutation_id=a-1", b.id);
    let first: Transaction = app.post(&approve, &owner.token).await.json().await.unwrap();
    // Someone rejects it meanwhile; the replay still answers what the approval did.
    let reject_b = format!("/v1/transactions/{}/reject", b.id);
    assert_eq!(
        app.post(&reject_b, &owner.token).await.status(),
        StatusCode::OK
    );
    let events = app.event_count().await;
    let again = app.post(&approve, &owner.token).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<Transaction>().await.unwrap(), first);
    assert_eq!(
        app.event_count().await,
        events,
        "the replay changed nothing"
    );
    let now = app.stored_row(&b.id).await.unwrap();
    assert_eq!(now["status"], "rejected");

    let reject = format!("/v1/transactions/{}/reject?client_mutation_id=r-1", c.id);
    let first: Transaction = app.post(&reject, &owner.token).await.json().await.unwrap();
    let again: Transaction = app.post(&reject, &owner.token).await.json().await.unwrap();
    assert_eq!(first, again);
}

#[tokio::test]
async fn concurrent_sends_of_one_update_apply_it_once() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let t = app.create(&owner, new_tx(&owner.properties[0])).await;
    let path = format!("/v1/transactions/{}", t.id);
    let body = json!({"version": 1, "memo": "once", "client_mutation_id": "burst-u"});
    let sends = (0..8).map(|_| app.patch_json(&path, &owner.token, &body));
    let responses = futures::future::join_all(sends).await;
    let mut rows = Vec::new();
    for r in responses {
        assert_eq!(r.status(), StatusCode::OK);
        rows.push(r.json::<Transaction>().await.unwrap());
    }
    assert!(rows.iter().all(|r| *r == rows[0] && r.version == 2));
    assert_eq!(app.event_count().await, 2, "one create, one update");
}
