//! The sampled counter uploads: about `telemetry_sample_rate` (2%) of
//! sessions — decided once per session from a random seed, so a fleet's
//! sample is spread evenly and a test can pin it with the rate (1.0: all,
//! 0.0: none) or the seed — send their [`Telemetry`] counters' increase
//! to `POST /v1/telemetry` every jitter(`telemetry_every` / 2,
//! `telemetry_every`), and once more when the session ends. The server
//! takes one upload per token a minute; a 429's `Retry-After` is waited
//! out, and a failed upload's increase is sent with the next.

use std::{sync::Arc, time::Duration};

use ledgerline_wire::TelemetryUpload;
use tokio::time::sleep;

use crate::{backoff::jitter, error::ApiError, session::SessionCtx};

/// Whether the session with `seed` uploads, at `rate` (0.0–1.0): its
/// seed, mixed (splitmix64), as a fraction of the u64 range below `rate`.
pub fn sampled(seed: u64, rate: f64) -> bool {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    // The top 53 bits: a uniform fraction in [0, 1).
    ((z >> 11) as f64 / (1u64 << 53) as f64) < rate
}

/// The increase of every counter from `before` to `now`.
fn increase(now: &TelemetryUpload, before: &TelemetryUpload) -> TelemetryUpload {
    let [a, b, c, d, e, f, g, h, i, j] = now.values();
    let [a0, b0, c0, d0, e0, f0, g0, h0, i0, j0] = before.values();
    TelemetryUpload {
        leader_acquired: a.saturating_sub(a0),
        leader_lost: b.saturating_sub(b0),
        follower_suppressed_polls: c.saturating_sub(c0),
        derived_debounce_fired: d.saturating_sub(d0),
        polls: e.saturating_sub(e0),
        events_applied: f.saturating_sub(f0),
        aggregate_fetches: g.saturating_sub(g0),
        events_skipped: h.saturating_sub(h0),
        cache_write_failures: i.saturating_sub(i0),
        offline_probes: j.saturating_sub(j0),
    }
}

/// The session's uploader: returns at once unless the session is sampled;
/// ends with the session (or its 401).
pub(crate) async fn run(ctx: Arc<SessionCtx>, seed: u64) {
    if !sampled(seed, ctx.config.telemetry_sample_rate) {
        return;
    }
    let every = ctx.config.telemetry_every;
    let mut sent = TelemetryUpload::default();
    let mut wait = jitter(every / 2, every);
    loop {
        tokio::select! {
            _ = ctx.life.cancel.cancelled() => break,
            _ = sleep(wait) => {}
        }
        wait = jitter(every / 2, every);
        let now = ctx.telemetry.upload_totals();
        let delta = increase(&now, &sent);
        if delta.is_empty() {
            continue;
        }
        match ctx.api.upload_telemetry(&delta).await {
            Ok(()) => sent = now,
            Err(ApiError::Unauthorized) => return,
            Err(e) => {
                tracing::debug!(error = %e, "telemetry upload failed; its counts go with the next");
                if let Some(d) = e.retry_after() {
                    wait = wait.max(d + Duration::from_secs(1));
                }
            }
        }
    }
    // The session is ending (sign-out, quit): what it counted since the
    // last upload goes now, before a sign-out revokes the token (the core
    // waits for this task first). Best effort and bounded: a server that
    // does not answer in time, or took an upload from this token within
    // the minute (429), does not hold the app up.
    let delta = increase(&ctx.telemetry.upload_totals(), &sent);
    if !delta.is_empty() {
        match tokio::time::timeout(FINAL_UPLOAD, ctx.api.upload_telemetry(&delta)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!(error = %e, "the session's last counts were not taken"),
            Err(_) => tracing::debug!("the session's last counts: no answer in time"),
        }
    }
}

/// How long an ending session waits for its last upload.
const FINAL_UPLOAD: Duration = Duration::from_secs(1);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn about_two_percent_of_sessions_are_sampled() {
        let n = 100_000u64;
        let hits = (0..n).filter(|seed| sampled(*seed, 0.02)).count() as f64;
        let share = hits / n as f64;
        assert!((0.018..=0.022).contains(&share), "{share}");
    }

    #[test]
    fn the_rate_pins_the_sample_and_a_seed_always_decides_the_same() {
        for seed in [0, 1, 42, u64::MAX] {
            assert!(sampled(seed, 1.0));
            assert!(!sampled(seed, 0.0));
            assert_eq!(sampled(seed, 0.5), sampled(seed, 0.5));
        }
    }

    #[test]
    fn an_upload_is_the_increase_since_the_last_one() {
        let before = TelemetryUpload {
            polls: 5,
            leader_acquired: 1,
            ..TelemetryUpload::default()
        };
        let now = TelemetryUpload {
            polls: 9,
            leader_acquired: 1,
            offline_probes: 3,
            ..TelemetryUpload::default()
        };
        let d = increase(&now, &before);
        assert_eq!(d.polls, 4);
        assert_eq!(d.leader_acquired, 0);
        assert_eq!(d.offline_probes, 3);
        assert!(increase(&now, &now).is_empty());
    }
}
