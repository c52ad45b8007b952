//! The long-poll's own HTTP/1.1 path. A connection whose next request is
//! `GET /v1/realtime/poll` is served here with no buffer of its own: the
//! head was parsed from the worker's scratch buffer ([`super::head`]), the
//! caller is authenticated through the session cache and the poll parked
//! on the hub like the axum handler's, and the answer — head and the body
//! shared by every poll that gets the same events — is written once. Then
//! the socket goes back to keep-alive.
//!
//! While the poll is parked the socket is watched with a one-byte `peek`:
//! end of stream or an error is a hang-up (the poll is dropped, freeing its
//! waiter); bytes are a pipelined request, answered after this one, in
//! order. A poll with a request body is refused with 400 and
//! `Connection: close`: the body is never read, so it cannot be taken for
//! the next request.

use std::{
    io::{self, IoSlice},
    sync::atomic::Ordering::Relaxed,
    time::SystemTime,
};

use axum::http::StatusCode;
use bytes::Bytes;
use ledgerline_wire::ErrorBody;
use tokio::{io::AsyncWriteExt, net::TcpStream};

use super::{head::PollHead, Server};
use crate::api::{
    error::ApiError,
    principal::authenticate,
    realtime::{answer, prepare, PollQuery, Prepared},
};

/// What became of the connection after one poll.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum After {
    KeepAlive,
    Close,
}

/// Serves one poll whose head is `head`; returns whether the connection
/// stays open for its next request.
pub(super) async fn serve(server: &Server, stream: &mut TcpStream, head: Box<PollHead>) -> After {
    server.counters.lean_polls.fetch_add(1, Relaxed);
    let keep_alive = head.keep_alive;
    let http10 = head.http10;
    if head.has_body {
        let error = ApiError::BadRequest("a poll takes no request body".into());
        let _ = Box::pin(write_error(server, stream, &error, false, http10)).await;
        return After::Close;
    }
    // Boxed: the session lookup's future (a store query on a miss) is large
    // and would otherwise be part of every parked connection's task.
    let prepared = match Box::pin(prepare_head(server, head)).await {
        Ok(prepared) => prepared,
        Err(error) => {
            let keep = keep_alive && !server.shutdown.is_cancelled();
            return match Box::pin(write_error(server, stream, &error, keep, http10)).await {
                Ok(()) if keep => After::KeepAlive,
                _ => After::Close,
            };
        }
    };
    let Some(result) = wait(server, stream, &prepared).await else {
        // The client hung up; dropping the poll freed its waiter.
        return After::Close;
    };
    let keep = keep_alive && !server.shutdown.is_cancelled();
    let answered = answer(&server.state, &prepared, result);
    drop(prepared);
    // Boxed, like the preparation: a parked connection's task holds neither.
    let written = match answered {
        Ok(body) => {
            Box::pin(write(
                server,
                stream,
                StatusCode::OK,
                &body,
                keep,
                http10,
                false,
            ))
            .await
        }
        Err(error) => Box::pin(write_error(server, stream, &error, keep, http10)).await,
    };
    match written {
        Ok(()) if keep => After::KeepAlive,
        _ => After::Close,
    }
}

async fn prepare_head(server: &Server, head: Box<PollHead>) -> Result<Prepared, ApiError> {
    let state = &server.state;
    let principal = authenticate(state, head.authorization.as_deref()).await?;
    let axum::extract::Query(query) =
        axum::extract::Query::<PollQuery>::try_from_uri(&head.uri).map_err(ApiError::from)?;
    prepare(state, &principal, query).await
}

/// Parks the poll until the hub answers it, or `None` if the client hangs
/// up first.
async fn wait(
    server: &Server,
    stream: &TcpStream,
    prepared: &Prepared,
) -> Option<Result<crate::realtime::Batch, crate::realtime::PollError>> {
    let poll = server.state.hub().poll_batch(&prepared.request);
    tokio::pin!(poll);
    let mut watch = true;
    loop {
        // `poll_peek` keeps its waker in the socket's registration: no
        // readiness future of its own in the parked task.
        let peek = std::future::poll_fn(|cx| {
            let mut byte = [0u8; 1];
            let mut buf = tokio::io::ReadBuf::new(&mut byte);
            stream.poll_peek(cx, &mut buf)
        });
        tokio::select! {
            biased;
            result = &mut poll => return Some(result),
            peeked = peek, if watch => match peeked {
                Ok(0) | Err(_) => return None,
                // A pipelined request: served once this one is answered.
                Ok(_) => watch = false,
            },
        }
    }
}

async fn write_error(
    server: &Server,
    stream: &mut TcpStream,
    error: &ApiError,
    keep_alive: bool,
    http10: bool,
) -> io::Result<()> {
    let (status, code) = error.status_and_code();
    if let ApiError::Internal(detail) | ApiError::Unavailable(detail) = error {
        tracing::error!(error = %detail, "internal error");
    }
    let body = serde_json::to_vec(&ErrorBody::new(code, error.to_string())).unwrap_or_default();
    let unauthorized = status == StatusCode::UNAUTHORIZED;
    write(
        server,
        stream,
        status,
        &Bytes::from(body),
        keep_alive,
        http10,
        unauthorized,
    )
    .await
}

/// Writes one response: the head, then `body` (shared, not copied). A
/// client that does not take it within the header timeout is dropped.
async fn write(
    server: &Server,
    stream: &mut TcpStream,
    status: StatusCode,
    body: &Bytes,
    keep_alive: bool,
    http10: bool,
    bearer: bool,
) -> io::Result<()> {
    use std::fmt::Write as _;
    let mut head = String::with_capacity(192);
    let _ = write!(
        head,
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\ndate: ",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len(),
    );
    DATE.with_borrow_mut(|date| head.push_str(date.now()));
    head.push_str("\r\n");
    if bearer {
        head.push_str("www-authenticate: Bearer\r\n");
    }
    if !keep_alive {
        head.push_str("connection: close\r\n");
    } else if http10 {
        head.push_str("connection: keep-alive\r\n");
    }
    head.push_str("\r\n");
    let head = head.as_bytes();
    let total = head.len() + body.len();
    let mut written = 0;
    let deadline = tokio::time::Instant::now() + server.config.header_timeout();
    while written < total {
        let n = if written < head.len() {
            let bufs = [IoSlice::new(&head[written..]), IoSlice::new(body)];
            timed(deadline, stream.write_vectored(&bufs)).await?
        } else {
            timed(deadline, stream.write(&body[written - head.len()..])).await?
        };
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        written += n;
    }
    if !keep_alive {
        // Half-close: the client reads the answer, then end of stream.
        let _ = stream.shutdown().await;
    }
    Ok(())
}

async fn timed<T>(
    deadline: tokio::time::Instant,
    io: impl std::future::Future<Output = io::Result<T>>,
) -> io::Result<T> {
    tokio::time::timeout_at(deadline, io)
        .await
        .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))
}

thread_local! {
    static DATE: std::cell::RefCell<Date> = const { std::cell::RefCell::new(Date { second: 0, text: String::new() }) };
}

/// The `Date` header's value, formatted once a second per worker.
struct Date {
    second: u64,
    text: String,
}

impl Date {
    fn now(&mut self) -> &str {
        let now = SystemTime::now();
        let second = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if second != self.second || self.text.is_empty() {
            self.second = second;
            self.text = httpdate::fmt_http_date(now);
        }
        &self.text
    }
}
