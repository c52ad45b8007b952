//! Approval integrity: an edit of what an approval vouched for sends the
//! row back to pending, a memo edit does not; approved rows are for
//! approvers to delete; approve and reject on a version (one winner of a
//! race), and the reason of a rejection.

use futures::future::join_all;
use ledgerline_wire::{Transaction, TransactionStatus};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{
    create_on, decide, decided, patch, patched, row_json, ACCOUNTANT, MANAGER, OWNER, ROLES, STAFF,
};
use crate::helpers::{assert_error, spawn_app, Session, TestApp};

/// A row on `property_id` (created by `by`), decided by the owner.
async fn decided_row(
    app: &TestApp,
    by: &Session,
    owner: &Session,
    property_id: &str,
    action: &str,
) -> Transaction {
    let t = create_on(app, by, property_id, "2026-11-20").await;
    let query: &[(&str, &str)] = match action {
        "reject" => &[("reason", "no receipt")],
        _ => &[],
    };
    decided(app, owner, &t.id, action, query).await
}

#[tokio::test]
async fn an_edit_of_each_vouched_field_sends_an_approved_or_rejected_row_back_to_pending() {
    let app = spawn_app().await;
    let owner = app.login(OWNER).await;
    let other = owner.properties[1].clone();
    let edits: [(&str, Value); 6] = [
        ("amount_minor", json!(999_999)),
        ("currency", json!("EUR")),
        ("occurred_on", json!("2026-11-21")),
        ("kind", json!("expense")),
        ("category", json!("spa")),
        ("property_id", json!(other)),
    ];
    for action in ["approve", "reject"] {
        for (field, value) in &edits {
            let t = decided_row(&app, &owner, &owner, &owner.properties[0], action).await;
            assert_ne!(t.status, TransactionStatus::Pending);
            let after = patched(&app, &owner, &t.id, t.version, json!({ *field: value })).await;
            assert_eq!(
                after.status,
                TransactionStatus::Pending,
                "{action}, {field}"
            );
            assert_eq!(after.rejection_reason, None, "{action}, {field}");
            let shown = row_json(&app, &owner, &t.id).await;
            assert_eq!(shown[*field], *value, "{field}");
            assert_eq!(shown["status"], "pending");
            assert!(shown.get("rejection_reason").is_none(), "{shown}");
        }
    }
}

#[tokio::test]
async fn a_memo_only_edit_keeps_the_decision_for_every_role() {
    let app = spawn_app().await;
    let owner = app.login(OWNER).await;
    // The staff member's property: every role sees it.
    let p1 = app.login(STAFF).await.properties[0].clone();
    for (email, _) in ROLES {
        let who = app.login(email).await;
        let approved = decided_row(&app, &owner, &owner, &p1, "approve").await;
        let after = patched(
            &app,
            &who,
            &approved.id,
            approved.version,
            json!({"memo": "typo"}),
        )
        .await;
        assert_eq!(after.status, TransactionStatus::Approved, "{email}");
        assert_eq!(after.memo, "typo");
        let rejected = decided_row(&app, &owner, &owner, &p1, "reject").await;
        let after = patched(
            &app,
            &who,
            &rejected.id,
            rejected.version,
            json!({"memo": "typo"}),
        )
        .await;
        assert_eq!(after.status, TransactionStatus::Rejected, "{email}");
        assert_eq!(after.rejection_reason.as_deref(), Some("no receipt"));
    }
}

#[tokio::test]
async fn an_amount_edit_by_any_role_sends_the_approval_back_to_pending() {
    let app = spawn_app().await;
    let owner = app.login(OWNER).await;
    // The staff member's property: every role sees it.
    let p1 = app.login(STAFF).await.properties[0].clone();
    for (email, _) in ROLES {
        let who = app.login(email).await;
        let t = decided_row(&app, &owner, &owner, &p1, "approve").await;
        let after = patched(
            &app,
            &who,
            &t.id,
            t.version,
            json!({"amount_minor": 999_999}),
        )
        .await;
        assert_eq!(after.status, TransactionStatus::Pending, "{email}");
        assert_eq!(after.version, t.version + 1);
        assert_eq!(app.stored_row(&t.id).await.unwrap()["status"], "pending");
    }
}

#[tokio::test]
async fn only_managers_and_owners_delete_an_approved_row() {
    let app = spawn_app().await;
    let owner = app.login(OWNER).await;
    // The staff member's property: every role sees it.
    let p1 = app.login(STAFF).await.properties[0].clone();
    for (email, approver) in ROLES {
        let who = app.login(email).await;
        let t = decided_row(&app, &owner, &owner, &p1, "approve").await;
        let events = app.event_count().await;
        let response = app
            .delete(&format!("/v1/transactions/{}", t.id), &who.token)
            .await;
        if approver {
            assert_eq!(response.status(), StatusCode::NO_CONTENT, "{email}");
            assert_eq!(app.stored_row(&t.id).await, None);
            assert_eq!(app.event_count().await, events + 1);
        } else {
            assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
            assert_eq!(app.stored_row(&t.id).await.unwrap()["status"], "approved");
            assert_eq!(app.event_count().await, events, "{email}: no event");
        }
        // Pending and rejected rows are anyone's to delete.
        for action in [None, Some("reject")] {
            let t = match action {
                Some(a) => decided_row(&app, &owner, &owner, &p1, a).await,
                None => create_on(&app, &owner, &p1, "2026-11-20").await,
            };
            let response = app
                .delete(&format!("/v1/transactions/{}", t.id), &who.token)
                .await;
            assert_eq!(
                response.status(),
                StatusCode::NO_CONTENT,
                "{email} {action:?}"
            );
        }
    }
}

#[tokio::test]
async fn approve_and_reject_on_a_stale_version_are_409_and_on_the_current_one_200() {
    let app = spawn_app().await;
    let owner = app.login(OWNER).await;
    // The staff member's property: every role sees it.
    let p1 = app.login(STAFF).await.properties[0].clone();
    for (email, approver) in ROLES {
        let who = app.login(email).await;
        for action in ["approve", "reject"] {
            let t = create_on(&app, &owner, &p1, "2026-11-20").await;
            let t = patched(&app, &owner, &t.id, 1, json!({"memo": "v2"})).await;
            assert_eq!(t.version, 2);
            let stale = decide(&app, &who, &t.id, action, &[("version", "1")]).await;
            let ahead = decide(&app, &who, &t.id, action, &[("version", "3")]).await;
            if !approver {
                assert_error(stale, StatusCode::FORBIDDEN, "forbidden").await;
                assert_error(ahead, StatusCode::FORBIDDEN, "forbidden").await;
                let right = decide(&app, &who, &t.id, action, &[("version", "2")]).await;
                assert_error(right, StatusCode::FORBIDDEN, "forbidden").await;
                assert_eq!(app.stored_row(&t.id).await.unwrap()["status"], "pending");
                continue;
            }
            let message = assert_error(stale, StatusCode::CONFLICT, "conflict").await;
            assert!(message.contains("version 2"), "{message}");
            assert_error(ahead, StatusCode::CONFLICT, "conflict").await;
            assert_eq!(app.stored_row(&t.id).await.unwrap()["version"], 2);
            let done = decided(&app, &who, &t.id, action, &[("version", "2")]).await;
            assert_eq!(done.version, 3, "{email} {action}");
            let status = if action == "approve" {
                "approved"
            } else {
                "rejected"
            };
            assert_eq!(app.stored_row(&t.id).await.unwrap()["status"], status);
            // Without a version the decision applies to the row as it is.
            let other = if action == "approve" {
                "reject"
            } else {
                "approve"
            };
            let flipped = decided(&app, &who, &t.id, other, &[]).await;
            assert_eq!(flipped.version, 4);
        }
    }
}

#[tokio::test]
async fn of_concurrent_approves_and_rejects_at_one_version_exactly_one_wins() {
    let app = spawn_app().await;
    let owner = app.login(OWNER).await;
    let manager = app.login(MANAGER).await;
    let t = create_on(&app, &owner, &owner.properties[0], "2026-11-20").await;
    let before = app.events(&owner.org_id).await.len();
    let version = t.version.to_string();
    let attempts = (0..20).map(|i| {
        let (who, action) = match i % 2 {
            0 => (&manager, "approve"),
            _ => (&owner, "reject"),
        };
        let (app, id, version) = (&app, t.id.as_str(), version.as_str());
        async move {
            let mut query = vec![("version", version)];
            if action == "reject" {
                query.push(("reason", "duplicate"));
            }
            decide(app, who, id, action, &query).await
        }
    });
    let responses = join_all(attempts).await;
    let mut winners = Vec::new();
    for response in responses {
        if response.status() == StatusCode::OK {
            winners.push(response.json::<Transaction>().await.unwrap());
        } else {
            assert_error(response, StatusCode::CONFLICT, "conflict").await;
        }
    }
    assert_eq!(winners.len(), 1, "exactly one decision wins");
    let winner = &winners[0];
    assert_eq!(winner.version, t.version + 1);
    let events = app.events(&owner.org_id).await;
    assert_eq!(events.len(), before + 1, "one event");
    assert_eq!(events.last().unwrap().row.id(), t.id);
    let stored = app.stored_row(&t.id).await.unwrap();
    assert_eq!(stored["status"], winner.status.as_str());
    assert_eq!(stored["version"], winner.version);
}

#[tokio::test]
async fn a_rejection_reason_is_shown_on_the_row_and_cleared_by_an_approval() {
    let app = spawn_app().await;
    let owner = app.login(OWNER).await;
    let manager = app.login(MANAGER).await;
    let accountant = app.login(ACCOUNTANT).await;
    let staff = app.login(STAFF).await;
    let t = create_on(&app, &staff, &staff.properties[0], "2026-11-20").await;
    let reason = "Receipt missing — please attach it";
    let rejected = decided(&app, &manager, &t.id, "reject", &[("reason", reason)]).await;
    assert_eq!(rejected.rejection_reason.as_deref(), Some(reason));
    for who in [&owner, &manager, &accountant, &staff] {
        let shown = row_json(&app, who, &t.id).await;
        assert_eq!(shown["rejection_reason"], reason);
        assert_eq!(shown["status"], "rejected");
    }
    // A new reason on a rejected row is a change; the same one is not.
    let events = app.event_count().await;
    let again = decided(&app, &owner, &t.id, "reject", &[("reason", reason)]).await;
    assert_eq!(again.version, rejected.version);
    assert_eq!(app.event_count().await, events);
    let renamed = decided(&app, &owner, &t.id, "reject", &[("reason", "wrong hotel")]).await;
    assert_eq!(renamed.rejection_reason.as_deref(), Some("wrong hotel"));
    assert_eq!(renamed.version, rejected.version + 1);

    let approved = decided(&app, &owner, &t.id, "approve", &[]).await;
    assert_eq!(approved.rejection_reason, None);
    let shown = row_json(&app, &staff, &t.id).await;
    assert!(shown.get("rejection_reason").is_none(), "omitted: {shown}");
    // A reject without a reason leaves none.
    let bare = decided(&app, &owner, &t.id, "reject", &[]).await;
    assert_eq!(bare.rejection_reason, None);
}

#[tokio::test]
async fn a_reason_of_500_characters_is_taken_and_of_501_refused() {
    let app = spawn_app().await;
    let owner = app.login(OWNER).await;
    let t = create_on(&app, &owner, &owner.properties[0], "2026-11-20").await;
    let long = "é".repeat(501);
    let response = decide(&app, &owner, &t.id, "reject", &[("reason", &long)]).await;
    assert_error(response, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert_eq!(app.stored_row(&t.id).await.unwrap()["status"], "pending");
    let just = "é".repeat(500);
    let rejected = decided(&app, &owner, &t.id, "reject", &[("reason", &just)]).await;
    assert_eq!(rejected.rejection_reason.as_deref(), Some(just.as_str()));
}

#[tokio::test]
async fn an_edit_racing_an_approval_at_one_version_leaves_no_approval_of_the_old_amount() {
    let app = spawn_app().await;
    let owner = app.login(OWNER).await;
    let manager = app.login(MANAGER).await;
    let accountant = app.login(ACCOUNTANT).await;
    for _ in 0..5 {
        let t = create_on(&app, &owner, &owner.properties[0], "2026-11-20").await;
        let version = t.version.to_string();
        let query = [("version", version.as_str())];
        let edit = patch(
            &app,
            &accountant,
            &t.id,
            t.version,
            json!({"amount_minor": 999_999}),
        );
        let approve = decide(&app, &manager, &t.id, "approve", &query);
        let (edit, approve) = tokio::join!(edit, approve);
        let stored = app.stored_row(&t.id).await.unwrap();
        match (edit.status(), approve.status()) {
            // The edit won: the approval was about a version that is gone.
            (StatusCode::OK, StatusCode::CONFLICT) => {
                assert_eq!(stored["status"], "pending");
                assert_eq!(stored["amount_minor"], 999_999);
            }
            // The approval won: the edit was based on a stale version.
            (StatusCode::CONFLICT, StatusCode::OK) => {
                assert_eq!(stored["status"], "approved");
                assert_eq!(stored["amount_minor"], 12_345);
            }
            other => panic!("exactly one of the two wins: {other:?}"),
        }
        assert_eq!(stored["version"], 2);
    }
}
