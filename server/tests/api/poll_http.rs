//! HTTP/1.1 conformance of the long-poll's lean path, on a raw socket:
//! keep-alive, `Content-Length`, `Connection: close`, HTTP/1.0, refused
//! request bodies, pipelined requests answered in order (polls and other
//! routes mixed), errors in the shape, and one body for the polls that get
//! the same events.

use crate::{
    helpers::{new_tx, seq, spawn_app, spawn_app_with},
    raw::{poll_request, Raw},
    realtime::{long_polls, WAITERS},
};

#[tokio::test]
async fn polls_keep_the_connection_alive_and_carry_a_content_length() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let mut socket = Raw::connect(app.addr).await;
    for _ in 0..3 {
        socket.send(&poll_request("", &owner.token, "")).await;
        let answer = socket.response().await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("content-type"), Some("application/json"));
        assert_eq!(answer.header("connection"), None);
        assert!(answer.header("date").is_some());
        let body = answer.json();
        assert_eq!(body["events"], serde_json::json!([]));
        assert_eq!(body["reset"], false);
    }
}

#[tokio::test]
async fn connection_close_and_http10_end_the_connection_after_the_answer() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let mut close = Raw::connect(app.addr).await;
    close
        .send(&poll_request("", &owner.token, "Connection: close\r\n"))
        .await;
    let answer = close.response().await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("connection"), Some("close"));
    close.closed().await;

    let mut old = Raw::connect(app.addr).await;
    let request = format!(
        "GET /v1/realtime/poll HTTP/1.0\r\nAuthorization: Bearer {}\r\n\r\n",
        owner.token
    );
    old.send(request.as_bytes()).await;
    assert_eq!(old.response().await.status, 200);
    old.closed().await;

    // HTTP/1.0 asking for keep-alive is told so, and kept.
    let mut kept = Raw::connect(app.addr).await;
    let request = format!(
        "GET /v1/realtime/poll HTTP/1.0\r\nConnection: keep-alive\r\nAuthorization: Bearer {}\r\n\r\n",
        owner.token
    );
    for _ in 0..2 {
        kept.send(request.as_bytes()).await;
        let answer = kept.response().await;
        assert_eq!(answer.header("connection"), Some("keep-alive"));
    }
}

#[tokio::test]
async fn a_poll_with_a_request_body_is_refused_and_the_connection_closed() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    for (headers, body) in [
        ("Content-Length: 5\r\n", "hello"),
        ("Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
    ] {
        let mut socket = Raw::connect(app.addr).await;
        let mut request = poll_request("", &owner.token, headers);
        // What would be smuggled if the body were taken for a request.
        request.extend_from_slice(body.as_bytes());
        socket.send(&request).await;
        let answer = socket.response().await;
        assert_eq!(answer.status, 400, "{headers}");
        assert_eq!(answer.json()["error"]["code"], "bad_request");
        assert_eq!(answer.header("connection"), Some("close"));
        socket.closed().await;
    }
    // An empty body is no body.
    let mut socket = Raw::connect(app.addr).await;
    socket
        .send(&poll_request("", &owner.token, "Content-Length: 0\r\n"))
        .await;
    assert_eq!(socket.response().await.status, 200);
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let app = spawn_app_with(long_polls()).await;
    let owner = app.login("owner@demo.test").await;
    let head = app.head(&owner).await;
    let mut socket = Raw::connect(app.addr).await;
    // A poll that parks, a bad poll, another route, a poll for the head —
    // in one write.
    let mut batch = poll_request(&format!("cursor={head}&timeout_ms=400"), &owner.token, "");
    batch.extend(poll_request("cursor=abc", &owner.token, ""));
    batch.extend_from_slice(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    batch.extend(poll_request("", &owner.token, ""));
    socket.send(&batch).await;

    let parked = socket.response().await;
    assert_eq!(parked.status, 200);
    assert_eq!(seq(parked.json()["cursor"].as_str().unwrap()), head);
    let bad = socket.response().await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["error"]["code"], "bad_request");
    let health = socket.response().await;
    assert_eq!((health.status, health.body.as_slice()), (200, &b"ok"[..]));
    let last = socket.response().await;
    assert_eq!(last.status, 200);
    assert_eq!(seq(last.json()["cursor"].as_str().unwrap()), head);

    // Another route first, then a poll, pipelined: hyper's unread bytes
    // come back to the lean path.
    socket
        .send(
            &[
                &b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"[..],
                &poll_request("", &owner.token, ""),
            ]
            .concat(),
        )
        .await;
    assert_eq!(socket.response().await.body, b"ok");
    assert_eq!(socket.response().await.status, 200);
}

#[tokio::test]
async fn errors_on_the_lean_path_have_the_shape_and_keep_the_connection() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let mut socket = Raw::connect(app.addr).await;
    socket
        .send(b"GET /v1/realtime/poll HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let anonymous = socket.response().await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.header("www-authenticate"), Some("Bearer"));
    assert_eq!(anonymous.json()["error"]["code"], "unauthorized");
    socket.send(&poll_request("", "not-a-real-token", "")).await;
    assert_eq!(socket.response().await.status, 401);
    socket
        .send(&poll_request("cursor=1&surprise=1", &owner.token, ""))
        .await;
    assert_eq!(socket.response().await.status, 400);
    socket.send(&poll_request("", &owner.token, "")).await;
    assert_eq!(socket.response().await.status, 200);
}

#[tokio::test]
async fn polls_woken_by_one_publish_get_the_same_body() {
    let app = spawn_app_with(long_polls()).await;
    let owner = app.login("owner@demo.test").await;
    let manager = app.login("manager@demo.test").await;
    let head = app.head(&owner).await;
    let mut sockets = Vec::new();
    for who in [&owner, &manager, &owner] {
        let mut socket = Raw::connect(app.addr).await;
        socket
            .send(&poll_request(&format!("cursor={head}"), &who.token, ""))
            .await;
        sockets.push(socket);
    }
    app.metric_reaches(WAITERS, 3.0).await;
    app.create(&owner, new_tx(&owner.properties[0])).await;
    let mut bodies = Vec::new();
    for socket in &mut sockets {
        let answer = socket.response().await;
        assert_eq!(answer.status, 200);
        let body = answer.json();
        assert_eq!(body["events"].as_array().unwrap().len(), 1);
        assert_eq!(seq(body["cursor"].as_str().unwrap()), head + 1);
        bodies.push(answer.body);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
}
