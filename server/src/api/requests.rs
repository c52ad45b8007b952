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
    http::Method,
    middleware::Next,
    response::Response,
};

/// The counts. A std Mutex: one increment per request, never held across
/// `.await`; the key set is bounded by the route table (unmatched paths
/// count as one route, `unmatched`).
/// Route, then method: looked up by `&str`, so a route seen before costs
/// no allocation.
#[derive(Debug, Default)]
pub struct RequestCounts {
    counts: Mutex<BTreeMap<String, BTreeMap<String, u64>>>,
}

impl RequestCounts {
    fn add(&self, method: &Method, route: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let methods = match counts.get_mut(route) {
            Some(methods) => methods,
            None => counts.entry(route.to_owned()).or_default(),
        };
        match methods.get_mut(method.as_str()) {
            Some(n) => *n += 1,
            None => {
                methods.insert(method.as_str().to_owned(), 1);
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
        for (route, methods) in counts.iter() {
            for (method, n) in methods {
                let _ = writeln!(
                    out,
                    "ledgerline_http_requests_total{{method=\"{method}\",route=\"{route}\"}} {n}"
                );
            }
        }
    }
}

/// Middleware: counts the request under its matched route.
pub async fn count(
    State(counts): State<Arc<RequestCounts>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = request.method().clone();
    let response = next.run(request).await;
    counts.add(
        &method,
        route.as_ref().map_or("unmatched", MatchedPath::as_str),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_rendered_per_route_and_method() {
        let counts = RequestCounts::default();
        counts.add(&Method::GET, "/v1/transactions");
        counts.add(&Method::GET, "/v1/transactions");
        counts.add(&Method::POST, "/v1/transactions");
        counts.add(&Method::GET, "unmatched");
        let mut text = String::new();
        counts.render(&mut text);
        for line in [
            "ledgerline_http_requests_total{method=\"GET\",route=\"/v1/transactions\"} 2",
            "ledgerline_http_requests_total{method=\"POST\",route=\"/v1/transactions\"} 1",
            "ledgerline_http_requests_total{method=\"GET\",route=\"unmatched\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} in\n{text}");
        }
    }
}
