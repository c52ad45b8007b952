//! The connection layer: our own accept loop in place of `axum::serve`.
//!
//! Every connection counts against a budget (`--max-connections`); past it
//! a new connection gets an immediate 503 in the error shape and is closed.
//! A connection's requests are read here first: while its next request is
//! `GET /v1/realtime/poll` it is served on the lean path (`poll`), which
//! holds no buffer while the poll is parked; any other request hands the
//! connection, with the bytes read so far, to hyper and the axum router
//! (`router`) for that one request, after which it comes back here.
//!
//! Timeouts: a request head must arrive within `--header-timeout-ms` (from
//! the connection's start for its first request, from the head's first byte
//! after that); a connection with no request in progress is closed after
//! `--idle-timeout-ms` (a parked poll is in progress); every other request
//! gets `--request-timeout-ms`. On shutdown the accept loop stops, idle
//! connections close at once, parked polls are answered by the hub (then
//! their connections close), hyper finishes what is in flight; [`serve`]
//! returns when every connection has ended.
//!
//! # Layout
//! - [`budget`]: the budget, its default from the open-file limit, the
//!   refusal, the counters `/metrics` shows.
//! - `head`: parsing a request head with `httparse`: the poll's, or not.
//! - `poll`: the lean HTTP/1.1 path of the long-poll.
//! - `router`: hyper and the axum router, with the idle watchdog and the
//!   request timeout.
//! - `rewind`: replaying bytes already read to hyper.

pub mod budget;
mod head;
mod poll;
mod rewind;
mod router;

use std::{cell::RefCell, io, net::SocketAddr, sync::Arc, time::Duration};

use axum::Router;
use tokio::{
    net::{TcpListener, TcpStream},
    time::Instant,
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{config::ConnectionConfig, state::AppState};
use budget::{Counters, Permit};
use head::{Parsed, PollHead};

pub use budget::default_max_connections;

/// Scratch space each worker thread reads request heads into. A poll head
/// larger than this goes to hyper (which takes heads up to its own limit).
const SCRATCH_BYTES: usize = 16 * 1024;

thread_local! {
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; SCRATCH_BYTES].into_boxed_slice());
}

/// What every connection of one [`serve`] shares.
struct Server {
    state: AppState,
    router: Router,
    config: ConnectionConfig,
    counters: Arc<Counters>,
    shutdown: CancellationToken,
}

/// Accepts connections on `listener` and serves them until `shutdown` is
/// cancelled and every connection has ended.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    router: Router,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let config = state.config().connections.clone();
    let max = config
        .max_connections
        .unwrap_or_else(default_max_connections);
    tracing::info!(
        max_connections = max,
        open_file_limit = budget::open_file_limit(),
        header_timeout_ms = config.header_timeout_ms,
        idle_timeout_ms = config.idle_timeout_ms,
        request_timeout_ms = config.request_timeout_ms,
        "serving connections"
    );
    let server = Arc::new(Server {
        counters: Arc::clone(state.connections()),
        state,
        router,
        config,
        shutdown: shutdown.clone(),
    });
    let connections = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) if is_per_connection(&error) => continue,
            Err(error) => {
                // Out of file descriptors and the like: back off instead of
                // spinning; connections closing will free some.
                tracing::warn!(%error, "accept failed");
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_millis(50)) => continue,
                }
            }
        };
        let Some(permit) = server.counters.try_open(max) else {
            budget::refuse(stream, &server.counters);
            continue;
        };
        let _ = stream.set_nodelay(true);
        connections.spawn(connection(Arc::clone(&server), stream, peer, permit));
    }
    drop(listener);
    connections.close();
    connections.wait().await;
    Ok(())
}

/// Errors of one connection that `accept` reports (the client already gave
/// up): not the listener's.
fn is_per_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// What the connection's next request is.
enum Next {
    /// Boxed: a head is 112 bytes, and what a task's future was handed
    /// stays in it for the task's life.
    Poll(Box<PollHead>),
    /// Another request: hyper takes over.
    Other,
    Close,
}

async fn connection(server: Arc<Server>, mut stream: TcpStream, peer: SocketAddr, permit: Permit) {
    let _permit = permit;
    // Bytes read and not yet served: a partial head, a pipelined request,
    // or what hyper gets replayed. Empty (no allocation) while parked.
    let mut pending: Vec<u8> = Vec::new();
    let mut first = true;
    loop {
        match next_request(&server, &stream, &mut pending, first).await {
            Next::Close => return,
            Next::Other => {
                // Boxed: hyper's connection state would otherwise be part of
                // every lean connection's task.
                let handed = Box::pin(router::serve(
                    Arc::clone(&server),
                    stream,
                    peer,
                    std::mem::take(&mut pending),
                ));
                match handed.await {
                    router::Handed::Back(back, rest) => {
                        stream = back;
                        pending = rest;
                    }
                    router::Handed::Closed => return,
                }
            }
            Next::Poll(head) => {
                if poll::serve(&server, &mut stream, head).await == poll::After::Close {
                    return;
                }
            }
        }
        first = false;
    }
}

/// Reads until `pending` starts with a complete poll head (taken off it) or
/// another request, or the connection is to close.
async fn next_request(
    server: &Server,
    stream: &TcpStream,
    pending: &mut Vec<u8>,
    first: bool,
) -> Next {
    use std::sync::atomic::Ordering::Relaxed;
    let config = &server.config;
    // The first request's head is due within the header timeout of the
    // connection's start; later ones within the idle timeout of the last
    // answer, then the header timeout of their first byte.
    let mut idle = !first && pending.is_empty();
    let mut deadline = Instant::now()
        + if idle {
            config.idle_timeout()
        } else {
            config.header_timeout()
        };
    loop {
        if !pending.is_empty() {
            match head::parse(pending) {
                Parsed::Poll(head, len) => {
                    pending.drain(..len);
                    if pending.is_empty() {
                        *pending = Vec::new();
                    }
                    return Next::Poll(Box::new(head));
                }
                Parsed::Other => return Next::Other,
                Parsed::Partial if pending.len() >= SCRATCH_BYTES => return Next::Other,
                Parsed::Partial => {}
            }
        }
        if server.shutdown.is_cancelled() {
            return Next::Close;
        }
        tokio::select! {
            biased;
            () = server.shutdown.cancelled() => return Next::Close,
            () = tokio::time::sleep_until(deadline) => {
                let counter = if idle { &server.counters.idle_timeouts } else { &server.counters.header_timeouts };
                counter.fetch_add(1, Relaxed);
                return Next::Close;
            }
            ready = stream.readable() => if ready.is_err() { return Next::Close },
        }
        let read = SCRATCH.with_borrow_mut(|scratch| {
            let n = match stream.try_read(scratch) {
                Ok(0) => return Read::Eof,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Read::Nothing,
                Err(_) => return Read::Eof,
            };
            if pending.is_empty() {
                // The usual case: a whole poll head in one read, parsed
                // where it landed; only what follows it is kept.
                if let Parsed::Poll(head, len) = head::parse(&scratch[..n]) {
                    pending.extend_from_slice(&scratch[len..n]);
                    return Read::Poll(head);
                }
            }
            pending.extend_from_slice(&scratch[..n]);
            Read::More
        });
        match read {
            Read::Eof => return Next::Close,
            Read::Nothing => {}
            Read::Poll(head) => return Next::Poll(Box::new(head)),
            Read::More if idle => {
                idle = false;
                deadline = Instant::now() + config.header_timeout();
            }
            Read::More => {}
        }
    }
}

enum Read {
    Eof,
    Nothing,
    Poll(PollHead),
    More,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{config::RealtimeConfig, store::Store};

    /// What a parked connection's task holds besides the heap it points to.
    #[tokio::test]
    #[ignore = "prints sizes"]
    async fn connection_future_size() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        let state = AppState::new(store, RealtimeConfig::default());
        let server = Arc::new(Server {
            counters: Arc::clone(state.connections()),
            router: crate::app(state.clone()),
            state,
            config: ConnectionConfig::default(),
            shutdown: CancellationToken::new(),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (accepted, client) = tokio::join!(listener.accept(), client);
        let (stream, peer) = accepted.unwrap();
        let _client = client.unwrap();
        let permit = server.counters.try_open(10).unwrap();
        let mut stream = stream;
        let mut pending = Vec::new();
        {
            let f = next_request(&server, &stream, &mut pending, false);
            eprintln!("next_request future: {} B", std::mem::size_of_val(&f));
        }
        {
            let Parsed::Poll(head, _) = head::parse(b"GET /v1/realtime/poll HTTP/1.1\r\n\r\n")
            else {
                panic!()
            };
            let f = poll::serve(&server, &mut stream, Box::new(head));
            eprintln!("poll::serve future: {} B", std::mem::size_of_val(&f));
            eprintln!(
                "PollHead: {} B, Prepared: {} B",
                std::mem::size_of::<PollHead>(),
                std::mem::size_of::<crate::api::realtime::Prepared>()
            );
        }
        let fut = connection(Arc::clone(&server), stream, peer, permit);
        eprintln!("connection future: {} B", std::mem::size_of_val(&fut));
        let req = crate::realtime::PollRequest {
            org_id: Arc::from("o"),
            token_id: Arc::from("t"),
            cursor: Some(1),
            filter: crate::realtime::PropertyFilter::all(),
            timeout: None,
        };
        let poll = server.state.hub().poll_batch(&req);
        eprintln!("poll_batch future: {} B", std::mem::size_of_val(&poll));
    }
}
