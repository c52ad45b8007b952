//! The hub's side of the fleet (`fleet.rs`), on a paused clock: events the
//! bus delivers while a poll reads the log of an org with no buffer, head
//! announcements for events the bus never delivered, and the buffered heads
//! a head check compares.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering::SeqCst},
        Arc,
    },
    time::Duration,
};

use ledgerline_wire::Event;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;

use super::{
    tests::{until, MemLog},
    EventLog, Hub, HubConfig, LogFuture, PollRequest, PropertyFilter,
};

/// [`MemLog`], except that `event_bounds` answers with what the log said
/// *before* it waits for the test's go-ahead: the window between a poll's
/// last log read and its buffer being created, held open.
struct SlowBounds {
    log: Arc<MemLog>,
    gate: Semaphore,
    waiting: AtomicBool,
    reached: Notify,
}

impl EventLog for SlowBounds {
    fn events_after<'a>(
        &'a self,
        org_id: &'a str,
        after_seq: u64,
        limit: usize,
    ) -> LogFuture<'a, Vec<Event>> {
        self.log.events_after(org_id, after_seq, limit)
    }

    fn event_bounds<'a>(&'a self, org_id: &'a str) -> LogFuture<'a, (Option<u64>, u64)> {
        Box::pin(async move {
            let bounds = self.log.event_bounds(org_id).await?;
            self.waiting.store(true, SeqCst);
            self.reached.notify_one();
            let _go = self.gate.acquire().await.expect("gate open");
            Ok(bounds)
        })
    }
}

fn poll_from(org: &str, cursor: u64) -> PollRequest {
    PollRequest {
        org_id: Arc::from(org),
        token_id: Arc::from("tok"),
        cursor: Some(cursor),
        filter: PropertyFilter::all(),
        timeout: None,
    }
}

/// What the bus does with a message of `org`.
fn deliver(hub: &Hub, org: &str, event: Event) -> bool {
    let wanted = hub.wants(org);
    if wanted {
        hub.publish(org, vec![event]);
    }
    wanted
}

#[tokio::test(start_paused = true)]
async fn an_event_the_bus_delivers_while_a_poll_reads_the_log_is_not_lost() {
    let log = Arc::new(MemLog::default());
    for _ in 0..3 {
        log.commit("o", "p");
    }
    let slow = Arc::new(SlowBounds {
        log: Arc::clone(&log),
        gate: Semaphore::new(0),
        waiting: AtomicBool::new(false),
        reached: Notify::new(),
    });
    let hub = Hub::new(
        HubConfig::default(),
        slow.clone(),
        &CancellationToken::new(),
    );
    assert!(!hub.wants("o"), "no buffer, no poll: skipped by subject");

    // A poll from the head (3): no buffer, so it reads the log, and the log
    // says "head 3"...
    let poll = tokio::spawn({
        let hub = hub.clone();
        async move { hub.poll(poll_from("o", 3)).await }
    });
    until("the poll reads the log's bounds", || {
        slow.waiting.load(SeqCst)
    })
    .await;
    // ...while seq 4 commits on another instance and its message arrives.
    assert!(hub.wants("o"), "a poll is reading this org's log");
    let fourth = log.commit("o", "p");
    deliver(&hub, "o", fourth);
    slow.gate.add_permits(1000);

    let answer = tokio::time::timeout(Duration::from_secs(1), poll)
        .await
        .expect("answered without waiting out the poll timeout")
        .unwrap()
        .unwrap();
    assert_eq!(answer.events.iter().map(|e| e.seq).collect::<Vec<_>>(), [4]);
}

#[tokio::test(start_paused = true)]
async fn a_head_announcement_brings_events_the_bus_never_delivered() {
    let log = Arc::new(MemLog::default());
    let hub = Hub::new(HubConfig::default(), log.clone(), &CancellationToken::new());
    let first = log.commit("o", "p");
    hub.publish("o", vec![first]);
    let parked = tokio::spawn({
        let hub = hub.clone();
        async move { hub.poll(poll_from("o", 1)).await }
    });
    until("the poll parks", || hub.metrics().waiters == 1).await;
    // Committed elsewhere; its message was lost.
    log.commit("o", "p");
    log.commit("o", "p");
    assert_eq!(hub.buffered_heads(), [(Arc::from("o"), 1)]);
    // A head check learns the log is at 3.
    hub.announce("o", 3);
    let answer = tokio::time::timeout(Duration::from_secs(5), parked)
        .await
        .expect("the back-fill wakes the poll")
        .unwrap()
        .unwrap();
    assert_eq!(
        answer.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [2, 3]
    );
    // Announcing an org with no buffer does nothing (its polls read the log).
    hub.announce("elsewhere", 9);
    assert!(!hub.wants("elsewhere"));
}
