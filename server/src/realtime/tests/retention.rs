//! Retention: idle eviction, TTL and the bounded buffer; cursors older than
//! the buffer are served from the log, cursors outside the log are reset.

use super::*;

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
