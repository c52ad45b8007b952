//! One scenario's world: a fresh server with its own database, the app
//! under tauri-driver with its own data dir, signed in from the
//! environment, and helpers that read what each window shows.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, Result};
use serde::Deserialize;
use serde_json::json;

use crate::{
    driver::{app_processes, Driver, Prereqs, Session},
    server::{TestServer, OWNER, PASSWORD},
    wait::until,
};

/// Short intervals so offline and reconnects happen in seconds, not the
/// product's 12–18 s.
pub(crate) const OFFLINE_POLL_MIN_MS: u64 = 1500;
pub(crate) const OFFLINE_POLL_MAX_MS: u64 = 2500;

pub(crate) struct App {
    pub(crate) pre: Prereqs,
    pub(crate) server: TestServer,
    pub(crate) data_dir: PathBuf,
    pub(crate) env: Vec<(String, String)>,
    /// The app's command line (after the binary).
    pub(crate) args: Vec<String>,
    pub(crate) session: Option<Session>,
    driver: Option<Driver>,
    _dir: tempfile::TempDir,
}

/// What one window shows (read in one script call).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct View {
    pub(crate) state: Option<String>,
    pub(crate) kpi_revenue: Option<String>,
    pub(crate) kpi_expense: Option<String>,
    pub(crate) from: Option<String>,
    pub(crate) to: Option<String>,
    /// When the core fetched the figures the window shows (RFC 3339).
    pub(crate) fetched_at: Option<String>,
    /// For each id asked about, how often the revenue+expense tables hold it.
    pub(crate) counts: Vec<u32>,
}

pub(crate) const READ_VIEW: &str = r#"
const ids = arguments[0];
const h = window.__ledgerline;
const t = (n) => document.querySelector(`[data-testid="${n}"]`);
const badge = t("status-badge");
const rows = h ? [...h.rows("revenue"), ...h.rows("expense")] : [];
const count = new Map();
for (const r of rows) count.set(r.id, (count.get(r.id) || 0) + 1);
const agg = h && h.aggregates();
return {
  state: badge ? badge.dataset.state : null,
  kpi_revenue: t("kpi-revenue") ? t("kpi-revenue").dataset.value : null,
  kpi_expense: t("kpi-expense") ? t("kpi-expense").dataset.value : null,
  from: agg && agg.range ? agg.range.from : null,
  to: agg && agg.range ? agg.range.to : null,
  fetched_at: agg ? agg.fetched_at : null,
  counts: ids.map((id) => count.get(id) || 0),
};
"#;

impl App {
    /// A fresh server and the app signed in to it, its first window Live.
    pub(crate) async fn launch(pre: Prereqs, extra_env: &[(&str, &str)]) -> Result<App> {
        App::launch_with_args(pre, extra_env, &[]).await
    }

    /// [`App::launch`] with a command line for the app.
    pub(crate) async fn launch_with_args(
        pre: Prereqs,
        extra_env: &[(&str, &str)],
        args: &[&str],
    ) -> Result<App> {
        App::launch_full(pre, extra_env, args, None).await
    }

    /// [`App::launch_with_args`], with the store file (`ledgerline.json`)
    /// written beforehand when `store` is given.
    pub(crate) async fn launch_full(
        pre: Prereqs,
        extra_env: &[(&str, &str)],
        args: &[&str],
        store: Option<serde_json::Value>,
    ) -> Result<App> {
        let dir = tempfile::tempdir()?;
        let server = TestServer::spawn(dir.path()).await?;
        App::launch_on(pre, dir, server, extra_env, args, store).await
    }

    /// The app's data dir and environment, not started yet.
    fn prepare(
        pre: Prereqs,
        dir: tempfile::TempDir,
        server: TestServer,
        extra_env: &[(&str, &str)],
        args: &[&str],
        store: Option<serde_json::Value>,
    ) -> Result<App> {
        let data_dir = dir.path().join("app");
        std::fs::create_dir_all(&data_dir)?;
        if let Some(store) = store {
            std::fs::write(data_dir.join("ledgerline.json"), store.to_string())?;
        }
        let mut env: Vec<(String, String)> = [
            ("LEDGERLINE_DATA_DIR", data_dir.display().to_string()),
            ("LEDGERLINE_SERVER", server.url.clone()),
            ("LEDGERLINE_EMAIL", OWNER.to_owned()),
            ("LEDGERLINE_PASSWORD", PASSWORD.to_owned()),
            ("LEDGERLINE_BACKOFF_BASE_MS", "200".to_owned()),
            ("LEDGERLINE_BACKOFF_MAX_MS", "1000".to_owned()),
            (
                "LEDGERLINE_OFFLINE_POLL_MIN_MS",
                OFFLINE_POLL_MIN_MS.to_string(),
            ),
            (
                "LEDGERLINE_OFFLINE_POLL_MAX_MS",
                OFFLINE_POLL_MAX_MS.to_string(),
            ),
            ("LEDGERLINE_REQUEST_TIMEOUT_MS", "3000".to_owned()),
            (
                "XDG_DATA_HOME",
                dir.path().join("xdg-data").display().to_string(),
            ),
            (
                "XDG_CACHE_HOME",
                dir.path().join("xdg-cache").display().to_string(),
            ),
            ("NO_AT_BRIDGE", "1".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for (k, v) in extra_env {
            env.retain(|(key, _)| key != k);
            env.push((k.to_string(), v.to_string()));
        }
        Ok(App {
            pre,
            server,
            data_dir,
            env,
            args: args.iter().map(|a| a.to_string()).collect(),
            session: None,
            driver: None,
            _dir: dir,
        })
    }

    /// [`App::launch_on`] without waiting for anything in the app: it is
    /// launched, signing in from the environment (the scale benchmark
    /// times what the window shows from here).
    pub(crate) async fn launch_unwaited(
        pre: Prereqs,
        dir: tempfile::TempDir,
        server: TestServer,
    ) -> Result<App> {
        let mut app = App::prepare(pre, dir, server, &[], &[], None)?;
        app.start_driver().await?;
        Ok(app)
    }

    /// [`App::launch_full`] against a server already running in `dir`
    /// (e.g. one seeded with rows first).
    pub(crate) async fn launch_on(
        pre: Prereqs,
        dir: tempfile::TempDir,
        server: TestServer,
        extra_env: &[(&str, &str)],
        args: &[&str],
        store: Option<serde_json::Value>,
    ) -> Result<App> {
        let mut app = App::prepare(pre, dir, server, extra_env, args, store)?;
        let signs_in = app
            .env
            .iter()
            .any(|(k, v)| k == "LEDGERLINE_EMAIL" && !v.is_empty());
        if !signs_in {
            // Nothing to wait for: the window shows the sign-in form.
            app.start_driver().await?;
            return Ok(app);
        }
        app.start_app().await?;
        let s = app.s();
        until(
            "the first window to be Live",
            Duration::from_secs(60),
            || async { Ok(s.exec(READ_VIEW, json!([[]])).await?["state"] == "live") },
        )
        .await?;
        Ok(app)
    }

    /// Starts tauri-driver and the app; waits for the first window to show
    /// a signed-in page (its status badge has a state).
    pub(crate) async fn start_app(&mut self) -> Result<()> {
        self.start_driver().await?;
        let s = self.s();
        until(
            "the first window signed in",
            Duration::from_secs(60),
            || async {
                let state = s.exec(READ_VIEW, json!([[]])).await?["state"].clone();
                Ok(state.as_str().is_some_and(|s| s != "unknown"))
            },
        )
        .await?;
        Ok(())
    }

    /// Starts tauri-driver and the app, waiting for nothing in the app.
    pub(crate) async fn start_driver(&mut self) -> Result<()> {
        let driver = Driver::start(&self.pre, &self.env).await?;
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let session = driver.session(&self.pre, &args).await?;
        self.driver = Some(driver);
        self.session = Some(session);
        Ok(())
    }

    pub(crate) fn s(&self) -> &Session {
        self.session.as_ref().expect("the app is running")
    }

    /// Opens windows (through the `open_window` command, as the UI does)
    /// until `n` are open; returns their handles.
    pub(crate) async fn open_windows(&self, target: &str, n: usize) -> Result<Vec<String>> {
        let s = self.s();
        let have = s.handles().await?.len();
        for _ in have..n {
            s.invoke("open_window", json!({"target": target})).await?;
        }
        until(&format!("{n} windows"), Duration::from_secs(30), || async {
            Ok(s.handles().await?.len() >= n)
        })
        .await?;
        s.handles().await
    }

    /// What the window `handle` shows, with the counts of `ids`.
    pub(crate) async fn view(&self, handle: &str, ids: &[String]) -> Result<View> {
        let s = self.s();
        s.switch_to(handle).await?;
        let v = s.exec(READ_VIEW, json!([ids])).await?;
        serde_json::from_value(v).context("reading a window's view")
    }

    /// Waits until every window in `handles` satisfies `ok`.
    pub(crate) async fn until_every_window(
        &self,
        what: &str,
        handles: &[String],
        ids: &[String],
        within: Duration,
        ok: impl Fn(&View) -> bool,
    ) -> Result<Duration> {
        until(what, within, || async {
            for h in handles {
                let view = self.view(h, ids).await?;
                if !ok(&view) {
                    return Ok(false);
                }
            }
            Ok(true)
        })
        .await
    }

    /// Waits until the server's waiter gauge reads `n` (and stays there a
    /// moment, to catch an extra poll arriving late).
    pub(crate) async fn until_waiters(&self, n: u64) -> Result<()> {
        until(
            &format!("{n} long-poll(s)"),
            Duration::from_secs(30),
            || async { Ok(self.server.waiters().await? == n) },
        )
        .await?;
        let settle = tokio::time::Instant::now() + Duration::from_millis(1500);
        while tokio::time::Instant::now() < settle {
            let now = self.server.waiters().await?;
            anyhow::ensure!(now == n, "waiters went from {n} to {now}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    pub(crate) fn processes(&self) -> Vec<u32> {
        app_processes(&self.pre.app, &self.data_dir)
    }

    /// Ends the WebDriver session and tauri-driver, and waits for the app
    /// to be gone (any leftover of this data dir is killed).
    pub(crate) async fn quit(&mut self) -> Result<()> {
        if let Some(session) = self.session.take() {
            let _ = session.end().await;
        }
        self.driver = None;
        let gone = until("the app to exit", Duration::from_secs(15), || async {
            Ok(self.processes().is_empty())
        })
        .await;
        if gone.is_err() {
            for pid in self.processes() {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
        // An exiting app may hold its single-instance name a moment longer
        // than /proc shows it; the next launch must not find it there.
        until(
            "the single-instance D-Bus name to be free",
            Duration::from_secs(15),
            || async { Ok(!single_instance_name_taken()?) },
        )
        .await?;
        Ok(())
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.session = None;
        self.driver = None;
        for pid in self.processes() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

/// tauri-plugin-single-instance's bus name: the app identifier + `.SingleInstance`.
const SINGLE_INSTANCE_NAME: &str = "test.ledgerline.desktop.SingleInstance";

fn single_instance_name_taken() -> Result<bool> {
    let out = std::process::Command::new("dbus-send")
        .args([
            "--session",
            "--dest=org.freedesktop.DBus",
            "--type=method_call",
            "--print-reply",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            &format!("string:{SINGLE_INSTANCE_NAME}"),
        ])
        .output()
        .context("dbus-send")?;
    anyhow::ensure!(out.status.success(), "dbus-send failed: {out:?}");
    Ok(String::from_utf8_lossy(&out.stdout).contains("boolean true"))
}

/// Appends one line to `timings.txt` beside the screenshots.
pub(crate) fn record_figure(line: &str) {
    use std::io::Write as _;
    let dir = out_dir();
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("timings.txt"))
    {
        let stamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
        let _ = writeln!(f, "{stamp} {line}");
    }
}

/// Where screenshots go: `$LEDGERLINE_E2E_OUT`, else the repo's `target/e2e`.
pub(crate) fn out_dir() -> PathBuf {
    std::env::var_os("LEDGERLINE_E2E_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e"))
}

pub(crate) fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

/// A `data-value` attribute as a number.
pub(crate) fn num(v: &Option<String>) -> Option<i64> {
    v.as_deref()?.parse().ok()
}
