//! Several server instances on one database: the concurrency rules of the
//! write path (both backends: two servers on one database), and — on
//! Postgres, with a private `nats-server` — the bus between them: events,
//! logouts, and what happens when the bus is down.

use std::time::Instant;

use ledgerline_server::{store::Backend, RealtimeConfig};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{
    backend, eventually, new_tx, seq, spawn_app, spawn_app_with, Nats, Poll, TestApp, DEADLINE,
};

/// A second instance on `app`'s database on Postgres; on SQLite `None` (one
/// file serves one server, and the rules are checked on that one).
async fn peer(app: &TestApp) -> Option<TestApp> {
    match backend() {
        Backend::Postgres => Some(app.spawn_peer(RealtimeConfig::default()).await),
        Backend::Sqlite => None,
    }
}

#[tokio::test]
async fn twenty_concurrent_patches_at_one_version_make_one_200_and_nineteen_409() {
    let a = spawn_app().await;
    let peer = peer(&a).await;
    let b = peer.as_ref().unwrap_or(&a);
    let owner = a.login("owner@demo.test").await;
    let t = a.create(&owner, new_tx(&owner.properties[0])).await;
    let path = format!("/v1/transactions/{}", t.id);
    let bodies: Vec<_> = (0..20)
        .map(|i| json!({"version": 1, "memo": format!("writer {i}")}))
        .collect();
    let patches = bodies.iter().enumerate().map(|(i, body)| {
        let app = if i % 2 == 0 { &a } else { b };
        app.patch_json(&path, &owner.token, body)
    });
    let responses = futures::future::join_all(patches).await;
    let mut statuses: Vec<StatusCode> = responses.iter().map(|r| r.status()).collect();
    statuses.sort();
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let conflicts = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((ok, conflicts), (1, 19), "{statuses:?}");
    let row = a.stored_row(&t.id).await.unwrap();
    assert_eq!(row["version"], 2);
    // One update event, after the create.
    let kinds: Vec<String> = a
        .events(&owner.org_id)
        .await
        .iter()
        .map(|e| e.kind.as_str().to_owned())
        .collect();
    assert_eq!(kinds, ["transaction.added", "transaction.updated"]);
}

#[tokio::test]
async fn concurrent_retries_of_one_create_through_two_instances_make_one_row_and_one_event() {
    let a = spawn_app().await;
    let peer = peer(&a).await;
    let b = peer.as_ref().unwrap_or(&a);
    let owner = a.login("owner@demo.test").await;
    let mut body = new_tx(&owner.properties[0]);
    body["client_mutation_id"] = json!("retry-me");
    let creates = (0..16).map(|i| {
        let app = if i % 2 == 0 { &a } else { b };
        app.post_json("/v1/transactions", &owner.token, &body)
    });
    let mut ids = Vec::new();
    for response in futures::future::join_all(creates).await {
        let status = response.status();
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "{status}"
        );
        let row: serde_json::Value = response.json().await.unwrap();
        ids.push(row["id"].as_str().unwrap().to_owned());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every retry names the one row");
    assert_eq!(a.transaction_count().await, 1);
    assert_eq!(a.events(&owner.org_id).await.len(), 1);
}

#[tokio::test]
async fn readers_never_see_a_hole_in_the_log_while_two_instances_write() {
    let a = spawn_app().await;
    let peer = peer(&a).await;
    let b = peer.as_ref().unwrap_or(&a);
    let owner = a.login("owner@demo.test").await;
    let org = owner.org_id.clone();
    let bodies: Vec<_> = (0..60).map(|i| new_tx(&owner.properties[i % 5])).collect();
    let writers = bodies.iter().enumerate().map(|(i, body)| {
        let app = if i % 2 == 0 { &a } else { b };
        app.post_json("/v1/transactions", &owner.token, body)
    });
    let reader = async {
        // If seq N+1 could commit before N, a read between the two commits
        // would see N+1 without N.
        let mut reads = 0;
        loop {
            let seqs: Vec<i64> =
                sqlx::query_scalar("SELECT seq FROM events WHERE org_id = $1 ORDER BY seq")
                    .bind(&org)
                    .fetch_all(&a.db)
                    .await
                    .unwrap();
            let contiguous = seqs.iter().enumerate().all(|(i, s)| *s == i as i64 + 1);
            assert!(contiguous, "a hole in the committed log: {seqs:?}");
            reads += 1;
            if seqs.len() >= 60 {
                return reads;
            }
            tokio::task::yield_now().await;
        }
    };
    let (responses, reads) = tokio::time::timeout(DEADLINE, async {
        tokio::join!(futures::future::join_all(writers), reader)
    })
    .await
    .expect("60 writes and the reads between them finish");
    assert!(responses.iter().all(|r| r.status() == StatusCode::CREATED));
    println!("{reads} reads of the log during 60 writes through two instances");
}

#[tokio::test]
async fn a_cursor_of_another_database_gets_reset_with_this_ones_head() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    app.create(&owner, new_tx(&owner.properties[0])).await;
    let head = app.head(&owner).await;
    assert_eq!(head, 1);
    let mine = app
        .poll(&owner, Poll::default())
        .await
        .cursor
        .split_once('.')
        .map(|(epoch, _)| epoch.to_owned())
        .expect("cursors carry the epoch");
    let other = if mine == "zzzzzzzz" {
        "yyyyyyyy"
    } else {
        "zzzzzzzz"
    };
    let r = app
        .poll_raw(&owner.token, &format!("cursor={other}.0&timeout_ms=5000"))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r: ledgerline_wire::PollResponse = r.json().await.unwrap();
    assert!(r.reset, "another database's cursor must reset: {r:?}");
    assert!(r.events.is_empty());
    assert_eq!(r.cursor, format!("{mine}.1"));
    // A bare seq (issued before cursors had epochs) is this database's.
    let bare = app.poll(&owner, Poll::at(0, 5000)).await;
    assert!(!bare.reset);
    assert_eq!(seq(&bare.cursor), 1);
    assert_eq!(bare.events.len(), 1);
}

/// Two instances of a fleet on Postgres with a bus; `None` on SQLite (one
/// file serves one instance).
async fn fleet(nats: &Nats) -> Option<(TestApp, TestApp)> {
    if backend() != Backend::Postgres {
        eprintln!(
            "skipped: the bus needs the Postgres backend (LEDGERLINE_TEST_DATABASE=postgres)"
        );
        return None;
    }
    let config = RealtimeConfig {
        nats_url: Some(nats.url()),
        ..RealtimeConfig::default()
    };
    let a = spawn_app_with(config.clone()).await;
    let b = a.spawn_peer(config).await;
    for app in [&a, &b] {
        app.metric_reaches("ledgerline_bus_connected", 1.0).await;
    }
    Some((a, b))
}

#[tokio::test]
async fn a_write_on_one_instance_wakes_a_poll_parked_on_another() {
    let nats = Nats::start().await;
    let Some((a, b)) = fleet(&nats).await else {
        return;
    };
    let owner = a.login("owner@demo.test").await;
    let head = b.head(&owner).await;
    let parked = b.poll(&owner, Poll::at(head, 20_000));
    let parked = tokio::spawn(parked);
    b.metric_reaches("ledgerline_realtime_waiters", 1.0).await;
    let t = a.create(&owner, new_tx(&owner.properties[0])).await;
    let r = parked.await.unwrap();
    assert_eq!(r.events.len(), 1);
    assert_eq!(r.events[0].row.id(), t.id);
    assert_eq!(seq(&r.cursor), head + 1);
    // B decoded it because it had a waiter; nothing was skipped for that org.
    assert!(
        b.metric("ledgerline_bus_messages_total{outcome=\"taken\"}")
            .await
            >= 1.0
    );
}

/// Parks a poll on `b` from `head`, logs the token out through `a`, and
/// checks that the poll ends with 401 and `b` then refuses the token; `how`
/// names the path the revocation took, for the printed figure.
async fn logout_ends_the_poll_parked_on(
    a: &TestApp,
    b: &TestApp,
    owner: &crate::helpers::Session,
    head: u64,
    how: &str,
) {
    let parked = tokio::spawn(
        b.request(reqwest::Method::GET, "/v1/realtime/poll", &owner.token)
            .query(&[("cursor", head.to_string()), ("timeout_ms", "20000".into())])
            .send(),
    );
    b.metric_reaches("ledgerline_realtime_waiters", 1.0).await;
    let started = Instant::now();
    assert_eq!(
        a.post("/v1/auth/logout", &owner.token).await.status(),
        StatusCode::NO_CONTENT
    );
    let ended = tokio::time::timeout(DEADLINE, parked)
        .await
        .expect("the parked poll ends")
        .unwrap()
        .unwrap();
    assert_eq!(ended.status(), StatusCode::UNAUTHORIZED);
    println!(
        "logout on A ended B's parked poll after {:?} ({how})",
        started.elapsed()
    );
    let again = b.get("/v1/properties", &owner.token).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_on_one_instance_ends_a_poll_parked_on_another_and_is_refused_there() {
    let nats = Nats::start().await;
    let Some((a, b)) = fleet(&nats).await else {
        return;
    };
    let owner = a.login("owner@demo.test").await;
    // B caches the session on its first request.
    let head = b.head(&owner).await;
    logout_ends_the_poll_parked_on(&a, &b, &owner, head, "the bus").await;
}

#[tokio::test]
async fn with_the_bus_down_writes_go_on_and_still_reach_polls_on_other_instances() {
    let mut nats = Nats::start().await;
    let Some((a, b)) = fleet(&nats).await else {
        return;
    };
    let owner = a.login("owner@demo.test").await;
    let head = b.head(&owner).await;
    nats.kill().await;
    for app in [&a, &b] {
        app.metric_reaches("ledgerline_bus_connected", 0.0).await;
    }
    let parked = tokio::spawn(b.poll(&owner, Poll::at(head, 20_000)));
    b.metric_reaches("ledgerline_realtime_waiters", 1.0).await;
    let written = Instant::now();
    let t = a.create(&owner, new_tx(&owner.properties[0])).await;
    let r = parked.await.unwrap();
    assert_eq!(r.events.len(), 1, "{r:?}");
    assert_eq!(r.events[0].row.id(), t.id);
    println!(
        "bus down: write on A reached B's parked poll after {:?} (head check)",
        written.elapsed()
    );

    // Back up: live over the bus again, and nothing lost or repeated.
    nats.restart().await;
    for app in [&a, &b] {
        app.metric_reaches("ledgerline_bus_connected", 1.0).await;
    }
    let mut expected = vec![t.id.clone()];
    for i in 0..5 {
        expected.push(a.create(&owner, new_tx(&owner.properties[i])).await.id);
    }
    let (events, _) = b.collect(&owner, head, None, 6).await;
    let got: Vec<String> = events.iter().map(|e| e.row.id().to_owned()).collect();
    assert_eq!(got, expected);
    eventually("heads were checked", || async {
        b.metric("ledgerline_fleet_head_checks_total").await >= 1.0
    })
    .await;
}

#[tokio::test]
async fn a_fleet_duty_is_held_by_one_instance_at_a_time() {
    let app = spawn_app().await;
    let a = ledgerline_server::Store::open(app.database_url())
        .await
        .unwrap();
    let b = ledgerline_server::Store::open(app.database_url())
        .await
        .unwrap();
    let duty = ledgerline_server::store::FleetDuty::Retention;
    let held = a
        .try_duty(duty)
        .await
        .unwrap()
        .expect("a free duty is granted");
    match backend() {
        // Another instance skips the round while the first holds it...
        Backend::Postgres => assert!(b.try_duty(duty).await.unwrap().is_none()),
        // ...on SQLite there is only ever one instance, which always may.
        Backend::Sqlite => assert!(b.try_duty(duty).await.unwrap().is_some()),
    }
    held.release().await;
    let next = b
        .try_duty(duty)
        .await
        .unwrap()
        .expect("released, it is free");
    next.release().await;
    // A holder that dies (its connection closes) releases it too.
    let dying = a.try_duty(duty).await.unwrap().expect("free again");
    drop(dying);
    eventually("the dead holder's lock is gone", || async {
        match b.try_duty(duty).await.unwrap() {
            Some(guard) => {
                guard.release().await;
                true
            }
            None => false,
        }
    })
    .await;
}

#[tokio::test]
async fn with_the_bus_down_a_logout_still_ends_polls_on_other_instances() {
    let mut nats = Nats::start().await;
    let Some((a, b)) = fleet(&nats).await else {
        return;
    };
    let owner = a.login("owner@demo.test").await;
    let head = b.head(&owner).await;
    nats.kill().await;
    for app in [&a, &b] {
        app.metric_reaches("ledgerline_bus_connected", 0.0).await;
    }
    // No bus message can carry it: the revocation sweep does.
    logout_ends_the_poll_parked_on(&a, &b, &owner, head, "the revocation sweep, bus down").await;
}
