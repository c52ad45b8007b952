//! A minimal HTTP/1.1 client connection: write a request, read one response
//! (`Content-Length` or chunked body), keep the connection alive. Hand-written
//! so a parked poll costs the generator one socket, one small buffer and one
//! task — nothing else — and so the parser is unit-tested here.

use std::net::{IpAddr, SocketAddr};

use anyhow::{bail, Context};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};

/// Largest response head we accept.
const MAX_HEAD: usize = 16 * 1024;

/// The parts of a response head the generator looks at.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Head {
    pub status: u16,
    /// Bytes of the head, including the blank line.
    pub len: usize,
    pub body: BodyLen,
    pub close: bool,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BodyLen {
    #[default]
    Empty,
    Length(usize),
    Chunked,
}

/// Parse a response head from the start of `buf`. `Ok(None)`: incomplete.
pub fn parse_head(buf: &[u8]) -> anyhow::Result<Option<Head>> {
    let Some(end) = find(buf, b"\r\n\r\n") else {
        if buf.len() > MAX_HEAD {
            bail!("response head longer than {MAX_HEAD} bytes");
        }
        return Ok(None);
    };
    let text = std::str::from_utf8(&buf[..end]).context("response head is not UTF-8")?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        bail!("not an HTTP/1.x response: {status_line:?}");
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("bad status line {status_line:?}"))?;
    let mut head = Head {
        status,
        len: end + 4,
        close: version == "HTTP/1.0",
        ..Head::default()
    };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            bail!("bad header line {line:?}");
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let n = value
                .parse()
                .with_context(|| format!("bad content-length {value:?}"))?;
            if head.body != BodyLen::Chunked {
                head.body = if n == 0 {
                    BodyLen::Empty
                } else {
                    BodyLen::Length(n)
                };
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            if value.to_ascii_lowercase().contains("chunked") {
                head.body = BodyLen::Chunked;
            }
        } else if name.eq_ignore_ascii_case("connection") {
            if value.eq_ignore_ascii_case("close") {
                head.close = true;
            } else if value.eq_ignore_ascii_case("keep-alive") {
                head.close = false;
            }
        } else if name.eq_ignore_ascii_case("etag") {
            head.etag = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("last-modified") {
            head.last_modified = Some(value.to_owned());
        }
    }
    // 1xx, 204 and 304 never have a body.
    if status < 200 || status == 204 || status == 304 {
        head.body = BodyLen::Empty;
    }
    Ok(Some(head))
}

/// Decode a complete chunked body from the start of `buf`. `Ok(None)`:
/// incomplete. On success returns the body and the bytes consumed.
pub fn parse_chunked(buf: &[u8]) -> anyhow::Result<Option<(Vec<u8>, usize)>> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let Some(eol) = find(&buf[at..], b"\r\n") else {
            return Ok(None);
        };
        let size_text = std::str::from_utf8(&buf[at..at + eol]).context("chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .with_context(|| format!("bad chunk size {size_text:?}"))?;
        at += eol + 2;
        if size == 0 {
            // Trailers (none expected) end with an empty line.
            loop {
                let Some(eol) = find(&buf[at..], b"\r\n") else {
                    return Ok(None);
                };
                at += eol + 2;
                if eol == 0 {
                    return Ok(Some((body, at)));
                }
            }
        }
        if buf.len() < at + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&buf[at..at + size]);
        at += size + 2;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// One response, body decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub head: Head,
    pub body: Vec<u8>,
}

/// A keep-alive connection to one server address, reconnecting when the
/// server closes it.
#[derive(Debug)]
pub struct Conn {
    server: SocketAddr,
    source: Option<IpAddr>,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

impl Conn {
    pub fn new(server: SocketAddr, source: Option<IpAddr>) -> Conn {
        Conn {
            server,
            source,
            stream: None,
            buf: Vec::new(),
        }
    }

    /// Open the socket now (from `source`, if set).
    pub async fn connect(&mut self) -> anyhow::Result<()> {
        if self.stream.is_some() {
            return Ok(());
        }
        let socket = TcpSocket::new_v4().context("socket")?;
        if let Some(ip) = self.source {
            socket
                .bind(SocketAddr::new(ip, 0))
                .with_context(|| format!("bind {ip}"))?;
        }
        let stream = socket
            .connect(self.server)
            .await
            .with_context(|| format!("connect {}", self.server))?;
        stream.set_nodelay(true)?;
        self.stream = Some(stream);
        self.buf.clear();
        Ok(())
    }

    /// Write a whole request (head and body already serialized).
    pub async fn send(&mut self, request: &[u8]) -> anyhow::Result<()> {
        self.connect().await?;
        let stream = self.stream.as_mut().expect("connected above");
        if let Err(e) = stream.write_all(request).await {
            self.stream = None;
            return Err(e).context("write request");
        }
        Ok(())
    }

    /// Read one whole response.
    pub async fn recv(&mut self) -> anyhow::Result<Response> {
        let result = self.recv_inner().await;
        if result.as_ref().map_or(true, |r| r.head.close) {
            self.stream = None;
            self.buf = Vec::new();
        }
        result
    }

    async fn recv_inner(&mut self) -> anyhow::Result<Response> {
        let stream = self.stream.as_mut().context("not connected")?;
        let head = loop {
            if let Some(head) = parse_head(&self.buf)? {
                break head;
            }
            read_more(stream, &mut self.buf).await?;
        };
        let body = match head.body {
            BodyLen::Empty => {
                self.buf.drain(..head.len);
                Vec::new()
            }
            BodyLen::Length(n) => {
                while self.buf.len() < head.len + n {
                    read_more(stream, &mut self.buf).await?;
                }
                let body = self.buf[head.len..head.len + n].to_vec();
                self.buf.drain(..head.len + n);
                body
            }
            BodyLen::Chunked => loop {
                if let Some((body, used)) = parse_chunked(&self.buf[head.len..])? {
                    self.buf.drain(..head.len + used);
                    break body;
                }
                read_more(stream, &mut self.buf).await?;
            },
        };
        if self.buf.is_empty() && self.buf.capacity() > 4096 {
            // A big response must not pin its buffer for the next long wait.
            self.buf = Vec::new();
        }
        Ok(Response { head, body })
    }

    /// `send` then `recv`.
    pub async fn request(&mut self, request: &[u8]) -> anyhow::Result<Response> {
        self.send(request).await?;
        self.recv().await
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> anyhow::Result<()> {
    if buf.capacity() - buf.len() < 512 {
        buf.reserve(2048);
    }
    let n = stream.read_buf(buf).await.context("read response")?;
    if n == 0 {
        bail!("connection closed by the server");
    }
    Ok(())
}

/// A GET request head.
pub fn get(host: &SocketAddr, path: &str, extra_headers: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra_headers}\r\n").into_bytes()
}

/// A POST request with a body.
pub fn post(
    host: &SocketAddr,
    path: &str,
    extra_headers: &str,
    content_type: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\n{extra_headers}Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_with_content_length_and_validators() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nEtag: 0\r\nLast-Modified: Fri, 27 Nov 2026 16:00:00 GMT\r\n\r\nhello";
        let head = parse_head(raw).unwrap().unwrap();
        assert_eq!(head.status, 200);
        assert_eq!(head.len, raw.len() - 5);
        assert_eq!(head.body, BodyLen::Length(5));
        assert!(!head.close);
        assert_eq!(head.etag.as_deref(), Some("0"));
        assert_eq!(
            head.last_modified.as_deref(),
            Some("Fri, 27 Nov 2026 16:00:00 GMT")
        );
    }

    #[test]
    fn incomplete_head_asks_for_more() {
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Le").unwrap(), None);
    }

    #[test]
    fn not_modified_has_no_body_and_close_is_seen() {
        let head = parse_head(
            b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\nConnection: close\r\n\r\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(head.body, BodyLen::Empty);
        assert!(head.close);
        let head = parse_head(b"HTTP/1.0 200 OK\r\n\r\n").unwrap().unwrap();
        assert!(head.close);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_head(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 abc OK\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").is_err());
    }

    #[test]
    fn chunked_body_decodes_and_reports_consumed_bytes() {
        let head = parse_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(head.body, BodyLen::Chunked);
        let raw = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\nNEXT";
        let (body, used) = parse_chunked(raw).unwrap().unwrap();
        assert_eq!(body, b"hello, world");
        assert_eq!(&raw[used..], b"NEXT");
        assert_eq!(parse_chunked(&raw[..10]).unwrap(), None);
        assert_eq!(parse_chunked(b"5\r\nhello\r\n0\r\n").unwrap(), None);
    }

    #[test]
    fn requests_are_well_formed() {
        let host: SocketAddr = "127.0.0.1:80".parse().unwrap();
        assert_eq!(
            get(&host, "/x", "A: b\r\n"),
            b"GET /x HTTP/1.1\r\nHost: 127.0.0.1:80\r\nA: b\r\n\r\n"
        );
        let req = post(&host, "/p", "", "text/plain", b"hi");
        assert!(req.ends_with(b"Content-Length: 2\r\n\r\nhi"));
    }
}
