//! A raw HTTP/1.1 socket for the connection-layer tests: send bytes as
//! they are, read responses one at a time by their `Content-Length`, and
//! see the server close.

use std::net::SocketAddr;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::DEADLINE;

pub struct Raw {
    stream: TcpStream,
    /// Read and not yet returned.
    buf: Vec<u8>,
}

/// One response as read off the socket.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

impl Raw {
    pub async fn connect(addr: SocketAddr) -> Raw {
        Raw {
            stream: TcpStream::connect(addr).await.unwrap(),
            buf: Vec::new(),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// The next response; fails the test if none is complete by the deadline.
    pub async fn response(&mut self) -> RawResponse {
        tokio::time::timeout(DEADLINE, self.read_response())
            .await
            .expect("a response before the deadline")
    }

    async fn read_response(&mut self) -> RawResponse {
        loop {
            if let Some(response) = self.parse() {
                return response;
            }
            let mut chunk = [0u8; 8192];
            let n = self.stream.read(&mut chunk).await.unwrap();
            assert!(
                n > 0,
                "closed mid-response: {:?}",
                String::from_utf8_lossy(&self.buf)
            );
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn parse(&mut self) -> Option<RawResponse> {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        let httparse::Status::Complete(len) = response.parse(&self.buf).unwrap() else {
            return None;
        };
        let headers: Vec<(String, String)> = response
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_ascii_lowercase(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map(|(_, v)| v.parse().unwrap())
            .expect("every answer has a Content-Length");
        if self.buf.len() < len + length {
            return None;
        }
        let status = response.code.unwrap();
        let body = self.buf[len..len + length].to_vec();
        self.buf.drain(..len + length);
        Some(RawResponse {
            status,
            headers,
            body,
        })
    }

    /// Waits until the server closes the connection (end of stream, or a
    /// reset), with no further bytes; fails the test at the deadline.
    pub async fn closed(&mut self) {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(DEADLINE, self.stream.read_to_end(&mut rest))
            .await
            .expect("the server closes the connection before the deadline");
        if read.is_ok() {
            assert!(
                self.buf.is_empty() && rest.is_empty(),
                "bytes before the close: {:?}",
                String::from_utf8_lossy(&[&self.buf[..], &rest[..]].concat())
            );
        }
    }
}

/// A poll request's bytes.
pub fn poll_request(query: &str, token: &str, extra_headers: &str) -> Vec<u8> {
    format!(
        "GET /v1/realtime/poll?{query} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n{extra_headers}\r\n"
    )
    .into_bytes()
}
