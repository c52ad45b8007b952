use chrono::NaiveDate;
use ledgerline_wire::{Currency, Transaction, TransactionKind, TransactionPage, TransactionStatus};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{assert_error, new_tx, spawn_app};

#[tokio::test]
async fn create_returns_the_new_row_field_by_field() {
    let app = spawn_app().await;
    let accountant = app.login("accountant@demo.test").await;
    let property = &accountant.properties[1];
    let before = chrono::Utc::now() - chrono::TimeDelta::seconds(1);
    let mut body = new_tx(property);
    body["kind"] = json!("expense");
    body["client_mutation_id"] = json!("cm-1");
    body["memo"] = json!("towels");
    let t = app.create(&accountant, body).await;
    assert!(!t.id.is_empty());
    assert_eq!(t.kind, TransactionKind::Expense);
    assert_eq!(&t.property_id, property);
    assert_eq!(t.amount_minor, 12_345);
    assert_eq!(t.currency, Currency::USD);
    assert_eq!(t.category, "rooms");
    assert_eq!(t.memo, "towels");
    assert_eq!(
        t.occurred_on,
        NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
    );
    assert_eq!(t.status, TransactionStatus::Pending);
    assert_eq!(t.version, 1);
    assert_eq!(t.client_mutation_id.as_deref(), Some("cm-1"));
    assert_eq!(t.created_by, accountant.user_id);
    assert!(t.created_at >= before);
    assert_eq!(t.created_at, t.updated_at);

    let fetched: Transaction = app
        .get(&format!("/v1/transactions/{}", t.id), &accountant.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, t);
}

#[tokio::test]
async fn memo_defaults_to_empty_and_mutation_id_is_optional() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let mut body = new_tx(&owner.properties[0]);
    body.as_object_mut().unwrap().remove("memo");
    body.as_object_mut().unwrap().remove("client_mutation_id");
    let t = app.create(&owner, body).await;
    assert_eq!(t.memo, "");
    assert_eq!(t.client_mutation_id, None);
}

#[tokio::test]
async fn list_pages_newest_first_without_gaps_or_repeats() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let mut created = Vec::new();
    for day in [3, 1, 2, 2, 5, 4, 2] {
        let mut body = new_tx(&owner.properties[0]);
        body["occurred_on"] = json!(format!("2026-11-{day:02}"));
        created.push(app.create(&owner, body).await);
    }
    let mut expected: Vec<(NaiveDate, String)> = created
        .iter()
        .map(|t| (t.occurred_on, t.id.clone()))
        .collect();
    expected.sort();
    expected.reverse();

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &after {
            Some(a) => format!("/v1/transactions?limit=3&after={a}"),
            None => "/v1/transactions?limit=3".into(),
        };
        let page: TransactionPage = app.get(&path, &owner.token).await.json().await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|t| (t.occurred_on, t.id.clone())));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn list_filters_by_property_kind_status_and_dates() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let manager = app.login("manager@demo.test").await;
    let (p0, p1) = (&owner.properties[0], &owner.properties[1]);
    let a = app.create(&owner, new_tx(p0)).await;
    let mut body = new_tx(p1);
    body["kind"] = json!("expense");
    body["occurred_on"] = json!("2026-11-25");
    let b = app.create(&owner, body).await;
    let mut body = new_tx(p1);
    body["occurred_on"] = json!("2026-10-01");
    let c = app.create(&owner, body).await;
    app.post(
        &format!("/v1/transactions/{}/approve", c.id),
        &manager.token,
    )
    .await;

    let ids = |page: TransactionPage| page.items.into_iter().map(|t| t.id).collect::<Vec<_>>();
    let list = |query: String| {
        let app = &app;
        let token = owner.token.clone();
        async move {
            let response = app.get(&format!("/v1/transactions?{query}"), &token).await;
            assert_eq!(response.status(), StatusCode::OK, "{query}");
            response.json::<TransactionPage>().await.unwrap()
        }
    };
    assert_eq!(
        ids(list(format!("property_id={p0}")).await),
        [a.id.as_str()]
    );
    assert_eq!(ids(list("kind=expense".into()).await), [b.id.as_str()]);
    assert_eq!(ids(list("status=approved".into()).await), [c.id.as_str()]);
    assert_eq!(
        ids(list("status=pending".into()).await),
        [b.id.as_str(), a.id.as_str()]
    );
    assert_eq!(ids(list("from=2026-11-21".into()).await), [b.id.as_str()]);
    assert_eq!(
        ids(list("to=2026-11-20".into()).await),
        [a.id.as_str(), c.id.as_str()]
    );
    assert_eq!(
        ids(list(format!(
            "property_id={p1}&kind=revenue&from=2026-01-01&to=2026-12-31"
        ))
        .await),
        [c.id.as_str()]
    );
}

#[tokio::test]
async fn update_changes_the_given_fields_and_bumps_the_version() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let t = app.create(&owner, new_tx(&owner.properties[0])).await;
    let response = app
        .patch_json(
            &format!("/v1/transactions/{}", t.id),
            &owner.token,
            &json!({"version": 1, "amount_minor": 999, "memo": "fixed", "occurred_on": "2026-11-21",
                    "property_id": owner.properties[2], "kind": "expense", "category": "laundry",
                    "currency": "EUR"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let u: Transaction = response.json().await.unwrap();
    assert_eq!(u.id, t.id);
    assert_eq!(u.version, 2);
    assert_eq!(u.amount_minor, 999);
    assert_eq!(u.memo, "fixed");
    assert_eq!(u.category, "laundry");
    assert_eq!(u.kind, TransactionKind::Expense);
    assert_eq!(u.currency.as_str(), "EUR");
    assert_eq!(u.property_id, owner.properties[2]);
    assert_eq!(
        u.occurred_on,
        NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
    );
    assert_eq!(u.created_at, t.created_at);
    assert_eq!(u.created_by, t.created_by);
    assert!(u.updated_at >= t.updated_at);
    let fetched: Transaction = app
        .get(&format!("/v1/transactions/{}", t.id), &owner.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, u);
}

#[tokio::test]
async fn stale_version_is_409_and_changes_nothing() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let t = app.create(&owner, new_tx(&owner.properties[0])).await;
    let path = format!("/v1/transactions/{}", t.id);
    let ok = app
        .patch_json(&path, &owner.token, &json!({"version": 1, "memo": "a"}))
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
    let before = app.stored_row(&t.id).await;
    let events = app.event_count().await;
    let stale = app
        .patch_json(&path, &owner.token, &json!({"version": 1, "memo": "b"}))
        .await;
    assert_error(stale, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(app.stored_row(&t.id).await, before);
    assert_eq!(app.event_count().await, events);
}

#[tokio::test]
async fn delete_removes_the_row() {
    let app = spawn_app().await;
    let staff = app.login("staff@demo.test").await;
    let t = app.create(&staff, new_tx(&staff.properties[0])).await;
    let path = format!("/v1/transactions/{}", t.id);
    assert_eq!(
        app.delete(&path, &staff.token).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        app.get(&path, &staff.token).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.delete(&path, &staff.token).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(app.transaction_count().await, 0);
}

#[tokio::test]
async fn managers_and_owners_approve_and_reject() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let manager = app.login("manager@demo.test").await;
    let t = app.create(&owner, new_tx(&owner.properties[0])).await;

    let approved: Transaction = app
        .post(
            &format!("/v1/transactions/{}/approve", t.id),
            &manager.token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(approved.status, TransactionStatus::Approved);
    assert_eq!(approved.version, 2);

    let again = app
        .post(
            &format!("/v1/transactions/{}/approve", t.id),
            &manager.token,
        )
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<Transaction>().await.unwrap().version, 2);

    let rejected = app
        .post(&format!("/v1/transactions/{}/reject", t.id), &owner.token)
        .await;
    assert_eq!(rejected.status(), StatusCode::OK);
    let rejected: Transaction = rejected.json().await.unwrap();
    assert_eq!(rejected.status, TransactionStatus::Rejected);
    assert_eq!(rejected.version, 3);
}

#[tokio::test]
async fn accountants_and_staff_may_not_approve_or_reject() {
    let app = spawn_app().await;
    let staff = app.login("staff@demo.test").await;
    let accountant = app.login("accountant@demo.test").await;
    let t = app.create(&staff, new_tx(&staff.properties[0])).await;
    for who in [&staff, &accountant] {
        for action in ["approve", "reject"] {
            let response = app
                .post(&format!("/v1/transactions/{}/{action}", t.id), &who.token)
                .await;
            assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
        }
    }
    assert_eq!(app.stored_row(&t.id).await.unwrap()["status"], "pending");
    assert_eq!(app.event_count().await, 1);
}

#[tokio::test]
async fn properties_lists_the_orgs_properties_by_name() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let listed: Vec<ledgerline_wire::PropertyInfo> = app
        .get("/v1/properties", &owner.token)
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = listed.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Demo Hotel Amsterdam",
            "Demo Hotel Berlin",
            "Demo Hotel Copenhagen",
            "Demo Hotel Dublin",
            "Demo Hotel Edinburgh"
        ]
    );
    let ids: Vec<String> = listed.into_iter().map(|p| p.id).collect();
    assert_eq!(ids, owner.properties);
}

/// The list's JSON is written by the database (on each engine its own
/// JSON functions): every listed row must be the row the API serves alone,
/// value for value, with the same fields present (`rejection_reason` only
/// when set) — on every page size.
#[tokio::test]
async fn a_listed_row_is_the_row_read_alone_value_for_value() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let mut ids = Vec::new();
    for i in 0..9 {
        let mut body = new_tx(&owner.properties[i % 2]);
        body["occurred_on"] = json!(format!("2026-10-{:02}", 1 + i % 3));
        body["memo"] = json!(format!("\"q\" \\ ünï — {i}\n\t<&>"));
        if i % 2 == 0 {
            body["client_mutation_id"] = json!(format!("same-{i}"));
        }
        ids.push(app.create(&owner, body).await.id);
    }
    let rejected = app
        .post(
            &format!("/v1/transactions/{}/reject?reason=not%20ours", ids[0]),
            &owner.token,
        )
        .await;
    assert_eq!(rejected.status(), StatusCode::OK);
    for limit in [2, 5000] {
        let mut listed = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let path = match &after {
                Some(a) => format!(
                    "/v1/transactions?from=2026-10-01&to=2026-10-31&limit={limit}&after={a}"
                ),
                None => format!("/v1/transactions?from=2026-10-01&to=2026-10-31&limit={limit}"),
            };
            let page: serde_json::Value = app.get(&path, &owner.token).await.json().await.unwrap();
            listed.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next"].as_str() {
                Some(next) => after = Some(next.to_owned()),
                None => {
                    assert!(page["next"].is_null(), "{page}");
                    break;
                }
            }
        }
        assert_eq!(listed.len(), ids.len(), "limit {limit}");
        for item in listed {
            let id = item["id"].as_str().unwrap();
            let alone: serde_json::Value = app
                .get(&format!("/v1/transactions/{id}"), &owner.token)
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(item, alone, "limit {limit}");
        }
    }
}
