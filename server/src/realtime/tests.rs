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

#[tokio::test(start_paused = true)]
async fn every_poller_gets_every_visible_event_once_in_order() {
    // Small buffer and batch so pollers also go through overflow, the log
    // and batching while the publisher races them.
    let f = Fixture::new(HubConfig {
        buffer_capacity: 8,
        max_batch: 5,
        ..HubConfig::default()
    });
    const EVENTS: u64 = 300;
    let filters = [
        (None, None),
        (only(&["p1"]), None),
        (None, only(&["p2", "p3"])),
        (only(&["p1", "p2"]), only(&["p2"])),
    ];
    let mut pollers = Vec::new();
    for (i, (scope, query)) in filters.iter().cycle().take(12).enumerate() {
        let hub = f.hub.clone();
        let filter = PropertyFilter::new(scope.clone(), query.clone());
        pollers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            let mut at = 0;
            while at < EVENTS {
                let r = hub
                    .poll(req("org", &format!("tok{i}"), Some(at), filter.clone()))
                    .await
                    .unwrap();
                assert!(!r.reset && r.retry_after_ms.is_none());
                assert!(cursor(&r) >= at, "cursor went back");
                got.extend(seqs(&r));
                at = cursor(&r);
            }
            (filter, got)
        }));
    }
    until("all pollers parked", || f.waiters() == 12).await;
    for n in 1..=EVENTS {
        f.write("org", ["p1", "p2", "p3"][(n % 3) as usize]);
        if n % 7 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let mut blind_to_last = 0;
    for poller in pollers {
        let (filter, got) = poller.await.unwrap();
        let want: Vec<u64> = (1..=EVENTS)
            .filter(|n| filter.allows(["p1", "p2", "p3"][(n % 3) as usize]))
            .collect();
        assert_eq!(got, want, "filter {filter:?}");
        blind_to_last += u64::from(!filter.allows(["p1", "p2", "p3"][(EVENTS % 3) as usize]));
    }
    assert_eq!(f.waiters(), 0);
    // Paused time would hide a stall that only a timeout ends: the only
    // timeouts allowed are those of pollers that cannot see the last event
    // (and only if their last answer stopped short of it).
    let m = f.hub.metrics();
    assert!(m.polls(PollOutcome::Timeout) <= blind_to_last);
    assert_eq!(m.polls(PollOutcome::Hidden), 0);
}

/// Polls `org` from `from` until the cursor reaches `last`; returns every
/// seq received, in order.
async fn collect(
    hub: Hub,
    org: &str,
    token: String,
    filter: PropertyFilter,
    last: u64,
) -> Vec<u64> {
    let mut got = Vec::new();
    let mut at = 0;
    while at < last {
        let r = hub
            .poll(req(org, &token, Some(at), filter.clone()))
            .await
            .unwrap();
        assert!(!r.reset, "no reset expected");
        assert!(cursor(&r) >= at, "cursor went back");
        got.extend(seqs(&r));
        at = cursor(&r);
    }
    got
}

#[tokio::test(start_paused = true)]
async fn reordered_and_lost_publishes_still_deliver_everything_in_order() {
    let f = Fixture::new(HubConfig {
        buffer_capacity: 16,
        max_batch: 10,
        ..HubConfig::default()
    });
    const EVENTS: u64 = 200;
    let pollers: Vec<_> = (0..4)
        .map(|i| {
            tokio::spawn(collect(
                f.hub.clone(),
                "org",
                format!("t{i}"),
                PropertyFilter::all(),
                EVENTS,
            ))
        })
        .collect();
    until("parked", || f.waiters() == 4).await;
    let mut committed = Vec::new();
    for n in 1..=EVENTS {
        committed.push(f.log.commit("org", "p1"));
        if n % 4 == 0 || n == EVENTS {
            // Publish the chunk newest first, losing every 17th event
            // (its publisher died after commit), but never the very last.
            for e in committed.drain(..).rev() {
                if e.seq % 17 != 0 || e.seq == EVENTS {
                    f.hub.publish("org", vec![e]);
                }
            }
            tokio::task::yield_now().await;
        }
    }
    for poller in pollers {
        assert_eq!(poller.await.unwrap(), (1..=EVENTS).collect::<Vec<_>>());
    }
    assert_eq!(f.hub.metrics().polls(PollOutcome::Timeout), 0, "no stall");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_and_pollers_agree_on_the_order() {
    // Real threads, no sleeps: writers commit then publish from several
    // tasks, so publishes race each other out of commit order.
    let f = Arc::new(Fixture::new(HubConfig {
        buffer_capacity: 32,
        max_batch: 16,
        ..HubConfig::default()
    }));
    const WRITERS: u64 = 4;
    const PER_WRITER: u64 = 250;
    // The last event is a p0 one, so the filtered pollers see it at once
    // instead of waiting out a real poll timeout for hidden ones.
    const EVENTS: u64 = WRITERS * PER_WRITER + 1;
    let pollers: Vec<_> = (0..6)
        .map(|i| {
            let filter = if i % 2 == 0 {
                PropertyFilter::all()
            } else {
                PropertyFilter::new(only(&["p0"]), None)
            };
            tokio::spawn(collect(
                f.hub.clone(),
                "org",
                format!("t{i}"),
                filter,
                EVENTS,
            ))
        })
        .collect();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let f = Arc::clone(&f);
            tokio::spawn(async move {
                for _ in 0..PER_WRITER {
                    f.write("org", &format!("p{w}"));
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    f.write("org", "p0");
    let events = f.log.orgs.lock().unwrap()["org"].events.clone();
    for (i, poller) in pollers.into_iter().enumerate() {
        let got = tokio::time::timeout(Duration::from_secs(60), poller)
            .await
            .expect("poller finished")
            .unwrap();
        let want: Vec<u64> = events
            .iter()
            .filter(|e| i % 2 == 0 || e.property_id == "p0")
            .map(|e| e.seq)
            .collect();
        assert_eq!(got, want, "poller {i}");
    }
    assert_eq!(f.hub.metrics().polls(PollOutcome::Timeout), 0, "no stall");
}

#[tokio::test(start_paused = true)]
async fn staff_scoped_poll_never_sees_another_property() {
    let f = Fixture::default();
    for p in ["p1", "p2", "p1", "p2", "p2"] {
        f.write("org", p);
    }
    let staff = PropertyFilter::new(only(&["p1"]), None);
    let r = f.hub.poll(req("org", "t", Some(0), staff)).await.unwrap();
    assert_eq!(seqs(&r), [1, 3]);
    assert_eq!(cursor(&r), 5, "advances past the hidden 2, 4 and 5");

    let query = PropertyFilter::new(None, only(&["p2"]));
    let r = f.hub.poll(req("org", "t", Some(0), query)).await.unwrap();
    assert_eq!(seqs(&r), [2, 4, 5]);

    // A staff token asking for a property outside its scope sees nothing.
    let outside = PropertyFilter::new(only(&["p1"]), only(&["p2"]));
    let r = f.hub.poll(req("org", "t", Some(0), outside)).await.unwrap();
    assert!(r.events.is_empty());
    assert_eq!(cursor(&r), 5);
}

#[tokio::test(start_paused = true)]
async fn timeout_answers_empty_with_the_cursor_past_hidden_events() {
    let f = Fixture::default();
    f.write("org", "p1");
    let staff = PropertyFilter::new(only(&["p1"]), None);
    let started = Instant::now();
    let poll = f.spawn_poll(req("org", "t", Some(1), staff));
    until("parked", || f.waiters() == 1).await;
    f.write("org", "p2");
    f.write("org", "p2");
    let r = poll.await.unwrap().unwrap();
    assert!(r.events.is_empty() && !r.reset);
    assert_eq!(cursor(&r), 3);
    assert_eq!(started.elapsed(), HubConfig::default().poll_timeout);
    assert_eq!(f.hub.metrics().polls(PollOutcome::Timeout), 1);
}

#[tokio::test(start_paused = true)]
async fn requested_timeout_is_capped_by_the_hub() {
    let f = Fixture::default();
    f.write("org", "p1");
    let started = Instant::now();
    let mut short = all("org", 1);
    short.timeout = Some(Duration::from_secs(2));
    f.hub.poll(short).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    let mut long = all("org", 1);
    long.timeout = Some(Duration::from_secs(600));
    f.hub.poll(long).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(27));
}

#[tokio::test(start_paused = true)]
async fn missing_cursor_gets_the_head_at_once() {
    let f = Fixture::default();
    for _ in 0..3 {
        f.write("org", "p1");
    }
    let started = Instant::now();
    let r = f
        .hub
        .poll(req("org", "t", None, PropertyFilter::all()))
        .await
        .unwrap();
    assert_eq!((seqs(&r), cursor(&r), r.reset), (vec![], 3, false));
    assert_eq!(started.elapsed(), Duration::ZERO);
    // An org with no events yet: head 0.
    let r = f
        .hub
        .poll(req("new", "t", None, PropertyFilter::all()))
        .await
        .unwrap();
    assert_eq!(cursor(&r), 0);
}

#[tokio::test(start_paused = true)]
async fn waiter_cap_answers_at_once_with_a_retry_hint() {
    let f = Fixture::new(HubConfig {
        waiter_cap: 3,
        ..HubConfig::default()
    });
    let parked: Vec<_> = (0..3).map(|_| f.spawn_poll(all("org", 0))).collect();
    until("three parked", || f.waiters() == 3).await;

    let started = Instant::now();
    let r = f.hub.poll(all("org", 0)).await.unwrap();
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert!(r.events.is_empty() && !r.reset);
    assert_eq!(cursor(&r), 0, "cursor unchanged");
    let retry = r.retry_after_ms.expect("a retry hint");
    assert!((1_000..=3_000).contains(&retry), "{retry}");
    assert_eq!(f.waiters(), 3, "the refused poll never queued");

    f.write("org", "p1");
    for poll in parked {
        assert_eq!(seqs(&poll.await.unwrap().unwrap()), [1]);
    }
    let m = f.hub.metrics();
    assert_eq!(
        (m.polls(PollOutcome::Cap), m.polls(PollOutcome::Events)),
        (1, 3)
    );
}

#[tokio::test(start_paused = true)]
async fn idle_org_is_evicted_and_an_old_cursor_is_served_from_the_log() {
    let config = HubConfig::default();
    let f = Fixture::new(config.clone());
    for _ in 0..5 {
        f.write("org", "p1");
    }
    assert_eq!(f.hub.metrics().buffered_orgs, 1);
    tokio::time::sleep(config.idle_evict + sweeper::period(&config)).await;
    let m = f.hub.metrics();
    assert_eq!((m.buffered_orgs, m.evictions), (0, 1));

    let reads = f.log.reads();
    let r = f.hub.poll(all("org", 2)).await.unwrap();
    assert_eq!(seqs(&r), [3, 4, 5]);
    assert_eq!(cursor(&r), 5);
    assert!(f.log.reads() > reads, "served from the log");
    assert_eq!(
        f.hub.metrics().buffered_orgs,
        1,
        "the log read warmed the buffer"
    );
}

#[tokio::test(start_paused = true)]
async fn an_org_with_a_parked_poll_is_not_evicted() {
    let config = HubConfig {
        poll_timeout: Duration::from_secs(600),
        ..HubConfig::default()
    };
    let f = Fixture::new(config.clone());
    f.write("org", "p1");
    let poll = f.spawn_poll(all("org", 1));
    until("parked", || f.waiters() == 1).await;
    tokio::time::sleep(config.idle_evict * 3).await;
    assert_eq!(f.hub.metrics().buffered_orgs, 1);
    assert!(!poll.is_finished());
    // Once the poll is gone, the idle clock starts.
    poll.abort();
    until("freed", || f.waiters() == 0).await;
    tokio::time::sleep(config.idle_evict + sweeper::period(&config)).await;
    assert_eq!(f.hub.metrics().buffered_orgs, 0);
}

#[tokio::test(start_paused = true)]
async fn out_of_order_publish_never_exposes_a_gap() {
    let f = Fixture::default();
    let e1 = f.log.commit("org", "p1");
    let e2 = f.log.commit("org", "p1");
    let e3 = f.log.commit("org", "p1");
    f.hub.publish("org", vec![e1]);
    let poll = f.spawn_poll(all("org", 1));
    until("parked", || f.waiters() == 1).await;

    f.hub.publish("org", vec![e3]);
    settle().await;
    assert!(!poll.is_finished(), "3 must not be shown before 2");
    f.hub.publish("org", vec![e2]);
    assert_eq!(seqs(&poll.await.unwrap().unwrap()), [2, 3]);
}

#[tokio::test(start_paused = true)]
async fn an_unpublished_gap_is_filled_from_the_log() {
    let f = Fixture::default();
    let e1 = f.log.commit("org", "p1");
    let _lost = f.log.commit("org", "p1"); // its publisher died after commit
    let e3 = f.log.commit("org", "p1");
    f.hub.publish("org", vec![e1]);
    let started = Instant::now();
    let poll = f.spawn_poll(all("org", 1));
    until("parked", || f.waiters() == 1).await;
    f.hub.publish("org", vec![e3]);
    let r = poll.await.unwrap().unwrap();
    assert_eq!(seqs(&r), [2, 3]);
    assert_eq!(started.elapsed(), backfill::GAP_GRACE);
}

#[tokio::test(start_paused = true)]
async fn a_fresh_buffer_sends_older_cursors_to_the_log() {
    // The first event a buffer sees is 6 (publishes of 1..5 went to another
    // instance): a poll at 3 must still get 4 and 5.
    let f = Fixture::default();
    let mut last = None;
    for _ in 0..6 {
        last = Some(f.log.commit("org", "p1"));
    }
    f.hub.publish("org", vec![last.unwrap()]);
    let r = f.hub.poll(all("org", 3)).await.unwrap();
    assert_eq!(seqs(&r), [4, 5, 6]);
}

#[tokio::test(start_paused = true)]
async fn cursor_older_than_retention_gets_reset() {
    let f = Fixture::default();
    for _ in 0..10 {
        f.write("org", "p1");
    }
    f.log.prune_through("org", 5);
    // Buffered: the window still starts at 1, so a cursor inside it is fine.
    assert_eq!(seqs(&f.hub.poll(all("org", 2)).await.unwrap()).len(), 8);

    // Not buffered any more: the log no longer has 3..5.
    f.hub.shared.orgs.lock("org").clear();
    let r = f.hub.poll(all("org", 2)).await.unwrap();
    assert!(r.reset && r.events.is_empty());
    assert_eq!(cursor(&r), 10);
    // Right at the retention edge is still served.
    let r = f.hub.poll(all("org", 5)).await.unwrap();
    assert_eq!((seqs(&r), r.reset), ((6..=10).collect(), false));
    // Everything pruned.
    f.log.prune_through("org", 10);
    f.hub.shared.orgs.lock("org").clear();
    let r = f.hub.poll(all("org", 7)).await.unwrap();
    assert!(r.reset);
    assert_eq!(f.hub.metrics().polls(PollOutcome::Reset), 2);
}

#[tokio::test(start_paused = true)]
async fn cursor_ahead_of_head_gets_reset() {
    let f = Fixture::default();
    for _ in 0..3 {
        f.write("org", "p1");
    }
    // Buffered org.
    let r = f.hub.poll(all("org", 10)).await.unwrap();
    assert!(r.reset && r.events.is_empty());
    assert_eq!(cursor(&r), 3);
    // Unknown org (e.g. the database was replaced).
    let r = f.hub.poll(all("other", 4)).await.unwrap();
    assert!(r.reset);
    assert_eq!(cursor(&r), 0);
}

#[tokio::test(start_paused = true)]
async fn dropped_poll_frees_its_waiter_at_once() {
    let f = Fixture::default();
    f.write("org", "p1");
    let mut poll = Box::pin(f.hub.poll(all("org", 1)));
    assert!(futures::poll!(poll.as_mut()).is_pending());
    assert_eq!(f.waiters(), 1);
    drop(poll);
    assert_eq!(f.waiters(), 0);
    // And the org can be evicted again.
    let state_waiters = f.hub.shared.orgs.lock("org").get("org").unwrap().waiters;
    assert_eq!(state_waiters, 0);

    // The same through a spawned task that is aborted (client hung up).
    let task = f.spawn_poll(all("org", 1));
    until("parked", || f.waiters() == 1).await;
    task.abort();
    until("freed", || f.waiters() == 0).await;
}

#[tokio::test(start_paused = true)]
async fn revoke_token_ends_only_that_tokens_polls() {
    let f = Fixture::default();
    f.write("org", "p1");
    let any = || PropertyFilter::all();
    let a1 = f.spawn_poll(req("org", "a", Some(1), any()));
    let a2 = f.spawn_poll(req("org", "a", Some(1), any()));
    let b = f.spawn_poll(req("org", "b", Some(1), any()));
    until("parked", || f.waiters() == 3).await;

    let started = Instant::now();
    f.hub.revoke_token("a");
    assert!(matches!(a1.await.unwrap(), Err(PollError::Revoked)));
    assert!(matches!(a2.await.unwrap(), Err(PollError::Revoked)));
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(f.waiters(), 1);
    assert!(!b.is_finished());

    // A poll that was authenticated before the logout is refused too.
    let late = f.hub.poll(req("org", "a", Some(1), any())).now_or_never();
    assert!(matches!(late, Some(Err(PollError::Revoked))));

    f.write("org", "p1");
    assert_eq!(seqs(&b.await.unwrap().unwrap()), [2]);
    assert_eq!(f.hub.metrics().polls(PollOutcome::Revoked), 3);
}

#[tokio::test(start_paused = true)]
async fn shutdown_answers_parked_polls_at_once() {
    let f = Fixture::default();
    f.write("org", "p1");
    let polls: Vec<_> = (0..3).map(|_| f.spawn_poll(all("org", 1))).collect();
    until("parked", || f.waiters() == 3).await;
    let started = Instant::now();
    f.hub.shutdown().await; // returns once the sweeper has stopped
    for poll in polls {
        let r = poll.await.unwrap().unwrap();
        assert_eq!((seqs(&r), cursor(&r), r.reset), (vec![], 1, false));
    }
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(f.waiters(), 0);
    // Later polls do not park either.
    let r = f.hub.poll(all("org", 1)).await.unwrap();
    assert!(r.events.is_empty());
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(f.hub.metrics().polls(PollOutcome::Shutdown), 4);
}

#[tokio::test(start_paused = true)]
async fn cancelling_the_parent_token_stops_the_hub() {
    let f = Fixture::default();
    f.write("org", "p1");
    let poll = f.spawn_poll(all("org", 1));
    until("parked", || f.waiters() == 1).await;
    f.shutdown.cancel();
    let r = poll.await.unwrap().unwrap();
    assert!(r.events.is_empty());
    f.hub.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn dropping_the_last_handle_stops_the_hub() {
    let f = Fixture::default();
    let tasks = f.hub.shared.tasks.clone();
    let cancel = f.hub.shared.cancel.clone();
    let clone = f.hub.clone();
    drop(f.hub);
    assert!(!cancel.is_cancelled(), "a handle is still alive");
    drop(clone);
    assert!(cancel.is_cancelled());
    tasks.close();
    tasks.wait().await; // the sweeper has stopped
}

#[tokio::test(start_paused = true)]
async fn ttl_expiry_drops_events_and_the_log_fills_in() {
    let config = HubConfig {
        idle_evict: Duration::from_secs(3600),
        ..HubConfig::default()
    };
    let f = Fixture::new(config.clone());
    for _ in 0..3 {
        f.write("org", "p1");
    }
    tokio::time::sleep(config.event_ttl + sweeper::period(&config)).await;
    {
        let shard = f.hub.shared.orgs.lock("org");
        let buffer = &shard.get("org").unwrap().buffer;
        assert_eq!((buffer.len(), buffer.floor(), buffer.head()), (0, 3, 3));
    }
    let reads = f.log.reads();
    let r = f.hub.poll(all("org", 0)).await.unwrap();
    assert_eq!(seqs(&r), [1, 2, 3]);
    assert!(f.log.reads() > reads, "served from the log");
    // Up to date at the head: parks without asking the log.
    let reads = f.log.reads();
    let poll = f.spawn_poll(all("org", 3));
    until("parked", || f.waiters() == 1).await;
    assert_eq!(f.log.reads(), reads);
    f.write("org", "p1");
    assert_eq!(seqs(&poll.await.unwrap().unwrap()), [4]);
}

#[tokio::test(start_paused = true)]
async fn bounded_buffer_drops_the_oldest_and_the_log_fills_in() {
    let f = Fixture::new(HubConfig {
        buffer_capacity: 4,
        ..HubConfig::default()
    });
    for _ in 0..10 {
        f.write("org", "p1");
    }
    {
        let shard = f.hub.shared.orgs.lock("org");
        let buffer = &shard.get("org").unwrap().buffer;
        assert_eq!((buffer.len(), buffer.floor(), buffer.head()), (4, 6, 10));
    }
    let reads = f.log.reads();
    assert_eq!(
        seqs(&f.hub.poll(all("org", 6)).await.unwrap()),
        [7, 8, 9, 10]
    );
    assert_eq!(f.log.reads(), reads, "inside the window: no log read");
    assert_eq!(
        seqs(&f.hub.poll(all("org", 0)).await.unwrap()),
        (1..=10).collect::<Vec<_>>()
    );
    assert!(f.log.reads() > reads, "below the window: from the log");
}

#[tokio::test(start_paused = true)]
async fn a_parked_poll_overtaken_by_a_burst_reads_the_rest_from_the_log() {
    let f = Fixture::new(HubConfig {
        buffer_capacity: 4,
        max_batch: 100,
        ..HubConfig::default()
    });
    f.write("org", "p1");
    let poll = f.spawn_poll(all("org", 1));
    until("parked", || f.waiters() == 1).await;
    // Ten events in one publish: the window keeps only 8..11.
    let burst: Vec<Event> = (0..10).map(|_| f.log.commit("org", "p1")).collect();
    f.hub.publish("org", burst);
    assert_eq!(
        seqs(&poll.await.unwrap().unwrap()),
        (2..=11).collect::<Vec<_>>()
    );
}

#[tokio::test(start_paused = true)]
async fn metrics_count_published_events_and_buffered_orgs() {
    let f = Fixture::default();
    f.write("a", "p1");
    f.write("b", "p1");
    f.write("b", "p1");
    let m = f.hub.metrics();
    assert_eq!((m.events_published, m.buffered_orgs), (3, 2));
    let mut text = String::new();
    m.render(&mut text);
    assert!(text.contains("ledgerline_events_published_total 3\n"));
    assert!(text.contains("ledgerline_realtime_buffered_orgs 2\n"));
}

/// The hub's per-waiter state is the poll future itself (the wait is an
/// intrusive node inside it; nothing is allocated per waiter). Run with
/// `--nocapture` to see the figures.
#[tokio::test(start_paused = true)]
async fn per_waiter_state_is_small() {
    let f = Fixture::default();
    let poll = f.hub.poll(all("org", 1));
    let future = std::mem::size_of_val(&poll);
    let notify = Arc::new(tokio::sync::Notify::new());
    let cancel = CancellationToken::new();
    println!("poll future: {future} bytes");
    println!(
        "  of which Sleep {}",
        std::mem::size_of::<tokio::time::Sleep>()
    );
    println!(
        "  OwnedNotified {}",
        std::mem::size_of_val(&notify.notified_owned())
    );
    println!(
        "  cancelled() {}",
        std::mem::size_of_val(&cancel.cancelled())
    );
    println!("  PollRequest {}", std::mem::size_of::<PollRequest>());
    println!(
        "per buffered org: OrgState {} bytes",
        std::mem::size_of::<orgs::OrgState>()
    );
    assert!(future <= 768, "poll future grew to {future} bytes");
}

/// Resident memory of this process, from `/proc/self/statm` (Linux).
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// A measurement, not a check: parks 100k polls over 20k orgs and prints
/// the resident memory each one costs (task + poll future + hub state), then
/// how long one publish takes to answer an org's 5000 parked polls.
/// `cargo test --release -p ledgerline-server parked_poll_footprint -- --ignored --nocapture`
#[test]
#[ignore = "measurement; run in release with --ignored --nocapture"]
fn parked_poll_footprint() {
    const ORGS: usize = 20_000;
    const PER_ORG: usize = 5;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let f = Fixture::default();
        let orgs: Vec<String> = (0..ORGS).map(|i| format!("org-{i:06}")).collect();
        for org in &orgs {
            f.write(org, "p1");
        }
        let before = rss_bytes().unwrap_or(0);
        let mut polls = Vec::with_capacity(ORGS * PER_ORG);
        for (i, org) in orgs.iter().enumerate() {
            for j in 0..PER_ORG {
                polls.push(f.spawn_poll(req(
                    org,
                    &format!("tok-{i}-{j}"),
                    Some(1),
                    PropertyFilter::all(),
                )));
            }
        }
        while f.waiters() < (ORGS * PER_ORG) as u64 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let after = rss_bytes().unwrap_or(0);
        println!(
            "{} parked polls: {:.0} bytes RSS each (task + future + hub state)",
            ORGS * PER_ORG,
            after.saturating_sub(before) as f64 / (ORGS * PER_ORG) as f64
        );

        // Fan-out: one org with 5000 parked polls.
        let mut wide = Vec::new();
        for j in 0..5000 {
            wide.push(f.spawn_poll(req(
                "wide",
                &format!("w{j}"),
                Some(0),
                PropertyFilter::all(),
            )));
        }
        while f.waiters() < (ORGS * PER_ORG + 5000) as u64 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let started = std::time::Instant::now();
        f.write("wide", "p1");
        for poll in wide {
            assert_eq!(seqs(&poll.await.unwrap().unwrap()), [1]);
        }
        println!(
            "one publish answered 5000 parked polls of an org in {:?}",
            started.elapsed()
        );

        let started = std::time::Instant::now();
        f.hub.shutdown().await;
        for poll in polls {
            poll.await.unwrap().unwrap();
        }
        println!(
            "shutdown answered {} parked polls in {:?}",
            ORGS * PER_ORG,
            started.elapsed()
        );
    });
}

mod token_cap;
