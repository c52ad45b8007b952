//! Reconnect timing: exponential backoff with full jitter while
//! reconnecting; after `offline_after` failures in a row the session is
//! offline and the long-poll is probed (a poll that answers at once with
//! whatever changed after the cursor) with the same jittered backoff capped
//! at `probe_max` (5 s), so a session is Live within 5 s of the server's
//! return. Only when probes keep being answered while the long-poll keeps
//! failing — the server is up but realtime is degraded — do the probes
//! slow to the degraded cadence of jitter(12 s, 18 s). Pure arithmetic over
//! a random source, so its bounds are unit-tested without a clock.

use std::time::Duration;

use rand::Rng;

use crate::config::CoreConfig;

/// Uniformly random in `[lo, hi]`.
pub fn jitter(lo: Duration, hi: Duration) -> Duration {
    if hi <= lo {
        return lo;
    }
    let span = (hi - lo).as_micros() as u64;
    lo + Duration::from_micros(rand::thread_rng().gen_range(0..=span))
}

/// A delay of `d` plus up to `fraction` of it.
pub fn plus_jitter(d: Duration, fraction: f64) -> Duration {
    jitter(d, d.mul_f64(1.0 + fraction.max(0.0)))
}

/// What the poll loop does after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Still reconnecting: long-poll again after this long.
    Reconnect(Duration),
    /// Offline: probe after this long.
    Offline(Duration),
}

/// Counts failures in a row and says how long to wait.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    offline_after: u32,
    probe_max: Duration,
    degraded_min: Duration,
    degraded_max: Duration,
    failures: u32,
    /// Probes answered in a row, each followed by a failed long-poll.
    answered: u32,
}

/// Probes answered in a row (each followed by a failed long-poll) after
/// which the session counts as degraded. Two, not one: a server that
/// answers one probe and then goes down again is an outage, probed fast.
const DEGRADED_AFTER: u32 = 2;

impl Backoff {
    pub fn new(config: &CoreConfig) -> Backoff {
        Backoff {
            base: config.backoff_base,
            max: config.backoff_max,
            offline_after: config.offline_after_failures.max(1),
            probe_max: config.offline_probe_max,
            degraded_min: config.offline_poll_min,
            degraded_max: config.offline_poll_max,
            failures: 0,
            answered: 0,
        }
    }

    /// Records a failure (of a long-poll or a probe) and tells what to do next.
    pub fn failed(&mut self) -> Retry {
        let was_offline = self.is_offline();
        self.failures = self.failures.saturating_add(1);
        if was_offline {
            // A probe failed: the server is unreachable, not degraded.
            self.answered = 0;
        }
        // Full jitter over [cap/2, cap]: never a thundering herd, never
        // a hot loop.
        let exp = self
            .base
            .saturating_mul(1u32 << (self.failures - 1).min(16));
        if self.failures < self.offline_after {
            let cap = exp.min(self.max);
            Retry::Reconnect(jitter(cap / 2, cap))
        } else if self.answered >= DEGRADED_AFTER {
            Retry::Offline(jitter(self.degraded_min, self.degraded_max))
        } else {
            let cap = exp.min(self.max).min(self.probe_max);
            Retry::Offline(jitter(cap / 2, cap))
        }
    }

    /// A long-poll answered: realtime works.
    pub fn succeeded(&mut self) {
        self.failures = 0;
        self.answered = 0;
    }

    /// A probe answered: the server is back, so long-poll again — but one
    /// more failure makes the session offline again at once, and after
    /// [`DEGRADED_AFTER`] such rounds the probes slow to the degraded cadence.
    pub fn probe_answered(&mut self) {
        self.answered = self.answered.saturating_add(1);
        self.failures = self.offline_after - 1;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Whether the next poll is a probe.
    pub fn is_offline(&self) -> bool {
        self.failures >= self.offline_after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_its_bounds() {
        let (lo, hi) = (Duration::from_secs(12), Duration::from_secs(18));
        for _ in 0..10_000 {
            let d = jitter(lo, hi);
            assert!(lo <= d && d <= hi, "{d:?}");
        }
        assert_eq!(jitter(hi, lo), hi);
        for _ in 0..1000 {
            let d = plus_jitter(Duration::from_secs(10), 0.2);
            assert!(Duration::from_secs(10) <= d && d <= Duration::from_secs(12));
        }
    }

    #[test]
    fn backoff_grows_then_goes_offline_probing_at_most_5_seconds_apart() {
        let config = CoreConfig::default();
        let mut b = Backoff::new(&config);
        for _ in 0..200 {
            b.succeeded();
            let Retry::Reconnect(first) = b.failed() else {
                panic!("first failure must reconnect")
            };
            assert!(first >= config.backoff_base / 2 && first <= config.backoff_base);
            let Retry::Reconnect(second) = b.failed() else {
                panic!("second failure must reconnect")
            };
            assert!(second >= config.backoff_base && second <= config.backoff_base * 2);
            for _ in 0..8 {
                match b.failed() {
                    Retry::Offline(d) => {
                        assert!(d >= Duration::from_millis(500) && d <= Duration::from_secs(5))
                    }
                    other => panic!("after 3 failures the session is offline, got {other:?}"),
                }
                assert!(b.is_offline());
            }
        }
        b.succeeded();
        assert!(!b.is_offline());
        assert_eq!(b.failures(), 0);
    }

    #[test]
    fn probes_answered_while_the_long_poll_fails_slow_to_12_to_18_seconds() {
        let config = CoreConfig::default();
        let mut b = Backoff::new(&config);
        for _ in 0..3 {
            b.failed();
        }
        assert!(b.is_offline());
        // One answered probe, then the long-poll fails: still probed fast
        // (the server may have gone down again).
        b.probe_answered();
        assert!(
            !b.is_offline(),
            "an answered probe is followed by a long-poll"
        );
        let Retry::Offline(d) = b.failed() else {
            panic!("one failure after a probe is offline again")
        };
        assert!(d <= Duration::from_secs(5), "{d:?}");
        // Twice in a row: degraded, one probe per jitter(12 s, 18 s).
        b.probe_answered();
        let Retry::Offline(d) = b.failed() else {
            panic!("offline")
        };
        assert!(
            d >= Duration::from_secs(12) && d <= Duration::from_secs(18),
            "{d:?}"
        );
        // A probe that fails: unreachable, fast probes again.
        let Retry::Offline(d) = b.failed() else {
            panic!("offline")
        };
        assert!(d <= Duration::from_secs(5), "{d:?}");
        // A long-poll that answers ends it all.
        b.succeeded();
        assert!(matches!(b.failed(), Retry::Reconnect(_)));
    }

    #[test]
    fn reconnect_delay_is_capped() {
        let config = CoreConfig {
            offline_after_failures: 100,
            ..CoreConfig::default()
        };
        let mut b = Backoff::new(&config);
        for _ in 0..60 {
            if let Retry::Reconnect(d) = b.failed() {
                assert!(d <= config.backoff_max);
            }
        }
    }
}
