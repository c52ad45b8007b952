//! The many-orgs test: publish one event to each of M orgs (so every org has
//! a buffer), report the time and the server's peak RSS, then watch the
//! sweeper evict the idle buffers and memory come back.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed},
        Arc,
    },
    time::Duration,
};

use anyhow::Context;
use serde::Serialize;
use tokio::time::Instant;

use crate::{
    http::Conn,
    rss,
    run::{fetch_text, metric_value, read_sessions},
    target::Target,
};

#[derive(Debug, Clone, clap::Args)]
pub struct FillArgs {
    #[arg(long)]
    pub server: SocketAddr,
    #[arg(long)]
    pub server_pid: u32,
    /// The file `mint-sessions` wrote.
    #[arg(long)]
    pub sessions: std::path::PathBuf,
    /// Orgs to publish to (default: every line of the sessions file).
    #[arg(long)]
    pub orgs: Option<usize>,
    /// Publish requests in flight.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// After publishing, watch memory and buffered orgs this long at most.
    #[arg(long, default_value_t = 120.0)]
    pub watch_s: f64,
    /// Append the result as JSON to this file.
    #[arg(long)]
    pub json_out: Option<std::path::PathBuf>,
}

#[derive(Debug, Serialize)]
pub struct Sample {
    pub t_s: f64,
    pub rss_bytes: u64,
    pub buffered_orgs: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct FillResult {
    pub orgs: usize,
    pub published: u64,
    pub failed: u64,
    pub publish_s: f64,
    pub publishes_per_s: f64,
    pub rss_before_bytes: u64,
    pub rss_after_publish_bytes: u64,
    pub rss_peak_bytes: u64,
    pub buffered_orgs_after_publish: Option<f64>,
    pub rss_per_buffered_org_bytes: f64,
    pub rss_end_bytes: u64,
    pub buffered_orgs_end: Option<f64>,
    pub samples: Vec<Sample>,
    pub last_error: Option<String>,
}

pub async fn run(args: FillArgs) -> anyhow::Result<FillResult> {
    let orgs = Arc::new(read_sessions(
        &args.sessions,
        args.orgs.unwrap_or(usize::MAX),
    )?);
    let n = orgs.len();
    let metrics_url = format!("http://{}/metrics", args.server);
    let buffered = || async {
        fetch_text(&metrics_url)
            .await
            .ok()
            .and_then(|t| metric_value(&t, "ledgerline_realtime_buffered_orgs"))
    };
    let pid = [args.server_pid];
    let rss_before = rss::rss_of(&pid)?;
    eprintln!(
        "publishing one event to each of {n} orgs; server RSS {:.1} MiB",
        rss_before as f64 / 1048576.0
    );
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let last_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (orgs, next, ok, failed, last_error) = (
            Arc::clone(&orgs),
            Arc::clone(&next),
            Arc::clone(&ok),
            Arc::clone(&failed),
            Arc::clone(&last_error),
        );
        let server = args.server;
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::new(server, None);
            loop {
                let i = next.fetch_add(1, Relaxed);
                if i >= orgs.len() {
                    break;
                }
                let req = Target::Ledgerline.publish(&server, &orgs[i], 1, i as u64);
                match conn.request(&req).await {
                    Ok(r) if r.head.status == 201 => {
                        ok.fetch_add(1, Relaxed);
                    }
                    Ok(r) => {
                        failed.fetch_add(1, Relaxed);
                        *last_error.lock().expect("not poisoned") = Some(format!(
                            "{}: {}",
                            r.head.status,
                            String::from_utf8_lossy(&r.body[..r.body.len().min(200)])
                        ));
                    }
                    Err(e) => {
                        failed.fetch_add(1, Relaxed);
                        *last_error.lock().expect("not poisoned") = Some(format!("{e:#}"));
                    }
                }
            }
        }));
    }
    let mut samples = Vec::new();
    let mut peak = rss_before;
    let mut last_print = Instant::now();
    while !tasks.iter().all(|t| t.is_finished()) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let r = rss::rss_of(&pid)?;
        peak = peak.max(r);
        samples.push(Sample {
            t_s: started.elapsed().as_secs_f64(),
            rss_bytes: r,
            buffered_orgs: None,
        });
        if last_print.elapsed() > Duration::from_secs(10) {
            last_print = Instant::now();
            let done = ok.load(Relaxed) + failed.load(Relaxed);
            eprintln!(
                "  {done} / {n} published in {:.0}s ({:.0}/s), RSS {:.1} MiB",
                started.elapsed().as_secs_f64(),
                done as f64 / started.elapsed().as_secs_f64(),
                r as f64 / 1048576.0
            );
        }
    }
    for t in tasks {
        t.await.context("publisher task")?;
    }
    let publish_s = started.elapsed().as_secs_f64();
    let rss_after = rss::rss_of(&pid)?;
    let status = std::fs::read_to_string(format!("/proc/{}/status", args.server_pid))?;
    peak = peak
        .max(rss_after)
        .max(rss::parse_vm_hwm(&status).unwrap_or(0));
    let buffered_after = buffered().await;
    let published = ok.load(Relaxed);
    eprintln!(
        "  published {published} in {publish_s:.1}s; RSS {:.1} MiB (peak {:.1}), buffered orgs {buffered_after:?}",
        rss_after as f64 / 1048576.0,
        peak as f64 / 1048576.0
    );

    // Watch eviction.
    let watch = Instant::now();
    let mut rss_end = rss_after;
    let mut buffered_end = buffered_after;
    while watch.elapsed() < Duration::from_secs_f64(args.watch_s) {
        tokio::time::sleep(Duration::from_secs(2)).await;
        rss_end = rss::rss_of(&pid)?;
        buffered_end = buffered().await;
        samples.push(Sample {
            t_s: started.elapsed().as_secs_f64(),
            rss_bytes: rss_end,
            buffered_orgs: buffered_end,
        });
        eprintln!(
            "  +{:.0}s: RSS {:.1} MiB, buffered orgs {buffered_end:?}",
            watch.elapsed().as_secs_f64(),
            rss_end as f64 / 1048576.0
        );
        if buffered_end == Some(0.0) && watch.elapsed() > Duration::from_secs(10) {
            break;
        }
    }
    let result = FillResult {
        orgs: n,
        published,
        failed: failed.load(Relaxed),
        publish_s,
        publishes_per_s: published as f64 / publish_s,
        rss_before_bytes: rss_before,
        rss_after_publish_bytes: rss_after,
        rss_peak_bytes: peak,
        buffered_orgs_after_publish: buffered_after,
        rss_per_buffered_org_bytes: (rss_after as f64 - rss_before as f64)
            / buffered_after.unwrap_or(n as f64).max(1.0),
        rss_end_bytes: rss_end,
        buffered_orgs_end: buffered_end,
        samples,
        last_error: last_error.lock().expect("not poisoned").clone(),
    };
    if let Some(path) = &args.json_out {
        std::fs::write(path, serde_json::to_string_pretty(&result)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(result)
}
