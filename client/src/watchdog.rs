//! The watchdog that keeps a poll loop alive: the loop beats a
//! [`Heartbeat`] (every `heartbeat` while it is healthy); when it has been
//! silent for `takeover` ± `takeover_jitter` the supervisor cancels and
//! aborts it and starts a fresh one. A takeover counts as `leader_lost` and
//! every start of a leader loop as `leader_acquired`.

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use crate::{backoff::jitter, telemetry::Telemetry};

/// The time of a loop's last sign of life.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    // A std Mutex around an Instant: set and read, never held across `.await`.
    last: Arc<Mutex<Instant>>,
}

impl Heartbeat {
    fn new() -> Heartbeat {
        Heartbeat {
            last: Arc::new(Mutex::new(Instant::now())),
        }
    }

    pub fn beat(&self) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    fn last(&self) -> Instant {
        *self.last.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[derive(Debug, Clone, Copy)]
pub struct WatchdogTiming {
    pub takeover: Duration,
    pub jitter: Duration,
}

/// Runs `make(heartbeat, token)` and replaces it whenever it falls silent,
/// until `cancel` fires or the loop returns by itself. `leader` says whether
/// these loops count as leader acquisitions.
pub async fn supervise<F, Fut>(
    timing: WatchdogTiming,
    cancel: CancellationToken,
    telemetry: Arc<Telemetry>,
    leader: bool,
    mut make: F,
) where
    F: FnMut(Heartbeat, CancellationToken) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    loop {
        let heartbeat = Heartbeat::new();
        let token = cancel.child_token();
        let mut task = tokio::spawn(make(heartbeat.clone(), token.clone()));
        if leader {
            Telemetry::add(&telemetry.leader_acquired, 1);
        }
        let limit = jitter(
            timing.takeover.saturating_sub(timing.jitter),
            timing.takeover + timing.jitter,
        );
        loop {
            tokio::select! {
                _ = cancel.cancelled() => {
                    token.cancel();
                    // A loop that ignores its token is not waited for forever.
                    task.abort();
                    let _ = task.await;
                    return;
                }
                ended = &mut task => {
                    match ended {
                        Ok(()) => return,
                        Err(e) if e.is_panic() => {
                            tracing::error!("poll loop panicked; restarting it");
                            break;
                        }
                        Err(_) => return,
                    }
                }
                _ = sleep_until(heartbeat.last() + limit) => {
                    if Instant::now() >= heartbeat.last() + limit {
                        tracing::warn!(silent_for = ?limit, "poll loop stuck; taking over");
                        token.cancel();
                        task.abort();
                        if leader {
                            Telemetry::add(&telemetry.leader_lost, 1);
                        }
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn timing() -> WatchdogTiming {
        WatchdogTiming {
            takeover: Duration::from_secs(18),
            jitter: Duration::from_secs(2),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_stuck_loop_is_replaced_after_about_18_seconds() {
        let telemetry = Arc::new(Telemetry::default());
        let cancel = CancellationToken::new();
        let starts = Arc::new(Mutex::new(Vec::<Instant>::new()));
        let t0 = Instant::now();
        let sup = tokio::spawn(supervise(
            timing(),
            cancel.clone(),
            telemetry.clone(),
            true,
            {
                let starts = starts.clone();
                move |_hb, _token| {
                    starts.lock().unwrap().push(Instant::now());
                    // Stuck: never beats, never returns.
                    std::future::pending::<()>()
                }
            },
        ));
        tokio::time::sleep(Duration::from_secs(21)).await;
        {
            let starts = starts.lock().unwrap();
            assert_eq!(starts.len(), 2, "one takeover within 21 s");
            let took = starts[1] - t0;
            assert!(
                took >= Duration::from_secs(16) && took <= Duration::from_secs(20),
                "{took:?}"
            );
        }
        assert_eq!(telemetry.leader_lost.load(Ordering::Relaxed), 1);
        assert_eq!(telemetry.leader_acquired.load(Ordering::Relaxed), 2);
        cancel.cancel();
        sup.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_beating_loop_is_left_alone_and_cancel_stops_it() {
        let telemetry = Arc::new(Telemetry::default());
        let cancel = CancellationToken::new();
        let starts = Arc::new(AtomicU32::new(0));
        let sup = tokio::spawn(supervise(
            timing(),
            cancel.clone(),
            telemetry.clone(),
            true,
            {
                let starts = starts.clone();
                move |hb, token| {
                    starts.fetch_add(1, Ordering::Relaxed);
                    async move {
                        let mut tick = tokio::time::interval(Duration::from_secs(10));
                        loop {
                            tokio::select! {
                                _ = token.cancelled() => return,
                                _ = tick.tick() => hb.beat(),
                            }
                        }
                    }
                }
            },
        ));
        tokio::time::sleep(Duration::from_secs(120)).await;
        assert_eq!(starts.load(Ordering::Relaxed), 1);
        assert_eq!(telemetry.leader_lost.load(Ordering::Relaxed), 0);
        cancel.cancel();
        sup.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_loop_that_returns_ends_the_supervision() {
        let telemetry = Arc::new(Telemetry::default());
        supervise(
            timing(),
            CancellationToken::new(),
            telemetry,
            false,
            |_hb, _t| async {},
        )
        .await;
    }
}
