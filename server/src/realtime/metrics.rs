//! The hub's counters and gauges: plain atomics bumped on the hot paths, read
//! into a [`MetricsSnapshot`] that renders as Prometheus text for `/metrics`.

use std::{
    fmt::Write as _,
    sync::atomic::{AtomicU64, Ordering::Relaxed},
};

/// How a poll was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PollOutcome {
    /// With events.
    Events,
    /// With no events when its timeout passed.
    Timeout,
    /// At once with `retry_after_ms`: the org's waiter cap was reached.
    Cap,
    /// With no events and `retry_after_ms`: a newer poll of the same token
    /// took its place past the per-token cap.
    Evicted,
    /// With `reset: true`: the cursor is older than the log or ahead of it.
    Reset,
    /// At once with the head cursor: the poll carried no cursor.
    Head,
    /// With no events before its timeout, having skipped a long run of
    /// events the filter hides (the next poll goes on from there).
    Hidden,
    /// With no events because the hub is shutting down.
    Shutdown,
    /// With [`PollError::Revoked`](super::PollError::Revoked).
    Revoked,
    /// With [`PollError::Log`](super::PollError::Log).
    Error,
}

impl PollOutcome {
    pub const ALL: [PollOutcome; 10] = [
        PollOutcome::Events,
        PollOutcome::Timeout,
        PollOutcome::Cap,
        PollOutcome::Evicted,
        PollOutcome::Reset,
        PollOutcome::Head,
        PollOutcome::Hidden,
        PollOutcome::Shutdown,
        PollOutcome::Revoked,
        PollOutcome::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PollOutcome::Events => "events",
            PollOutcome::Timeout => "timeout",
            PollOutcome::Cap => "cap",
            PollOutcome::Evicted => "evicted",
            PollOutcome::Reset => "reset",
            PollOutcome::Head => "head",
            PollOutcome::Hidden => "hidden",
            PollOutcome::Shutdown => "shutdown",
            PollOutcome::Revoked => "revoked",
            PollOutcome::Error => "error",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

#[derive(Debug, Default)]
pub(super) struct Metrics {
    pub(super) waiters: AtomicU64,
    pub(super) buffered_orgs: AtomicU64,
    polls: [AtomicU64; PollOutcome::ALL.len()],
    pub(super) evictions: AtomicU64,
    pub(super) events_published: AtomicU64,
}

impl Metrics {
    pub(super) fn poll_answered(&self, outcome: PollOutcome) {
        self.polls[outcome.index()].fetch_add(1, Relaxed);
    }

    pub(super) fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            waiters: self.waiters.load(Relaxed),
            buffered_orgs: self.buffered_orgs.load(Relaxed),
            polls: std::array::from_fn(|i| self.polls[i].load(Relaxed)),
            evictions: self.evictions.load(Relaxed),
            events_published: self.events_published.load(Relaxed),
        }
    }
}

/// The hub's metrics at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Polls parked right now.
    pub waiters: u64,
    /// Orgs with a buffer right now.
    pub buffered_orgs: u64,
    polls: [u64; PollOutcome::ALL.len()],
    /// Org buffers evicted for idleness, ever.
    pub evictions: u64,
    /// Events handed to [`Hub::publish`](super::Hub::publish), ever.
    pub events_published: u64,
}

impl MetricsSnapshot {
    /// Polls answered with `outcome`, ever.
    pub fn polls(&self, outcome: PollOutcome) -> u64 {
        self.polls[outcome.index()]
    }

    /// Appends the Prometheus text exposition of these metrics to `out`.
    pub fn render(&self, out: &mut String) {
        // Writing to a String cannot fail.
        let _ = self.write(out);
    }

    fn write(&self, out: &mut String) -> std::fmt::Result {
        writeln!(
            out,
            "# HELP ledgerline_realtime_waiters Long-polls parked right now."
        )?;
        writeln!(out, "# TYPE ledgerline_realtime_waiters gauge")?;
        writeln!(out, "ledgerline_realtime_waiters {}", self.waiters)?;
        writeln!(
            out,
            "# HELP ledgerline_realtime_buffered_orgs Orgs with an in-memory event buffer."
        )?;
        writeln!(out, "# TYPE ledgerline_realtime_buffered_orgs gauge")?;
        writeln!(
            out,
            "ledgerline_realtime_buffered_orgs {}",
            self.buffered_orgs
        )?;
        writeln!(
            out,
            "# HELP ledgerline_realtime_polls_total Long-polls answered, by outcome."
        )?;
        writeln!(out, "# TYPE ledgerline_realtime_polls_total counter")?;
        for outcome in PollOutcome::ALL {
            writeln!(
                out,
                "ledgerline_realtime_polls_total{{outcome=\"{}\"}} {}",
                outcome.as_str(),
                self.polls(outcome)
            )?;
        }
        writeln!(
            out,
            "# HELP ledgerline_realtime_evictions_total Org buffers evicted for idleness."
        )?;
        writeln!(out, "# TYPE ledgerline_realtime_evictions_total counter")?;
        writeln!(
            out,
            "ledgerline_realtime_evictions_total {}",
            self.evictions
        )?;
        writeln!(
            out,
            "# HELP ledgerline_events_published_total Events published to the realtime hub."
        )?;
        writeln!(out, "# TYPE ledgerline_events_published_total counter")?;
        writeln!(
            out,
            "ledgerline_events_published_total {}",
            self.events_published
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_series_with_outcome_labels() {
        let m = Metrics::default();
        m.waiters.store(3, Relaxed);
        m.poll_answered(PollOutcome::Cap);
        m.poll_answered(PollOutcome::Cap);
        m.events_published.fetch_add(7, Relaxed);
        let mut out = String::new();
        m.snapshot().render(&mut out);
        for line in [
            "ledgerline_realtime_waiters 3",
            "ledgerline_realtime_buffered_orgs 0",
            "ledgerline_realtime_polls_total{outcome=\"cap\"} 2",
            "ledgerline_realtime_polls_total{outcome=\"events\"} 0",
            "ledgerline_realtime_polls_total{outcome=\"timeout\"} 0",
            "ledgerline_realtime_polls_total{outcome=\"reset\"} 0",
            "ledgerline_realtime_evictions_total 0",
            "ledgerline_events_published_total 7",
        ] {
            assert!(out.lines().any(|l| l == line), "missing {line:?} in\n{out}");
        }
    }
}
