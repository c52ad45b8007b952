//! Issue 11 in a real window: the owner sets a lock date; the accountant's
//! app shows the rows in the locked period as locked (no Edit, no Delete)
//! and refuses an edit with the server's words, while later rows stay
//! editable. The row's history opens in its own window.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use chrono::Datelike;
use ledgerline_wire::TransactionKind;
use serde_json::json;

use crate::{
    app::{today, App},
    driver::prerequisites,
    server::OWNER,
    wait::until,
    ONE_AT_A_TIME,
};

const ACCOUNTANT: &str = "accountant@demo.test";

async fn present(app: &App, id: &str) -> Result<bool> {
    Ok(app
        .s()
        .find(&format!("[data-testid=\"{id}\"]"))
        .await
        .is_ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owners_lock_date_locks_the_accountants_rows_and_an_edit_is_refused_with_the_message(
) -> Result<()> {
    let pre = prereqs_or_skip!("the_owners_lock_date_locks_the_accountants_rows");
    let _one = ONE_AT_A_TIME.lock().await;
    let mut app = App::launch(pre, &[("LEDGERLINE_EMAIL", ACCOUNTANT)]).await?;
    let owner = app.server.remote(OWNER).await?;
    // Both inside the month the window shows: its first day gets locked,
    // its last stays open.
    let first = today().with_day(1).context("first of the month")?;
    let last = (first + chrono::Months::new(1)) - chrono::Days::new(1);
    let locked = owner
        .create(TransactionKind::Revenue, 1_000, "closed month", first)
        .await?;
    let open = owner
        .create(TransactionKind::Revenue, 2_000, "still open", last)
        .await?;
    let s = app.s();
    let handle = s.handles().await?[0].clone();
    s.switch_to(&handle).await?;
    until(
        "both rows in the window",
        Duration::from_secs(20),
        || async {
            Ok(present(&app, &format!("row-{}", locked.id)).await?
                && present(&app, &format!("row-{}", open.id)).await?)
        },
    )
    .await?;
    ensure!(
        present(&app, &format!("edit-{}", locked.id)).await?,
        "editable before the lock"
    );

    owner.set_lock_date(Some(first)).await?;
    until("the row shown locked", Duration::from_secs(20), || async {
        present(&app, &format!("locked-{}", locked.id)).await
    })
    .await?;
    ensure!(
        !present(&app, &format!("edit-{}", locked.id)).await?,
        "no Edit on a locked row"
    );
    ensure!(
        !present(&app, &format!("delete-{}", locked.id)).await?,
        "no Delete on a locked row"
    );
    ensure!(
        present(&app, &format!("edit-{}", open.id)).await?,
        "a later row stays editable"
    );
    ensure!(
        !present(&app, &format!("locked-{}", open.id)).await?,
        "a later row is not locked"
    );
    let bar_text = s
        .exec(
            "return document.querySelector('[data-testid=\"lock-date\"]').textContent;",
            json!([]),
        )
        .await?;
    ensure!(
        bar_text
            .as_str()
            .is_some_and(|t| t.contains(&first.to_string())),
        "the lock date shown: {bar_text}"
    );

    // Enter on the focused locked row asks to edit it: refused, with the
    // message.
    s.exec(
        "const row = document.querySelector(`[data-testid=\"row-${arguments[0]}\"]`);\
         row.focus();\
         row.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));",
        json!([locked.id]),
    )
    .await?;
    let error_id = format!("error-{}", locked.id);
    until("the refusal shown", Duration::from_secs(10), || async {
        present(&app, &error_id).await
    })
    .await?;
    let shown = s
        .exec(
            "return document.querySelector(`[data-testid=\"${arguments[0]}\"]`).textContent;",
            json!([error_id]),
        )
        .await?;
    let expected = ledgerline_wire::rules::period_locked_message(first);
    ensure!(
        shown.as_str().is_some_and(|t| t.contains(&expected)),
        "shown {shown}, expected {expected:?}"
    );
    // And the core itself refuses the same edit, before queuing it.
    let refused = s
        .invoke(
            "update_transaction",
            json!({"id": locked.id, "patch": {"version": locked.version, "memo": "sneaked in"}}),
        )
        .await
        .expect_err("a locked row cannot be edited");
    ensure!(refused.to_string().contains("period_locked"), "{refused}");
    let outbox = s.invoke("needs_attention", json!({})).await?;
    ensure!(
        outbox.as_array().is_some_and(|a| a.is_empty()),
        "queued: {outbox}"
    );
    let on_server = owner.all().await?;
    ensure!(
        on_server
            .iter()
            .any(|t| t.id == locked.id && t.memo == "closed month"),
        "the locked row is unchanged on the server"
    );

    // Its history opens in a window of its own.
    let before = s.handles().await?;
    s.click(
        &s.find(&format!("[data-testid=\"history-{}\"]", locked.id))
            .await?,
    )
    .await?;
    until("the history window", Duration::from_secs(20), || async {
        Ok(s.handles().await?.len() > before.len())
    })
    .await?;
    let history = s
        .handles()
        .await?
        .into_iter()
        .find(|h| !before.contains(h))
        .context("a new window")?;
    s.switch_to(&history).await?;
    until("the history listed", Duration::from_secs(20), || async {
        let first = s
            .exec(
                "const li = document.querySelector('[data-testid=\"history-0\"]');\
                 return li ? li.dataset.action : null;",
                json!([]),
            )
            .await?;
        Ok(first.as_str() == Some("created"))
    })
    .await?;
    app.quit().await
}
