//! The publisher: an open-loop schedule (event `i` is due at `i / rate`
//! seconds, orgs in round robin, so every org gets the same number of events
//! and seq `i / orgs + 1`) served by a small pool of keep-alive connections.
//! A late connection delays the send, never the stamp: the stamp is taken
//! right before the request is built and written.

use std::{
    net::{IpAddr, SocketAddr},
    sync::{
        atomic::{AtomicU64, Ordering::Relaxed},
        Arc,
    },
    time::Duration,
};

use tokio::sync::{mpsc, Mutex};

use crate::{
    http::Conn,
    target::{Org, Target},
    waiter::Shared,
};

/// What the publish phase did.
#[derive(Debug, Default)]
pub struct Published {
    /// Accepted events per org (index into the org list).
    pub ok_per_org: Vec<u64>,
    pub failed: u64,
    /// `(sent_ns, response_ns)` of each accepted publish.
    pub round_trips: Vec<(u64, u64)>,
    pub first_send_ns: u64,
    pub last_send_ns: u64,
    /// Events that went out more than 10 ms after they were due.
    pub late: u64,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PublishPlan {
    pub target: Target,
    pub server: SocketAddr,
    pub source: Option<IpAddr>,
    pub events: u64,
    pub rate: f64,
    pub connections: usize,
}

struct Job {
    org: usize,
    seq: u64,
    due_ns: u64,
}

/// Publish `plan.events` events over `orgs` at `plan.rate` per second.
pub async fn run(plan: PublishPlan, orgs: Arc<Vec<Arc<Org>>>, shared: Arc<Shared>) -> Published {
    let (tx, rx) = mpsc::channel::<Job>(1 << 16);
    let rx = Arc::new(Mutex::new(rx));
    let ok: Arc<Vec<AtomicU64>> = Arc::new((0..orgs.len()).map(|_| AtomicU64::new(0)).collect());
    let mut workers = Vec::new();
    for _ in 0..plan.connections.max(1) {
        let rx = Arc::clone(&rx);
        let orgs = Arc::clone(&orgs);
        let ok = Arc::clone(&ok);
        let shared = Arc::clone(&shared);
        let plan = plan.clone();
        workers.push(tokio::spawn(async move {
            let mut conn = Conn::new(plan.server, plan.source);
            let mut out = Published::default();
            loop {
                let job = { rx.lock().await.recv().await };
                let Some(job) = job else { break };
                let org = &orgs[job.org];
                let sent = shared.now_ns();
                if sent > job.due_ns + 10_000_000 {
                    out.late += 1;
                }
                if out.first_send_ns == 0 {
                    out.first_send_ns = sent;
                }
                out.last_send_ns = out.last_send_ns.max(sent);
                let request = plan.target.publish(&plan.server, org, job.seq, sent);
                match conn.request(&request).await {
                    Ok(resp) if plan.target.published_ok(resp.head.status) => {
                        out.round_trips.push((sent, shared.now_ns()));
                        ok[job.org].fetch_add(1, Relaxed);
                    }
                    Ok(resp) => {
                        out.failed += 1;
                        out.last_error = Some(format!(
                            "publish answered {}: {}",
                            resp.head.status,
                            String::from_utf8_lossy(&resp.body[..resp.body.len().min(200)])
                        ));
                    }
                    Err(e) => {
                        out.failed += 1;
                        out.last_error = Some(format!("{e:#}"));
                    }
                }
            }
            out
        }));
    }
    let start = shared.now_ns();
    let step_ns = 1e9 / plan.rate.max(1e-3);
    let n_orgs = orgs.len() as u64;
    for i in 0..plan.events {
        let due_ns = start + (i as f64 * step_ns) as u64;
        let now = shared.now_ns();
        if due_ns > now {
            tokio::time::sleep(Duration::from_nanos(due_ns - now)).await;
        }
        let job = Job {
            org: (i % n_orgs) as usize,
            seq: i / n_orgs + 1,
            due_ns,
        };
        if tx.send(job).await.is_err() {
            break;
        }
    }
    drop(tx);
    let mut total = Published {
        ok_per_org: Vec::new(),
        first_send_ns: u64::MAX,
        ..Published::default()
    };
    for w in workers {
        let Ok(p) = w.await else { continue };
        total.failed += p.failed;
        total.late += p.late;
        total.round_trips.extend(p.round_trips);
        if p.first_send_ns != 0 {
            total.first_send_ns = total.first_send_ns.min(p.first_send_ns);
        }
        total.last_send_ns = total.last_send_ns.max(p.last_send_ns);
        if p.last_error.is_some() {
            total.last_error = p.last_error;
        }
    }
    if total.first_send_ns == u64::MAX {
        total.first_send_ns = 0;
    }
    total.ok_per_org = ok.iter().map(|a| a.load(Relaxed)).collect();
    total
}
