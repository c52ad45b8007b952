//! The protocol adapters: how a waiter subscribes to an org on each system,
//! how a delivery is recognised in a response, and how an event is published.
//!
//! Every published event carries the generator's send time (nanoseconds since
//! the run started) so the waiter that receives it computes publish →
//! delivery latency with one clock and no lookup: in Ledgerline's
//! `client_mutation_id` (`lg-<ns>`), in the Nchan and Pushpin payload as JSON
//! (`{"seq":…,"t":…,"pad":…}`, padded to about the size of a Ledgerline
//! event so all three move similar bytes).

use std::net::SocketAddr;

use anyhow::{bail, Context};
use serde::Deserialize;

use crate::http::{self, Response};

/// Which system is under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Ledgerline,
    Nchan,
    Pushpin,
}

/// Size of the Nchan/Pushpin payload; a Ledgerline `transaction.added`
/// event with its row is about this big.
pub const PAYLOAD_BYTES: usize = 480;

/// One org as the generator addresses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    /// Ledgerline: the org id; Nchan/Pushpin: the channel (`org-<n>`).
    pub key: String,
    /// Ledgerline: a property to write to.
    pub property_id: String,
    /// Ledgerline: bearer tokens of users who see every property; the first
    /// publishes.
    pub tokens: Vec<String>,
}

/// Where a waiter is in its org's stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollState {
    /// Ledgerline cursor; `None` before the first (head) poll.
    pub cursor: Option<String>,
    /// Nchan's `Etag` / `Last-Modified` of the last message.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What one poll response meant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// `(seq, sent_ns)` of each benchmark event delivered.
    pub deliveries: Vec<(u64, u64)>,
    /// The server asked us to come back later (Ledgerline's waiter cap).
    pub retry_after_ms: Option<u64>,
    /// Ledgerline said the cursor is too old.
    pub reset: bool,
}

#[derive(Deserialize)]
struct LedgerlinePoll {
    events: Vec<LedgerlineEvent>,
    cursor: String,
    #[serde(default)]
    reset: bool,
    #[serde(default)]
    retry_after_ms: Option<u64>,
}

#[derive(Deserialize)]
struct LedgerlineEvent {
    seq: u64,
    client_mutation_id: Option<String>,
}

#[derive(Deserialize)]
struct Payload {
    seq: u64,
    t: u64,
}

impl Target {
    /// The subscribe (long-poll) request of a waiter.
    pub fn subscribe(
        self,
        host: &SocketAddr,
        org: &Org,
        token: &str,
        state: &PollState,
        timeout_ms: u64,
    ) -> Vec<u8> {
        match self {
            Target::Ledgerline => {
                let auth = format!("Authorization: Bearer {token}\r\n");
                let path = match &state.cursor {
                    None => "/v1/realtime/poll".to_owned(),
                    Some(c) => format!("/v1/realtime/poll?cursor={c}&timeout_ms={timeout_ms}"),
                };
                http::get(host, &path, &auth)
            }
            Target::Nchan => {
                let mut headers = String::new();
                if let Some(lm) = &state.last_modified {
                    headers.push_str(&format!("If-Modified-Since: {lm}\r\n"));
                }
                if let Some(etag) = &state.etag {
                    headers.push_str(&format!("If-None-Match: {etag}\r\n"));
                }
                http::get(host, &format!("/sub/{}", org.key), &headers)
            }
            Target::Pushpin => http::get(host, &format!("/sub/{}", org.key), ""),
        }
    }

    /// Whether a waiter in `state` is (about to be) parked by its next
    /// subscribe, rather than answered at once.
    pub fn parks(self, state: &PollState) -> bool {
        match self {
            Target::Ledgerline => state.cursor.is_some(),
            Target::Nchan | Target::Pushpin => true,
        }
    }

    /// Interpret a subscribe response, advancing `state`.
    pub fn parse_poll(self, resp: &Response, state: &mut PollState) -> anyhow::Result<Outcome> {
        let mut out = Outcome::default();
        match self {
            Target::Ledgerline => {
                if resp.head.status != 200 {
                    bail!("poll answered {}: {}", resp.head.status, lossy(&resp.body));
                }
                let poll: LedgerlinePoll =
                    serde_json::from_slice(&resp.body).context("poll response JSON")?;
                for e in poll.events {
                    if let Some(t) = e
                        .client_mutation_id
                        .as_deref()
                        .and_then(sent_ns_of_mutation)
                    {
                        out.deliveries.push((e.seq, t));
                    }
                }
                out.retry_after_ms = poll.retry_after_ms;
                out.reset = poll.reset;
                state.cursor = Some(poll.cursor);
            }
            Target::Nchan => match resp.head.status {
                200 => {
                    let p: Payload =
                        serde_json::from_slice(&resp.body).context("nchan message JSON")?;
                    out.deliveries.push((p.seq, p.t));
                    if resp.head.etag.is_some() {
                        state.etag.clone_from(&resp.head.etag);
                    }
                    if resp.head.last_modified.is_some() {
                        state.last_modified.clone_from(&resp.head.last_modified);
                    }
                }
                // Long-poll timeout: ask again with the same validators.
                304 | 408 => {}
                s => bail!("nchan answered {s}: {}", lossy(&resp.body)),
            },
            Target::Pushpin => {
                if resp.head.status != 200 {
                    bail!(
                        "pushpin answered {}: {}",
                        resp.head.status,
                        lossy(&resp.body)
                    );
                }
                // The hold's timeout answer is the backend's own body,
                // `{"timeout":true}`, which has no seq.
                if let Ok(p) = serde_json::from_slice::<Payload>(&resp.body) {
                    out.deliveries.push((p.seq, p.t));
                }
            }
        }
        Ok(out)
    }

    /// The request that publishes event `seq` of `org`, stamped `sent_ns`.
    pub fn publish(self, host: &SocketAddr, org: &Org, seq: u64, sent_ns: u64) -> Vec<u8> {
        match self {
            Target::Ledgerline => {
                let body = serde_json::json!({
                    "kind": "revenue",
                    "property_id": org.property_id,
                    "amount_minor": 1000 + (seq % 9000) as i64,
                    "currency": "USD",
                    "category": "bench",
                    "memo": "",
                    "occurred_on": "2026-11-02",
                    "client_mutation_id": format!("lg-{sent_ns}"),
                });
                let auth = format!("Authorization: Bearer {}\r\n", org.tokens[0]);
                http::post(
                    host,
                    "/v1/transactions",
                    &auth,
                    "application/json",
                    body.to_string().as_bytes(),
                )
            }
            Target::Nchan => http::post(
                host,
                &format!("/pub/{}", org.key),
                "",
                "application/json",
                payload(seq, sent_ns).as_bytes(),
            ),
            Target::Pushpin => {
                let body = serde_json::json!({"items": [{
                    "channel": org.key,
                    "formats": {"http-response": {
                        "body": payload(seq, sent_ns),
                        "headers": {"Content-Type": "application/json"},
                    }},
                }]});
                http::post(
                    host,
                    "/publish/",
                    "",
                    "application/json",
                    body.to_string().as_bytes(),
                )
            }
        }
    }

    /// Whether a publish response means the event was accepted.
    pub fn published_ok(self, status: u16) -> bool {
        match self {
            Target::Ledgerline => status == 201,
            Target::Nchan | Target::Pushpin => (200..300).contains(&status),
        }
    }
}

/// `{"seq":…,"t":…,"pad":"…"}`, [`PAYLOAD_BYTES`] long.
pub fn payload(seq: u64, sent_ns: u64) -> String {
    let head = format!("{{\"seq\":{seq},\"t\":{sent_ns},\"pad\":\"");
    let pad = PAYLOAD_BYTES.saturating_sub(head.len() + 2);
    format!("{head}{}\"}}", "x".repeat(pad))
}

/// The send time stamped into a benchmark `client_mutation_id`.
pub fn sent_ns_of_mutation(id: &str) -> Option<u64> {
    id.strip_prefix("lg-")?.parse().ok()
}

fn lossy(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{parse_head, Head};

    fn resp(raw_head: &str, body: &str) -> Response {
        let head: Head = parse_head(raw_head.as_bytes()).unwrap().unwrap();
        Response {
            head,
            body: body.as_bytes().to_vec(),
        }
    }

    fn org() -> Org {
        Org {
            key: "org-1".into(),
            property_id: "p1".into(),
            tokens: vec!["tok".into()],
        }
    }

    #[test]
    fn payload_has_the_fixed_size_and_parses_back() {
        let p = payload(42, 123_456_789);
        assert_eq!(p.len(), PAYLOAD_BYTES);
        let back: Payload = serde_json::from_str(&p).unwrap();
        assert_eq!((back.seq, back.t), (42, 123_456_789));
    }

    #[test]
    fn ledgerline_poll_yields_stamped_events_and_the_cursor() {
        let mut state = PollState::default();
        let body = r#"{"events":[{"seq":3,"type":"transaction.added","client_mutation_id":"lg-5000"},
                       {"seq":4,"client_mutation_id":"someone-else"}],"cursor":"4","reset":false}"#;
        let out = Target::Ledgerline
            .parse_poll(&resp("HTTP/1.1 200 OK\r\n\r\n", body), &mut state)
            .unwrap();
        assert_eq!(out.deliveries, vec![(3, 5000)]);
        assert_eq!(state.cursor.as_deref(), Some("4"));
        assert!(Target::Ledgerline.parks(&state));
        let req = Target::Ledgerline.subscribe(
            &"127.0.0.1:1".parse().unwrap(),
            &org(),
            "tok",
            &state,
            25_000,
        );
        let req = String::from_utf8(req).unwrap();
        assert!(req.starts_with("GET /v1/realtime/poll?cursor=4&timeout_ms=25000 HTTP/1.1\r\n"));
        assert!(req.contains("Authorization: Bearer tok\r\n"));
    }

    #[test]
    fn ledgerline_cap_answer_carries_retry_after() {
        let mut state = PollState::default();
        let body = r#"{"events":[],"cursor":"0","reset":false,"retry_after_ms":1500}"#;
        let out = Target::Ledgerline
            .parse_poll(&resp("HTTP/1.1 200 OK\r\n\r\n", body), &mut state)
            .unwrap();
        assert_eq!(out.retry_after_ms, Some(1500));
    }

    #[test]
    fn nchan_keeps_validators_and_treats_timeouts_as_empty() {
        let mut state = PollState::default();
        let r = resp(
            "HTTP/1.1 200 OK\r\nEtag: 0\r\nLast-Modified: Fri, 27 Nov 2026 16:00:00 GMT\r\n\r\n",
            &payload(1, 99),
        );
        let out = Target::Nchan.parse_poll(&r, &mut state).unwrap();
        assert_eq!(out.deliveries, vec![(1, 99)]);
        assert_eq!(state.etag.as_deref(), Some("0"));
        let out = Target::Nchan
            .parse_poll(
                &resp("HTTP/1.1 408 Request Timeout\r\n\r\n", ""),
                &mut state,
            )
            .unwrap();
        assert!(out.deliveries.is_empty());
        assert_eq!(state.etag.as_deref(), Some("0"));
        let req = String::from_utf8(Target::Nchan.subscribe(
            &"127.0.0.1:1".parse().unwrap(),
            &org(),
            "",
            &state,
            0,
        ))
        .unwrap();
        assert!(req.contains("If-None-Match: 0\r\n"));
        assert!(req.contains("If-Modified-Since: Fri, 27 Nov 2026 16:00:00 GMT\r\n"));
    }

    #[test]
    fn pushpin_timeout_body_is_not_a_delivery() {
        let mut state = PollState::default();
        let out = Target::Pushpin
            .parse_poll(
                &resp("HTTP/1.1 200 OK\r\n\r\n", r#"{"timeout":true}"#),
                &mut state,
            )
            .unwrap();
        assert!(out.deliveries.is_empty());
    }

    #[test]
    fn mutation_ids_carry_the_send_time() {
        assert_eq!(sent_ns_of_mutation("lg-123"), Some(123));
        assert_eq!(sent_ns_of_mutation("cm-123"), None);
    }
}
