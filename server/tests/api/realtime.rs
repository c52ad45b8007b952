//! `GET /v1/realtime/poll` against the real server: delivery (every visible
//! event exactly once, in order), the property filter, the waiter cap, idle
//! eviction, restarts and retention, hang-ups, logout, shutdown, and bad
//! queries.

use ledgerline_server::RealtimeConfig;
use ledgerline_wire::Event;
use reqwest::StatusCode;
use tokio::io::AsyncWriteExt;

use crate::helpers::{
    assert_error, eventually, new_tx, seq, spawn_app, spawn_app_with, Poll, Session, TestApp,
    DEADLINE,
};

pub const WAITERS: &str = "ledgerline_realtime_waiters";
const BUFFERED_ORGS: &str = "ledgerline_realtime_buffered_orgs";

fn seqs(events: &[Event]) -> Vec<u64> {
    events.iter().map(|e| e.seq).collect()
}

/// Server settings for tests that must see a poll outlive the test deadline
/// unless something ends it early.
pub fn long_polls() -> RealtimeConfig {
    RealtimeConfig {
        poll_timeout_ms: 60_000,
        ..RealtimeConfig::default()
    }
}

/// Parks a poll of `who` from `cursor` with the server's full timeout.
pub fn park(
    app: &TestApp,
    who: &Session,
    cursor: u64,
) -> tokio::task::JoinHandle<reqwest::Response> {
    let request = app
        .request(reqwest::Method::GET, "/v1/realtime/poll", &who.token)
        .query(&[("cursor", cursor.to_string())]);
    tokio::spawn(async move { request.send().await.unwrap() })
}

#[tokio::test]
async fn every_poller_gets_every_visible_event_once_in_order() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let manager = app.login("manager@demo.test").await;
    let accountant = app.login("accountant@demo.test").await;
    let staff = app.login("staff@demo.test").await;
    let second_owner_session = app.login("owner@demo.test").await;
    let head = app.head(&owner).await;

    // Writers: the accountant over every property, staff on theirs, then the
    // manager approves and the accountant deletes some of them.
    const PER_WRITER: usize = 12;
    let writes = async {
        let (a, ()) = tokio::join!(
            async {
                let mut made = Vec::new();
                for i in 0..PER_WRITER {
                    let p = &accountant.properties[i % accountant.properties.len()];
                    made.push(app.create(&accountant, new_tx(p)).await);
                }
                made
            },
            async {
                for _ in 0..PER_WRITER {
                    app.create(&staff, new_tx(&staff.properties[0])).await;
                }
            }
        );
        for t in a.iter().take(4) {
            let path = format!("/v1/transactions/{}/approve", t.id);
            assert_eq!(
                app.post(&path, &manager.token).await.status(),
                StatusCode::OK
            );
        }
        for t in a.iter().skip(4).take(2) {
            let path = format!("/v1/transactions/{}", t.id);
            let response = app
                .request(reqwest::Method::DELETE, &path, &accountant.token)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::NO_CONTENT);
        }
    };
    let total = 2 * PER_WRITER + 4 + 2;
    // Staff see their own writes and the accountant's writes, approvals and
    // deletes that fall on their property.
    let staff_property = staff.properties[0].clone();
    let on_staffs =
        |i: usize| accountant.properties[i % accountant.properties.len()] == staff_property;
    let staff_total = PER_WRITER
        + (0..PER_WRITER).filter(|&i| on_staffs(i)).count()
        + (0..4).filter(|&i| on_staffs(i)).count()
        + (4..6).filter(|&i| on_staffs(i)).count();
    let pollers = futures::future::join_all(
        [&owner, &manager, &accountant, &second_owner_session]
            .into_iter()
            .map(|who| app.collect(who, head, None, total)),
    );
    let staff_poller = app.collect(&staff, head, None, staff_total);
    let ((), polled, (staff_events, _)) = tokio::join!(writes, pollers, staff_poller);

    let stored: Vec<Event> = app
        .events(&owner.org_id)
        .await
        .into_iter()
        .filter(|e| e.seq > head)
        .collect();
    assert_eq!(stored.len(), total);
    for (events, cursor) in polled {
        assert_eq!(events, stored, "exactly the stored events, in seq order");
        assert_eq!(cursor, stored.last().unwrap().seq);
    }
    let theirs: Vec<Event> = stored
        .iter()
        .filter(|e| e.property_id == staff_property)
        .cloned()
        .collect();
    assert_eq!(
        staff_events, theirs,
        "exactly the staff's property's events"
    );
    assert!(
        app.metric("ledgerline_realtime_polls_total{outcome=\"events\"}")
            .await
            > 0.0
    );
    assert_eq!(
        app.metric("ledgerline_events_published_total").await,
        total as f64
    );
}

#[tokio::test]
async fn staff_never_see_other_properties_and_cursors_skip_hidden_events() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let staff = app.login("staff@demo.test").await;
    let rival = app.login("owner@rival.test").await;
    let (mine, other) = (&staff.properties[0], &owner.properties[1]);
    assert_ne!(mine, other);
    let head = app.head(&staff).await;
    let rival_head = app.head(&rival).await;

    // Only hidden events: the staff poll times out empty, but its cursor has
    // moved past them.
    let waiting = tokio::spawn(app.poll(&staff, Poll::at(head, 1_000)));
    app.metric_reaches(WAITERS, 1.0).await;
    app.create(&owner, new_tx(other)).await;
    app.create(&owner, new_tx(other)).await;
    let r = waiting.await.unwrap();
    assert!(r.events.is_empty(), "{r:?}");
    assert_eq!(seq(&r.cursor), head + 2);

    // A visible one after hidden ones: only it arrives.
    app.create(&owner, new_tx(other)).await;
    let visible = app.create(&owner, new_tx(mine)).await;
    let (events, cursor) = app.collect(&staff, head + 2, None, 1).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].property_id, *mine);
    assert_eq!(events[0].client_mutation_id, visible.client_mutation_id);
    assert_eq!(cursor, head + 4);

    // An owner's own filter.
    let (events, _) = app.collect(&owner, head, Some(other), 3).await;
    assert!(events.iter().all(|e| &e.property_id == other));
    assert_eq!(seqs(&events), [head + 1, head + 2, head + 3]);
    let both = format!("{mine},{other}");
    let (events, _) = app.collect(&owner, head, Some(&both), 4).await;
    assert_eq!(seqs(&events), [head + 1, head + 2, head + 3, head + 4]);

    // Another org sees none of it.
    let r = app.poll(&rival, Poll::at(rival_head, 200)).await;
    assert!(r.events.is_empty());
    assert_eq!(seq(&r.cursor), rival_head);
}

#[tokio::test]
async fn past_the_waiter_cap_a_poll_is_answered_at_once_with_retry_after() {
    let app = spawn_app_with(RealtimeConfig {
        waiter_cap: 3,
        ..long_polls()
    })
    .await;
    let owner = app.login("owner@demo.test").await;
    let head = app.head(&owner).await;
    let parked: Vec<_> = (0..3).map(|_| park(&app, &owner, head)).collect();
    app.metric_reaches(WAITERS, 3.0).await;

    let fourth = app.poll(&owner, Poll::at(head, 60_000)).await;
    assert!(fourth.events.is_empty() && !fourth.reset);
    assert!(fourth.retry_after_ms.is_some_and(|ms| ms > 0), "{fourth:?}");
    assert_eq!(seq(&fourth.cursor), head);
    assert_eq!(
        app.metric("ledgerline_realtime_polls_total{outcome=\"cap\"}")
            .await,
        1.0
    );

    app.create(&owner, new_tx(&owner.properties[0])).await;
    for poll in parked {
        let response = tokio::time::timeout(DEADLINE, poll).await.unwrap().unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let r: ledgerline_wire::PollResponse = response.json().await.unwrap();
        assert_eq!(seqs(&r.events), [head + 1]);
        assert_eq!(r.retry_after_ms, None);
    }
}

#[tokio::test]
async fn idle_orgs_are_evicted_and_old_cursors_still_get_every_event() {
    let app = spawn_app_with(RealtimeConfig {
        idle_evict_ms: 200,
        ..RealtimeConfig::default()
    })
    .await;
    let owner = app.login("owner@demo.test").await;
    let head = app.head(&owner).await;
    for i in 0..3 {
        app.create(&owner, new_tx(&owner.properties[i])).await;
    }
    app.metric_reaches(BUFFERED_ORGS, 1.0).await;
    app.metric_reaches(BUFFERED_ORGS, 0.0).await;
    assert!(app.metric("ledgerline_realtime_evictions_total").await >= 1.0);

    let (events, _) = app.collect(&owner, head, None, 3).await;
    let stored = app.events(&owner.org_id).await;
    assert_eq!(events, stored[stored.len() - 3..]);
}

#[tokio::test]
async fn a_restart_between_polls_misses_nothing() {
    let mut app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let head = app.head(&owner).await;
    app.create(&owner, new_tx(&owner.properties[0])).await;
    app.create(&owner, new_tx(&owner.properties[1])).await;

    app.restart().await;
    // Sessions live in the database: the token still works.
    let (events, cursor) = app.collect(&owner, head, None, 2).await;
    assert_eq!(seqs(&events), [head + 1, head + 2]);

    // And the new server's hub delivers live events from there on.
    let waiting = tokio::spawn(app.poll(&owner, Poll::at(cursor, 10_000)));
    app.metric_reaches(WAITERS, 1.0).await;
    app.create(&owner, new_tx(&owner.properties[2])).await;
    assert_eq!(seqs(&waiting.await.unwrap().events), [head + 3]);
    assert_eq!(app.events(&owner.org_id).await.len() as u64, head + 3);
}

#[tokio::test]
async fn a_cursor_older_than_retention_gets_reset() {
    let mut app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let head = app.head(&owner).await;
    for _ in 0..3 {
        app.create(&owner, new_tx(&owner.properties[0])).await;
    }
    // Restart with a retention shorter than the events' age: the retention
    // task prunes them all at start.
    app.restart_with(RealtimeConfig {
        event_retention_ms: 1,
        ..RealtimeConfig::default()
    })
    .await;
    eventually("the log is pruned", || async {
        app.event_count().await == 0
    })
    .await;

    let r = app.poll(&owner, Poll::at(head + 1, 1_000)).await;
    assert!(r.reset && r.events.is_empty(), "{r:?}");
    assert_eq!(seq(&r.cursor), head + 3, "reset carries the head");
    // From the head it is business as usual.
    assert_eq!(app.head(&owner).await, head + 3);
    // A cursor ahead of the log (another database) is reset too.
    let r = app.poll(&owner, Poll::at(head + 1_000, 1_000)).await;
    assert!(r.reset);
    assert_eq!(
        app.metric("ledgerline_realtime_polls_total{outcome=\"reset\"}")
            .await,
        2.0
    );
}

#[tokio::test]
async fn a_client_hanging_up_frees_its_waiter() {
    let app = spawn_app_with(long_polls()).await;
    let owner = app.login("owner@demo.test").await;
    let head = app.head(&owner).await;
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let request = format!(
        "GET /v1/realtime/poll?cursor={head} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\r\n",
        app.addr, owner.token
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    app.metric_reaches(WAITERS, 1.0).await;
    drop(stream);
    app.metric_reaches(WAITERS, 0.0).await;
}

#[tokio::test]
async fn logout_ends_the_sessions_parked_polls() {
    let app = spawn_app_with(long_polls()).await;
    let owner = app.login("owner@demo.test").await;
    let other_session = app.login("owner@demo.test").await;
    let head = app.head(&owner).await;
    let ended = park(&app, &owner, head);
    let unaffected = park(&app, &other_session, head);
    app.metric_reaches(WAITERS, 2.0).await;

    let response = app.post("/v1/auth/logout", &owner.token).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = tokio::time::timeout(DEADLINE, ended)
        .await
        .unwrap()
        .unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    app.metric_reaches(WAITERS, 1.0).await;
    assert!(!unaffected.is_finished(), "another session's poll goes on");
    // A poll with the revoked token is refused up front.
    let response = app.poll_raw(&owner.token, &format!("cursor={head}")).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn shutdown_answers_parked_polls_and_completes_promptly() {
    let app = spawn_app_with(long_polls()).await;
    let owner = app.login("owner@demo.test").await;
    let head = app.head(&owner).await;
    let parked: Vec<_> = (0..3).map(|_| park(&app, &owner, head)).collect();
    app.metric_reaches(WAITERS, 3.0).await;

    // The polls would wait 60 s; the deadline is a third of that.
    tokio::time::timeout(DEADLINE, app.stop())
        .await
        .expect("graceful shutdown did not wait for the polls' timeout");
    for poll in parked {
        let response = poll.await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let r: ledgerline_wire::PollResponse = response.json().await.unwrap();
        assert!(r.events.is_empty());
        assert_eq!(seq(&r.cursor), head);
    }
}

#[tokio::test]
async fn bad_poll_queries_get_400_with_the_error_shape() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let staff = app.login("staff@demo.test").await;
    let rival = app.login("owner@rival.test").await;
    for query in [
        "cursor=abc",
        "cursor=-1",
        "cursor=",
        "cursor=1.5.5",
        "cursor=e.x",
        "cursor=%2E5",
        "cursor=99999999999999999999999",
        "property_id=",
        "property_id=,",
        &format!(
            "property_id={},,{}",
            owner.properties[0], owner.properties[1]
        ),
        "timeout_ms=0",
        "timeout_ms=abc",
        "timeout_ms=-1",
        "timeout_ms=25001",
        "timeout_ms=",
        "cursor=1&surprise=1",
    ] {
        let response = app.poll_raw(&owner.token, query).await;
        let message = assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
        assert!(!message.contains("sqlite"), "{query}: {message}");
    }
    // The server's own maximum is fine.
    let r = app.poll_raw(&owner.token, "timeout_ms=25000").await;
    assert_eq!(r.status(), StatusCode::OK);

    // Properties the caller may not see are not found, whoever's they are.
    let unknown = "property_id=no-such-property";
    assert_error(
        app.poll_raw(&owner.token, unknown).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let rivals = format!("property_id={}", rival.properties[0]);
    assert_error(
        app.poll_raw(&owner.token, &rivals).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let not_staffs = format!("property_id={}", owner.properties[1]);
    assert_error(
        app.poll_raw(&staff.token, &not_staffs).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let theirs = format!("property_id={}", staff.properties[0]);
    assert_eq!(
        app.poll_raw(&staff.token, &theirs).await.status(),
        StatusCode::OK
    );

    let anonymous = app
        .client
        .get(app.url("/v1/realtime/poll"))
        .send()
        .await
        .unwrap();
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn the_poll_is_in_the_openapi_document() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let poll = &doc["paths"]["/v1/realtime/poll"]["get"];
    assert!(poll.is_object(), "{doc}");
    let params: Vec<&str> = poll["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["cursor", "property_id", "timeout_ms"]);
    assert!(poll["responses"]["503"].is_object(), "{poll}");
}

#[tokio::test]
async fn a_poll_without_cursor_returns_the_head_at_once() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let head = app.head(&owner).await;
    app.create(&owner, new_tx(&owner.properties[0])).await;
    let r = app.poll(&owner, Poll::default()).await;
    assert!(r.events.is_empty() && !r.reset);
    assert_eq!(seq(&r.cursor), head + 1);
}
