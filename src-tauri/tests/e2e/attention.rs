//! Issue 12 in real windows: a write the server refuses stays in sight
//! with the server's reason until it is fixed and resent; a row entered
//! offline survives someone else signing in on the same computer and
//! reaches the server exactly once when its author is back.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use serde_json::json;

use crate::{
    app::{today, App},
    driver::prerequisites,
    server::{self, MANAGER, OWNER},
    type_new_revenue,
    wait::until,
    ONE_AT_A_TIME,
};

/// What the window's "Needs attention" list shows.
const READ_ATTENTION: &str = r#"
const list = document.querySelector('[data-testid="needs-attention"]');
const items = list ? [...list.querySelectorAll('[data-testid="attention-item"]')] : [];
return items.map((li) => ({
  state: li.dataset.state,
  cmid: li.dataset.cmid,
  reason: (li.querySelector('[data-testid="attention-reason"]') || {}).textContent || null,
}));
"#;

#[derive(Debug, serde::Deserialize)]
struct Item {
    state: String,
    cmid: String,
    reason: Option<String>,
}

async fn attention(app: &App, handle: &str) -> Result<Vec<Item>> {
    let s = app.s();
    s.switch_to(handle).await?;
    Ok(serde_json::from_value(
        s.exec(READ_ATTENTION, json!([])).await?,
    )?)
}

async fn testid(app: &App, id: &str) -> Result<String> {
    let s = app.s();
    until(&format!("[{id}]"), Duration::from_secs(20), || async {
        Ok(s.find(&format!("[data-testid=\"{id}\"]")).await.is_ok())
    })
    .await?;
    s.find(&format!("[data-testid=\"{id}\"]")).await
}

/// Fills the sign-in form of the current window and submits it.
async fn sign_in_through_the_form(app: &App, email: &str) -> Result<()> {
    let s = app.s();
    let server_url = app.server.url.clone();
    for (id, text) in [
        ("signin-server", server_url.as_str()),
        ("signin-email", email),
        ("signin-password", server::PASSWORD),
    ] {
        let el = testid(app, id).await?;
        s.clear(&el).await?;
        s.send_keys(&el, text).await?;
    }
    let submit = testid(app, "signin-submit").await?;
    s.click(&submit).await?;
    until("signed in", Duration::from_secs(30), || async {
        Ok(s.find("[data-testid=\"user-name\"]").await.is_ok())
    })
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_write_stays_visible_with_its_reason_until_fixed_and_resent() -> Result<()> {
    let pre = prereqs_or_skip!("a_refused_write_stays_visible");
    let _one = ONE_AT_A_TIME.lock().await;
    let mut app = App::launch(pre, &[]).await?;
    app.quit().await?;
    // The stored session lists a property the server no longer knows (it
    // was closed since the sign-in): the core's checks pass, the server's
    // do not.
    let store_file = app.data_dir.join("ledgerline.json");
    let mut store: serde_json::Value = serde_json::from_slice(&std::fs::read(&store_file)?)?;
    store["sessions"][0]["properties"]
        .as_array_mut()
        .context("a stored session")?
        .push(json!({"id": "closed-hotel", "name": "Closed Hotel"}));
    std::fs::write(&store_file, store.to_string())?;
    app.env.retain(|(k, _)| {
        !matches!(
            k.as_str(),
            "LEDGERLINE_SERVER" | "LEDGERLINE_EMAIL" | "LEDGERLINE_PASSWORD"
        )
    });
    app.start_app().await?;
    let windows = app.open_windows("main", 2).await?;
    let s = app.s();
    s.switch_to(&windows[0]).await?;
    let row = s
        .invoke(
            "create_transaction",
            json!({"input": {"kind": "revenue", "property_id": "closed-hotel",
                   "amount_minor": 12_345, "currency": "USD", "category": "e2e",
                   "memo": "refused by the server", "occurred_on": today().to_string(),
                   "client_mutation_id": null}}),
        )
        .await?;
    let local_id = row["id"].as_str().context("a row id")?.to_owned();
    // Every window of the session lists it, refused, with the server's reason.
    for w in &windows {
        until("the refusal listed", Duration::from_secs(20), || async {
            let items = attention(&app, w).await?;
            Ok(items.len() == 1
                && items[0].state == "refused"
                && items[0].reason.as_deref().is_some_and(|r| !r.is_empty()))
        })
        .await?;
    }
    // And the row itself stays in sight, marked with the reason.
    s.switch_to(&windows[1]).await?;
    let shown = s
        .exec(
            "const h = window.__ledgerline; const id = arguments[0];\
             const r = [...h.rows('revenue'), ...h.rows('expense')].find((r) => r.id === id);\
             return r ? r.sync_error : null;",
            json!([local_id]),
        )
        .await?;
    let reason = attention(&app, &windows[1]).await?[0].reason.clone();
    ensure!(
        shown.as_str().is_some() && shown.as_str() == reason.as_deref(),
        "row shows {shown:?}, list says {reason:?}"
    );
    let cmid = attention(&app, &windows[1]).await?[0].cmid.clone();

    // Fixed in the list (the property) and resent: it reaches the server once.
    let remote = app.server.remote(OWNER).await?;
    s.click(&testid(&app, "attention-edit").await?).await?;
    testid(&app, "attention-property").await?;
    s.exec(
        "const el = document.querySelector('[data-testid=\"attention-property\"]');\
         Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, 'value').set.call(el, arguments[0]);\
         el.dispatchEvent(new Event('change', { bubbles: true }));",
        json!([remote.property_id]),
    )
    .await?;
    s.click(&testid(&app, "attention-resend").await?).await?;
    until(
        "the fixed write on the server",
        Duration::from_secs(20),
        || async {
            let all = remote.all().await?;
            Ok(all
                .iter()
                .filter(|t| t.client_mutation_id.as_deref() == Some(cmid.as_str()))
                .count()
                == 1)
        },
    )
    .await?;
    for w in &windows {
        until("the list empty", Duration::from_secs(20), || async {
            Ok(attention(&app, w).await?.is_empty())
        })
        .await?;
    }
    app.quit().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_entered_offline_outlives_another_users_sign_in_and_reaches_the_server_once(
) -> Result<()> {
    let pre = prereqs_or_skip!("a_row_entered_offline_outlives");
    let _one = ONE_AT_A_TIME.lock().await;
    let mut app = App::launch(pre, &[]).await?;
    let first = app.s().handles().await?[0].clone();
    let memo = "entered offline, sent once";
    app.server.stop();
    until("not live", Duration::from_secs(20), || async {
        Ok(app.view(&first, &[]).await?.state.as_deref() != Some("live"))
    })
    .await?;
    type_new_revenue(&app, &first, "45.67", memo).await?;
    let s = app.s();
    until(
        "the row pending in the window",
        Duration::from_secs(20),
        || async {
            let items = attention(&app, &first).await?;
            Ok(items.len() == 1 && items[0].state == "queued")
        },
    )
    .await?;
    // Signing out warns, with the count.
    s.click(&testid(&app, "sign-out").await?).await?;
    testid(&app, "unsent-warning").await?;
    let text = s
        .exec(
            "return document.querySelector('[data-testid=\"unsent-warning\"]').textContent;",
            json!([]),
        )
        .await?;
    ensure!(
        text.as_str().is_some_and(|t| t.starts_with("1 write")),
        "warning: {text}"
    );
    s.click(&testid(&app, "sign-out-anyway").await?).await?;
    testid(&app, "signin-submit").await?;

    // Someone else signs in on this computer, with the server back.
    app.server.restart().await?;
    let s = app.s();
    sign_in_through_the_form(&app, MANAGER).await?;
    let remote = app.server.remote(OWNER).await?;
    let on_server = || async {
        Ok::<_, anyhow::Error>(
            remote
                .all()
                .await?
                .iter()
                .filter(|t| t.memo == memo)
                .count(),
        )
    };
    until(
        "the manager's window live",
        Duration::from_secs(30),
        || async { Ok(app.view(&first, &[]).await?.state.as_deref() == Some("live")) },
    )
    .await?;
    ensure!(on_server().await? == 0, "sent as someone else");
    ensure!(
        attention(&app, &first).await?.is_empty(),
        "not the manager's write"
    );
    s.click(&testid(&app, "sign-out").await?).await?;
    testid(&app, "signin-submit").await?;

    // Back as its author: it goes, once.
    sign_in_through_the_form(&app, OWNER).await?;
    until("the row on the server", Duration::from_secs(30), || async {
        Ok(on_server().await? == 1)
    })
    .await?;
    until("the list empty", Duration::from_secs(20), || async {
        Ok(attention(&app, &first).await?.is_empty())
    })
    .await?;
    ensure!(on_server().await? == 1, "sent twice");
    app.quit().await
}
