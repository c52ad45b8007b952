//! Requests answered, by method and route, for `/metrics`
//! (`ledgerline_http_requests_total{method, route}`): what shows, for
//! instance, that desktops offline ask only for changes and never re-list
//! the org. The long-poll's lean path (`crate::conn`) bypasses the router;
//! its polls are counted by `ledgerline_realtime_polls_total`.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{Arc, Mutex},
};

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};

/// The counts. A std Mutex: one increment per request, never held across
/// `.await`; the key set is bounded by the route table (unmatched paths
/// count as one route, `unmatched`).
#[derive(Debug, Default)]
pub struct RequestCounts {
    counts: Mutex<BTreeMap<(String, String), u64>>,
}

impl RequestCounts {
    fn add(&self, method: &str, route: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        match counts.get_mut(&(method.to_owned(), route.to_owned())) {
            Some(n) => *n += 1,
            None => {
                counts.insert((method.to_owned(), route.to_owned()), 1);
            }
        }
    }

    /// The Prometheus series, one per (method, route) seen.
    pub fn render(&self, out: &mut String) {
        out.push_str(
            "# HELP ledgerline_http_requests_total Requests answered through the router, by method and route.\n\
             # TYPE ledgerline_http_requests_total counter\n",
        );
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        for ((method, route), n) in counts.iter() {
            let _ = writeln!(
                out,
                "ledgerline_http_requests_total{{method=\"{method}\",route=\"{route}\"}} {n}"
            );
        }
    }
}

/// Middleware: counts the request under its matched route.
pub async fn count(
    State(counts): State<Arc<RequestCounts>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    counts.add(&method, &route);
    response
}
