//! Reconnect timing: exponential backoff with full jitter while
//! reconnecting, then — after `offline_after` failures in a row — the
//! offline cadence of jitter(12 s, 18 s). Pure arithmetic over a random
//! source, so its bounds are unit-tested without a clock.

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
    /// Still reconnecting: try again after this long.
    Reconnect(Duration),
    /// Offline: re-fetch lists and probe again after this long.
    Offline(Duration),
}

/// Counts failures in a row and says how long to wait.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    offline_after: u32,
    offline_min: Duration,
    offline_max: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(config: &CoreConfig) -> Backoff {
        Backoff {
            base: config.backoff_base,
            max: config.backoff_max,
            offline_after: config.offline_after_failures.max(1),
            offline_min: config.offline_poll_min,
            offline_max: config.offline_poll_max,
            failures: 0,
        }
    }

    /// Records a failure and tells what to do next.
    pub fn failed(&mut self) -> Retry {
        self.failures = self.failures.saturating_add(1);
        if self.failures >= self.offline_after {
            Retry::Offline(jitter(self.offline_min, self.offline_max))
        } else {
            // Full jitter over [cap/2, cap]: never a thundering herd, never
            // a hot loop.
            let exp = self
                .base
                .saturating_mul(1u32 << (self.failures - 1).min(16));
            let cap = exp.min(self.max);
            Retry::Reconnect(jitter(cap / 2, cap))
        }
    }

    pub fn succeeded(&mut self) {
        self.failures = 0;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

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
    fn backoff_grows_then_goes_offline_at_12_to_18_seconds() {
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
            for _ in 0..5 {
                match b.failed() {
                    Retry::Offline(d) => {
                        assert!(d >= Duration::from_secs(12) && d <= Duration::from_secs(18))
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
