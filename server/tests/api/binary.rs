//! The `ledgerline-server` binary itself: defaults, the `listening on` line,
//! graceful stop on SIGTERM, and `seed`.

use std::{path::Path, process::Stdio};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

fn server() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ledgerline-server"));
    for (key, _) in std::env::vars() {
        if key.starts_with("LEDGERLINE_") {
            command.env_remove(key);
        }
    }
    command.kill_on_drop(true);
    command
}

/// `serve` with `args` in `dir`, once it printed its `listening on` line:
/// the process and its base url.
async fn serving(args: &[&str], dir: &Path) -> (Child, String) {
    let mut child = server()
        .arg("serve")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().expect("a line on stdout");
    let url = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected: {first}"))
        .to_owned();
    (child, url)
}

#[cfg(unix)]
#[tokio::test]
async fn serve_uses_a_sqlite_file_in_the_working_directory_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url) = serving(&["--addr", "127.0.0.1:0"], dir.path()).await;
    assert!(url.starts_with("http://127.0.0.1:"));

    let health = reqwest::get(format!("{url}/healthz")).await.unwrap();
    assert_eq!(health.text().await.unwrap(), "ok");
    let login = reqwest::Client::new()
        .post(format!("{url}/v1/auth/login"))
        .json(&serde_json::json!({"email": "staff@demo.test", "password": "demo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), reqwest::StatusCode::OK, "demo data exists");
    assert!(dir.path().join("ledgerline.db").exists());

    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().await.unwrap();
    assert!(status.success(), "graceful exit, got {status}");
}

#[tokio::test]
async fn seed_creates_orgs_and_prints_the_rate() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("seed.db").display());
    let output = server()
        .args([
            "seed",
            "--orgs",
            "25",
            "--properties",
            "3",
            "--users",
            "4",
            "--database-url",
            &url,
        ])
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.starts_with("seeded 25 orgs (75 properties, 100 users) in "),
        "{stdout}"
    );
    assert!(stdout.trim_end().ends_with("orgs/s"), "{stdout}");

    let db = sqlx::SqlitePool::connect(&url).await.unwrap();
    let counts: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM orgs), (SELECT COUNT(*) FROM properties),
                (SELECT COUNT(*) FROM users)",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    // Plus the two demo orgs (5 + 2 properties, 4 + 1 users).
    assert_eq!(counts, (27, 82, 105));
}

#[tokio::test]
async fn unsupported_database_urls_are_refused_without_their_password() {
    let output = server()
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--database-url",
            "mysql://u:secret@localhost/x",
        ])
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("not supported"), "{stderr}");
    assert!(!stderr.contains("secret"), "{stderr}");
}

#[cfg(unix)]
#[tokio::test]
async fn a_second_server_on_one_sqlite_file_is_refused_and_pointed_to_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("one.db").display());
    let serve = ["--addr", "127.0.0.1:0", "--database-url", url.as_str()];
    let (mut first, _) = serving(&serve, dir.path()).await;

    let second = server()
        .args(["serve", "--addr", "127.0.0.1:0", "--database-url", &url])
        .output()
        .await
        .unwrap();
    assert!(!second.status.success(), "the second server must not start");
    let stderr = String::from_utf8(second.stderr).unwrap();
    assert!(stderr.contains("already serving"), "{stderr}");
    assert!(stderr.contains("Postgres"), "{stderr}");
    assert!(stderr.contains("one.db"), "{stderr}");

    // A SQLite file cannot join a fleet either.
    let fleet = server()
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--database-url",
            &format!("sqlite://{}", dir.path().join("two.db").display()),
            "--nats-url",
            "nats://127.0.0.1:1",
        ])
        .output()
        .await
        .unwrap();
    assert!(!fleet.status.success());
    let stderr = String::from_utf8(fleet.stderr).unwrap();
    assert!(stderr.contains("Postgres"), "{stderr}");

    first.kill().await.unwrap();
    first.wait().await.unwrap();
    // The lock goes with its process, even a killed one.
    let (mut again, _) = serving(&serve, dir.path()).await;
    again.kill().await.unwrap();
}

#[tokio::test]
async fn new_epoch_makes_old_cursors_reset() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("epoch.db").display());
    let output = server()
        .args(["new-epoch", "--database-url", &url])
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let (before, after) = stdout
        .strip_prefix("epoch ")
        .and_then(|rest| rest.split_once(" -> "))
        .unwrap_or_else(|| panic!("{stdout}"));
    let after = after.split(':').next().unwrap();
    assert_ne!(before, after);
    assert_eq!(after.len(), 8, "{stdout}");
}

#[tokio::test]
async fn serve_no_demo_starts_an_empty_database() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url) = serving(&["--addr", "127.0.0.1:0", "--no-demo"], dir.path()).await;
    let login = reqwest::Client::new()
        .post(format!("{url}/v1/auth/login"))
        .json(&serde_json::json!({"email": "owner@demo.test", "password": "demo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), reqwest::StatusCode::UNAUTHORIZED);
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("ledgerline.db").display()
    ))
    .await
    .unwrap();
    let (orgs, users): (i64, i64) =
        sqlx::query_as("SELECT (SELECT COUNT(*) FROM orgs), (SELECT COUNT(*) FROM users)")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!((orgs, users), (0, 0));
    child.kill().await.unwrap();
}
