//! Prometheus metrics, rendered in one place. Counters are plain atomics the
//! code that observes them bumps; the realtime series live in
//! [`RealtimeMetrics`], which the realtime hub updates (until it exists they
//! stay at 0 but are always printed, so dashboards need no special case).

use std::{
    fmt::Write,
    sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed},
};

/// How a long-poll was resolved (`ledgerline_realtime_polls_total{outcome}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollOutcome {
    Events,
    Timeout,
    Cap,
    Reset,
}

impl PollOutcome {
    pub const ALL: [PollOutcome; 4] = [
        PollOutcome::Events,
        PollOutcome::Timeout,
        PollOutcome::Cap,
        PollOutcome::Reset,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PollOutcome::Events => "events",
            PollOutcome::Timeout => "timeout",
            PollOutcome::Cap => "cap",
            PollOutcome::Reset => "reset",
        }
    }
}

/// The hub's series. Gauges are set or moved by the hub; counters only grow.
#[derive(Debug, Default)]
pub struct RealtimeMetrics {
    /// Long-polls currently waiting, over all orgs.
    pub waiters: AtomicI64,
    /// Orgs with an in-memory event buffer.
    pub buffered_orgs: AtomicI64,
    /// Org buffers dropped for idleness.
    pub evictions: AtomicU64,
    polls: [AtomicU64; 4],
}

impl RealtimeMetrics {
    /// Count one resolved long-poll.
    pub fn poll_resolved(&self, outcome: PollOutcome) {
        self.polls[outcome as usize].fetch_add(1, Relaxed);
    }

    pub fn polls(&self, outcome: PollOutcome) -> u64 {
        self.polls[outcome as usize].load(Relaxed)
    }
}

#[derive(Debug, Default)]
pub struct Metrics {
    /// Events handed to the realtime hub after their write committed.
    pub events_published: AtomicU64,
    pub realtime: RealtimeMetrics,
}

impl Metrics {
    /// The Prometheus text exposition format, version 0.0.4.
    pub fn render(&self) -> String {
        let rt = &self.realtime;
        let mut out = String::new();
        let mut series = |name: &str, kind: &str, help: &str, samples: &[(&str, String)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in samples {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        series(
            "ledgerline_realtime_waiters",
            "gauge",
            "Long-polls currently waiting.",
            &[("", rt.waiters.load(Relaxed).to_string())],
        );
        series(
            "ledgerline_realtime_buffered_orgs",
            "gauge",
            "Organizations with an in-memory event buffer.",
            &[("", rt.buffered_orgs.load(Relaxed).to_string())],
        );
        let polls: Vec<(String, String)> = PollOutcome::ALL
            .iter()
            .map(|o| {
                (
                    format!("{{outcome=\"{}\"}}", o.as_str()),
                    rt.polls(*o).to_string(),
                )
            })
            .collect();
        let polls: Vec<(&str, String)> =
            polls.iter().map(|(l, v)| (l.as_str(), v.clone())).collect();
        series(
            "ledgerline_realtime_polls_total",
            "counter",
            "Long-polls resolved, by outcome.",
            &polls,
        );
        series(
            "ledgerline_realtime_evictions_total",
            "counter",
            "Idle organization buffers evicted.",
            &[("", rt.evictions.load(Relaxed).to_string())],
        );
        series(
            "ledgerline_events_published_total",
            "counter",
            "Events published after their write committed.",
            &[("", self.events_published.load(Relaxed).to_string())],
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_series_even_at_zero() {
        let text = Metrics::default().render();
        for line in [
            "ledgerline_realtime_waiters 0",
            "ledgerline_realtime_buffered_orgs 0",
            "ledgerline_realtime_polls_total{outcome=\"events\"} 0",
            "ledgerline_realtime_polls_total{outcome=\"timeout\"} 0",
            "ledgerline_realtime_polls_total{outcome=\"cap\"} 0",
            "ledgerline_realtime_polls_total{outcome=\"reset\"} 0",
            "ledgerline_realtime_evictions_total 0",
            "ledgerline_events_published_total 0",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn counts_show_up() {
        let m = Metrics::default();
        m.events_published.fetch_add(3, Relaxed);
        m.realtime.poll_resolved(PollOutcome::Cap);
        m.realtime.waiters.store(7, Relaxed);
        let text = m.render();
        assert!(text.contains("ledgerline_events_published_total 3\n"));
        assert!(text.contains("ledgerline_realtime_polls_total{outcome=\"cap\"} 1\n"));
        assert!(text.contains("ledgerline_realtime_waiters 7\n"));
    }
}
