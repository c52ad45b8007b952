//! Delivery: every poller gets every event it may see, once, in order —
//! through reordered or lost publishes, concurrent writers, filters, timeouts
//! and gaps filled from the log.

use super::*;

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
