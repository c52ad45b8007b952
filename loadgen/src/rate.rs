//! Poll requests per second per core: C keep-alive connections each send
//! polls that the server answers at once (one buffered event each) as fast
//! as they come back, for a fixed time. The figure is completed polls
//! divided by the CPU time the server's processes used meanwhile (summed
//! from `/proc/<pid>/task/*/schedstat`), so a generator that cannot keep the
//! server busy does not flatter or penalize it.
//!
//! The poll that answers at once, per system: Ledgerline
//! `GET /v1/realtime/poll?cursor=<epoch>.<head − 1>` (the org's last event,
//! from the hub's buffer: no database query); Nchan `GET /sub/<channel>`
//! with the validators (`If-Modified-Since`, `If-None-Match`) of the
//! channel's first of two messages, which it answers with the second
//! (padded to a Ledgerline event's size).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::{bail, Context};
use serde::Serialize;
use tokio::{task::JoinSet, time::Instant};

use crate::{
    http::{self, Conn},
    run::read_sessions,
    target::{Org, PollState, Target},
};

#[derive(Debug, Clone, clap::Args)]
pub struct RateArgs {
    #[arg(long, value_enum)]
    pub target: Target,
    /// Where polls go.
    #[arg(long)]
    pub server: SocketAddr,
    /// Where the one event per org is published (defaults to --server).
    #[arg(long)]
    pub publish: Option<SocketAddr>,
    /// Keep-alive connections polling at once (one org each, round robin).
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Orgs polled.
    #[arg(long, default_value_t = 16)]
    pub orgs: usize,
    #[arg(long, default_value_t = 5.0)]
    pub duration_s: f64,
    /// PIDs whose CPU time is the server's.
    #[arg(long = "server-pid", required = true)]
    pub server_pids: Vec<u32>,
    /// Ledgerline: the file `mint-sessions` wrote.
    #[arg(long)]
    pub sessions: Option<std::path::PathBuf>,
    /// Append the result as one JSON line to this file.
    #[arg(long)]
    pub json_out: Option<std::path::PathBuf>,
}

#[derive(Debug, Serialize)]
pub struct RateResult {
    pub kind: &'static str,
    pub target: Target,
    pub connections: usize,
    pub orgs: usize,
    pub seconds: f64,
    pub polls: u64,
    pub errors: u64,
    pub polls_per_s: f64,
    pub server_cpu_s: f64,
    pub polls_per_cpu_s: f64,
    pub response_bytes: usize,
}

pub async fn run(args: RateArgs) -> anyhow::Result<RateResult> {
    let orgs = orgs(&args)?;
    let publish_to = args.publish.unwrap_or(args.server);
    let mut publisher = Conn::new(publish_to, None);
    let mut requests = Vec::new();
    for (i, org) in orgs.iter().enumerate() {
        let request = match args.target {
            Target::Nchan => nchan_poll(&args, &mut publisher, publish_to, org).await?,
            _ => {
                let sent = args.target.publish(&publish_to, org, i as u64 + 1, 0);
                let r = publisher.request(&sent).await.context("publishing")?;
                if !args.target.published_ok(r.head.status) {
                    bail!("publish answered {}", r.head.status);
                }
                poll_request(&args, org).await?
            }
        };
        requests.push(Arc::new(request));
    }
    // One probe per org: it must answer at once with a body.
    let mut probe = Conn::new(args.server, None);
    let mut response_bytes = 0;
    for request in &requests {
        let r = tokio::time::timeout(Duration::from_secs(5), probe.request(request))
            .await
            .context("a rate poll parked instead of answering at once")??;
        if r.head.status != 200 || r.body.is_empty() {
            bail!(
                "rate poll answered {} with {} bytes",
                r.head.status,
                r.body.len()
            );
        }
        response_bytes = r.body.len();
    }
    let deadline = Instant::now() + Duration::from_secs_f64(args.duration_s);
    let cpu_before = cpu_ns(&args.server_pids)?;
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for c in 0..args.connections {
        let request = Arc::clone(&requests[c % requests.len()]);
        let server = args.server;
        tasks.spawn(async move {
            let mut conn = Conn::new(server, None);
            let (mut polls, mut errors) = (0u64, 0u64);
            while Instant::now() < deadline {
                match conn.request(&request).await {
                    Ok(r) if r.head.status == 200 => polls += 1,
                    _ => errors += 1,
                }
            }
            (polls, errors)
        });
    }
    let (mut polls, mut errors) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        let (p, e) = done?;
        polls += p;
        errors += e;
    }
    let seconds = started.elapsed().as_secs_f64();
    let server_cpu_s = (cpu_ns(&args.server_pids)? - cpu_before) as f64 / 1e9;
    Ok(RateResult {
        kind: "poll_rate",
        target: args.target,
        connections: args.connections,
        orgs: orgs.len(),
        seconds,
        polls,
        errors,
        polls_per_s: polls as f64 / seconds,
        server_cpu_s,
        polls_per_cpu_s: polls as f64 / server_cpu_s.max(1e-9),
        response_bytes,
    })
}

fn orgs(args: &RateArgs) -> anyhow::Result<Vec<Arc<Org>>> {
    match args.target {
        Target::Ledgerline => {
            let path = args
                .sessions
                .as_ref()
                .context("--sessions is required for --target ledgerline")?;
            read_sessions(path, args.orgs)
        }
        Target::Nchan | Target::Pushpin => Ok((0..args.orgs)
            .map(|i| {
                Arc::new(Org {
                    key: format!("rate-{i}"),
                    property_id: String::new(),
                    tokens: Vec::new(),
                })
            })
            .collect()),
    }
}

/// The poll of `org` that is answered at once with its one event.
async fn poll_request(args: &RateArgs, org: &Org) -> anyhow::Result<Vec<u8>> {
    match args.target {
        Target::Ledgerline => {
            let token = &org.tokens[0];
            let mut conn = Conn::new(args.server, None);
            let head = args
                .target
                .subscribe(&args.server, org, token, &PollState::default(), 1000);
            let r = conn.request(&head).await?;
            let body: serde_json::Value = serde_json::from_slice(&r.body)?;
            let cursor = body["cursor"].as_str().context("no cursor")?;
            let (epoch, seq) = cursor.rsplit_once('.').context("an epoch cursor")?;
            let before: u64 = seq.parse::<u64>()?.checked_sub(1).context("an event")?;
            let path = format!("/v1/realtime/poll?cursor={epoch}.{before}&timeout_ms=1000");
            Ok(http::get(
                &args.server,
                &path,
                &format!("Authorization: Bearer {token}\r\n"),
            ))
        }
        Target::Nchan | Target::Pushpin => bail!("no poll that answers at once"),
    }
}

/// Nchan: publishes two messages to `org`'s channel and returns the poll
/// whose validators name the first, which Nchan answers at once with the
/// second.
async fn nchan_poll(
    args: &RateArgs,
    publisher: &mut Conn,
    publish_to: SocketAddr,
    org: &Org,
) -> anyhow::Result<Vec<u8>> {
    let mut first_id = None;
    for seq in 1..=2 {
        let sent = http::post(
            &publish_to,
            &format!("/pub/{}", org.key),
            "Accept: text/json\r\n",
            "application/json",
            crate::target::payload(seq, 0).as_bytes(),
        );
        let r = publisher.request(&sent).await.context("publishing")?;
        if !args.target.published_ok(r.head.status) {
            bail!("publish answered {}", r.head.status);
        }
        if seq == 1 {
            let info: serde_json::Value = serde_json::from_slice(&r.body)?;
            first_id = info["last_message_id"].as_str().map(str::to_owned);
        }
    }
    let id = first_id.context("nchan told no message id")?;
    let (time, tag) = id.split_once(':').context("a time:tag message id")?;
    let since = std::time::UNIX_EPOCH + Duration::from_secs(time.parse()?);
    let validators = format!(
        "If-Modified-Since: {}\r\nIf-None-Match: {tag}\r\n",
        httpdate::fmt_http_date(since)
    );
    Ok(http::get(
        &args.server,
        &format!("/sub/{}", org.key),
        &validators,
    ))
}

/// CPU time used so far by every thread of `pids`, in nanoseconds.
fn cpu_ns(pids: &[u32]) -> anyhow::Result<u64> {
    let mut total = 0;
    for pid in pids {
        let dir = format!("/proc/{pid}/task");
        for task in std::fs::read_dir(&dir).with_context(|| format!("reading {dir}"))? {
            let path = task?.path().join("schedstat");
            // A thread may end between the listing and the read.
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            total += text
                .split_whitespace()
                .next()
                .and_then(|ns| ns.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Ok(total)
}

/// One line for people.
pub fn describe(r: &RateResult) -> String {
    format!(
        "{:?}: {} polls in {:.1}s over {} connections ({} errors): {:.0} polls/s, server CPU {:.2}s → {:.0} polls per CPU-second ({} B bodies)",
        r.target,
        r.polls,
        r.seconds,
        r.connections,
        r.errors,
        r.polls_per_s,
        r.server_cpu_s,
        r.polls_per_cpu_s,
        r.response_bytes
    )
}
