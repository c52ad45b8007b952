//! The long-poll, the seed's leader: exactly one poll loop per session
//! however many windows subscribe (with `FIN_LEADER_ENABLED=false`, one per
//! subscriber — the rollback behaviour; all loops still feed the one cache,
//! which skips what another loop already applied by `seq`).
//!
//! Each loop runs under the [`watchdog`](crate::watchdog), polls from the
//! cache's seq, applies each answer in one transaction, tells the
//! aggregates refresher which report dates changed, and honours
//! `retry_after_ms` and `reset`. Failures back off with jitter; after
//! `offline_after_failures` in a row the session is offline and the loop
//! probes instead of long-polling: a poll with the shortest timeout, which
//! answers at once with only the events after the cache's cursor (or
//! `reset`, the one case that re-snapshots), at most `offline_probe_max`
//! (5 s) apart — or jitter(12 s, 18 s) apart while the server answers probes
//! but not long-polls ([`Backoff`]). Applied like any answer, a probe
//! re-renders only the windows whose rows changed; nothing re-fetches the
//! org while offline.

use std::{collections::HashMap, future::Future, sync::Arc, time::Duration};

use ledgerline_wire::Cursor;
use tokio::{
    task::JoinHandle,
    time::{interval, sleep, Instant, MissedTickBehavior},
};
use tokio_util::sync::CancellationToken;

use crate::{
    aggregates,
    backoff::{jitter, plus_jitter, Backoff, Retry},
    error::ApiError,
    integrity,
    session::SessionCtx,
    snapshot::snapshot,
    telemetry::Telemetry,
    view::StatusState,
    watchdog::{supervise, Heartbeat, WatchdogTiming},
};

/// Keeps the right set of poll loops running for the session: one leader,
/// or one per subscriber, following the flag and the subscriber set.
pub(crate) async fn run(ctx: Arc<SessionCtx>) {
    let mut flags = ctx.flags.watch();
    let mut ids = ctx.cache.hub().watch_ids();
    let mut leader: Option<(CancellationToken, JoinHandle<()>)> = None;
    let mut followers: HashMap<u64, (CancellationToken, JoinHandle<()>)> = HashMap::new();
    loop {
        if ctx.flags.leader_enabled() {
            for (_, (token, _)) in followers.drain() {
                token.cancel();
            }
            if leader.is_none() {
                leader = Some(spawn_poller(&ctx, true));
            }
        } else {
            if let Some((token, _)) = leader.take() {
                token.cancel();
            }
            let current = ids.borrow_and_update().clone();
            followers.retain(|id, (token, _)| {
                let keep = current.contains(id);
                if !keep {
                    token.cancel();
                }
                keep
            });
            for id in current {
                followers
                    .entry(id)
                    .or_insert_with(|| spawn_poller(&ctx, false));
            }
        }
        tokio::select! {
            _ = ctx.life.cancel.cancelled() => break,
            r = flags.changed() => if r.is_err() { break },
            r = ids.changed() => if r.is_err() { break },
        }
    }
    let handles = leader.into_iter().chain(followers.into_values());
    for (token, handle) in handles {
        token.cancel();
        let _ = handle.await;
    }
}

fn spawn_poller(ctx: &Arc<SessionCtx>, leader: bool) -> (CancellationToken, JoinHandle<()>) {
    let token = ctx.life.cancel.child_token();
    let timing = WatchdogTiming {
        takeover: ctx.config.takeover,
        jitter: ctx.config.takeover_jitter,
    };
    let handle = ctx.life.tracker.spawn(supervise(
        timing,
        token.clone(),
        ctx.telemetry.clone(),
        leader,
        {
            let ctx = ctx.clone();
            move |hb, token| poll_loop(ctx.clone(), hb, token, leader)
        },
    ));
    (token, handle)
}

/// A loop's way of waiting while staying visibly alive to the watchdog.
struct Pulse<'a> {
    hb: &'a Heartbeat,
    every: Duration,
    token: &'a CancellationToken,
}

impl Pulse<'_> {
    /// Awaits `fut`, beating all along: for sleeps and for work made of
    /// requests that each have their own timeout (a snapshot's pages).
    /// `None` if cancelled first.
    async fn wait<F: Future>(&self, fut: F) -> Option<F::Output> {
        self.wait_within(fut, Duration::MAX).await
    }

    /// Awaits `fut`, beating only while it has taken at most `expected`:
    /// a long-poll the server should have answered by then stops the beats,
    /// and the watchdog takes over.
    async fn wait_within<F: Future>(&self, fut: F, expected: Duration) -> Option<F::Output> {
        let started = Instant::now();
        let mut tick = interval(self.every);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tokio::pin!(fut);
        loop {
            tokio::select! {
                biased;
                _ = self.token.cancelled() => return None,
                out = &mut fut => return Some(out),
                _ = tick.tick() => if started.elapsed() <= expected { self.hb.beat() },
            }
        }
    }
}

/// The `timeout_ms` of a probe: the server's smallest, so it answers at
/// once with what changed after the cursor.
const PROBE_WAIT: Duration = Duration::from_millis(1);

async fn poll_loop(ctx: Arc<SessionCtx>, hb: Heartbeat, token: CancellationToken, leader: bool) {
    let config = &ctx.config;
    let mut backoff = Backoff::new(config);
    let pulse = Pulse {
        hb: &hb,
        every: config.heartbeat,
        token: &token,
    };
    loop {
        hb.beat();
        if token.is_cancelled() {
            return;
        }
        let cursor = match ctx.cache.cursor().await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "cache unreadable; poll loop waits");
                if pulse.wait(sleep(config.backoff_max)).await.is_none() {
                    return;
                }
                continue;
            }
        };
        // Offline, a probe: answered at once if the server is back.
        let probing = backoff.is_offline() && cursor.is_some();
        let wait = if probing {
            Telemetry::add(&ctx.telemetry.offline_probes, 1);
            PROBE_WAIT
        } else {
            config.poll_timeout
        };
        // Before the first snapshot there is nothing to poll from.
        let result = match &cursor {
            None => pulse
                .wait(snapshot(&ctx, None))
                .await
                .map(|r| r.map(|_| None)),
            Some(c) => pulse
                .wait_within(
                    ctx.api.poll(Some(c), wait, config.poll_grace),
                    wait + config.poll_grace,
                )
                .await
                .map(|r| r.map(Some)),
        };
        let Some(result) = result else { return };
        let result = result.map(|polled| {
            polled.map(|p| {
                Telemetry::add(&ctx.telemetry.events_skipped, p.skipped);
                p.response
            })
        });
        match result {
            Ok(None) => {
                backoff.succeeded();
                went_live(&ctx);
            }
            Ok(Some(resp)) => {
                Telemetry::add(&ctx.telemetry.polls, 1);
                if probing {
                    backoff.probe_answered();
                } else {
                    backoff.succeeded();
                }
                if ctx.status.get().state != StatusState::CacheError {
                    went_live(&ctx);
                }
                ctx.lists_synced();
                if resp.reset {
                    tracing::info!("server says reset: re-snapshot");
                    let polled = cursor.as_ref().map(Cursor::seq);
                    match pulse.wait(snapshot(&ctx, polled)).await {
                        None => return,
                        Some(Err(ApiError::Unauthorized)) => return ctx.unauthorized(),
                        Some(Err(e)) => {
                            tracing::warn!(error = %e, "re-snapshot failed");
                            if wait_retry(&ctx, &mut backoff, &pulse).await.is_none() {
                                return;
                            }
                        }
                        Some(Ok(())) => {}
                    }
                    continue;
                }
                let Ok(next) = resp.cursor.parse::<Cursor>() else {
                    tracing::error!(cursor = %resp.cursor, "server sent a bad cursor");
                    if wait_retry(&ctx, &mut backoff, &pulse).await.is_none() {
                        return;
                    }
                    continue;
                };
                Telemetry::raise(&ctx.telemetry.head_seq, next.seq());
                if let Err(e) = ctx.cache.remember_epoch(&next).await {
                    tracing::warn!(error = %e, "recording the server's epoch failed");
                    if cache_failed(&ctx, &mut backoff, &pulse).await.is_none() {
                        return;
                    }
                    continue;
                }
                if leader {
                    let followers = ctx.cache.hub().len().saturating_sub(1) as u64;
                    Telemetry::add(&ctx.telemetry.follower_suppressed_polls, followers);
                }
                // What the answer changes for the reports (the events go to
                // the cache, which keeps their rows).
                let changes = aggregates::Msg::changes(&resp.events);
                let had_events = !resp.events.is_empty();
                match ctx.cache.apply_answer(resp.events, next.seq()).await {
                    Ok(applied) => {
                        integrity::applied(&ctx, applied.lock_date);
                        went_live(&ctx);
                        if !leader && had_events && applied.fresh == 0 {
                            // Another subscriber's loop got these first.
                            Telemetry::add(&ctx.telemetry.follower_suppressed_polls, 1);
                        }
                        let fresh: Vec<_> = changes
                            .into_iter()
                            .filter(|c| c.seq > applied.from_seq)
                            .collect();
                        if !fresh.is_empty() {
                            let _ = ctx.figures.inbox.send(aggregates::Msg::Changed(fresh));
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "applying a poll answer failed");
                        // The same cursor again, after a backoff: never a
                        // spin, and never Live while nothing is stored.
                        if cache_failed(&ctx, &mut backoff, &pulse).await.is_none() {
                            return;
                        }
                        continue;
                    }
                }
                if let Some(ms) = resp.retry_after_ms {
                    let wait = plus_jitter(Duration::from_millis(ms), 0.2);
                    if pulse.wait(sleep(wait)).await.is_none() {
                        return;
                    }
                }
            }
            Err(ApiError::Unauthorized) => return ctx.unauthorized(),
            Err(e) => {
                tracing::debug!(error = %e, failures = backoff.failures() + 1, "poll failed");
                // A 429's Retry-After first, then the usual backoff.
                if let Some(d) = e.retry_after() {
                    if pulse.wait(sleep(plus_jitter(d, 0.2))).await.is_none() {
                        return;
                    }
                }
                if wait_retry(&ctx, &mut backoff, &pulse).await.is_none() {
                    return;
                }
            }
        }
    }
}

/// Marks the session live; coming back from a failure, every watched
/// report is refreshed (its figures may have moved meanwhile) after
/// jitter(0, `reconnect_refresh_spread`), so a fleet that reconnects at
/// once does not fetch its reports at once; so is the lock date (a change
/// arrives as an event too, unless the log was pruned past it or the cache
/// predates lock dates).
fn went_live(ctx: &Arc<SessionCtx>) {
    let was = ctx.status.get().state;
    ctx.status.set(StatusState::Live);
    if was != StatusState::Live {
        let spread = ctx.config.reconnect_refresh_spread;
        let delay = if spread.is_zero() {
            let _ = ctx.figures.inbox.send(aggregates::Msg::RefreshAll);
            None
        } else {
            Some(jitter(Duration::ZERO, spread))
        };
        let task = ctx.clone();
        ctx.life.tracker.spawn(async move {
            let refresh = async {
                if let Some(delay) = delay {
                    sleep(delay).await;
                    let _ = task.figures.inbox.send(aggregates::Msg::RefreshAll);
                }
                if let Err(e) = integrity::refresh_lock_date(&task).await {
                    tracing::debug!(error = %e, "reading the lock date failed");
                }
            };
            tokio::select! {
                _ = task.life.cancel.cancelled() => {}
                _ = refresh => {}
            }
        });
    }
}

/// The server answered but the cache could not store it: the error state,
/// and the backoff's delay before the same poll again. `None` when cancelled.
async fn cache_failed(ctx: &SessionCtx, backoff: &mut Backoff, pulse: &Pulse<'_>) -> Option<()> {
    Telemetry::add(&ctx.telemetry.cache_write_failures, 1);
    ctx.status.set(StatusState::CacheError);
    let delay = match backoff.failed() {
        Retry::Reconnect(d) | Retry::Offline(d) => d,
    };
    pulse.wait(sleep(delay.min(ctx.config.backoff_max))).await
}

/// After a failure: reconnecting, or offline until the next probe, for
/// the backoff's delay — cut short by a kick (`retry_sync`, a window
/// focused while not live). `None` when cancelled.
async fn wait_retry(ctx: &Arc<SessionCtx>, backoff: &mut Backoff, pulse: &Pulse<'_>) -> Option<()> {
    let d = match backoff.failed() {
        Retry::Reconnect(d) => {
            ctx.status.set(StatusState::Reconnecting);
            d
        }
        Retry::Offline(d) => {
            ctx.status.set(StatusState::Offline);
            d
        }
    };
    pulse
        .wait(async {
            tokio::select! {
                _ = sleep(d) => {}
                _ = ctx.sync.kick.notified() => tracing::debug!("kicked: retrying now"),
            }
        })
        .await
}
