//! Fleet benchmark: writes per second and cross-instance write→delivery
//! latency for one SQLite instance, one Postgres instance and three
//! Postgres instances on NATS — in one run, on one machine — and the cost
//! of the bus's subject scheme (a message skipped by subject against one
//! decoded and published).
//!
//! `scripts/bench.sh fleet` (it starts the private Postgres and NATS of
//! `scripts/services.sh`), or by hand with `LEDGERLINE_TEST_PG_URL` and
//! `nats-server` on the PATH: `cargo bench -p ledgerline-server --bench fleet`.
//! Knobs: `FLEET_SECS` per scenario (default 10), `FLEET_ORGS` (default 40),
//! `FLEET_WRITERS` concurrent writers (default 16).
//!
//! Each scenario seeds `FLEET_ORGS` orgs with the release binary, starts the
//! instances as child processes, signs in each org's owner, parks one
//! long-poll per org on instance `j + 1` (another instance than the one its
//! writes go to, when there are several), and then runs the writers: each
//! write is a `POST /v1/transactions` to instance `j` of a random org. For
//! every event the poller receives, the time since its write was *sent*
//! (write→delivery, including the commit) and since the write's response
//! came back (delivery after the response) is recorded.

use std::{
    collections::HashMap,
    process::Stdio,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering::Relaxed},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use ledgerline_server::{realtime::Hub, RealtimeConfig, Store};
use ledgerline_wire::{Event, EventRow, EventType, LoginResponse, PollResponse};
use serde_json::json;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};
use tokio_util::sync::CancellationToken;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> Result<()> {
    let secs = env_or("FLEET_SECS", 10);
    let orgs = env_or("FLEET_ORGS", 40) as usize;
    let writers = env_or("FLEET_WRITERS", 16) as usize;
    subject_costs().await?;
    poll_cpu(secs.min(5)).await?;
    let admin = std::env::var("LEDGERLINE_TEST_PG_URL")
        .context("LEDGERLINE_TEST_PG_URL: run through scripts/bench.sh fleet")?;
    let nats = NatsServer::start().await?;
    println!(
        "\n{orgs} orgs, {writers} concurrent writers, {secs} s per scenario; one long-poll per org"
    );
    println!(
        "| setup | instances | writes/s | write→delivery p50 | p99 | after response p50 | p99 | delivered |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let dir = tempfile::tempdir()?;
    let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
    for (name, url, instances, bus) in [
        ("SQLite", sqlite, 1, None),
        ("Postgres", pg_database(&admin).await?, 1, Some(nats.url())),
        (
            "Postgres + NATS",
            pg_database(&admin).await?,
            3,
            Some(nats.url()),
        ),
    ] {
        let r = scenario(&url, instances, bus.as_deref(), orgs, writers, secs).await?;
        println!(
            "| {name} | {instances} | {:.0} | {} | {} | {} | {} | {}/{} |",
            r.writes as f64 / secs as f64,
            ms(r.from_send.p(50)),
            ms(r.from_send.p(99)),
            ms(r.from_response.p(50)),
            ms(r.from_response.p(99)),
            r.delivered,
            r.writes
        );
    }
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// What the bus does with an event message of an org: skip it by subject,
/// or decode and publish it.
async fn subject_costs() -> Result<()> {
    let store = Store::open("sqlite::memory:").await?;
    let hub = Hub::new(
        RealtimeConfig::default().hub(),
        Arc::new(store),
        &CancellationToken::new(),
    );
    let event = Event {
        seq: 1,
        kind: EventType::Added,
        property_id: "0190c1d2-0000-7000-8000-000000000001".into(),
        row: EventRow::Deleted {
            id: "0190c1d2-0000-7000-8000-0000000000aa".into(),
        },
        client_mutation_id: Some("cmid-0001".into()),
        affected_report_dates: vec![chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()],
        at: chrono::Utc::now(),
        moved_from_property_id: None,
    };
    let n = 200_000u64;
    let orgs: Vec<String> = (0..1000).map(|i| format!("org-{i:04}")).collect();
    let started = Instant::now();
    let mut wanted = 0;
    for i in 0..n {
        wanted += u64::from(hub.wants(&orgs[i as usize % orgs.len()]));
    }
    let skip = started.elapsed() / n as u32;
    assert_eq!(wanted, 0);
    let started = Instant::now();
    for i in 0..n {
        let mut e = event.clone();
        e.seq = i / 1000 + 1;
        let payload = serde_json::to_vec(&[e])?;
        let org = &orgs[i as usize % orgs.len()];
        let events: Vec<Event> = serde_json::from_slice(&payload)?;
        hub.publish(org, events);
    }
    let take = started.elapsed() / n as u32;
    println!("bus subject scheme (ll.ev.<org_id>, one event per message, {n} messages):");
    println!("| message | cost per message |");
    println!("|---|---:|");
    println!("| skipped by subject (no buffer, no interest) | {skip:?} |");
    println!("| taken: encode + decode + publish to the hub | {take:?} |");
    Ok(())
}

/// CPU the server spends per poll request that is answered at once from the
/// buffer (one event), with the session cache on and off (off: a database
/// lookup of the session per request, as before the cache). Read from
/// /proc: the server's user + system time over the run.
async fn poll_cpu(secs: u64) -> Result<()> {
    println!("\npoll path CPU per request (answered at once from the buffer, 1 event; 4 clients, {secs} s):");
    println!("| session cache | polls/s | server CPU per poll |");
    println!("|---|---:|---:|");
    for (name, cache_ms) in [("on (60 s)", "60000"), ("off: DB lookup per poll", "0")] {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("cpu.db").display());
        let mut child = server()
            .args(["serve", "--addr", "127.0.0.1:0", "--database-url", &url])
            .args(["--session-cache-ms", cache_ms])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
        let line = lines.next_line().await?.context("no listening line")?;
        let base = line
            .strip_prefix("listening on ")
            .context("listening")?
            .to_owned();
        let pid = child.id().context("pid")?;
        let client = reqwest::Client::new();
        let login: LoginResponse = client
            .post(format!("{base}/v1/auth/login"))
            .json(&json!({"email": "owner@demo.test", "password": "demo"}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        client
            .post(format!("{base}/v1/transactions"))
            .bearer_auth(&login.token)
            .json(&json!({
                "kind": "revenue", "property_id": login.properties[0].id, "amount_minor": 100,
                "currency": "USD", "category": "rooms", "memo": "", "occurred_on": "2026-11-20",
            }))
            .send()
            .await?
            .error_for_status()?;
        let cpu_before = process_cpu(pid)?;
        let deadline = Instant::now() + Duration::from_secs(secs);
        let count = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (client, base, token, count) = (
                client.clone(),
                base.clone(),
                login.token.clone(),
                Arc::clone(&count),
            );
            tasks.push(tokio::spawn(async move {
                while Instant::now() < deadline {
                    let ok = client
                        .get(format!("{base}/v1/realtime/poll?cursor=0&timeout_ms=1000"))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success());
                    count.fetch_add(u64::from(ok), Relaxed);
                }
            }));
        }
        for t in tasks {
            t.await?;
        }
        let cpu = process_cpu(pid)? - cpu_before;
        let n = count.load(Relaxed).max(1);
        println!(
            "| {name} | {:.0} | {:.1} µs |",
            n as f64 / secs as f64,
            cpu.as_secs_f64() * 1e6 / n as f64
        );
        let _ = child.kill().await;
    }
    Ok(())
}

/// User + system CPU time of process `pid` so far.
fn process_cpu(pid: u32) -> Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) close with ')'.
    let rest = stat.rsplit_once(')').context("stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    // USER_HZ is 100 on Linux.
    Ok(Duration::from_millis(ticks * 10))
}

async fn pg_database(admin: &str) -> Result<String> {
    sqlx::any::install_default_drivers();
    let name = format!("bench_{}", uuid::Uuid::new_v4().simple());
    let pool = sqlx::AnyPool::connect(admin).await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&pool)
        .await?;
    pool.close().await;
    let (base, _) = admin.rsplit_once('/').context("admin url ends in /db")?;
    Ok(format!("{base}/{name}"))
}

struct NatsServer {
    port: u16,
    _child: Child,
}

impl NatsServer {
    async fn start() -> Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let bin = std::env::var("LEDGERLINE_NATS_SERVER").unwrap_or_else(|_| "nats-server".into());
        let child = Command::new(bin)
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("nats-server")?;
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(NatsServer {
                    port,
                    _child: child,
                });
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        bail!("nats-server did not start")
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

fn server() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ledgerline-server"));
    for (key, _) in std::env::vars() {
        if key.starts_with("LEDGERLINE_") {
            command.env_remove(key);
        }
    }
    command.env("RUST_LOG", "warn").kill_on_drop(true);
    command
}

async fn start(url: &str, bus: Option<&str>) -> Result<(String, Child)> {
    let mut args = vec!["serve", "--addr", "127.0.0.1:0", "--database-url", url];
    if let Some(bus) = bus {
        args.extend(["--nats-url", bus]);
    }
    let mut child = server()
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
    let line = lines.next_line().await?.context("no listening line")?;
    let base = line
        .strip_prefix("listening on ")
        .context("listening line")?
        .to_owned();
    Ok((base, child))
}

#[derive(Default)]
struct Samples(Vec<Duration>);

impl Samples {
    fn p(&self, q: usize) -> Duration {
        let mut v = self.0.clone();
        v.sort();
        v.get((v.len().saturating_sub(1)) * q / 100)
            .copied()
            .unwrap_or_default()
    }
}

struct Outcome {
    writes: u64,
    delivered: u64,
    from_send: Samples,
    from_response: Samples,
}

/// When each write was sent and answered, by client_mutation_id.
type Sent = Mutex<HashMap<String, (Instant, Option<Instant>)>>;

async fn scenario(
    url: &str,
    instances: usize,
    bus: Option<&str>,
    orgs: usize,
    writers: usize,
    secs: u64,
) -> Result<Outcome> {
    let seeded = server()
        .args(["seed", "--orgs", &orgs.to_string(), "--database-url", url])
        .output()
        .await?;
    if !seeded.status.success() {
        bail!("seed failed: {seeded:?}");
    }
    let mut children = Vec::new();
    let mut bases = Vec::new();
    for _ in 0..instances {
        let (base, child) = start(url, bus).await?;
        bases.push(base);
        children.push(child);
    }
    let client = reqwest::Client::new();
    if bus.is_some() {
        for base in &bases {
            for _ in 0..400 {
                let text = client
                    .get(format!("{base}/metrics"))
                    .send()
                    .await?
                    .text()
                    .await?;
                if text.lines().any(|l| l == "ledgerline_bus_connected 1") {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
    }
    // Each seeded org's owner.
    let mut owners = Vec::new();
    for k in 1..=orgs {
        let login: LoginResponse = client
            .post(format!("{}/v1/auth/login", bases[k % instances]))
            .json(&json!({"email": format!("user0@org{k}.seed.test"), "password": "demo"}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let property = login.properties[0].id.clone();
        owners.push((login.token, property));
    }

    let sent: Arc<Sent> = Arc::default();
    let delivered = Arc::new(Mutex::new((Samples::default(), Samples::default(), 0u64)));
    let stop = Arc::new(AtomicBool::new(false));
    let mut pollers = Vec::new();
    for (j, (token, _)) in owners.iter().enumerate() {
        let base = bases[(j + 1) % instances].clone();
        let (client, token, sent, delivered, stop) = (
            client.clone(),
            token.clone(),
            Arc::clone(&sent),
            Arc::clone(&delivered),
            Arc::clone(&stop),
        );
        pollers.push(tokio::spawn(async move {
            let mut cursor: Option<String> = None;
            while !stop.load(Relaxed) {
                let mut q = vec![("timeout_ms", "2000".to_owned())];
                if let Some(c) = &cursor {
                    q.push(("cursor", c.clone()));
                }
                let Ok(r) = client
                    .get(format!("{base}/v1/realtime/poll"))
                    .bearer_auth(&token)
                    .query(&q)
                    .send()
                    .await
                else {
                    continue;
                };
                let Ok(r) = r.json::<PollResponse>().await else {
                    continue;
                };
                let now = Instant::now();
                let sent = sent.lock().unwrap();
                let mut d = delivered.lock().unwrap();
                for e in &r.events {
                    if let Some((at, answered)) =
                        e.client_mutation_id.as_ref().and_then(|c| sent.get(c))
                    {
                        d.0 .0.push(now - *at);
                        if let Some(answered) = answered {
                            d.1 .0.push(now.saturating_duration_since(*answered));
                        }
                        d.2 += 1;
                    }
                }
                cursor = Some(r.cursor);
            }
        }));
    }
    // Let every poller park once.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let writes = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (client, bases, owners, sent, writes) = (
            client.clone(),
            bases.clone(),
            owners.clone(),
            Arc::clone(&sent),
            Arc::clone(&writes),
        );
        tasks.push(tokio::spawn(async move {
            let mut n = 0usize;
            while Instant::now() < deadline {
                let j = (w * 7919 + n * 31) % owners.len();
                let (token, property) = &owners[j];
                let cmid = format!("b{w}-{n}");
                n += 1;
                sent.lock()
                    .unwrap()
                    .insert(cmid.clone(), (Instant::now(), None));
                let r = client
                    .post(format!("{}/v1/transactions", bases[j % bases.len()]))
                    .bearer_auth(token)
                    .json(&json!({
                        "kind": "revenue", "property_id": property, "amount_minor": 100,
                        "currency": "USD", "category": "rooms", "memo": "",
                        "occurred_on": "2026-11-20", "client_mutation_id": cmid,
                    }))
                    .send()
                    .await;
                if matches!(&r, Ok(r) if r.status().is_success()) {
                    if let Some(entry) = sent.lock().unwrap().get_mut(&cmid) {
                        entry.1 = Some(Instant::now());
                    }
                    writes.fetch_add(1, Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    // Give the last deliveries a moment, then stop the pollers.
    let total = writes.load(Relaxed);
    for _ in 0..200 {
        if delivered.lock().unwrap().2 >= total {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    stop.store(true, Relaxed);
    for p in pollers {
        p.abort();
    }
    for mut c in children {
        let _ = c.kill().await;
    }
    let (from_send, from_response, count) = std::mem::take(&mut *delivered.lock().unwrap());
    Ok(Outcome {
        writes: total,
        delivered: count,
        from_send,
        from_response,
    })
}
