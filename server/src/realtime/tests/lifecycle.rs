//! Lifecycle: the waiter cap, dropped polls, revoked tokens, shutdown and
//! the hub's end; the metrics it keeps.

use super::*;

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
