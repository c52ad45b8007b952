//! Another org's resources, and staff's foreign properties, are 404 on every
//! endpoint — and nothing changes behind the 404.

use ledgerline_wire::{ProfitLoss, TransactionPage};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{assert_error, new_tx, spawn_app, Session, TestApp};

/// Every endpoint that names a transaction or property, as `who`, against
/// transaction `id` in property `property`: each must be 404.
async fn assert_all_not_found(app: &TestApp, who: &Session, id: &str, property: &str) {
    let tx = format!("/v1/transactions/{id}");
    let responses = vec![
        ("get", app.get(&tx, &who.token).await),
        (
            "patch",
            app.patch_json(&tx, &who.token, &json!({"version": 1, "amount_minor": 1}))
                .await,
        ),
        (
            "patch moving it here",
            app.patch_json(
                &tx,
                &who.token,
                &json!({"version": 1, "property_id": who.properties[0]}),
            )
            .await,
        ),
        ("delete", app.delete(&tx, &who.token).await),
        (
            "create",
            app.post_json("/v1/transactions", &who.token, &new_tx(property))
                .await,
        ),
        (
            "list",
            app.get(
                &format!("/v1/transactions?property_id={property}"),
                &who.token,
            )
            .await,
        ),
        (
            "profit-loss",
            app.get(
                &format!(
                    "/v1/reports/profit-loss?from=2026-11-01&to=2026-11-30&property_id={property}"
                ),
                &who.token,
            )
            .await,
        ),
        (
            "daily",
            app.get(
                &format!("/v1/approvals/daily?property_id={property}"),
                &who.token,
            )
            .await,
        ),
        (
            "today-pending",
            app.get(
                &format!("/v1/approvals/today-pending?property_id={property}"),
                &who.token,
            )
            .await,
        ),
    ];
    for (what, response) in responses {
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{what}");
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
}

#[tokio::test]
async fn another_orgs_resources_are_404_everywhere_and_stay_unchanged() {
    let app = spawn_app().await;
    let demo = app.login("owner@demo.test").await;
    let rival = app.login("owner@rival.test").await;
    let mut body = new_tx(&demo.properties[0]);
    body["client_mutation_id"] = json!("shared-id");
    let t = app.create(&demo, body).await;
    let row = app.stored_row(&t.id).await;
    let events = app.events(&demo.org_id).await;

    assert_all_not_found(&app, &rival, &t.id, &demo.properties[0]).await;
    for action in ["approve", "reject"] {
        let response = app
            .post(&format!("/v1/transactions/{}/{action}", t.id), &rival.token)
            .await;
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }

    // The rival's own list and reports do not include it.
    let page: TransactionPage = app
        .get("/v1/transactions", &rival.token)
        .await
        .json()
        .await
        .unwrap();
    assert!(page.items.is_empty());
    let pl: ProfitLoss = app
        .get(
            "/v1/reports/profit-loss?from=2026-11-01&to=2026-11-30",
            &rival.token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pl.revenue_minor, 0);

    // The same client_mutation_id in another org is another row.
    let mut body = new_tx(&rival.properties[0]);
    body["client_mutation_id"] = json!("shared-id");
    let theirs = app.create(&rival, body).await;
    assert_ne!(theirs.id, t.id);

    assert_eq!(app.stored_row(&t.id).await, row);
    assert_eq!(app.events(&demo.org_id).await, events);
    assert_eq!(app.events(&rival.org_id).await.len(), 1);
}

#[tokio::test]
async fn staff_get_404_for_transactions_of_other_properties() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let staff = app.login("staff@demo.test").await;
    let manager = app.login("manager@demo.test").await;
    assert_eq!(staff.properties, [owner.properties[0].clone()]);
    let foreign = &owner.properties[1];
    let t = app.create(&owner, new_tx(foreign)).await;
    let mine = app.create(&staff, new_tx(&staff.properties[0])).await;
    let row = app.stored_row(&t.id).await;
    let events = app.events(&owner.org_id).await;

    assert_all_not_found(&app, &staff, &t.id, foreign).await;

    // Staff cannot move their own row to a property they do not see either.
    let response = app
        .patch_json(
            &format!("/v1/transactions/{}", mine.id),
            &staff.token,
            &json!({"version": 1, "property_id": foreign}),
        )
        .await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;

    // Their unfiltered reads cover only their property.
    let page: TransactionPage = app
        .get("/v1/transactions", &staff.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        page.items.iter().map(|t| &t.id).collect::<Vec<_>>(),
        [&mine.id]
    );
    let pl: ProfitLoss = app
        .get(
            "/v1/reports/profit-loss?from=2026-11-01&to=2026-11-30",
            &staff.token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pl.revenue_minor, mine.amount_minor);

    // A manager's approve reaches it; the staff's view did not change it.
    assert_eq!(app.stored_row(&t.id).await, row);
    assert_eq!(app.events(&owner.org_id).await, events);
    let approve = app
        .post(
            &format!("/v1/transactions/{}/approve", t.id),
            &manager.token,
        )
        .await;
    assert_eq!(approve.status(), StatusCode::OK);
}
