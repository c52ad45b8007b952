//! The derived reads, checked against sums the test computes itself from the
//! rows it created.

use std::collections::BTreeMap;

use chrono::{NaiveDate, Utc};
use ledgerline_wire::{
    DailyApproval, ProfitLoss, TodayPending, Transaction, TransactionKind, TransactionStatus,
};
use serde_json::json;

use crate::helpers::{new_tx, spawn_app, Session, TestApp};

/// A spread of rows over days, kinds, categories, properties, and one in
/// another currency; some approved, some rejected. Returns them as they end up.
async fn create_spread(app: &TestApp, owner: &Session, manager: &Session) -> Vec<Transaction> {
    let mut rows = Vec::new();
    for i in 0..24u32 {
        let mut body = new_tx(&owner.properties[(i % 3) as usize]);
        body["kind"] = json!(if i % 3 == 0 { "expense" } else { "revenue" });
        body["category"] = json!(["rooms", "food", "spa", "laundry"][(i % 4) as usize]);
        body["amount_minor"] = json!(1_000 + i64::from(i) * 137);
        body["occurred_on"] = json!(format!("2026-11-{:02}", 1 + (i * 5) % 28));
        if i == 5 {
            body["currency"] = json!("EUR");
        }
        let t = app.create(owner, body).await;
        let action = match i % 5 {
            0 => Some("approve"),
            1 => Some("reject"),
            _ => None,
        };
        let t = match action {
            Some(action) => app
                .post(
                    &format!("/v1/transactions/{}/{action}", t.id),
                    &manager.token,
                )
                .await
                .json()
                .await
                .unwrap(),
            None => t,
        };
        rows.push(t);
    }
    rows
}

fn expected_profit_loss(
    rows: &[Transaction],
    from: NaiveDate,
    to: NaiveDate,
    property: Option<&str>,
) -> ProfitLoss {
    let counted: Vec<&Transaction> = rows
        .iter()
        .filter(|t| t.status != TransactionStatus::Rejected)
        .filter(|t| t.currency.as_str() == "USD")
        .filter(|t| (from..=to).contains(&t.occurred_on))
        .filter(|t| property.is_none_or(|p| t.property_id == p))
        .collect();
    let mut days: BTreeMap<NaiveDate, (i64, i64)> = BTreeMap::new();
    let mut categories: BTreeMap<(u8, String), i64> = BTreeMap::new();
    for t in &counted {
        let day = days.entry(t.occurred_on).or_default();
        let kind_order = match t.kind {
            TransactionKind::Revenue => {
                day.0 += t.amount_minor;
                0
            }
            TransactionKind::Expense => {
                day.1 += t.amount_minor;
                1
            }
        };
        *categories
            .entry((kind_order, t.category.clone()))
            .or_default() += t.amount_minor;
    }
    let revenue: i64 = days.values().map(|d| d.0).sum();
    let expense: i64 = days.values().map(|d| d.1).sum();
    ProfitLoss {
        from,
        to,
        revenue_minor: revenue,
        expense_minor: expense,
        net_minor: revenue - expense,
        currency: ledgerline_wire::Currency::USD,
        by_day: days
            .into_iter()
            .map(|(date, (r, e))| ledgerline_wire::DayTotals {
                date,
                revenue_minor: r,
                expense_minor: e,
            })
            .collect(),
        as_of_seq: 0,
        by_category: categories
            .into_iter()
            .map(
                |((k, category), amount_minor)| ledgerline_wire::CategoryTotals {
                    kind: if k == 0 {
                        TransactionKind::Revenue
                    } else {
                        TransactionKind::Expense
                    },
                    category,
                    amount_minor,
                },
            )
            .collect(),
    }
}

#[tokio::test]
async fn profit_loss_equals_the_sums_of_the_counted_rows() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let manager = app.login("manager@demo.test").await;
    let rows = create_spread(&app, &owner, &manager).await;
    let d = |day| NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
    let head = app.head(&owner).await;

    for (from, to, property) in [
        (d(1), d(30), None),
        (d(5), d(20), None),
        (d(1), d(30), Some(owner.properties[1].as_str())),
        (d(29), d(30), None),
    ] {
        let mut path = format!("/v1/reports/profit-loss?from={from}&to={to}");
        if let Some(p) = property {
            path.push_str(&format!("&property_id={p}"));
        }
        let got: ProfitLoss = app.get(&path, &owner.token).await.json().await.unwrap();
        let expected = ProfitLoss {
            as_of_seq: head,
            ..expected_profit_loss(&rows, from, to, property)
        };
        assert_eq!(got, expected, "{path}");
    }
    let full = expected_profit_loss(&rows, d(1), d(30), None);
    assert!(
        full.revenue_minor > 0 && full.expense_minor > 0,
        "the spread covers both kinds"
    );

    let eur: ProfitLoss = app
        .get(
            "/v1/reports/profit-loss?from=2026-11-01&to=2026-11-30&currency=EUR",
            &owner.token,
        )
        .await
        .json()
        .await
        .unwrap();
    let eur_row = &rows[5];
    assert_eq!(eur.currency.as_str(), "EUR");
    assert_eq!(eur.revenue_minor + eur.expense_minor, eur_row.amount_minor);
}

#[tokio::test]
async fn daily_approval_counts_the_days_rows_by_status() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let manager = app.login("manager@demo.test").await;
    let rows = create_spread(&app, &owner, &manager).await;
    for date in rows.iter().map(|t| t.occurred_on) {
        let day: Vec<&Transaction> = rows
            .iter()
            .filter(|t| t.occurred_on == date && t.currency.as_str() == "USD")
            .collect();
        let count = |s| day.iter().filter(|t| t.status == s).count() as i64;
        let expected = DailyApproval {
            date,
            pending: count(TransactionStatus::Pending),
            approved: count(TransactionStatus::Approved),
            rejected: count(TransactionStatus::Rejected),
            pending_amount_minor: day
                .iter()
                .filter(|t| t.status == TransactionStatus::Pending)
                .map(|t| t.amount_minor)
                .sum(),
            as_of_seq: app.head(&owner).await,
        };
        let got: DailyApproval = app
            .get(&format!("/v1/approvals/daily?date={date}"), &owner.token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(got, expected);
    }
}

#[tokio::test]
async fn today_pending_counts_pending_rows_dated_today() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let manager = app.login("manager@demo.test").await;
    let staff = app.login("staff@demo.test").await;
    let today = Utc::now().date_naive();
    let mut amounts = Vec::new();
    for (i, property) in [0usize, 0, 1, 2].into_iter().enumerate() {
        let mut body = new_tx(&owner.properties[property]);
        body["occurred_on"] = json!(today.to_string());
        body["amount_minor"] = json!(100 * (i as i64 + 1));
        amounts.push((property, app.create(&owner, body).await));
    }
    // Not today, or not pending: not counted.
    let mut body = new_tx(&owner.properties[0]);
    body["occurred_on"] = json!("2001-01-01");
    app.create(&owner, body).await;
    let approved = &amounts[1].1;
    app.post(
        &format!("/v1/transactions/{}/approve", approved.id),
        &manager.token,
    )
    .await;

    let got: TodayPending = app
        .get("/v1/approvals/today-pending", &owner.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        got,
        TodayPending {
            date: today,
            count: 3,
            amount_minor: 100 + 300 + 400,
            as_of_seq: app.head(&owner).await,
        }
    );

    let only_first: TodayPending = app
        .get("/v1/approvals/today-pending", &staff.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        only_first,
        TodayPending {
            date: today,
            count: 1,
            amount_minor: 100,
            as_of_seq: app.head(&owner).await,
        }
    );

    let daily: DailyApproval = app
        .get("/v1/approvals/daily", &owner.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(daily.date, today);
    assert_eq!((daily.pending, daily.approved, daily.rejected), (3, 1, 0));
}

#[tokio::test]
async fn reports_of_an_empty_range_are_zero() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let got: ProfitLoss = app
        .get(
            "/v1/reports/profit-loss?from=2026-01-01&to=2026-01-01",
            &owner.token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (got.revenue_minor, got.expense_minor, got.net_minor),
        (0, 0, 0)
    );
    assert!(got.by_day.is_empty() && got.by_category.is_empty());
    assert_eq!(got.currency.as_str(), "USD");
}

#[tokio::test]
async fn totals_past_64_bits_are_refused_not_a_500() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let a = app.create(&owner, new_tx(&owner.properties[0])).await;
    let b = app.create(&owner, new_tx(&owner.properties[0])).await;
    // Rows the API would refuse, written behind its back.
    sqlx::query("UPDATE transactions SET amount_minor = $1 WHERE id IN ($2, $3)")
        .bind(i64::MAX - 1)
        .bind(&a.id)
        .bind(&b.id)
        .execute(&app.db)
        .await
        .unwrap();
    for path in [
        "/v1/reports/profit-loss?from=2026-11-01&to=2026-11-30",
        "/v1/approvals/daily?date=2026-11-20",
    ] {
        let response = app.get(path, &owner.token).await;
        crate::helpers::assert_error(
            response,
            reqwest::StatusCode::BAD_REQUEST,
            "validation_failed",
        )
        .await;
    }
}
