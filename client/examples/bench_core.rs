//! Benchmarks of the desktop core's hot paths, printing their figures:
//!
//! 1. rows applied per second into the SQLite cache, in 1000-event batches
//!    (inserts and updates dated all over the year, then a burst of new rows
//!    dated today);
//! 2. event → subscriber latency inside the core (apply one poll answer in
//!    its transaction, publish, received by each of 6 subscribers): p50/p99;
//! 3. start with 200k cached rows → first page of rows (open the core,
//!    resume the stored session, `list_rows` with the default page);
//! 4. a month of 100k+ rows: its first page as a window asks it (200 rows,
//!    counted), every later keyset page of 5000, and the CSV export of the
//!    whole month (rows/s);
//! 5. the first sync of a 60k-row month from the real server (in-process,
//!    on loopback): sign in → the snapshot in the cache, then the month
//!    read as a window reads it (the core's part of the e2e `desktop`
//!    figure, without the webview).
//!
//! `cargo run --release -p ledgerline-client --example bench_core`
//! (`… -- apply`: the apply figures only, e.g. under `perf record`;
//! `… -- sync`: section 5 only)

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::{Datelike, Duration as Days, NaiveDate, Utc};
use ledgerline_client::{
    cache::Cache, session::StoredSession, telemetry::Telemetry, Core, CoreConfig, KvStore,
    MemoryStore, NoopEmitter, RowQuery,
};
use ledgerline_wire::{
    Currency, Event, EventRow, EventType, OrgInfo, PropertyInfo, Role, Transaction,
    TransactionKind, TransactionStatus, UserInfo,
};

const ROWS: u64 = 100_000;
const BATCH: u64 = 1_000;

/// Row `i`, on one of `days` dates (330: spread over the year, every batch
/// touches every index page; 1: a live burst of new rows for today).
fn txn(i: u64, version: i64, days: u64) -> Transaction {
    let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Days::days((i % days) as i64);
    let at = Utc::now();
    Transaction {
        // Shaped as the server's ids are (UUIDv7: time-ordered hex).
        id: format!("01930000-0000-7000-8000-{i:012x}"),
        kind: match i % 3 {
            0 => TransactionKind::Expense,
            _ => TransactionKind::Revenue,
        },
        property_id: format!("p{}", i % 5),
        amount_minor: 1_000 + (i as i64 % 9_000),
        currency: Currency::USD,
        category: ["rooms", "food", "spa", "laundry"][(i % 4) as usize].to_owned(),
        memo: format!("benchmark row {i}"),
        occurred_on: day,
        status: TransactionStatus::Pending,
        version,
        client_mutation_id: None,
        created_by: "u1".into(),
        created_at: at,
        updated_at: at,
        rejection_reason: None,
    }
}

fn event(seq: u64, kind: EventType, t: Transaction) -> Event {
    Event {
        seq,
        kind,
        property_id: t.property_id.clone(),
        client_mutation_id: None,
        affected_report_dates: vec![t.occurred_on],
        row: EventRow::Transaction(Box::new(t)),
        at: Utc::now(),
        moved_from_property_id: None,
    }
}

/// User + system CPU time of this process so far (all threads), from
/// `/proc/self/stat` in clock ticks of 1/100 s: on a shared machine a
/// steadier figure than wall time.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime: fields 14 and 15 of the line, 11 and 12 (from 0)
    // after the ")" that ends the command name.
    (ticks(11) + ticks(12)) / 100.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    if std::env::args().any(|a| a == "sync") {
        return first_sync(dir.path()).await;
    }
    let config = CoreConfig::new(dir.path());
    // The session section 3 resumes: its cache is the one filled here.
    let stored = StoredSession {
        // Nothing listens here: the start must not wait for the network.
        server_url: "http://127.0.0.1:9".into(),
        token: "t".into(),
        expires_at: Utc::now() + Days::days(1),
        user: UserInfo {
            id: "u1".into(),
            name: "Bench".into(),
            email: "bench@demo.test".into(),
            role: Role::Owner,
        },
        org: OrgInfo {
            id: "o1".into(),
            name: "Bench".into(),
        },
        properties: (0..5)
            .map(|p| PropertyInfo {
                id: format!("p{p}"),
                name: format!("P{p}"),
            })
            .collect(),
    };
    let cache = Cache::open(
        &config.cache_path(&stored.cache_file()),
        Arc::new(Telemetry::default()),
    )
    .await?;
    // As in the core: WAL checkpoints run beside the apply path.
    let stop = tokio_util::sync::CancellationToken::new();
    let checkpointer = cache.spawn_checkpointer(Duration::from_secs(1), stop.clone());

    // 1. Apply throughput.
    let mut seq = 0;
    let mut apply = |first: u64, version: i64, kind: EventType, days: u64| {
        let batches: Vec<Vec<Event>> = (0..ROWS / BATCH)
            .map(|b| {
                (0..BATCH)
                    .map(|i| {
                        seq += 1;
                        event(seq, kind, txn(first + b * BATCH + i, version, days))
                    })
                    .collect()
            })
            .collect();
        batches
    };
    let runs = [
        (
            "insert, dates spread over 330 days",
            apply(0, 1, EventType::Added, 330),
        ),
        (
            "update, dates spread over 330 days",
            apply(0, 2, EventType::Updated, 330),
        ),
        (
            "insert, all dated today (a live burst)",
            apply(ROWS, 1, EventType::Added, 1),
        ),
    ];
    for (name, batches) in runs {
        let started = Instant::now();
        let cpu = cpu_seconds();
        for batch in batches {
            let cursor = batch.last().unwrap().seq;
            // As the poll loop does: the answer is handed over.
            cache.apply_answer(batch, cursor).await?;
        }
        let secs = started.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu;
        println!(
            "apply ({name}): {ROWS} rows in {BATCH}-event batches: {:.0} ms, {:.0} rows/s ({:.0} rows per CPU-second of the process)",
            secs * 1e3,
            ROWS as f64 / secs,
            ROWS as f64 / cpu
        );
        // What a window reads right then: merged over the journal, no fold.
        let journaled = cache.journaled().await;
        let read = Instant::now();
        let page = cache.list(&RowQuery::default()).await?;
        let read = read.elapsed();
        // A far jump: 200 rows at offset 50,000 (a table read on demand).
        let jump = Instant::now();
        let far = cache
            .list(&RowQuery {
                offset: Some(50_000),
                limit: Some(200),
                ..RowQuery::default()
            })
            .await?;
        let jump = jump.elapsed();
        // The fold the journal then needs (in the background, in the app).
        let fold = Instant::now();
        cache.settle().await?;
        let fold = fold.elapsed().as_secs_f64();
        println!(
            "  then: first page + count over {journaled} journaled rows {:.1} ms ({} of {:?}); {} rows at offset 50000 {:.1} ms; folding them {:.0} ms; apply + fold {:.0} rows/s",
            read.as_secs_f64() * 1e3,
            page.rows.len(),
            page.total,
            far.rows.len(),
            jump.as_secs_f64() * 1e3,
            fold * 1e3,
            ROWS as f64 / (secs + fold)
        );
    }
    if std::env::args().any(|a| a == "apply") {
        return Ok(());
    }

    // 2. Event → subscriber latency, 6 subscribers, one event per poll answer.
    let subscribers = 6;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
    for _ in 0..subscribers {
        let mut sub = cache.subscribe().await?;
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(batch) = sub.batches.recv().await {
                let _ = tx.send((batch.seq, Instant::now()));
            }
        });
    }
    let samples = 2_000;
    let mut latencies = Vec::with_capacity(samples);
    for i in 0..samples as u64 {
        seq += 1;
        let e = event(seq, EventType::Updated, txn(i, 3 + i as i64, 330));
        let started = Instant::now();
        cache.apply_events(std::slice::from_ref(&e), seq).await?;
        let mut last = started;
        for _ in 0..subscribers {
            let (s, at) = rx.recv().await.expect("subscriber alive");
            assert_eq!(s, seq);
            last = last.max(at);
        }
        latencies.push((last - started).as_secs_f64() * 1e3);
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    println!(
        "event -> {subscribers} subscribers ({samples} single-event answers): p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().unwrap()
    );
    stop.cancel();
    checkpointer.await?;
    cache.close().await;

    // 3. Start with 100k cached rows → first page.
    let store = Arc::new(MemoryStore::new());
    store.set("session", serde_json::to_value(&stored)?)?;
    let started = Instant::now();
    let core = Core::open(config.clone(), store, Arc::new(NoopEmitter)).await?;
    let opened = started.elapsed();
    let page = core.list_rows(RowQuery::default()).await?;
    let first_page = started.elapsed();
    assert_eq!(page.total, Some(2 * ROWS));
    let filtered = Instant::now();
    let p = core
        .list_rows(RowQuery {
            property_id: Some("p3".into()),
            kind: Some(TransactionKind::Revenue),
            from: NaiveDate::from_ymd_opt(2026, 3, 1),
            to: NaiveDate::from_ymd_opt(2026, 9, 30),
            limit: Some(100),
            offset: Some(1_000),
            ..RowQuery::default()
        })
        .await?;
    println!(
        "start with {} cached rows -> first page of {} rows (total {}): {:.1} ms (open + resume {:.1} ms)",
        2 * ROWS,
        page.rows.len(),
        2 * ROWS,
        first_page.as_secs_f64() * 1e3,
        opened.as_secs_f64() * 1e3
    );
    println!(
        "filtered page (property + kind + date range, offset 1000; total {}): {:.1} ms",
        p.total.unwrap_or(0),
        filtered.elapsed().as_secs_f64() * 1e3
    );

    // 4. A month of 100k+ rows (the burst, all dated 2026-01-01, and the
    // spread rows of January).
    let january = RowQuery {
        from: NaiveDate::from_ymd_opt(2026, 1, 1),
        to: NaiveDate::from_ymd_opt(2026, 1, 31),
        ..RowQuery::default()
    };
    let started = Instant::now();
    let first = core
        .list_rows(RowQuery {
            limit: Some(200),
            ..january.clone()
        })
        .await?;
    let first_ms = started.elapsed().as_secs_f64() * 1e3;
    let month_rows = first.total.unwrap_or(0);
    let mut read = first.rows.len() as u64;
    let mut after = first.next;
    let started = Instant::now();
    let mut pages = 0;
    while let Some(key) = after.take() {
        let page = core
            .list_rows(RowQuery {
                limit: Some(ledgerline_client::export::EXPORT_PAGE),
                after: Some(key),
                ..january.clone()
            })
            .await?;
        read += page.rows.len() as u64;
        after = page.next;
        pages += 1;
    }
    let rest = started.elapsed().as_secs_f64();
    assert_eq!(read, month_rows, "the keyset pages list every row once");
    println!(
        "a {month_rows}-row month: first page (200 rows + the count) {first_ms:.1} ms; the other {} rows in {pages} keyset pages of 5000: {:.0} ms ({:.0} rows/s)",
        month_rows - 200,
        rest * 1e3,
        (month_rows - 200) as f64 / rest
    );
    let path = dir.path().join("january.csv");
    let started = Instant::now();
    let exported = core.export_csv(january, &path, |_| {}).await?;
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(exported.rows, month_rows);
    println!(
        "export of the {month_rows}-row month to CSV ({:.1} MB): {:.0} ms, {:.0} rows/s",
        std::fs::metadata(&path)?.len() as f64 / 1e6,
        secs * 1e3,
        month_rows as f64 / secs
    );
    core.shutdown().await;

    first_sync(dir.path()).await
}

/// Section 5: a server with 60,000 transactions this month, a fresh core
/// signing in to it.
async fn first_sync(dir: &std::path::Path) -> anyhow::Result<()> {
    const MONTH_ROWS: u32 = 60_000;
    let db = dir.join("server.sqlite");
    let url = format!("sqlite://{}", db.display());
    let store = ledgerline_server::Store::open(&url).await?;
    store.ensure_demo().await?;
    let today = Utc::now().date_naive();
    let first_of_month = today - Days::days(today.day0() as i64);
    ledgerline_server::store::demo::sqlite_busy_month(
        &url,
        "owner@demo.test",
        MONTH_ROWS,
        first_of_month,
        today.day0() + 1,
        Utc::now(),
    )
    .await?;
    let state =
        ledgerline_server::AppState::new(store, ledgerline_server::RealtimeConfig::default());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let server_url = format!("http://{}", listener.local_addr()?);
    let stop = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(ledgerline_server::run(listener, state, stop.clone()));

    // The server's part alone: every page of the list, as the snapshot asks them.
    let http = reqwest::Client::new();
    let login: ledgerline_wire::LoginResponse = http
        .post(format!("{server_url}/v1/auth/login"))
        .json(&serde_json::json!({"email": "owner@demo.test", "password": "demo"}))
        .send()
        .await?
        .json()
        .await?;
    let walked = Instant::now();
    let (mut after, mut pages, mut listed) = (None::<String>, 0, 0);
    loop {
        let mut rb = http
            .get(format!("{server_url}/v1/transactions"))
            .bearer_auth(&login.token)
            .query(&[("limit", CoreConfig::default().snapshot_page.to_string())]);
        if let Some(a) = &after {
            rb = rb.query(&[("after", a)]);
        }
        let page: ledgerline_wire::TransactionPage = rb.send().await?.json().await?;
        pages += 1;
        listed += page.items.len();
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    let walked = walked.elapsed();
    println!(
        "the server's list alone: {listed} rows in {pages} pages of {}: {:.0} ms",
        CoreConfig::default().snapshot_page,
        walked.as_secs_f64() * 1e3
    );

    let (emitter, mut events) = ledgerline_client::ChannelEmitter::new();
    let core = Core::open(
        CoreConfig::new(dir.join("fresh")),
        Arc::new(MemoryStore::new()),
        Arc::new(emitter),
    )
    .await?;
    let started = Instant::now();
    core.sign_in(&server_url, "owner@demo.test", "demo").await?;
    let signed_in = started.elapsed();
    while let Some(e) = events.recv().await {
        if let ledgerline_client::CoreEvent::SyncProgress(p) = e {
            if p.finished {
                break;
            }
        }
    }
    let synced = started.elapsed();
    let month = RowQuery {
        from: Some(first_of_month),
        to: Some(today),
        ..RowQuery::default()
    };
    let mut page = core
        .list_rows(RowQuery {
            limit: Some(200),
            ..month.clone()
        })
        .await?;
    let first_page = started.elapsed();
    let total = page.total.unwrap_or(0);
    let mut read = page.rows.len() as u64;
    while let Some(after) = page.next.take() {
        page = core
            .list_rows(RowQuery {
                limit: Some(ledgerline_client::export::EXPORT_PAGE),
                after: Some(after),
                ..month.clone()
            })
            .await?;
        read += page.rows.len() as u64;
    }
    assert_eq!(read, total);
    assert!(total >= u64::from(MONTH_ROWS));
    println!(
        "first sync of a {total}-row month from the server (loopback): signed in {:.0} ms, snapshot in the cache {:.0} ms, first page {:.0} ms, every row read as a window does {:.0} ms",
        signed_in.as_secs_f64() * 1e3,
        synced.as_secs_f64() * 1e3,
        first_page.as_secs_f64() * 1e3,
        started.elapsed().as_secs_f64() * 1e3
    );
    // What a table holding only the rows near the screen asks (as JSON, as
    // the window's `list_rows` answers): its count, and a far jump.
    let timed = |q: RowQuery| {
        let core = core.clone();
        async move {
            let t = Instant::now();
            let page = core.list_rows_json(q).await?;
            anyhow::Ok((t.elapsed().as_secs_f64() * 1e3, page.total))
        }
    };
    let (count_ms, _) = timed(RowQuery {
        limit: Some(1),
        ..month.clone()
    })
    .await?;
    let (end_ms, end_total) = timed(RowQuery {
        limit: Some(200),
        offset: Some(total.saturating_sub(200) as u32),
        ..month.clone()
    })
    .await?;
    let (middle_ms, _) = timed(RowQuery {
        limit: Some(200),
        offset: Some((total / 2) as u32),
        ..month.clone()
    })
    .await?;
    assert_eq!(end_total, Some(total));
    println!(
        "the month's count (limit 1) {count_ms:.1} ms; 200 rows at its end (offset {}) {end_ms:.1} ms; in its middle {middle_ms:.1} ms",
        total.saturating_sub(200)
    );
    // The revenue table: the month's revenue rows (a kind filter too).
    let revenue = RowQuery {
        kind: Some(ledgerline_wire::TransactionKind::Revenue),
        ..month.clone()
    };
    let (count_ms, revenue_total) = timed(RowQuery {
        limit: Some(1),
        ..revenue.clone()
    })
    .await?;
    let revenue_total = revenue_total.unwrap_or(0);
    let (end_ms, _) = timed(RowQuery {
        limit: Some(200),
        offset: Some(revenue_total.saturating_sub(200) as u32),
        ..revenue.clone()
    })
    .await?;
    println!(
        "its revenue table ({revenue_total} rows): count {count_ms:.1} ms; 200 rows at its end {end_ms:.1} ms"
    );
    core.shutdown().await;
    stop.cancel();
    let _ = server.await;
    Ok(())
}
