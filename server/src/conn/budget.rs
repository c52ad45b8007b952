//! The connection budget: how many connections are served at once, the
//! default derived from the open-file limit, and the immediate answer a
//! connection past the budget gets (503 in the error shape, then close).

use std::{
    io::{Read, Write},
    net::TcpStream,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed},
        Arc,
    },
};

/// File descriptors kept out of the default budget: the database, NATS,
/// the listener, the refusals themselves.
pub const RESERVED_FDS: u64 = 512;

/// The fewest connections a default budget allows.
const MIN_DEFAULT: u64 = 64;

/// The response a connection past the budget gets before it is closed.
pub(super) const OVER_BUDGET: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/json\r\n\
content-length: 89\r\n\
retry-after: 1\r\n\
connection: close\r\n\
\r\n\
{\"error\":{\"code\":\"unavailable\",\"message\":\"the server is at its connection limit; retry\"}}";

/// Raises the soft open-file limit to the hard one; returns the limit now
/// in force (`None` where it cannot be read). For `serve` at start.
pub fn raise_open_file_limit() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let limit = getrlimit(Resource::Nofile);
    if let (Some(current), Some(max)) = (limit.current, limit.maximum) {
        if current < max {
            let raised = rustix::process::Rlimit {
                current: Some(max),
                maximum: Some(max),
            };
            if let Err(error) = setrlimit(Resource::Nofile, raised) {
                tracing::warn!(%error, current, max, "cannot raise the open-file limit");
            }
        }
    }
    open_file_limit()
}

/// The soft open-file limit (`None`: unlimited or unknown).
pub fn open_file_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

/// The default `--max-connections`: the open-file limit less
/// [`RESERVED_FDS`] (at least 64); 65,536 if the limit is unknown.
pub fn default_max_connections() -> usize {
    let limit = open_file_limit().unwrap_or(65_536 + RESERVED_FDS);
    usize::try_from(limit.saturating_sub(RESERVED_FDS).max(MIN_DEFAULT)).unwrap_or(usize::MAX)
}

/// Open connections against the budget, and the connection counters
/// `/metrics` shows.
#[derive(Debug, Default)]
pub struct Counters {
    pub open: AtomicUsize,
    /// Refused past the budget.
    pub refused: AtomicU64,
    /// Closed because a request head did not arrive in time.
    pub header_timeouts: AtomicU64,
    /// Closed after the idle timeout with no request in progress.
    pub idle_timeouts: AtomicU64,
    /// Requests answered 503 after the request timeout.
    pub request_timeouts: AtomicU64,
    /// Long-polls served on the lean path (the rest went through hyper).
    pub lean_polls: AtomicU64,
}

/// One open connection; dropping it frees its place in the budget.
#[derive(Debug)]
pub(super) struct Permit(Arc<Counters>);

impl Counters {
    /// A place in a budget of `max`, if one is free.
    pub(super) fn try_open(self: &Arc<Self>, max: usize) -> Option<Permit> {
        self.open
            .fetch_update(Relaxed, Relaxed, |open| (open < max).then_some(open + 1))
            .ok()
            .map(|_| Permit(Arc::clone(self)))
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Relaxed);
    }
}

/// Answers a connection past the budget at once and closes it. Never
/// waits: what the socket takes now is written, then it is closed.
pub(super) fn refuse(stream: tokio::net::TcpStream, counters: &Counters) {
    counters.refused.fetch_add(1, Relaxed);
    // Plain non-blocking std calls: a socket just accepted has no readiness
    // in tokio's driver yet.
    let Ok(mut stream): Result<TcpStream, _> = stream.into_std() else {
        return;
    };
    let _ = stream.write(OVER_BUDGET);
    // Whatever request already arrived is read, so that closing sends a FIN
    // rather than a reset that could destroy the 503 in flight.
    let mut sink = [0u8; 1024];
    for _ in 0..8 {
        match stream.read(&mut sink) {
            Ok(n) if n > 0 => {}
            _ => break,
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_is_a_complete_response_in_the_error_shape() {
        let text = std::str::from_utf8(OVER_BUDGET).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(length, body.len());
        let body: ledgerline_wire::ErrorBody = serde_json::from_str(body).unwrap();
        assert_eq!(body.error.code, "unavailable");
    }

    #[test]
    fn the_budget_counts_open_connections() {
        let counters = Arc::new(Counters::default());
        let a = counters.try_open(2).unwrap();
        let _b = counters.try_open(2).unwrap();
        assert!(counters.try_open(2).is_none());
        drop(a);
        assert!(counters.try_open(2).is_some());
    }
}
