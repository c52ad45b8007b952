//! The app across outages, launches and restarts: back Live with the rows
//! written meanwhile, a second launch opening a window in the running app,
//! the cached data and saved windows (and their geometry) after a restart,
//! signing in through the form and out (checklist 3, 6, and the session's).

use super::*;

/// Checklist 3: server down → Offline, probed at most 5 s apart (the
/// product's backoff, not the shortened one of the other tests); server
/// back on the same port and db → Live within those 5 s (the printed
/// outage→Live figure), with the rows written meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_then_live_again_with_the_rows_written_meanwhile() -> Result<()> {
    let pre = prereqs_or_skip!("offline_then_live_again");
    let _one = ONE_AT_A_TIME.lock().await;
    // The product's reconnect timing (CoreConfig::default).
    let probe_max = Duration::from_secs(5);
    let mut app = App::launch(
        pre,
        &[
            ("LEDGERLINE_BACKOFF_BASE_MS", "500"),
            ("LEDGERLINE_BACKOFF_MAX_MS", "8000"),
            ("LEDGERLINE_OFFLINE_PROBE_MAX_MS", "5000"),
        ],
    )
    .await?;
    let handles = app.open_windows("main", 2).await?;
    app.until_waiters(1).await?;

    app.server.stop();
    // Something that answers every connection by closing it, on the same
    // port: counts the app's attempts while it is offline.
    let port = app.server.addr.port();
    let attempts = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Instant>::new()));
    let listener = bind_retry(port).await?;
    let counter = tokio::spawn({
        let attempts = attempts.clone();
        async move {
            while let Ok((conn, _)) = listener.accept().await {
                attempts.lock().unwrap().push(Instant::now());
                drop(conn);
            }
        }
    });
    let took = app
        .until_every_window("Offline", &handles, &[], Duration::from_secs(30), |v| {
            v.state.as_deref() == Some("offline")
        })
        .await?;
    let offline_at = Instant::now();
    figure!("Offline shown {took:?} after the server stopped");

    // Rows written while the app cannot reach the server: through another
    // server process on the same database.
    let mut side = server::TestServer::start(app.server.db.clone(), 0).await?;
    let side_remote = Remote::login(&side.url, OWNER).await?;
    let mut ids = Vec::new();
    for i in 0..5 {
        let row = side_remote
            .create(
                TransactionKind::Expense,
                500 + i,
                &format!("meanwhile {i}"),
                today(),
            )
            .await?;
        ids.push(row.id);
    }
    side.stop();

    // Watch a few offline probes.
    until("four offline probes", Duration::from_secs(40), || async {
        Ok(bursts(&attempts.lock().unwrap(), offline_at).len() >= 5)
    })
    .await?;
    counter.abort();
    let _ = counter.await;
    let ticks = bursts(&attempts.lock().unwrap(), offline_at);
    let gaps: Vec<Duration> = ticks.windows(2).map(|w| w[1] - w[0]).collect();
    figure!("offline probes every {gaps:?} (capped jittered backoff, at most {probe_max:?})");
    for gap in &gaps {
        // Generous above: a loaded machine may be slow to run the loop.
        ensure!(
            *gap >= Duration::from_millis(400) && *gap <= probe_max + Duration::from_millis(1500),
            "offline probe gap {gap:?} outside 0.5 s–{probe_max:?}"
        );
    }

    app.server.restart().await?;
    let back = Instant::now();
    // The core's part: the server answers the app's first probe with the
    // rows written meanwhile (a fresh server: its first poll with events).
    let answered = until(
        "the app's probe answered",
        Duration::from_secs(30),
        || async {
            Ok(app
                .server
                .metric("ledgerline_realtime_polls_total{outcome=\"events\"}")
                .await?
                >= 1.0)
        },
    )
    .await?;
    figure!("outage→Live (core): the server answered the app's probe with the missed rows {answered:?} after it came back");
    app.until_every_window(
        "Live with the rows written meanwhile",
        &handles,
        &ids,
        Duration::from_secs(30),
        |v| v.state.as_deref() == Some("live") && v.counts.iter().all(|c| *c == 1),
    )
    .await?;
    figure!(
        "outage→Live: Live again with the missed rows {:?} after the server came back (goal ≤ 5 s)",
        back.elapsed()
    );
    app.until_waiters(1).await?;
    app.quit().await
}

/// Checklist 6: launching the binary again opens a window in the running
/// app — same process, same single long-poll — honouring its `--open`
/// (default: a new main window). The first launch's `--open` is honoured too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_launch_opens_a_window_in_the_running_app() -> Result<()> {
    let pre = prereqs_or_skip!("a_second_launch");
    let _one = ONE_AT_A_TIME.lock().await;
    let mut app = App::launch_with_args(pre, &[], &["--open", "approvals"]).await?;
    let s = app.s();
    until(
        "main + approvals at start",
        Duration::from_secs(20),
        || async { Ok(s.handles().await?.len() == 2) },
    )
    .await?;
    ensure!(window_urls(&app)
        .await?
        .iter()
        .any(|u| u.contains("view=approvals")));
    app.until_waiters(1).await?;
    let procs = app.processes();
    ensure!(
        procs.len() == 1,
        "expected one app process, found {procs:?}"
    );
    let property = app.server.remote(OWNER).await?.property_id;

    let property_target = format!("property:{property}");
    for (args, want) in [
        (vec![], "tauri://localhost".to_owned()),
        (
            vec!["--open", property_target.as_str()],
            format!("view=property&id={property}"),
        ),
    ] {
        let before = app.s().handles().await?.len();
        let started = Instant::now();
        let status = tokio::process::Command::new(&app.pre.app)
            .args(&args)
            .envs(app.env.iter().map(|(k, v)| (k, v)))
            .status();
        let status = tokio::time::timeout(Duration::from_secs(30), status)
            .await
            .context("the second launch did not exit")??;
        ensure!(status.success(), "second launch exited with {status}");
        figure!(
            "a second launch {args:?} handed over and exited after {:?}",
            started.elapsed()
        );
        let s = app.s();
        until(
            "a new window in the first process",
            Duration::from_secs(20),
            || async { Ok(s.handles().await?.len() == before + 1) },
        )
        .await?;
        let urls = window_urls(&app).await?;
        let matching = urls.iter().filter(|u| u.ends_with(want.as_str())).count();
        ensure!(matching >= 1, "no window {want:?} among {urls:?}");
        ensure!(
            app.processes() == procs,
            "process set changed: {:?}",
            app.processes()
        );
        app.until_waiters(1).await?;
    }
    app.quit().await
}

/// Session, cached rows and window layout survive a restart: with the
/// server down and no credentials in the environment, the next start opens
/// straight into the cached data, in the same windows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_opens_the_cached_data_in_the_saved_windows() -> Result<()> {
    let pre = prereqs_or_skip!("a_restart_opens_the_cached_data");
    let _one = ONE_AT_A_TIME.lock().await;
    let mut app = App::launch(pre, &[]).await?;
    let remote = app.server.remote(OWNER).await?;
    let row = remote
        .create(
            TransactionKind::Revenue,
            4242,
            "before the restart",
            today(),
        )
        .await?;
    let ids = vec![row.id];
    let first = app.s().handles().await?;
    app.until_every_window("the row", &first, &ids, Duration::from_secs(20), |v| {
        v.counts == [1]
    })
    .await?;
    app.open_windows("report:profit-loss", 2).await?;
    // Through the UI's own button this time.
    let s = app.s();
    s.switch_to(&first[0]).await?;
    let button = s.find("[data-testid=\"open-approvals\"]").await?;
    s.click(&button).await?;
    until("the approvals window", Duration::from_secs(20), || async {
        Ok(s.handles().await?.len() == 3)
    })
    .await?;
    let store = app.data_dir.join("ledgerline.json");
    until(
        "the layout saved with 3 windows",
        Duration::from_secs(10),
        || async {
            let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&store)?)?;
            Ok(v["window_layout"].as_array().is_some_and(|w| w.len() == 3))
        },
    )
    .await?;
    app.quit().await?;

    app.server.stop();
    app.env.retain(|(k, _)| {
        !matches!(
            k.as_str(),
            "LEDGERLINE_SERVER" | "LEDGERLINE_EMAIL" | "LEDGERLINE_PASSWORD"
        )
    });
    let started = Instant::now();
    app.start_app().await?;
    let s = app.s();
    until("3 windows restored", Duration::from_secs(20), || async {
        Ok(s.handles().await?.len() == 3)
    })
    .await?;
    let handles = s.handles().await?;
    let mut urls = Vec::new();
    for h in &handles {
        s.switch_to(h).await?;
        urls.push(s.url().await?);
    }
    figure!("restored windows: {urls:?}");
    ensure!(urls.iter().any(|u| u.contains("view=report")), "{urls:?}");
    ensure!(
        urls.iter().any(|u| u.contains("view=approvals")),
        "{urls:?}"
    );
    let main = &handles[urls
        .iter()
        .position(|u| !u.contains("view="))
        .context("no main window restored")?];
    until(
        "the cached row, server down",
        Duration::from_secs(20),
        || async { Ok(app.view(main, &ids).await?.counts == [1]) },
    )
    .await?;
    figure!(
        "restart with the server down: cached rows shown {:?} after launch",
        started.elapsed()
    );
    app.quit().await
}

/// Window sizes and positions come back from the saved layout: a store
/// file written beforehand opens those windows there, and the app saves
/// the same geometry back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_window_positions_and_sizes_are_restored() -> Result<()> {
    let pre = prereqs_or_skip!("saved_window_positions_and_sizes");
    let _one = ONE_AT_A_TIME.lock().await;
    let layout = json!([
        {"target": "main", "geometry": {"x": 40.0, "y": 30.0, "width": 1000.0, "height": 700.0}},
        {"target": "approvals", "geometry": {"x": 420.0, "y": 160.0, "width": 760.0, "height": 520.0}},
    ]);
    let mut app = App::launch_full(
        pre,
        &[],
        &[],
        Some(json!({ "window_layout": layout.clone() })),
    )
    .await?;
    let s = app.s();
    until("2 windows", Duration::from_secs(20), || async {
        Ok(s.handles().await?.len() == 2)
    })
    .await?;
    let store = app.data_dir.join("ledgerline.json");
    let close = |a: &serde_json::Value, b: &serde_json::Value| {
        ["x", "y", "width", "height"].iter().all(|k| {
            let (a, b) = (
                a[k].as_f64().unwrap_or(f64::NAN),
                b[k].as_f64().unwrap_or(f64::NAN),
            );
            (a - b).abs() <= 2.0
        })
    };
    let read_layout = || -> Result<serde_json::Value> {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&store)?)?;
        Ok(v["window_layout"].clone())
    };
    let matched = until(
        "the app to save the restored geometry",
        Duration::from_secs(10),
        || async {
            let saved = read_layout()?;
            let Some(saved) = saved.as_array() else {
                return Ok(false);
            };
            Ok(saved.len() == 2
                && saved.iter().zip(layout.as_array().unwrap()).all(|(s, l)| {
                    s["target"] == l["target"] && close(&s["geometry"], &l["geometry"])
                }))
        },
    )
    .await;
    figure!("restored layout saved back as {}", read_layout()?);
    matched?;
    app.quit().await
}

/// Signing in through the form (no credentials in the environment) keeps
/// the session in the store file; signing out ends the long-poll and
/// returns the window to the form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_through_the_form_persists_the_session_and_sign_out_ends_it() -> Result<()> {
    let pre = prereqs_or_skip!("signing_in_through_the_form");
    let _one = ONE_AT_A_TIME.lock().await;
    let no_env_sign_in = [
        ("LEDGERLINE_SERVER", ""),
        ("LEDGERLINE_EMAIL", ""),
        ("LEDGERLINE_PASSWORD", ""),
    ];
    let mut app = App::launch(pre, &no_env_sign_in).await?;
    let s = app.s();
    let field = |id: &'static str| async move {
        until(
            &format!("the {id} field"),
            Duration::from_secs(20),
            || async { Ok(s.find(&format!("[data-testid=\"{id}\"]")).await.is_ok()) },
        )
        .await?;
        s.find(&format!("[data-testid=\"{id}\"]")).await
    };
    let server_url = app.server.url.clone();
    for (id, text) in [
        ("signin-server", server_url.as_str()),
        ("signin-email", OWNER),
        ("signin-password", server::PASSWORD),
    ] {
        let el = field(id).await?;
        s.clear(&el).await?;
        s.send_keys(&el, text).await?;
    }
    let submit = field("signin-submit").await?;
    let started = Instant::now();
    s.click(&submit).await?;
    until("Live after the form", Duration::from_secs(30), || async {
        Ok(app
            .view(&s.handles().await?[0], &[])
            .await?
            .state
            .as_deref()
            == Some("live"))
    })
    .await?;
    figure!(
        "signed in through the form: Live after {:?}",
        started.elapsed()
    );
    app.until_waiters(1).await?;
    let store: serde_json::Value =
        serde_json::from_slice(&std::fs::read(app.data_dir.join("ledgerline.json"))?)?;
    ensure!(
        store
            .as_object()
            .is_some_and(|o| o.keys().any(|k| k.contains("session"))),
        "no session in the store file: {store}"
    );

    let sign_out = field("sign-out").await?;
    s.click(&sign_out).await?;
    field("signin-submit").await?;
    app.until_waiters(0).await?;
    let store_file = app.data_dir.join("ledgerline.json");
    until(
        "the session gone from the store",
        Duration::from_secs(10),
        || async {
            let store: serde_json::Value = serde_json::from_slice(&std::fs::read(&store_file)?)?;
            Ok(store.get("session").is_none())
        },
    )
    .await?;
    app.quit().await
}
