//! One measurement: park N waiters over M orgs, read the server's RSS before
//! and after, publish at a fixed rate, drain, and summarize.
//!
//! Definitions printed with every result:
//! - *RSS per idle waiter* = (sum of `VmRSS` of the server's processes once
//!   every waiter is parked and memory has settled − the same sum before the
//!   first waiter connected) / N.
//! - *publish → delivery latency* = from the instant the generator stamps an
//!   event, right before it writes the publish request (Ledgerline: the
//!   `POST /v1/transactions`, so SQLite's commit is inside the figure), to
//!   the instant a waiter has read the whole poll response carrying it. One
//!   clock, one process.
//! - *lost* = Σ over waiters of (events accepted for its org − distinct events
//!   it received), after a drain of up to `drain_s`.

use std::{
    net::{IpAddr, SocketAddr},
    sync::{atomic::Ordering::Relaxed, Arc},
    time::Duration,
};

use anyhow::{bail, Context};
use serde::Serialize;
use tokio::{sync::Semaphore, task::JoinSet, time::Instant};

use crate::{
    http::{self, Conn},
    publisher::{self, PublishPlan},
    rss,
    stats::{summarize, Summary},
    target::{Org, Target},
    waiter::{self, Shared, WaiterPlan},
};

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Protocol adapter: subscribe URL and publish method.
    #[arg(long, value_enum)]
    pub target: Target,
    /// Where waiters connect (Ledgerline server, nginx, Pushpin's HTTP port).
    #[arg(long)]
    pub server: SocketAddr,
    /// Where events are published (defaults to --server; Pushpin: its publish port).
    #[arg(long)]
    pub publish: Option<SocketAddr>,
    /// Parked long-polls to open.
    #[arg(long, default_value_t = 1000)]
    pub waiters: usize,
    /// Waiters per org (orgs = waiters / this, rounded up).
    #[arg(long, default_value_t = 10)]
    pub waiters_per_org: usize,
    /// Events per second during the publish phase.
    #[arg(long, default_value_t = 200.0)]
    pub rate: f64,
    /// Length of the publish phase.
    #[arg(long, default_value_t = 10.0)]
    pub duration_s: f64,
    /// Publisher connections.
    #[arg(long, default_value_t = 4)]
    pub publish_connections: usize,
    /// PIDs whose RSS is summed as the server's (repeat for multi-process servers).
    #[arg(long = "server-pid", required = true)]
    pub server_pids: Vec<u32>,
    /// Local addresses to connect from, round robin (beats the 64k ports per
    /// source address).
    #[arg(long, value_delimiter = ',')]
    pub source_ips: Vec<IpAddr>,
    /// Ledgerline: the file `mint-sessions` wrote (org, property, tokens per line).
    #[arg(long)]
    pub sessions: Option<std::path::PathBuf>,
    /// Connects in flight at once while opening waiters.
    #[arg(long, default_value_t = 32)]
    pub connect_concurrency: usize,
    /// Long-poll timeout asked for (Ledgerline `timeout_ms`).
    #[arg(long, default_value_t = 25_000)]
    pub timeout_ms: u64,
    /// A URL (`http://host:port/path`) whose text has a line `NAME … VALUE`
    /// that must reach the waiter count before memory is read.
    #[arg(long)]
    pub ready_url: Option<String>,
    #[arg(long, requires = "ready_url")]
    pub ready_metric: Option<String>,
    /// Longest wait for deliveries after the last publish.
    #[arg(long, default_value_t = 5.0)]
    pub drain_s: f64,
    /// Append the result as one JSON line to this file.
    #[arg(long)]
    pub json_out: Option<std::path::PathBuf>,
}

/// One measurement's result (a JSON line of `--json-out`).
#[derive(Debug, Serialize)]
pub struct RunResult {
    pub target: Target,
    pub waiters: usize,
    pub parked: usize,
    pub orgs: usize,
    pub rate: f64,
    pub duration_s: f64,
    pub rss_before_bytes: u64,
    pub rss_parked_bytes: u64,
    pub rss_per_waiter_bytes: f64,
    pub rss_after_publish_bytes: u64,
    pub latency: Summary,
    pub publish_round_trip: Summary,
    /// Delivery − the publish request's response (clamped at 0): the part
    /// of the latency after the publisher was told "accepted".
    pub after_publish_response: Summary,
    /// Deliveries read before their publish response was.
    pub delivered_before_response: u64,
    pub published: u64,
    pub publish_failed: u64,
    pub publish_late: u64,
    pub expected_deliveries: u64,
    pub delivered: u64,
    pub duplicates: u64,
    pub lost: u64,
    pub deliveries_per_s: f64,
    pub errors: u64,
    pub cap_answers: u64,
    pub resets: u64,
    pub last_error: Option<String>,
    pub loadavg_start: String,
    pub loadavg_end: String,
}

/// Load orgs: Ledgerline's from the sessions file, the others' named `org-<n>`.
pub fn load_orgs(args: &RunArgs, count: usize) -> anyhow::Result<Vec<Arc<Org>>> {
    match args.target {
        Target::Ledgerline => {
            let path = args
                .sessions
                .as_ref()
                .context("--sessions is required for --target ledgerline")?;
            let orgs = read_sessions(path, count)?;
            if orgs.len() < count {
                bail!(
                    "{} has {} orgs, {count} needed: seed and mint more",
                    path.display(),
                    orgs.len()
                );
            }
            Ok(orgs)
        }
        Target::Nchan | Target::Pushpin => Ok((0..count)
            .map(|i| {
                Arc::new(Org {
                    key: format!("org-{i}"),
                    property_id: String::new(),
                    tokens: Vec::new(),
                })
            })
            .collect()),
    }
}

/// Read up to `limit` lines `org_id \t property_id \t token…`.
pub fn read_sessions(path: &std::path::Path, limit: usize) -> anyhow::Result<Vec<Arc<Org>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse_sessions(&text, limit)
}

pub fn parse_sessions(text: &str, limit: usize) -> anyhow::Result<Vec<Arc<Org>>> {
    let mut orgs = Vec::new();
    for (n, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        if orgs.len() == limit {
            break;
        }
        let mut fields = line.split('\t');
        let (Some(key), Some(property_id)) = (fields.next(), fields.next()) else {
            bail!("sessions line {}: expected org, property, tokens", n + 1);
        };
        let tokens: Vec<String> = fields.map(str::to_owned).collect();
        if tokens.is_empty() {
            bail!("sessions line {}: no token", n + 1);
        }
        orgs.push(Arc::new(Org {
            key: key.to_owned(),
            property_id: property_id.to_owned(),
            tokens,
        }));
    }
    Ok(orgs)
}

/// The number after `name` on the first line that starts with it
/// (Prometheus `name 12`, nchan's `subscribers: 12`).
pub fn metric_value(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with([' ', ':', '\t']))
        })
        .find_map(|l| l.split_whitespace().last()?.parse().ok())
}

/// GET `url` (plain `http://host:port/path`) and return the body.
pub async fn fetch_text(url: &str) -> anyhow::Result<String> {
    let rest = url
        .strip_prefix("http://")
        .context("only http:// URLs are supported")?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let addr: SocketAddr = host.parse().with_context(|| format!("bad host {host}"))?;
    let path = if path.is_empty() { "/" } else { path };
    let mut conn = Conn::new(addr, None);
    let resp = conn
        .request(&http::get(&addr, path, "Connection: close\r\n"))
        .await?;
    Ok(String::from_utf8_lossy(&resp.body).into_owned())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Run one measurement and print it.
pub async fn run(args: RunArgs) -> anyhow::Result<RunResult> {
    let loadavg_start = loadavg();
    let n = args.waiters;
    let per_org = args.waiters_per_org.max(1);
    let n_orgs = n.div_ceil(per_org).max(1);
    let orgs = Arc::new(load_orgs(&args, n_orgs)?);
    let publish_addr = args.publish.unwrap_or(args.server);
    let shared = Arc::new(Shared::new());

    // Let the server settle, then take the baseline.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = rss::rss_of(&args.server_pids)?;
    eprintln!(
        "[{:?}] {n} waiters over {n_orgs} orgs; server RSS before {:.1} MiB",
        args.target,
        rss_before as f64 / 1048576.0
    );

    let limit = Arc::new(Semaphore::new(args.connect_concurrency.max(1)));
    let mut waiters = JoinSet::new();
    for i in 0..n {
        let org = Arc::clone(&orgs[i % n_orgs]);
        let token = (i / n_orgs) % org.tokens.len().max(1);
        let source =
            (!args.source_ips.is_empty()).then(|| args.source_ips[i % args.source_ips.len()]);
        let plan = WaiterPlan {
            target: args.target,
            server: args.server,
            source,
            org,
            token,
            timeout_ms: args.timeout_ms,
        };
        waiters.spawn(waiter::run(plan, Arc::clone(&shared), Arc::clone(&limit)));
    }

    // Wait until every waiter has sent its parking poll.
    let opened = Instant::now();
    let mut last_report = Instant::now();
    while shared.parked.load(Relaxed) < n {
        if opened.elapsed() > Duration::from_secs(180) {
            eprintln!(
                "only {} of {n} waiters parked after 180 s; measuring those",
                shared.parked.load(Relaxed)
            );
            break;
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            last_report = Instant::now();
            eprintln!(
                "  {} / {n} parked, {} errors (last: {:?})",
                shared.parked.load(Relaxed),
                shared.errors.load(Relaxed),
                shared.last_error.lock().expect("not poisoned")
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let parked = shared.parked.load(Relaxed);
    eprintln!(
        "  {parked} parked in {:.1}s",
        opened.elapsed().as_secs_f64()
    );
    if let (Some(url), Some(name)) = (&args.ready_url, &args.ready_metric) {
        let waited = Instant::now();
        loop {
            let value = fetch_text(url)
                .await
                .ok()
                .and_then(|t| metric_value(&t, name));
            if value.is_some_and(|v| v >= parked as f64) {
                break;
            }
            if waited.elapsed() > Duration::from_secs(30) {
                eprintln!("  {name} = {value:?} after 30 s, expected {parked}; going on");
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Memory settles when the last holds are registered (Pushpin's go
    // through its backend first): wait for two calm readings.
    let mut rss_parked = rss::rss_of(&args.server_pids)?;
    let settle = Instant::now();
    let mut calm = 0;
    while calm < 2 && settle.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = rss::rss_of(&args.server_pids)?;
        let delta = now.abs_diff(rss_parked) as f64;
        calm = if delta < 0.002 * rss_parked as f64 {
            calm + 1
        } else {
            0
        };
        rss_parked = now;
    }
    let rss_per_waiter = (rss_parked as f64 - rss_before as f64) / parked.max(1) as f64;
    eprintln!(
        "  server RSS parked {:.1} MiB: {:.0} B per idle waiter",
        rss_parked as f64 / 1048576.0,
        rss_per_waiter
    );

    // Publish.
    let events = (args.rate * args.duration_s).round() as u64;
    let published = publisher::run(
        PublishPlan {
            target: args.target,
            server: publish_addr,
            source: args.source_ips.first().copied(),
            events,
            rate: args.rate,
            connections: args.publish_connections,
        },
        Arc::clone(&orgs),
        Arc::clone(&shared),
    )
    .await;

    // Expected deliveries: each accepted event, once per waiter of its org.
    let mut waiters_of = vec![0u64; n_orgs];
    for i in 0..parked.min(n) {
        waiters_of[i % n_orgs] += 1;
    }
    let expected: u64 = published
        .ok_per_org
        .iter()
        .zip(&waiters_of)
        .map(|(ok, w)| ok * w)
        .sum();
    let drain = Instant::now();
    while shared.delivered.load(Relaxed) < expected
        && drain.elapsed() < Duration::from_secs_f64(args.drain_s)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rss_after_publish = rss::rss_of(&args.server_pids)?;
    waiters.abort_all();
    while waiters.join_next().await.is_some() {}

    let delivered = shared.delivered.load(Relaxed);
    let span_ns = shared
        .last_delivery_ns
        .load(Relaxed)
        .saturating_sub(published.first_send_ns)
        .max(1);
    let pairs = std::mem::take(&mut *shared.deliveries.lock().expect("not poisoned"));
    let (latencies, after_response, before_response) =
        split_latency(&pairs, &published.round_trips);
    let result = RunResult {
        target: args.target,
        waiters: n,
        parked,
        orgs: n_orgs,
        rate: args.rate,
        duration_s: args.duration_s,
        rss_before_bytes: rss_before,
        rss_parked_bytes: rss_parked,
        rss_per_waiter_bytes: rss_per_waiter,
        rss_after_publish_bytes: rss_after_publish,
        latency: summarize(latencies),
        after_publish_response: summarize(after_response),
        delivered_before_response: before_response,
        publish_round_trip: summarize(
            published
                .round_trips
                .iter()
                .map(|(sent, resp)| resp - sent)
                .collect(),
        ),
        published: published.ok_per_org.iter().sum(),
        publish_failed: published.failed,
        publish_late: published.late,
        expected_deliveries: expected,
        delivered,
        duplicates: shared.duplicates.load(Relaxed),
        lost: expected.saturating_sub(delivered),
        deliveries_per_s: delivered as f64 / (span_ns as f64 / 1e9),
        errors: shared.errors.load(Relaxed),
        cap_answers: shared.cap_answers.load(Relaxed),
        resets: shared.resets.load(Relaxed),
        last_error: shared
            .last_error
            .lock()
            .expect("not poisoned")
            .clone()
            .or(published.last_error),
        loadavg_start,
        loadavg_end: loadavg(),
    };
    if let Some(path) = &args.json_out {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        writeln!(f, "{}", serde_json::to_string(&result)?)?;
    }
    Ok(result)
}

/// Split `(sent, received)` deliveries into publish → delivery latencies and
/// response → delivery latencies (clamped at 0, with the count of negative
/// ones), using the publishes' `(sent, response)` times.
pub fn split_latency(
    deliveries: &[(u64, u64)],
    publishes: &[(u64, u64)],
) -> (Vec<u64>, Vec<u64>, u64) {
    let responses: std::collections::HashMap<u64, u64> = publishes.iter().copied().collect();
    let mut total = Vec::with_capacity(deliveries.len());
    let mut after = Vec::with_capacity(deliveries.len());
    let mut before = 0;
    for &(sent, received) in deliveries {
        total.push(received.saturating_sub(sent));
        if let Some(&resp) = responses.get(&sent) {
            if received < resp {
                before += 1;
            }
            after.push(received.saturating_sub(resp));
        }
    }
    (total, after, before)
}

/// The human-readable lines for one result.
pub fn describe(r: &RunResult) -> String {
    format!(
        "{:?}: {} waiters ({} parked) over {} orgs\n  RSS per idle waiter: {:.0} B ({:.1} → {:.1} MiB)\n  publish→delivery: p50 {:.0} µs, p90 {:.0} µs, p99 {:.0} µs, max {:.0} µs ({} samples)\n  publish round trip: p50 {:.0} µs, p99 {:.0} µs; publish response → delivery: p50 {:.0} µs, p99 {:.0} µs ({} delivered before the response)\n  published {} ({} failed, {} late >10ms), delivered {} of {} expected, lost {}, duplicates {}\n  deliveries/s {:.0}; errors {}, cap answers {}, resets {}{}\n  load average {} → {}",
        r.target,
        r.waiters,
        r.parked,
        r.orgs,
        r.rss_per_waiter_bytes,
        r.rss_before_bytes as f64 / 1048576.0,
        r.rss_parked_bytes as f64 / 1048576.0,
        r.latency.p50_us,
        r.latency.p90_us,
        r.latency.p99_us,
        r.latency.max_us,
        r.latency.count,
        r.publish_round_trip.p50_us,
        r.publish_round_trip.p99_us,
        r.after_publish_response.p50_us,
        r.after_publish_response.p99_us,
        r.delivered_before_response,
        r.published,
        r.publish_failed,
        r.publish_late,
        r.delivered,
        r.expected_deliveries,
        r.lost,
        r.duplicates,
        r.deliveries_per_s,
        r.errors,
        r.cap_answers,
        r.resets,
        r.last_error
            .as_deref()
            .map(|e| format!(" (last error: {e})"))
            .unwrap_or_default(),
        r.loadavg_start,
        r.loadavg_end,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_lines_in_both_formats() {
        let prom =
            "# HELP x\nledgerline_realtime_waiters_total 9\nledgerline_realtime_waiters 1000\n";
        assert_eq!(
            metric_value(prom, "ledgerline_realtime_waiters"),
            Some(1000.0)
        );
        let nchan = "total published messages: 3\nsubscribers: 42\nredis pending commands: 0\n";
        assert_eq!(metric_value(nchan, "subscribers"), Some(42.0));
        assert_eq!(metric_value(nchan, "channels"), None);
    }

    #[test]
    fn latency_splits_at_the_publish_response() {
        // Sent at 100 (answered at 150) and 200 (answered at 260).
        let publishes = [(100, 150), (200, 260)];
        let deliveries = [(100, 160), (100, 140), (200, 300), (999, 1000)];
        let (total, after, before) = split_latency(&deliveries, &publishes);
        assert_eq!(total, [60, 40, 100, 1]);
        assert_eq!(after, [10, 0, 40]);
        assert_eq!(before, 1);
    }

    #[test]
    fn sessions_file_lines() {
        let orgs = parse_sessions("o1\tp1\tt1\tt2\n\no2\tp2\tt3\n", 10).unwrap();
        assert_eq!(orgs.len(), 2);
        assert_eq!(orgs[0].tokens, ["t1", "t2"]);
        assert_eq!(
            parse_sessions("o1\tp1\tt1\no2\tp2\tt3\n", 1).unwrap().len(),
            1
        );
        assert!(parse_sessions("o1\tp1\n", 10).is_err());
    }
}
