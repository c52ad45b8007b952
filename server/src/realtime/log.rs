//! The durable event log the hub falls back on: the `events(org_id, seq)`
//! table written in the same transaction as each change. The store implements
//! [`EventLog`]; the hub only reads it.
//!
//! The methods return boxed futures so the hub can hold an
//! `Arc<dyn EventLog>` without `async-trait`; one allocation per log read is
//! nothing next to the query itself.

use std::{future::Future, pin::Pin};

use ledgerline_wire::Event;

/// What a log read returns.
pub type LogFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, LogError>> + Send + 'a>>;

/// Read access to the durable, per-org, gap-free event log.
///
/// Contract the hub relies on: seqs start at 1 and have no holes among the
/// committed events any one read sees (the write path allocates `seq` under
/// a per-org lock, so seq N+1 cannot commit before N); pruning removes only
/// the oldest events.
pub trait EventLog: Send + Sync + 'static {
    /// Up to `limit` committed events of `org_id` with `seq > after_seq`,
    /// ascending. Starts at `after_seq + 1` unless those events were pruned.
    fn events_after<'a>(
        &'a self,
        org_id: &'a str,
        after_seq: u64,
        limit: usize,
    ) -> LogFuture<'a, Vec<Event>>;

    /// `(oldest retained seq, head seq)` of `org_id`: `None` when no event is
    /// retained; head is the highest seq ever committed (0 for none), which
    /// survives pruning.
    fn event_bounds<'a>(&'a self, org_id: &'a str) -> LogFuture<'a, (Option<u64>, u64)>;

    /// The name of the database behind the log, which every cursor the hub
    /// hands out carries (`epoch.seq`). `None`: bare seq cursors.
    fn epoch(&self) -> Option<&str> {
        None
    }
}

/// A log read failed. Carries the store's error; its text is for logs only,
/// never for an HTTP body.
#[derive(Debug, thiserror::Error)]
#[error("event log read failed: {0}")]
pub struct LogError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

impl LogError {
    pub fn new(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        LogError(err.into())
    }
}
