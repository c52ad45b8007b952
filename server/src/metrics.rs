//! Prometheus metrics, rendered in one place. The realtime series
//! (`ledgerline_realtime_*`, `ledgerline_events_published_total`) are the
//! hub's own counters and gauges ([`crate::realtime::MetricsSnapshot`]),
//! read at scrape time; server-wide series other modules add go here too,
//! among them the desktop sessions' uploaded counters
//! (`ledgerline_client_*_total`, [`crate::telemetry`]).

use crate::state::AppState;

/// The Prometheus text exposition format, version 0.0.4.
pub fn render(state: &AppState) -> String {
    let mut out = String::with_capacity(3072);
    state.hub().metrics().render(&mut out);
    render_fleet(state, &mut out);
    render_connections(state, &mut out);
    state.client_telemetry().render(&mut out);
    state.requests().render(&mut out);
    out
}

/// The connection layer's budget and timeouts.
fn render_connections(state: &AppState, out: &mut String) {
    use std::{fmt::Write, sync::atomic::Ordering::Relaxed};
    let c = state.connections();
    let _ = write!(
        out,
        "# HELP ledgerline_connections_open Open client connections (against --max-connections).\n\
         # TYPE ledgerline_connections_open gauge\n\
         ledgerline_connections_open {}\n\
         # HELP ledgerline_connections_refused_total Connections answered 503 and closed past --max-connections.\n\
         # TYPE ledgerline_connections_refused_total counter\n\
         ledgerline_connections_refused_total {}\n\
         # HELP ledgerline_connections_timeouts_total Connections closed (header, idle) or requests answered 503 (request) on a timeout.\n\
         # TYPE ledgerline_connections_timeouts_total counter\n\
         ledgerline_connections_timeouts_total{{phase=\"header\"}} {}\n\
         ledgerline_connections_timeouts_total{{phase=\"idle\"}} {}\n\
         ledgerline_connections_timeouts_total{{phase=\"request\"}} {}\n\
         # HELP ledgerline_connections_lean_polls_total Long-polls served on the lean HTTP/1.1 path.\n\
         # TYPE ledgerline_connections_lean_polls_total counter\n\
         ledgerline_connections_lean_polls_total {}\n",
        c.open.load(Relaxed),
        c.refused.load(Relaxed),
        c.header_timeouts.load(Relaxed),
        c.idle_timeouts.load(Relaxed),
        c.request_timeouts.load(Relaxed),
        c.lean_polls.load(Relaxed),
    );
}

/// The bus and the fleet tasks; zero on a server without a bus.
fn render_fleet(state: &AppState, out: &mut String) {
    use std::{fmt::Write, sync::atomic::Ordering::Relaxed};
    let bus = state.bus().map(|b| b.metrics());
    let get = |f: fn(&crate::bus::BusMetrics) -> u64| bus.map_or(0, f);
    let connected = bus.is_some_and(|b| b.connected.load(Relaxed));
    let signals = state.signals();
    let _ = write!(
        out,
        "# HELP ledgerline_bus_connected Whether this instance is connected to the fleet's NATS.\n\
         # TYPE ledgerline_bus_connected gauge\n\
         ledgerline_bus_connected {}\n\
         # HELP ledgerline_bus_published_total Messages this instance put on the bus.\n\
         # TYPE ledgerline_bus_published_total counter\n\
         ledgerline_bus_published_total {}\n\
         ledgerline_bus_publish_failures_total {}\n\
         # HELP ledgerline_bus_messages_total Event messages from other instances: taken (decoded), skipped by subject, malformed.\n\
         # TYPE ledgerline_bus_messages_total counter\n\
         ledgerline_bus_messages_total{{outcome=\"taken\"}} {}\n\
         ledgerline_bus_messages_total{{outcome=\"skipped\"}} {}\n\
         ledgerline_bus_messages_total{{outcome=\"malformed\"}} {}\n\
         # HELP ledgerline_fleet_head_checks_total Rounds comparing every buffer's head with the log.\n\
         # TYPE ledgerline_fleet_head_checks_total counter\n\
         ledgerline_fleet_head_checks_total {}\n\
         ledgerline_fleet_heads_behind_total {}\n",
        u8::from(connected),
        get(|b| b.published.load(Relaxed)),
        get(|b| b.publish_failures.load(Relaxed)),
        get(|b| b.taken.load(Relaxed)),
        get(|b| b.skipped.load(Relaxed)),
        get(|b| b.malformed.load(Relaxed)),
        signals.head_checks.load(Relaxed),
        signals.heads_behind.load(Relaxed),
    );
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
