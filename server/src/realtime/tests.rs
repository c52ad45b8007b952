//! Hub-level tests against [`MemLog`], an in-memory stand-in for the durable
//! `events` table. Time is paused: timeouts, TTLs and eviction are driven by
//! Tokio's clock, never by real sleeps.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicUsize, Ordering::Relaxed},
        Arc, Mutex,
    },
    time::Duration,
};

use futures::FutureExt as _;
use ledgerline_wire::{Cursor, Event, EventRow, EventType, PollResponse};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::*;

/// An event of `property` with `seq`; the payload does not matter here.
pub(super) fn event(seq: u64, property: &str) -> Event {
    Event {
        seq,
        kind: EventType::Deleted,
        property_id: property.to_owned(),
        row: EventRow::Deleted {
            id: format!("t{seq}"),
        },
        client_mutation_id: None,
        affected_report_dates: Vec::new(),
        at: chrono::DateTime::UNIX_EPOCH,
        moved_from_property_id: None,
    }
}

#[derive(Default)]
struct OrgLog {
    /// Retained events, ascending.
    events: Vec<Event>,
    head: u64,
}

/// The durable log, in memory: commits allocate gap-free seqs per org.
#[derive(Default)]
pub(super) struct MemLog {
    orgs: Mutex<HashMap<String, OrgLog>>,
    reads: AtomicUsize,
}

impl MemLog {
    /// Commits one event and returns it (not yet published).
    pub(super) fn commit(&self, org: &str, property: &str) -> Event {
        let mut orgs = self.orgs.lock().unwrap();
        let log = orgs.entry(org.to_owned()).or_default();
        log.head += 1;
        let e = event(log.head, property);
        log.events.push(e.clone());
        e
    }

    /// Deletes events up to and including `seq` (retention).
    fn prune_through(&self, org: &str, seq: u64) {
        let mut orgs = self.orgs.lock().unwrap();
        orgs.get_mut(org).unwrap().events.retain(|e| e.seq > seq);
    }

    /// Reads served so far (both kinds).
    fn reads(&self) -> usize {
        self.reads.load(Relaxed)
    }
}

impl EventLog for MemLog {
    fn events_after<'a>(
        &'a self,
        org_id: &'a str,
        after_seq: u64,
        limit: usize,
    ) -> LogFuture<'a, Vec<Event>> {
        self.reads.fetch_add(1, Relaxed);
        let orgs = self.orgs.lock().unwrap();
        let events = orgs.get(org_id).map_or_else(Vec::new, |log| {
            log.events
                .iter()
                .filter(|e| e.seq > after_seq)
                .take(limit)
                .cloned()
                .collect()
        });
        Box::pin(std::future::ready(Ok(events)))
    }

    fn event_bounds<'a>(&'a self, org_id: &'a str) -> LogFuture<'a, (Option<u64>, u64)> {
        self.reads.fetch_add(1, Relaxed);
        let orgs = self.orgs.lock().unwrap();
        let bounds = orgs.get(org_id).map_or((None, 0), |log| {
            (log.events.first().map(|e| e.seq), log.head)
        });
        Box::pin(std::future::ready(Ok(bounds)))
    }
}

struct Fixture {
    hub: Hub,
    log: Arc<MemLog>,
    shutdown: CancellationToken,
}

impl Fixture {
    fn new(config: HubConfig) -> Self {
        let log = Arc::new(MemLog::default());
        let shutdown = CancellationToken::new();
        let hub = Hub::new(config, log.clone(), &shutdown);
        Fixture { hub, log, shutdown }
    }

    fn default() -> Self {
        Fixture::new(HubConfig::default())
    }

    /// Commits one event and publishes it, as the write path does.
    fn write(&self, org: &str, property: &str) -> Event {
        let e = self.log.commit(org, property);
        self.hub.publish(org, vec![e.clone()]);
        e
    }

    fn waiters(&self) -> u64 {
        self.hub.metrics().waiters
    }

    /// Spawns a poll so the test can act while it is parked.
    fn spawn_poll(
        &self,
        req: PollRequest,
    ) -> tokio::task::JoinHandle<Result<PollResponse, PollError>> {
        let hub = self.hub.clone();
        tokio::spawn(async move { hub.poll(req).await })
    }
}

fn req(org: &str, token: &str, cursor: Option<u64>, filter: PropertyFilter) -> PollRequest {
    PollRequest {
        org_id: Arc::from(org),
        token_id: Arc::from(token),
        cursor,
        filter,
        timeout: None,
    }
}

fn all(org: &str, cursor: u64) -> PollRequest {
    req(org, "tok", Some(cursor), PropertyFilter::all())
}

fn only(props: &[&str]) -> Option<Vec<String>> {
    Some(props.iter().map(|p| p.to_string()).collect())
}

fn seqs(r: &PollResponse) -> Vec<u64> {
    r.events.iter().map(|e| e.seq).collect()
}

fn cursor(r: &PollResponse) -> u64 {
    r.cursor.parse::<Cursor>().unwrap().seq()
}

/// Lets spawned tasks run until `cond` holds (no time passes).
pub(super) async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if cond() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("never happened: {what}");
}

/// Lets spawned tasks run for a while without time passing.
async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}

mod delivery;
mod footprint;
mod lifecycle;
mod retention;
mod token_cap;
