//! A killed app: its journal is replayed into `rows` when the cache opens,
//! and a user's write over a journaled row stays as the user left it.

use std::{path::Path, time::Duration};

use super::{journal_rows, mixed_batches, optimistic, rows_in_table, run_mixed, sorted_rows, Fold};
use crate::cache::*;

const CHILD_ENV: &str = "LEDGERLINE_JOURNAL_TEST_CACHE";
const MARK: &str = "journaled rows: ";

/// The child process of the next test: applies, deletes one journaled row
/// as a user would, says so, and waits to be killed. Does nothing when run
/// on its own.
#[tokio::test]
#[ignore = "run by a_killed_apps_journal_is_replayed_when_the_cache_opens"]
async fn child_applies_and_waits_to_be_killed() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let cache = Cache::open(Path::new(&path), Default::default())
        .await
        .unwrap();
    for (events, cursor) in mixed_batches() {
        cache.apply_events(&events, cursor).await.unwrap();
    }
    optimistic(&cache, "d", None).await;
    use std::io::Write as _;
    let mut out = std::io::stdout();
    // After the harness's "test … ... " on the same line.
    writeln!(out, "{MARK}{}", cache.journaled().await).unwrap();
    out.flush().unwrap();
    // Killed long before; gone on its own if the parent died.
    tokio::time::sleep(Duration::from_secs(120)).await;
}

#[tokio::test]
async fn a_killed_apps_journal_is_replayed_when_the_cache_opens() {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.sqlite");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "cache::journal_tests::crash::child_applies_and_waits_to_be_killed",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let said = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || {
            std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .find_map(|l| l.split_once(MARK).map(|(_, n)| n.trim().to_owned()))
        }),
    )
    .await;
    // Killed (SIGKILL) as soon as it said so: nothing folded.
    child.kill().unwrap();
    child.wait().unwrap();
    let said = said.expect("the child applied within a minute").unwrap();
    assert_eq!(said.as_deref(), Some("4"), "a c e f: d's slot settled");

    let cache = Cache::open(&path, Default::default()).await.unwrap();
    assert_eq!(
        (cache.journaled().await, journal_rows(&cache).await),
        (0, 0)
    );
    assert_eq!(cache.seq().await.unwrap(), Some(18));
    let (_, direct_rows) = run_mixed(Fold::EachApply).await;
    // The direct run had the same rows, and d, which the child deleted.
    let expected: Vec<Row> = direct_rows.into_iter().filter(|r| r.id != "d").collect();
    assert_eq!(sorted_rows(&cache).await, expected);
    assert_eq!(rows_in_table(&cache).await, 3);
}
