//! The per-token cap on parked long-polls (`--polls-per-token`): past it
//! the token's oldest parked poll is answered at once with its cursor and
//! `retry_after_ms`, so one token cannot take its org's waiter slots and a
//! client reconnecting past the cap is never locked out.

use ledgerline_server::RealtimeConfig;
use ledgerline_wire::PollResponse;
use reqwest::StatusCode;
use tokio::io::AsyncWriteExt;

use crate::{
    helpers::{new_tx, spawn_app_with, Poll, DEADLINE},
    realtime::{long_polls, park, WAITERS},
};

fn capped(polls_per_token: usize) -> RealtimeConfig {
    RealtimeConfig {
        polls_per_token,
        ..long_polls()
    }
}

#[tokio::test]
async fn past_the_cap_the_tokens_oldest_poll_is_answered_with_retry_after() {
    let app = spawn_app_with(capped(2)).await;
    let owner = app.login("owner@demo.test").await;
    let colleague = app.login("manager@demo.test").await;
    let head = app.head(&owner).await;
    let oldest = park(&app, &owner, head);
    app.metric_reaches(WAITERS, 1.0).await;
    let second = park(&app, &owner, head);
    app.metric_reaches(WAITERS, 2.0).await;
    let other = park(&app, &colleague, head);
    app.metric_reaches(WAITERS, 3.0).await;

    let newest = park(&app, &owner, head);
    let response = tokio::time::timeout(DEADLINE, oldest)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let evicted: PollResponse = response.json().await.unwrap();
    assert!(evicted.events.is_empty() && !evicted.reset);
    assert_eq!(crate::helpers::seq(&evicted.cursor), head);
    assert!(evicted.retry_after_ms.is_some_and(|ms| ms > 0));
    app.metric_reaches(WAITERS, 3.0).await;
    assert_eq!(
        app.metric("ledgerline_realtime_polls_total{outcome=\"evicted\"}")
            .await,
        1.0
    );

    app.create(&owner, new_tx(&owner.properties[0])).await;
    for poll in [second, newest, other] {
        let response = tokio::time::timeout(DEADLINE, poll).await.unwrap().unwrap();
        let r: PollResponse = response.json().await.unwrap();
        assert_eq!(r.events.len(), 1, "{r:?}");
        assert_eq!(r.retry_after_ms, None);
    }
}

#[tokio::test]
async fn a_client_reconnecting_past_the_cap_is_never_locked_out() {
    let app = spawn_app_with(capped(2)).await;
    let owner = app.login("owner@demo.test").await;
    let head = app.head(&owner).await;
    // Two polls whose client is gone but whose sockets stay open (as behind
    // a proxy that has not noticed): the server still counts them.
    let mut zombies = Vec::new();
    for parked in 1..=2 {
        let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        let request = format!(
            "GET /v1/realtime/poll?cursor={head} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\r\n",
            app.addr, owner.token
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        app.metric_reaches(WAITERS, f64::from(parked)).await;
        zombies.push(stream);
    }
    // The reconnected client parks and gets the next event.
    let fresh = app.poll(&owner, Poll::at(head, 30_000));
    let fresh = tokio::spawn(fresh);
    eventually_evicted(&app, 1.0).await;
    app.create(&owner, new_tx(&owner.properties[0])).await;
    let r = tokio::time::timeout(DEADLINE, fresh)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.events.len(), 1, "{r:?}");
    drop(zombies);
}

async fn eventually_evicted(app: &crate::helpers::TestApp, count: f64) {
    crate::helpers::eventually("a poll evicted", || async {
        app.metric("ledgerline_realtime_polls_total{outcome=\"evicted\"}")
            .await
            >= count
    })
    .await;
}
