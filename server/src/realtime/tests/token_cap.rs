//! The per-token cap on parked polls (`polls_per_token`), in paused time:
//! the oldest poll makes way for the newest, and pollers beyond the cap that
//! honour `retry_after_ms` rotate slowly and miss nothing.

use super::*;

fn capped(polls_per_token: usize) -> Fixture {
    Fixture::new(HubConfig {
        polls_per_token,
        ..HubConfig::default()
    })
}

#[tokio::test(start_paused = true)]
async fn past_the_cap_the_oldest_poll_is_answered_with_its_cursor_and_retry_after() {
    let f = capped(2);
    f.write("org", "p1");
    let oldest = f.spawn_poll(all("org", 1));
    until("first parked", || f.waiters() == 1).await;
    let second = f.spawn_poll(all("org", 1));
    until("second parked", || f.waiters() == 2).await;
    let other_token = f.spawn_poll(req("org", "other", Some(1), PropertyFilter::all()));
    until("other token parked", || f.waiters() == 3).await;

    let started = Instant::now();
    let newest = f.spawn_poll(all("org", 1));
    let evicted = oldest.await.unwrap().unwrap();
    assert_eq!(started.elapsed(), Duration::ZERO, "answered at once");
    assert!(evicted.events.is_empty() && !evicted.reset);
    assert_eq!(cursor(&evicted), 1);
    assert!(evicted
        .retry_after_ms
        .is_some_and(|ms| (1_000..=3_000).contains(&ms)));
    until("newest parked", || f.waiters() == 3).await;
    assert_eq!(f.hub.metrics().polls(PollOutcome::Evicted), 1);

    f.write("org", "p1");
    for poll in [second, newest, other_token] {
        let r = poll.await.unwrap().unwrap();
        assert_eq!(seqs(&r), [2]);
        assert_eq!(r.retry_after_ms, None);
    }
}

#[tokio::test(start_paused = true)]
async fn revoking_a_capped_token_still_ends_all_its_polls() {
    let f = capped(1);
    f.write("org", "p1");
    let first = f.spawn_poll(all("org", 1));
    until("parked", || f.waiters() == 1).await;
    let second = f.spawn_poll(all("org", 1));
    assert!(first.await.unwrap().unwrap().retry_after_ms.is_some());
    until("second parked", || f.waiters() == 1).await;
    f.hub.revoke_token("tok");
    assert!(matches!(second.await.unwrap(), Err(PollError::Revoked)));
    assert_eq!(f.waiters(), 0);
}

#[tokio::test(start_paused = true)]
async fn pollers_beyond_the_cap_back_off_instead_of_evicting_each_other_in_a_loop() {
    const WRITES: u64 = 12;
    let f = capped(1);
    f.write("org", "p1");
    // Two clients of one token, each honouring `retry_after_ms`.
    let client = |hub: Hub| async move {
        let mut cursor = 1;
        let mut seen = Vec::new();
        let mut evicted = 0;
        while seen.len() < WRITES as usize {
            let r = hub.poll(all("org", cursor)).await.unwrap();
            seen.extend(r.events.iter().map(|e| e.seq));
            cursor = r.cursor.parse::<Cursor>().unwrap().seq();
            if let Some(ms) = r.retry_after_ms {
                evicted += 1;
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
        }
        (seen, evicted)
    };
    let a = tokio::spawn(client(f.hub.clone()));
    let b = tokio::spawn(client(f.hub.clone()));
    let started = Instant::now();
    for _ in 0..WRITES {
        tokio::time::sleep(Duration::from_secs(5)).await;
        f.write("org", "p1");
    }
    let elapsed = started.elapsed();
    for (seen, evicted) in [a.await.unwrap(), b.await.unwrap()] {
        // Every event, once, in order.
        assert_eq!(seen, (2..2 + WRITES).collect::<Vec<_>>());
        // An eviction costs its poller at least a second: at most one per
        // second of the run, not a tight loop.
        assert!(
            evicted <= elapsed.as_secs() + 1,
            "{evicted} evictions in {elapsed:?}"
        );
    }
}
