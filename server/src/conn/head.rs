//! A request head, parsed with `httparse` from bytes the caller holds
//! (usually the worker's scratch buffer): is it the long-poll, and if so the
//! few things the lean path keeps from it. Anything else — another route or
//! method, a head `httparse` refuses, an absolute-form target — is
//! [`Parsed::Other`], for hyper, which answers errors as it always has.

use axum::http::Uri;

/// The long-poll's path.
pub(super) const POLL_PATH: &str = "/v1/realtime/poll";

/// Most header lines a poll head may have; more goes to hyper (which
/// answers 431 past its own limit).
const MAX_HEADERS: usize = 32;

/// A `GET /v1/realtime/poll` head.
#[derive(Debug)]
pub(super) struct PollHead {
    pub(super) uri: Uri,
    /// The first `Authorization` header's value, as sent.
    pub(super) authorization: Option<Box<[u8]>>,
    /// HTTP/1.1 without `Connection: close`, or HTTP/1.0 with
    /// `Connection: keep-alive`.
    pub(super) keep_alive: bool,
    /// HTTP/1.0: a kept-alive answer says `Connection: keep-alive`.
    pub(super) http10: bool,
    /// A `Content-Length` other than 0, or any `Transfer-Encoding`: the
    /// poll refuses request bodies (and closes, so no body is mistaken for
    /// the next request).
    pub(super) has_body: bool,
}

#[derive(Debug)]
pub(super) enum Parsed {
    /// A complete poll head of this many bytes.
    Poll(PollHead, usize),
    /// Not the poll: hand the connection to hyper.
    Other,
    /// The head is not complete yet, and may be a poll's.
    Partial,
}

/// Parses the head at the start of `buf`.
pub(super) fn parse(buf: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let status = req.parse(buf);
    // `httparse` fills method and path as soon as it has read them.
    let is_poll = match (req.method, req.path) {
        (Some(method), Some(path)) => method == "GET" && is_poll_target(path),
        _ => true,
    };
    let len = match status {
        _ if !is_poll => return Parsed::Other,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Ok(httparse::Status::Complete(len)) => len,
        Err(_) => return Parsed::Other,
    };
    let Some(Ok(uri)) = req.path.map(Uri::try_from) else {
        return Parsed::Other;
    };
    let http10 = req.version == Some(0);
    let (mut close, mut keep_alive, mut has_body) = (false, false, false);
    let mut authorization = None;
    for header in req.headers.iter() {
        let name = header.name;
        if name.eq_ignore_ascii_case("authorization") {
            if authorization.is_none() {
                authorization = Some(Box::from(header.value));
            }
        } else if name.eq_ignore_ascii_case("connection") {
            for token in header.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                close |= token.eq_ignore_ascii_case(b"close");
                keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case("content-length") {
            has_body |= header.value.trim_ascii() != b"0";
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            has_body = true;
        }
    }
    let head = PollHead {
        uri,
        authorization,
        keep_alive: !close && (keep_alive || !http10),
        http10,
        has_body,
    };
    Parsed::Poll(head, len)
}

fn is_poll_target(target: &str) -> bool {
    target
        .strip_prefix(POLL_PATH)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('?'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll(raw: &str) -> (PollHead, usize) {
        match parse(raw.as_bytes()) {
            Parsed::Poll(head, len) => (head, len),
            other => panic!("{raw:?}: {other:?}"),
        }
    }

    #[test]
    fn a_poll_head_is_parsed_and_its_length_known() {
        let raw = "GET /v1/realtime/poll?cursor=3 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer abc\r\n\r\nGET /next";
        let (head, len) = poll(raw);
        assert_eq!(&raw[len..], "GET /next");
        assert_eq!(head.uri.query(), Some("cursor=3"));
        assert_eq!(head.authorization.as_deref(), Some(&b"Bearer abc"[..]));
        assert!(head.keep_alive && !head.has_body && !head.http10);
    }

    #[test]
    fn connection_tokens_and_versions_decide_keep_alive() {
        let cases = [
            ("HTTP/1.1", "", true),
            ("HTTP/1.1", "Connection: close\r\n", false),
            ("HTTP/1.1", "Connection: keep-alive, Close\r\n", false),
            ("HTTP/1.0", "", false),
            ("HTTP/1.0", "Connection: Keep-Alive\r\n", true),
        ];
        for (version, header, keep) in cases {
            let raw = format!("GET /v1/realtime/poll {version}\r\n{header}\r\n");
            assert_eq!(poll(&raw).0.keep_alive, keep, "{raw:?}");
        }
    }

    #[test]
    fn bodies_are_flagged() {
        for header in [
            "Content-Length: 5",
            "Transfer-Encoding: chunked",
            "Content-Length: 0\r\nContent-Length: 7",
        ] {
            let raw = format!("GET /v1/realtime/poll HTTP/1.1\r\n{header}\r\n\r\n");
            assert!(poll(&raw).0.has_body, "{header}");
        }
        let raw = "GET /v1/realtime/poll HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
        assert!(!poll(raw).0.has_body);
    }

    #[test]
    fn everything_else_goes_to_hyper() {
        for raw in [
            "POST /v1/realtime/poll HTTP/1.1\r\n\r\n",
            "GET /v1/realtime/polls HTTP/1.1\r\n\r\n",
            "GET /v1/transactions HTTP/1.1\r\nHost: x\r\n",
            "GET http://x/v1/realtime/poll HTTP/1.1\r\n\r\n",
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            "GET /v1/realtime/poll HTTP/1.1\r\nBad Header\r\n\r\n",
        ] {
            assert!(matches!(parse(raw.as_bytes()), Parsed::Other), "{raw:?}");
        }
        for raw in ["", "GE", "GET /v1/realtime/poll HTTP/1.1\r\nHost:"] {
            assert!(matches!(parse(raw.as_bytes()), Parsed::Partial), "{raw:?}");
        }
    }
}
