use ledgerline_wire::Transaction;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{new_tx, spawn_app};

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
