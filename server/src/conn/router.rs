//! Every request but the lean path's: hyper (with a timer, so its
//! header-read timeout works) and the axum router, one request at a time.
//!
//! An HTTP/1 connection is handed to hyper for one request and then taken
//! back ([`Handed::Back`]): as the request begins, keep-alive is switched off
//! inside hyper, so hyper ends the connection after its response *without*
//! closing the socket, and returns the socket and any bytes it read beyond
//! that request. The connection goes back to the lean path, so a client that
//! logs in and then polls on the same connection parks its poll there. It is
//! closed instead when the client asked for that (`Connection: close`,
//! HTTP/1.0 without keep-alive), when hyper ended it on an error, or when the
//! request's body was not read to its end (its rest must never be taken for
//! a request). HTTP/2 (prior knowledge) stays on hyper for the connection's
//! life, with an idle watchdog beside it — hyper has no idle timeout.
//!
//! Requests other than the long-poll get `--request-timeout-ms`.

use std::{
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed},
        Arc,
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    extract::ConnectInfo,
    http::{header, Request, Version},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
};
use tokio::{net::TcpStream, sync::Notify, time::Instant};
use tower::ServiceExt;

use super::{head::POLL_PATH, rewind::Rewind, Server};
use crate::api::error::ApiError;

/// The HTTP/2 connection preface.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n";

/// How a connection left hyper.
pub(super) enum Handed {
    /// After one request: the socket and the bytes read past that request.
    Back(TcpStream, Vec<u8>),
    Closed,
}

/// Serves the request at the start of `prefix` (bytes already read from
/// `stream`) with hyper and the router.
pub(super) async fn serve(
    server: Arc<Server>,
    stream: TcpStream,
    peer: SocketAddr,
    prefix: Vec<u8>,
) -> Handed {
    if prefix.starts_with(H2_PREFACE) {
        serve_h2(server, stream, peer, prefix).await;
        return Handed::Closed;
    }
    let exchange = Arc::new(Exchange::default());
    let service = {
        let (server, exchange) = (Arc::clone(&server), Arc::clone(&exchange));
        hyper::service::service_fn(move |request: Request<Incoming>| {
            let (server, exchange) = (Arc::clone(&server), Arc::clone(&exchange));
            Box::pin(async move {
                exchange.close.store(wants_close(&request), Relaxed);
                exchange.began.notify_one();
                let request = request.map(|body| Tracked::new(body, Arc::clone(&exchange)));
                Ok::<_, std::convert::Infallible>(route(&server, request, peer).await)
            }) as Pin<Box<dyn Future<Output = _> + Send>>
        })
    };
    let io = TokioIo::new(Rewind::new(stream, prefix));
    let mut connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(server.config.header_timeout())
        .serve_connection(io, service);
    let mut ending = false;
    let served = loop {
        tokio::select! {
            served = std::future::poll_fn(|cx| connection.poll_without_shutdown(cx)) => break served,
            () = exchange.began.notified(), if !ending => {
                // One request per hand-over: hyper ends the connection after
                // this response and gives the socket back.
                Pin::new(&mut connection).graceful_shutdown();
                ending = true;
            }
            () = server.shutdown.cancelled(), if !ending => {
                Pin::new(&mut connection).graceful_shutdown();
                ending = true;
            }
        }
    };
    if let Err(error) = served {
        tracing::debug!(%error, "connection ended with an error");
        return Handed::Closed;
    }
    let parts = connection.into_parts();
    let (stream, unread) = parts.io.into_inner().into_parts();
    let whole_body = exchange.body_done.load(Relaxed);
    if !ending || exchange.close.load(Relaxed) || !whole_body || server.shutdown.is_cancelled() {
        return Handed::Closed;
    }
    // hyper's buffered bytes come first, then whatever the rewind had not
    // replayed yet.
    let mut pending = Vec::with_capacity(parts.read_buf.len() + unread.len());
    pending.extend_from_slice(&parts.read_buf);
    pending.extend_from_slice(&unread);
    Handed::Back(stream, pending)
}

/// One request through the router, with the request timeout unless it is
/// the long-poll.
async fn route<B>(server: &Server, mut request: Request<B>, peer: SocketAddr) -> Response
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    request.extensions_mut().insert(ConnectInfo(peer));
    let router = server.router.clone();
    let routed = if request.uri().path() == POLL_PATH {
        router.oneshot(request).await
    } else {
        let limit = server.config.request_timeout();
        match tokio::time::timeout(limit, router.oneshot(request)).await {
            Ok(response) => response,
            Err(_) => {
                server.counters.request_timeouts.fetch_add(1, Relaxed);
                tracing::warn!(timeout_ms = limit.as_millis(), "request timed out");
                Ok(ApiError::Unavailable("request timed out".into()).into_response())
            }
        }
    };
    match routed {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// Whether the client asked for the connection to close after this request.
fn wants_close<B>(request: &Request<B>) -> bool {
    let tokens = || {
        request
            .headers()
            .get_all(header::CONNECTION)
            .iter()
            .flat_map(|v| v.as_bytes().split(|&b| b == b','))
            .map(<[u8]>::trim_ascii)
    };
    let close = tokens().any(|t| t.eq_ignore_ascii_case(b"close"));
    let keep_alive = tokens().any(|t| t.eq_ignore_ascii_case(b"keep-alive"));
    close || (request.version() < Version::HTTP_11 && !keep_alive)
}

/// What the service tells the hand-over loop about its request.
#[derive(Debug, Default)]
struct Exchange {
    began: Notify,
    /// The client asked to close after this request.
    close: AtomicBool,
    /// The request body was read to its end (or was empty).
    body_done: AtomicBool,
}

/// A request body that records in its [`Exchange`] when it has ended.
struct Tracked {
    inner: Incoming,
    exchange: Arc<Exchange>,
}

impl Tracked {
    fn new(inner: Incoming, exchange: Arc<Exchange>) -> Self {
        if inner.is_end_stream() {
            exchange.body_done.store(true, Relaxed);
        }
        Tracked { inner, exchange }
    }
}

impl Body for Tracked {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let frame = Pin::new(&mut this.inner).poll_frame(cx);
        if matches!(frame, Poll::Ready(None)) || this.inner.is_end_stream() {
            this.exchange.body_done.store(true, Relaxed);
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// HTTP/2 with prior knowledge: hyper for the connection's life.
async fn serve_h2(server: Arc<Server>, stream: TcpStream, peer: SocketAddr, prefix: Vec<u8>) {
    let activity = Arc::new(Activity::new());
    let service = {
        let (server, activity) = (Arc::clone(&server), Arc::clone(&activity));
        hyper::service::service_fn(move |request: Request<Incoming>| {
            let (server, activity) = (Arc::clone(&server), Arc::clone(&activity));
            async move {
                let _busy = activity.begin();
                Ok::<_, std::convert::Infallible>(route(&server, request, peer).await)
            }
        })
    };
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http2().timer(TokioTimer::new());
    let io = TokioIo::new(Rewind::new(stream, prefix));
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut closing = false;
    loop {
        tokio::select! {
            served = connection.as_mut() => {
                if let Err(error) = served {
                    tracing::debug!(%error, "connection ended with an error");
                }
                return;
            }
            () = server.shutdown.cancelled(), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            () = activity.idle_for(server.config.idle_timeout()), if !closing => {
                server.counters.idle_timeouts.fetch_add(1, Relaxed);
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

/// Whether a request is in progress on a connection, and since when none is.
#[derive(Debug)]
struct Activity {
    started: Instant,
    in_progress: AtomicUsize,
    /// Milliseconds after `started` when the last request ended.
    last_ms: AtomicU64,
}

/// A request in progress; counted until dropped (answered, or abandoned
/// because the client hung up).
struct Busy<'a>(&'a Activity);

impl Activity {
    fn new() -> Self {
        Activity {
            started: Instant::now(),
            in_progress: AtomicUsize::new(0),
            last_ms: AtomicU64::new(0),
        }
    }

    fn begin(&self) -> Busy<'_> {
        self.in_progress.fetch_add(1, Relaxed);
        Busy(self)
    }

    /// Resolves once no request has been in progress for `idle`.
    async fn idle_for(&self, idle: Duration) {
        loop {
            let wait = if self.in_progress.load(Relaxed) > 0 {
                idle
            } else {
                let last = self.started + Duration::from_millis(self.last_ms.load(Relaxed));
                match (last + idle).checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left,
                    _ => return,
                }
            };
            tokio::time::sleep(wait).await;
        }
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        let ms = u64::try_from(self.0.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.0.last_ms.store(ms, Relaxed);
        self.0.in_progress.fetch_sub(1, Relaxed);
    }
}
