//! Long-poll benchmark: idle-waiter memory and publish→delivery latency of the
//! real server, run as a separate process so the clients' memory is not
//! counted.
//!
//! `cargo bench -p ledgerline-server --bench longpoll` (or `make bench`).
//! Knobs (environment): `LONGPOLL_MAX_WAITERS` (default: what the open-file
//! limit allows, at most 50 000), `LONGPOLL_ROUNDS` (sequential publishes
//! per latency level, default 400), `LONGPOLL_LOAD_SECS` (default 5).
//!
//! What it does:
//! 1. Seeds a fresh SQLite file with `ceil(max / 5)` orgs × 5 properties × 5
//!    users and one session per user (direct inserts: no argon2 per login).
//! 2. Starts `ledgerline-server serve` on 127.0.0.1:0 as a child process.
//! 3. Opens idle connections to price them without a long-poll: accepted
//!    with no request yet, then keep-alive after one `GET /healthz`; closes
//!    them.
//! 4. Parks waiters — one long-poll per session, 5 per org, raw HTTP/1.1 on
//!    keep-alive connections — in steps (1k, 10k, max), reading the child's
//!    `VmRSS` and the kernel's TCP memory at each step once the server's
//!    waiters gauge says they are all parked.
//! 5. At 1k and 10k waiters: sequential writes (`POST /v1/transactions`,
//!    owner token, random org and property) and the time from sending the
//!    write to each waiter that may see it receiving the event. That is
//!    write→delivery: it includes the write's authentication and SQLite
//!    commit; the write's own round trip is printed beside it. Then
//!    `LONGPOLL_LOAD_SECS` of 8 concurrent writers for deliveries per second.
//! 6. SIGTERM with every waiter parked: how long the graceful shutdown takes.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering::Relaxed},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use ledgerline_server::{domain::token::BearerToken, store::seed::SeedPlan, Store};
use ledgerline_wire::PollResponse;
use rand::{seq::SliceRandom, Rng};
use sqlx::{Row, SqlitePool};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
    process::Child,
    sync::{oneshot, Semaphore},
};

const USERS_PER_ORG: u32 = 5;
const PROPERTIES_PER_ORG: u32 = 5;
const WRITERS_UNDER_LOAD: usize = 8;
/// File descriptors the server needs besides its connections (listener,
/// SQLite, epoll, stdio, …), with room to spare.
const FD_RESERVE: usize = 200;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn open_file_limit() -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024)
}

/// One session that parks a long-poll.
struct Waiter {
    org: usize,
    token: String,
    /// A staff member's one property; `None` sees the whole org.
    sees: Option<String>,
}

struct Org {
    id: String,
    owner_token: String,
    properties: Vec<String>,
}

#[tokio::main]
async fn main() -> Result<()> {
    let fd_limit = open_file_limit();
    let max_waiters = env_or("LONGPOLL_MAX_WAITERS", (fd_limit - FD_RESERVE).min(50_000));
    if max_waiters + FD_RESERVE > fd_limit {
        bail!(
            "{max_waiters} waiters need ~{} open files; the limit is {fd_limit} (ulimit -n)",
            max_waiters + FD_RESERVE
        );
    }
    let rounds: usize = env_or("LONGPOLL_ROUNDS", 400);
    let load_secs: u64 = env_or("LONGPOLL_LOAD_SECS", 5);
    println!(
        "longpoll: up to {max_waiters} waiters (open-file limit {fd_limit} per process), {rounds} rounds per level, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let (orgs, waiters) = seed(&url, max_waiters).await?;

    let mut server = Server::start(&url).await?;
    let addr = server.addr;
    let mut control = Conn::connect(addr).await?;
    control.request(&get("/healthz", None)).await?;
    let base = server.memory()?;
    println!(
        "server pid {} on {addr}: baseline VmRSS {} KiB",
        server.pid, base.rss_kib
    );

    let idle = idle_connections(&server, addr, 5_000.min(max_waiters)).await?;

    let tracker = Arc::new(Mutex::new(Tracker::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut opened = 0usize;
    let mut table = Vec::new();
    let mut levels: Vec<usize> = [1_000, 10_000]
        .into_iter()
        .filter(|&n| n < max_waiters)
        .collect();
    levels.push(max_waiters);
    let connect_gate = Arc::new(Semaphore::new(256));
    for &level in &levels {
        let started = Instant::now();
        for w in &waiters[opened..level] {
            let (token, addr) = (w.token.clone(), addr);
            let (tracker, stop, gate) = (
                Arc::clone(&tracker),
                Arc::clone(&stop),
                Arc::clone(&connect_gate),
            );
            tokio::spawn(async move {
                if let Err(err) = wait_loop(addr, token, tracker, &stop, gate).await {
                    if !stop.load(Relaxed) {
                        eprintln!("waiter failed: {err:#}");
                    }
                }
            });
        }
        opened = level;
        wait_for_waiters(&mut control, level).await?;
        let mem = server.memory()?;
        println!(
            "{level} waiters parked in {:.1}s: VmRSS {} KiB, kernel TCP {} KiB",
            started.elapsed().as_secs_f64(),
            mem.rss_kib,
            mem.tcp_kib
        );
        let mut row = Step {
            waiters: level,
            mem,
            latency: None,
            load: None,
        };
        if level <= 10_000 {
            let active = &orgs[..level / USERS_PER_ORG as usize];
            row.latency = Some(latency(addr, active, &waiters, &tracker, rounds).await?);
            if level == 10_000.min(max_waiters) {
                row.load = Some(load(addr, active, &waiters, &tracker, load_secs).await?);
            }
        }
        table.push(row);
    }

    stop.store(true, Relaxed);
    let shutdown = server.terminate().await?;
    print_table(&base, &idle, &table, shutdown);
    Ok(())
}

// ---------------------------------------------------------------- seeding

async fn seed(url: &str, waiters: usize) -> Result<(Vec<Org>, Vec<Waiter>)> {
    let started = Instant::now();
    let store = Store::open(url).await?;
    store.ensure_demo().await?;
    let orgs = waiters.div_ceil(USERS_PER_ORG as usize) as u64;
    let plan = SeedPlan {
        orgs,
        properties: PROPERTIES_PER_ORG,
        users: USERS_PER_ORG,
    };
    // Nobody logs in: the sessions are inserted below.
    store.seed(plan, "unused").await?;
    store.close().await;

    let db = SqlitePool::connect(url).await?;
    let mut properties: HashMap<String, Vec<String>> = HashMap::new();
    for row in sqlx::query(
        "SELECT p.id, p.org_id FROM properties p JOIN orgs o ON o.id = p.org_id
         WHERE o.name LIKE 'Seed Org %' ORDER BY p.org_id, p.name",
    )
    .fetch_all(&db)
    .await?
    {
        properties
            .entry(row.get("org_id"))
            .or_default()
            .push(row.get("id"));
    }
    let users = sqlx::query(
        "SELECT u.id, u.org_id, u.role, up.property_id FROM users u
         LEFT JOIN user_properties up ON up.user_id = u.id
         WHERE u.email LIKE '%.seed.test' ORDER BY u.org_id, u.email",
    )
    .fetch_all(&db)
    .await?;
    let expires = chrono::Utc::now().timestamp_millis() + 86_400_000;
    let mut tx = db.begin().await?;
    let mut org_index: HashMap<String, usize> = HashMap::new();
    let mut out_orgs: Vec<Org> = Vec::new();
    let mut out_waiters = Vec::new();
    for row in users {
        let (user_id, org_id, role): (String, String, String) =
            (row.get("id"), row.get("org_id"), row.get("role"));
        let token = BearerToken::generate();
        sqlx::query(
            "INSERT INTO sessions (id, token_hash, user_id, org_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(token.hash())
        .bind(&user_id)
        .bind(&org_id)
        .bind(expires - 86_400_000)
        .bind(expires)
        .execute(&mut *tx)
        .await?;
        let org = *org_index.entry(org_id.clone()).or_insert_with(|| {
            out_orgs.push(Org {
                id: org_id.clone(),
                owner_token: String::new(),
                properties: properties.remove(&org_id).unwrap_or_default(),
            });
            out_orgs.len() - 1
        });
        if role == "owner" {
            out_orgs[org].owner_token = token.as_str().to_owned();
        }
        out_waiters.push(Waiter {
            org,
            token: token.as_str().to_owned(),
            sees: (role == "staff").then(|| row.get("property_id")),
        });
    }
    tx.commit().await?;
    db.close().await;
    out_waiters.truncate(waiters);
    println!(
        "seeded {orgs} orgs, {} sessions in {:.1}s",
        out_waiters.len(),
        started.elapsed().as_secs_f64()
    );
    Ok((out_orgs, out_waiters))
}

// ---------------------------------------------------------------- the server

struct Server {
    child: Child,
    pid: u32,
    addr: SocketAddr,
}

#[derive(Debug, Clone, Copy)]
struct Memory {
    rss_kib: u64,
    /// The kernel's memory for all TCP sockets (not in any process's RSS).
    tcp_kib: u64,
}

impl Server {
    async fn start(url: &str) -> Result<Server> {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ledgerline-server"))
            .args(["serve", "--addr", "127.0.0.1:0", "--database-url", url])
            .args(["--poll-timeout-ms", "600000"])
            // The bare and keep-alive connections priced in step 3 sit
            // without a request for as long as the measurement takes; every
            // connection the bench opens fits the budget.
            .args([
                "--header-timeout-ms",
                "600000",
                "--idle-timeout-ms",
                "600000",
            ])
            .args(["--max-connections", &(open_file_limit() - 50).to_string()])
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting ledgerline-server")?;
        let pid = child.id().context("child pid")?;
        let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .context("server start timed out")??
            .context("server exited")?;
        let addr = line
            .strip_prefix("listening on http://")
            .context("unexpected first line")?
            .parse()?;
        Ok(Server { child, pid, addr })
    }

    fn memory(&self) -> Result<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        let rss_kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .context("VmRSS")?;
        let sockstat = std::fs::read_to_string("/proc/net/sockstat")?;
        let pages: u64 = sockstat
            .lines()
            .find(|l| l.starts_with("TCP:"))
            .and_then(|l| {
                let mut it = l.split_whitespace();
                it.position(|w| w == "mem")?;
                it.next()?.parse().ok()
            })
            .unwrap_or(0);
        Ok(Memory {
            rss_kib,
            tcp_kib: pages * 4,
        })
    }

    /// SIGTERM, and how long until the process exited.
    async fn terminate(&mut self) -> Result<Duration> {
        let started = Instant::now();
        std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()?;
        tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .context("the server did not exit within 60 s of SIGTERM")??;
        Ok(started.elapsed())
    }
}

/// RSS per connection held open by the server in two idle states: accepted
/// with no request yet, and keep-alive after one answered `GET /healthz`.
async fn idle_connections(server: &Server, addr: SocketAddr, n: usize) -> Result<Idle> {
    let before = server.memory()?;
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        conns.push(Conn::connect(addr).await?);
    }
    // Let the server accept and poll them all once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let bare = server.memory()?;
    for conn in &mut conns {
        conn.request(&get("/healthz", None)).await?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let kept = server.memory()?;
    drop(conns);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let per = |a: &Memory, b: &Memory| (a.rss_kib as f64 - b.rss_kib as f64) * 1024.0 / n as f64;
    let idle = Idle {
        n,
        bare: per(&bare, &before),
        keep_alive: per(&kept, &before),
    };
    println!(
        "{n} idle connections: {:.0} B RSS each with no request, {:.0} B after one request (keep-alive)",
        idle.bare, idle.keep_alive
    );
    Ok(idle)
}

struct Idle {
    n: usize,
    bare: f64,
    keep_alive: f64,
}

// ---------------------------------------------------------------- HTTP

/// A keep-alive HTTP/1.1 connection speaking just enough of the protocol.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

fn get(path: &str, token: Option<&str>) -> String {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    format!("GET {path} HTTP/1.1\r\nHost: bench\r\n{auth}\r\n")
}

fn post_json(path: &str, token: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

impl Conn {
    /// Connects from one of 64 loopback source addresses in turn, so ~20k
    /// connections (plus the previous run's in TIME_WAIT) do not run out of
    /// ephemeral ports on one source address.
    async fn connect(addr: SocketAddr) -> Result<Conn> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let source = 2 + (NEXT.fetch_add(1, Relaxed) % 64) as u8;
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind(SocketAddr::from(([127, 0, 0, source], 0)))?;
        let stream = socket.connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::new(),
        })
    }

    /// Sends `request`, returns the status and the body.
    async fn request(&mut self, request: &str) -> Result<(u16, Vec<u8>)> {
        self.stream.write_all(request.as_bytes()).await?;
        self.response().await
    }

    async fn response(&mut self) -> Result<(u16, Vec<u8>)> {
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                bail!("connection closed");
            }
            self.buf.extend_from_slice(&chunk[..n]);
        };
        let head = std::str::from_utf8(&self.buf[..head_end])?;
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .context("status line")?
            .parse()?;
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .context("no content-length")?;
        while self.buf.len() < head_end + length {
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                bail!("connection closed mid-body");
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
        let body = self.buf[head_end..head_end + length].to_vec();
        self.buf.drain(..head_end + length);
        Ok((status, body))
    }
}

async fn metric(control: &mut Conn, series: &str) -> Result<f64> {
    let (_, body) = control.request(&get("/metrics", None)).await?;
    let text = String::from_utf8(body)?;
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .with_context(|| format!("no {series}"))
}

async fn wait_for_waiters(control: &mut Conn, n: usize) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let parked = metric(control, "ledgerline_realtime_waiters").await?;
        if parked as usize >= n {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("only {parked} of {n} waiters parked");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------- waiters

#[derive(Default)]
struct Tracker {
    pending: HashMap<String, Pending>,
    latencies: Vec<Duration>,
    /// Every tracked delivery: which write, when.
    log: Vec<(String, Instant)>,
    delivered: u64,
}

struct Pending {
    sent: Instant,
    remaining: usize,
    done: Option<oneshot::Sender<()>>,
}

impl Tracker {
    fn delivered(&mut self, id: &str, at: Instant) {
        self.delivered += 1;
        if let Some(p) = self.pending.get_mut(id) {
            self.latencies.push(at - p.sent);
            self.log.push((id.to_owned(), at));
            p.remaining -= 1;
            if p.remaining == 0 {
                if let Some(done) = p.done.take() {
                    let _ = done.send(());
                }
                self.pending.remove(id);
            }
        }
    }
}

/// One session's long-poll loop, from the head (seeded orgs start at 0).
async fn wait_loop(
    addr: SocketAddr,
    token: String,
    tracker: Arc<Mutex<Tracker>>,
    stop: &AtomicBool,
    gate: Arc<Semaphore>,
) -> Result<()> {
    let permit = gate.acquire_owned().await?;
    let mut conn = Conn::connect(addr).await?;
    // Sent back as received (`epoch.seq`); 0 is any database's start.
    let mut cursor = String::from("0");
    let mut first = Some(permit);
    while !stop.load(Relaxed) {
        let request = get(&format!("/v1/realtime/poll?cursor={cursor}"), Some(&token));
        conn.stream.write_all(request.as_bytes()).await?;
        // Sent: the next connection may start.
        drop(first.take());
        let (status, body) = conn.response().await?;
        let at = Instant::now();
        if status != 200 {
            bail!("poll: {status} {}", String::from_utf8_lossy(&body));
        }
        let r: PollResponse = serde_json::from_slice(&body)?;
        if !r.events.is_empty() {
            let mut tracker = tracker.lock().unwrap();
            for e in &r.events {
                if let Some(id) = &e.client_mutation_id {
                    tracker.delivered(id, at);
                }
            }
        }
        cursor = r.cursor;
        if let Some(ms) = r.retry_after_ms {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- writes

static NEXT_WRITE: AtomicU64 = AtomicU64::new(0);

/// Registers and sends one write to a random org among `orgs`; returns its
/// round trip and a receiver completed when every waiter that may see it
/// has it.
async fn write(
    conn: &mut Conn,
    orgs: &[Org],
    waiters: &[Waiter],
    tracker: &Mutex<Tracker>,
) -> Result<(String, Instant, Duration, oneshot::Receiver<()>)> {
    let (o, property) = {
        let mut rng = rand::thread_rng();
        let o = rng.gen_range(0..orgs.len());
        (o, orgs[o].properties.choose(&mut rng).unwrap().clone())
    };
    let org = &orgs[o];
    let expected = waiters
        .iter()
        .skip(o * USERS_PER_ORG as usize)
        .take(USERS_PER_ORG as usize)
        .filter(|w| w.org == o && w.sees.as_ref().is_none_or(|p| *p == property))
        .count();
    let id = format!("bench-{}", NEXT_WRITE.fetch_add(1, Relaxed));
    let body = serde_json::json!({
        "kind": "expense", "property_id": property, "amount_minor": 1_999,
        "currency": "USD", "category": "supplies", "memo": "bench",
        "occurred_on": "2026-11-20", "client_mutation_id": id,
    })
    .to_string();
    let (done, delivered) = oneshot::channel();
    let sent = Instant::now();
    tracker.lock().unwrap().pending.insert(
        id.clone(),
        Pending {
            sent,
            remaining: expected,
            done: Some(done),
        },
    );
    let (status, text) = conn
        .request(&post_json("/v1/transactions", &org.owner_token, &body))
        .await?;
    if status != 201 {
        bail!(
            "write to {}: {status} {}",
            org.id,
            String::from_utf8_lossy(&text)
        );
    }
    let responded = Instant::now();
    Ok((id, responded, responded - sent, delivered))
}

struct Latency {
    deliveries: usize,
    p50: Duration,
    p99: Duration,
    max: Duration,
    write_p50: Duration,
    write_p99: Duration,
    /// Delivery time minus the write's response time, in µs (negative: the
    /// event arrived before the writer's own response).
    after_response_p50_us: i64,
    after_response_p99_us: i64,
    missing: usize,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn latency(
    addr: SocketAddr,
    orgs: &[Org],
    waiters: &[Waiter],
    tracker: &Mutex<Tracker>,
    rounds: usize,
) -> Result<Latency> {
    let mut conn = Conn::connect(addr).await?;
    {
        let mut t = tracker.lock().unwrap();
        t.latencies.clear();
        t.log.clear();
    }
    let mut writes = Vec::with_capacity(rounds);
    let mut responded = HashMap::with_capacity(rounds);
    let mut missing = 0;
    for _ in 0..rounds {
        let (id, at, rtt, delivered) = write(&mut conn, orgs, waiters, tracker).await?;
        writes.push(rtt);
        responded.insert(id, at);
        if tokio::time::timeout(Duration::from_secs(5), delivered)
            .await
            .is_err()
        {
            missing += 1;
        }
    }
    let (mut lat, log) = {
        let mut t = tracker.lock().unwrap();
        (std::mem::take(&mut t.latencies), std::mem::take(&mut t.log))
    };
    lat.sort();
    writes.sort();
    let mut after: Vec<i64> = log
        .iter()
        .filter_map(|(id, at)| {
            let responded = *responded.get(id)?;
            Some(if *at >= responded {
                (*at - responded).as_micros() as i64
            } else {
                -((responded - *at).as_micros() as i64)
            })
        })
        .collect();
    after.sort();
    let pick = |p: f64| {
        after
            .get(((after.len().max(1) - 1) as f64 * p).round() as usize)
            .copied()
            .unwrap_or(0)
    };
    Ok(Latency {
        after_response_p50_us: pick(0.50),
        after_response_p99_us: pick(0.99),
        write_p99: percentile(&writes, 0.99),
        deliveries: lat.len(),
        p50: percentile(&lat, 0.50),
        p99: percentile(&lat, 0.99),
        max: lat.last().copied().unwrap_or_default(),
        write_p50: percentile(&writes, 0.50),
        missing,
    })
}

struct Load {
    writes_per_sec: f64,
    deliveries_per_sec: f64,
    p50: Duration,
    p99: Duration,
}

async fn load(
    addr: SocketAddr,
    orgs: &[Org],
    waiters: &[Waiter],
    tracker: &Mutex<Tracker>,
    secs: u64,
) -> Result<Load> {
    {
        let mut t = tracker.lock().unwrap();
        t.latencies.clear();
        t.log.clear();
        t.delivered = 0;
    }
    let started = Instant::now();
    let until = started + Duration::from_secs(secs);
    let writers = (0..WRITERS_UNDER_LOAD).map(|_| async {
        let mut conn = Conn::connect(addr).await?;
        let mut n = 0u64;
        while Instant::now() < until {
            write(&mut conn, orgs, waiters, tracker).await?;
            n += 1;
        }
        anyhow::Ok(n)
    });
    let mut writes = 0;
    for n in futures::future::join_all(writers).await {
        writes += n?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let delivered = tracker.lock().unwrap().delivered;
    // Let the last deliveries land before the next phase.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut t = tracker.lock().unwrap();
    t.pending.clear();
    t.log.clear();
    let mut lat = std::mem::take(&mut t.latencies);
    lat.sort();
    Ok(Load {
        writes_per_sec: writes as f64 / elapsed,
        deliveries_per_sec: delivered as f64 / elapsed,
        p50: percentile(&lat, 0.50),
        p99: percentile(&lat, 0.99),
    })
}

// ---------------------------------------------------------------- report

struct Step {
    waiters: usize,
    mem: Memory,
    latency: Option<Latency>,
    load: Option<Load>,
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

fn print_table(base: &Memory, idle: &Idle, rows: &[Step], shutdown: Duration) {
    println!();
    println!("| waiters | server VmRSS | RSS/waiter (vs. baseline) | RSS/waiter (vs. previous step) | kernel TCP mem (both ends) | write→delivery p50 / p99 / max (ms) | deliveries | write RTT p50 / p99 (ms) | delivery after write response p50 / p99 (ms) |");
    println!("|---:|---:|---:|---:|---:|---|---:|---|---|");
    let mut prev = (0usize, base.rss_kib);
    for r in rows {
        let per_base = (r.mem.rss_kib as f64 - base.rss_kib as f64) / r.waiters as f64;
        let per_step = (r.mem.rss_kib as f64 - prev.1 as f64) / (r.waiters - prev.0) as f64;
        let (lat, n, w, after) = match &r.latency {
            Some(l) => (
                format!(
                    "{} / {} / {}{}",
                    ms(l.p50),
                    ms(l.p99),
                    ms(l.max),
                    if l.missing > 0 {
                        format!(" ({} writes not fully delivered in 5 s)", l.missing)
                    } else {
                        String::new()
                    }
                ),
                l.deliveries.to_string(),
                format!("{} / {}", ms(l.write_p50), ms(l.write_p99)),
                format!(
                    "{:.2} / {:.2}",
                    l.after_response_p50_us as f64 / 1e3,
                    l.after_response_p99_us as f64 / 1e3
                ),
            ),
            None => ("—".into(), "—".into(), "—".into(), "—".into()),
        };
        println!(
            "| {} | {} KiB | {:.2} KiB | {:.2} KiB | {} KiB | {lat} | {n} | {w} | {after} |",
            r.waiters, r.mem.rss_kib, per_base, per_step, r.mem.tcp_kib
        );
        prev = (r.waiters, r.mem.rss_kib);
    }
    println!();
    for r in rows {
        if let Some(l) = &r.load {
            println!(
                "under load at {} waiters ({WRITERS_UNDER_LOAD} writers): {:.0} writes/s, {:.0} deliveries/s, write→delivery p50 {} ms, p99 {} ms",
                r.waiters, l.writes_per_sec, l.deliveries_per_sec, ms(l.p50), ms(l.p99)
            );
        }
    }
    println!(
        "idle connection ({} measured): {:.0} B RSS with no request yet, {:.0} B keep-alive after one request",
        idle.n, idle.bare, idle.keep_alive
    );
    println!(
        "SIGTERM with {} parked polls: exited in {} ms",
        rows.last().map_or(0, |r| r.waiters),
        ms(shutdown)
    );
}
