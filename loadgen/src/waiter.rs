//! The waiters: one task and one keep-alive connection per parked long-poll,
//! re-polling as soon as a response arrives, timing every benchmark event it
//! receives and counting duplicates (a seq not above the last one seen).

use std::{
    net::{IpAddr, SocketAddr},
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed},
        Arc, Mutex,
    },
    time::Duration,
};

use tokio::{sync::Semaphore, time::Instant};

use crate::{
    http::Conn,
    target::{Org, PollState, Target},
};

/// Counters shared by every waiter and the publisher.
#[derive(Debug)]
pub struct Shared {
    /// The clock every timestamp is taken from.
    pub epoch: Instant,
    /// Waiters that have sent their first parking poll.
    pub parked: AtomicUsize,
    pub delivered: AtomicU64,
    pub duplicates: AtomicU64,
    pub errors: AtomicU64,
    pub cap_answers: AtomicU64,
    pub resets: AtomicU64,
    pub last_delivery_ns: AtomicU64,
    /// `(sent_ns, received_ns)` of every distinct delivery. A std mutex:
    /// held for one extend, never across an `.await`.
    pub deliveries: Mutex<Vec<(u64, u64)>>,
    pub last_error: Mutex<Option<String>>,
}

impl Shared {
    pub fn new() -> Shared {
        Shared {
            epoch: Instant::now(),
            parked: AtomicUsize::new(0),
            delivered: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            cap_answers: AtomicU64::new(0),
            resets: AtomicU64::new(0),
            last_delivery_ns: AtomicU64::new(0),
            deliveries: Mutex::new(Vec::new()),
            last_error: Mutex::new(None),
        }
    }

    pub fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    pub fn error(&self, e: &anyhow::Error) {
        self.errors.fetch_add(1, Relaxed);
        *self.last_error.lock().expect("not poisoned") = Some(format!("{e:#}"));
    }
}

impl Default for Shared {
    fn default() -> Self {
        Shared::new()
    }
}

/// Everything one waiter needs.
#[derive(Debug, Clone)]
pub struct WaiterPlan {
    pub target: Target,
    pub server: SocketAddr,
    pub source: Option<IpAddr>,
    pub org: Arc<Org>,
    pub token: usize,
    pub timeout_ms: u64,
}

/// Run one waiter until the task is aborted.
pub async fn run(plan: WaiterPlan, shared: Arc<Shared>, connect_limit: Arc<Semaphore>) {
    let mut conn = Conn::new(plan.server, plan.source);
    {
        let _permit = connect_limit.acquire().await.expect("never closed");
        let mut attempt = 0u32;
        while let Err(e) = conn.connect().await {
            shared.error(&e);
            attempt += 1;
            if attempt > 20 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
        }
    }
    let token = plan
        .org
        .tokens
        .get(plan.token)
        .map(String::as_str)
        .unwrap_or("");
    let mut state = PollState::default();
    let mut counted = false;
    let mut last_seq = 0u64;
    let mut backoff = Duration::from_millis(50);
    loop {
        let request =
            plan.target
                .subscribe(&plan.server, &plan.org, token, &state, plan.timeout_ms);
        let parks = plan.target.parks(&state);
        let result = async {
            conn.send(&request).await?;
            if parks && !counted {
                counted = true;
                shared.parked.fetch_add(1, Relaxed);
            }
            conn.recv().await
        }
        .await;
        let response = match result {
            Ok(r) => r,
            Err(e) => {
                shared.error(&e);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        let now = shared.now_ns();
        match plan.target.parse_poll(&response, &mut state) {
            Ok(out) => {
                backoff = Duration::from_millis(50);
                if !out.deliveries.is_empty() {
                    let mut fresh = Vec::with_capacity(out.deliveries.len());
                    for (seq, sent) in out.deliveries {
                        if seq <= last_seq {
                            shared.duplicates.fetch_add(1, Relaxed);
                        } else {
                            last_seq = seq;
                            fresh.push((sent, now));
                        }
                    }
                    shared.delivered.fetch_add(fresh.len() as u64, Relaxed);
                    shared.last_delivery_ns.fetch_max(now, Relaxed);
                    shared
                        .deliveries
                        .lock()
                        .expect("not poisoned")
                        .extend(fresh);
                }
                if out.reset {
                    shared.resets.fetch_add(1, Relaxed);
                }
                if let Some(ms) = out.retry_after_ms {
                    shared.cap_answers.fetch_add(1, Relaxed);
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
            }
            Err(e) => {
                shared.error(&e);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
    }
}
