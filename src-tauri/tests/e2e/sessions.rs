//! Several organizations signed in side by side in one app: each window
//! belongs to one session and shows its org; each session runs exactly one
//! long-poll whatever the number of its windows.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use ledgerline_wire::TransactionKind;
use serde_json::json;

use crate::{
    app::{today, App},
    driver::prerequisites,
    server::OWNER,
    wait::until,
    ONE_AT_A_TIME,
};

const RIVAL: &str = "owner@rival.test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_organizations_side_by_side_with_four_windows_run_two_long_polls() -> Result<()> {
    let pre = prereqs_or_skip!("two_organizations_side_by_side");
    let _one = ONE_AT_A_TIME.lock().await;
    let accounts = format!("{OWNER},{RIVAL}");
    let mut app = App::launch(pre, &[("LEDGERLINE_EMAIL", accounts.as_str())]).await?;
    let s = app.s();
    let sessions = until("both sessions", Duration::from_secs(30), || async {
        Ok(s.invoke("sessions", json!({}))
            .await?
            .as_array()
            .map_or(0, Vec::len)
            == 2)
    })
    .await;
    sessions?;
    let sessions = s.invoke("sessions", json!({})).await?;
    let ids: Vec<String> = sessions
        .as_array()
        .context("a list")?
        .iter()
        .map(|v| v["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    let orgs: Vec<String> = sessions
        .as_array()
        .context("a list")?
        .iter()
        .map(|v| v["org"]["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    ensure!(orgs[0] != orgs[1], "two organizations: {orgs:?}");
    // One more window for the first org, two for the second: four in all.
    s.invoke("open_window", json!({"target": "main", "session": ids[0]}))
        .await?;
    for _ in 0..2 {
        s.invoke("open_window", json!({"target": "main", "session": ids[1]}))
            .await?;
    }
    until("four windows", Duration::from_secs(30), || async {
        Ok(s.handles().await?.len() == 4)
    })
    .await?;
    let handles = s.handles().await?;
    // Each window shows its session's org, and is live.
    let mut shown = Vec::new();
    for h in &handles {
        until(
            "the window signed in and live",
            Duration::from_secs(30),
            || async { Ok(app.view(h, &[]).await?.state.as_deref() == Some("live")) },
        )
        .await?;
        let org = s
            .exec(
                "const e = document.querySelector('[data-testid=\"org-name\"]'); return e ? e.textContent : null;",
                json!([]),
            )
            .await?;
        shown.push(org.as_str().unwrap_or_default().to_owned());
    }
    let first = shown.iter().filter(|o| **o == orgs[0]).count();
    let second = shown.iter().filter(|o| **o == orgs[1]).count();
    ensure!((first, second) == (2, 2), "windows show {shown:?}");
    app.until_waiters(2).await?;
    let started = std::time::Instant::now();
    // A write in the second org reaches its windows only.
    let rival = app.server.remote(RIVAL).await?;
    let row = rival
        .create(TransactionKind::Revenue, 777, "rival only", today())
        .await?;
    let ids_of_row = vec![row.id.clone()];
    let (mine, theirs): (Vec<_>, Vec<_>) = handles
        .iter()
        .zip(&shown)
        .partition(|(_, org)| **org == orgs[1]);
    let mine: Vec<String> = mine.into_iter().map(|(h, _)| h.clone()).collect();
    let theirs: Vec<String> = theirs.into_iter().map(|(h, _)| h.clone()).collect();
    app.until_every_window(
        "the rival row in the rival windows",
        &mine,
        &ids_of_row,
        Duration::from_secs(20),
        |v| v.counts == [1],
    )
    .await?;
    for h in &theirs {
        ensure!(
            app.view(h, &ids_of_row).await?.counts == [0],
            "another org's row shown"
        );
    }
    eprintln!(
        "[e2e] two orgs, 4 windows: 2 long-polls; rival write in its 2 windows after {:?}",
        started.elapsed()
    );
    ensure!(
        app.server.waiters().await? == 2,
        "not one long-poll per org"
    );
    app.quit().await
}

/// Without a D-Bus session bus single-instance cannot hand over, so a
/// second launch is a second process — but the caches' lock files keep it
/// off the running app's sessions: it resumes none (and says why), and the
/// server still sees one long-poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_launch_without_dbus_runs_no_second_long_poll_and_says_why() -> Result<()> {
    use tokio::io::AsyncBufReadExt;
    let pre = prereqs_or_skip!("a_second_launch_without_dbus");
    let _one = ONE_AT_A_TIME.lock().await;
    let mut app = App::launch(pre, &[]).await?;
    app.until_waiters(1).await?;
    let mut second = tokio::process::Command::new(&app.pre.app)
        .envs(app.env.iter().map(|(k, v)| (k, v)))
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/ledgerline-e2e",
        )
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = tokio::io::BufReader::new(second.stdout.take().context("stdout")?).lines();
    let mut errs = tokio::io::BufReader::new(second.stderr.take().context("stderr")?).lines();
    let said = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let line = tokio::select! {
                l = lines.next_line() => l?,
                l = errs.next_line() => l?,
            };
            match line {
                Some(l) if l.contains("another Ledgerline process") => {
                    return Ok::<_, anyhow::Error>(l)
                }
                Some(_) => {}
                None => anyhow::bail!("the second process ended without saying why"),
            }
        }
    })
    .await
    .context("the second process did not say why it could not resume")??;
    eprintln!("[e2e] second process without D-Bus: {said}");
    app.until_waiters(1).await?;
    second.kill().await?;
    let _ = second.wait().await;
    app.quit().await
}
