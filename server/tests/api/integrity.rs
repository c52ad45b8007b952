//! Finance integrity (issue 11), each rule on the real server for every
//! role it concerns: approvals that an edit voids, approve/reject on a
//! version with a reason, the org's lock date, the history of every row,
//! rows moved between properties, and the `as_of_seq` of the reports.
//!
//! # Layout
//! - [`approvals`]: the approval reset field by field, approved deletes,
//!   version checks, the approve/reject race, reasons.
//! - [`lock`]: the lock date's endpoints and event, and the 409
//!   `period_locked` of every write, for every role.
//! - [`history`]: what the history records, field by field, and who may read it.
//! - [`moves`]: a row moved between properties as each reader receives it;
//!   `as_of_seq`.

mod approvals;
mod bad_input;
mod history;
mod lock;
mod moves;

use ledgerline_wire::Transaction;
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{Session, TestApp};

/// The demo users of Demo Hotels, by role.
pub const OWNER: &str = "owner@demo.test";
pub const MANAGER: &str = "manager@demo.test";
pub const ACCOUNTANT: &str = "accountant@demo.test";
pub const STAFF: &str = "staff@demo.test";

/// Every role, with whether it approves (managers and owners).
pub const ROLES: [(&str, bool); 4] = [
    (OWNER, true),
    (MANAGER, true),
    (ACCOUNTANT, false),
    (STAFF, false),
];

/// `POST /v1/transactions/{id}/{action}` (`approve` or `reject`) with
/// these query pairs.
pub async fn decide(
    app: &TestApp,
    who: &Session,
    id: &str,
    action: &str,
    query: &[(&str, &str)],
) -> Response {
    app.request(
        Method::POST,
        &format!("/v1/transactions/{id}/{action}"),
        &who.token,
    )
    .query(query)
    .send()
    .await
    .unwrap()
}

/// [`decide`], which must answer 200 with the row.
pub async fn decided(
    app: &TestApp,
    who: &Session,
    id: &str,
    action: &str,
    query: &[(&str, &str)],
) -> Transaction {
    let response = decide(app, who, id, action, query).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{action}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// `PATCH` the row at `version` with `fields`; returns the response.
pub async fn patch(
    app: &TestApp,
    who: &Session,
    id: &str,
    version: i64,
    mut fields: Value,
) -> Response {
    fields["version"] = json!(version);
    app.patch_json(&format!("/v1/transactions/{id}"), &who.token, &fields)
        .await
}

/// [`patch`], which must answer 200 with the row.
pub async fn patched(
    app: &TestApp,
    who: &Session,
    id: &str,
    version: i64,
    fields: Value,
) -> Transaction {
    let response = patch(app, who, id, version, fields).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "patch: {text}");
    serde_json::from_str(&text).unwrap()
}

/// The row as `GET /v1/transactions/{id}` shows it, as JSON.
pub async fn row_json(app: &TestApp, who: &Session, id: &str) -> Value {
    let response = app.get(&format!("/v1/transactions/{id}"), &who.token).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// A new row on `property_id` dated `occurred_on`, created by `who`.
pub async fn create_on(
    app: &TestApp,
    who: &Session,
    property_id: &str,
    occurred_on: &str,
) -> Transaction {
    let mut body = crate::helpers::new_tx(property_id);
    body["occurred_on"] = json!(occurred_on);
    app.create(who, body).await
}

/// `PUT /v1/settings/lock-date` with `body`.
pub async fn put_lock(app: &TestApp, who: &Session, body: &Value) -> Response {
    app.request(Method::PUT, "/v1/settings/lock-date", &who.token)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Sets the lock date as the owner; must answer 200.
pub async fn lock_until(app: &TestApp, owner: &Session, date: Option<&str>) {
    let body = json!({ "lock_date": date });
    let response = put_lock(app, owner, &body).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "lock: {text}");
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), body);
}
