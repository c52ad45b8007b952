//! A tiny GRIP backend for Pushpin: every `GET /sub/<channel>` is answered at
//! once with `Grip-Hold: response` and `Grip-Channel: <channel>`, so Pushpin
//! holds the client's request until something is published to the channel
//! (or `Grip-Timeout` passes, when the client gets this response's own body,
//! `{"timeout":true}`). Pushpin does the holding; this only says what to hold.

use std::net::SocketAddr;

use anyhow::Context;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

#[derive(Debug, Clone, clap::Args)]
pub struct GripArgs {
    #[arg(long)]
    pub addr: SocketAddr,
    /// Seconds Pushpin holds a request before answering with the timeout body.
    #[arg(long, default_value_t = 25)]
    pub hold_timeout_s: u32,
}

/// The channel of a request line `GET /sub/<channel> HTTP/1.1`.
pub fn channel_of(request_line: &str) -> Option<&str> {
    let mut parts = request_line.split(' ');
    let _method = parts.next()?;
    let path = parts.next()?;
    let path = path.split('?').next()?;
    path.strip_prefix("/sub/").filter(|c| !c.is_empty())
}

/// The hold instruction for `channel`.
pub fn hold_response(channel: &str, timeout_s: u32) -> String {
    let body = "{\"timeout\":true}\n";
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nGrip-Hold: response\r\nGrip-Channel: {channel}\r\nGrip-Timeout: {timeout_s}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

pub async fn serve(args: GripArgs) -> anyhow::Result<()> {
    let listener = TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("binding {}", args.addr))?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let _ = connection(stream, args.hold_timeout_s).await;
        });
    }
}

async fn connection(mut stream: TcpStream, timeout_s: u32) -> anyhow::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = Vec::with_capacity(2048);
    loop {
        let end = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end;
            }
            if stream.read_buf(&mut buf).await? == 0 {
                return Ok(());
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.drain(..end + 4);
        let line = head.lines().next().unwrap_or_default();
        let response = match channel_of(line) {
            Some(channel) => hold_response(channel, timeout_s),
            None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_owned(),
        };
        stream.write_all(response.as_bytes()).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_comes_from_the_path() {
        assert_eq!(channel_of("GET /sub/org-7 HTTP/1.1"), Some("org-7"));
        assert_eq!(channel_of("GET /sub/org-7?x=1 HTTP/1.1"), Some("org-7"));
        assert_eq!(channel_of("GET /other HTTP/1.1"), None);
        assert_eq!(channel_of("GET /sub/ HTTP/1.1"), None);
    }

    #[test]
    fn hold_response_names_the_channel() {
        let r = hold_response("org-1", 25);
        assert!(r.contains("Grip-Hold: response\r\n"));
        assert!(r.contains("Grip-Channel: org-1\r\n"));
        assert!(r.ends_with("\r\n\r\n{\"timeout\":true}\n"));
    }
}
