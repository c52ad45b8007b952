//! Prometheus metrics, rendered in one place. The realtime series
//! (`ledgerline_realtime_*`, `ledgerline_events_published_total`) are the
//! hub's own counters and gauges ([`crate::realtime::MetricsSnapshot`]),
//! read at scrape time; server-wide series other modules add go here too.

use crate::state::AppState;

/// The Prometheus text exposition format, version 0.0.4.
pub fn render(state: &AppState) -> String {
    let mut out = String::with_capacity(2048);
    state.hub().metrics().render(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{config::RealtimeConfig, store::Store};

    #[tokio::test]
    async fn renders_every_spec_series_even_at_zero() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        let text = render(&AppState::new(store, RealtimeConfig::default()));
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
}
