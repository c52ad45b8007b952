//! The server's HTTP API as the core calls it (`docs/api.md`): one
//! method per endpoint, errors sorted into [`ApiError`] once, here.

use std::time::Duration;

use chrono::NaiveDate;
use ledgerline_wire::{
    Cursor, DailyApproval, ErrorBody, Event, History, LockDate, LoginRequest, LoginResponse,
    NewTransaction, PollResponse, ProfitLoss, TelemetryUpload, TodayPending, Transaction,
    TransactionPage, TransactionPatch,
};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;

use crate::{error::ApiError, outbox::Decision, view::ReportRange};

/// [`PollResponse`] with each event still unread, so one this client does
/// not understand costs only itself.
#[derive(serde::Deserialize)]
struct RawPoll {
    events: Vec<serde_json::Value>,
    cursor: String,
    #[serde(default)]
    reset: bool,
    #[serde(default)]
    retry_after_ms: Option<u64>,
}

/// One long-poll's answer, and how many of its events were skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Polled {
    pub response: PollResponse,
    pub skipped: u64,
}

/// A client of one server, with or without a bearer token. Cheap to clone
/// (reqwest's client is an `Arc` inside).
#[derive(Clone, Debug)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    timeout: Duration,
}

impl Api {
    pub fn new(http: reqwest::Client, server_url: &str, timeout: Duration) -> Api {
        Api {
            http,
            base: server_url.trim_end_matches('/').to_owned(),
            token: None,
            timeout,
        }
    }

    pub fn with_token(&self, token: &str) -> Api {
        Api {
            token: Some(token.to_owned()),
            ..self.clone()
        }
    }

    pub fn server_url(&self) -> &str {
        &self.base
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut rb = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .timeout(self.timeout);
        if let Some(token) = &self.token {
            rb = rb.bearer_auth(token);
        }
        rb
    }

    pub async fn login(&self, email: &str, password: &str) -> Result<LoginResponse, ApiError> {
        let body = LoginRequest {
            email: email.to_owned(),
            password: password.to_owned(),
        };
        json(self.request(Method::POST, "/v1/auth/login").json(&body)).await
    }

    pub async fn logout(&self) -> Result<(), ApiError> {
        empty(self.request(Method::POST, "/v1/auth/logout")).await
    }

    /// `POST /v1/telemetry`: the counters' increase since the last upload.
    pub async fn upload_telemetry(&self, upload: &TelemetryUpload) -> Result<(), ApiError> {
        empty(self.request(Method::POST, "/v1/telemetry").json(upload)).await
    }

    /// One long-poll. `cursor: None` asks for the head, answered at once.
    /// Events this client cannot read (a type or a shape added to the wire
    /// contract after it was built) are left out and counted in
    /// [`Polled::skipped`]; the cursor still moves past them.
    pub async fn poll(
        &self,
        cursor: Option<&Cursor>,
        wait: Duration,
        grace: Duration,
    ) -> Result<Polled, ApiError> {
        let mut query = vec![("timeout_ms", wait.as_millis().to_string())];
        if let Some(c) = cursor {
            query.push(("cursor", c.to_string()));
        }
        let rb = self
            .request(Method::GET, "/v1/realtime/poll")
            .query(&query)
            .timeout(wait + grace);
        let raw: RawPoll = json(rb).await?;
        let mut skipped = 0;
        let events = raw
            .events
            .into_iter()
            .filter_map(|e| match serde_json::from_value::<Event>(e.clone()) {
                Ok(event) => Some(event),
                Err(err) => {
                    skipped += 1;
                    tracing::warn!(
                        error = %err,
                        kind = e.get("type").and_then(|t| t.as_str()).unwrap_or("?"),
                        seq = e.get("seq").and_then(|s| s.as_u64()).unwrap_or(0),
                        "skipping an event this client cannot read"
                    );
                    None
                }
            })
            .collect();
        Ok(Polled {
            response: PollResponse {
                events,
                cursor: raw.cursor,
                reset: raw.reset,
                retry_after_ms: raw.retry_after_ms,
            },
            skipped,
        })
    }

    pub async fn list_transactions(
        &self,
        limit: u32,
        after: Option<&str>,
    ) -> Result<TransactionPage, ApiError> {
        let mut query = vec![("limit", limit.to_string())];
        if let Some(a) = after {
            query.push(("after", a.to_owned()));
        }
        json(self.request(Method::GET, "/v1/transactions").query(&query)).await
    }

    pub async fn create(&self, body: &NewTransaction) -> Result<Transaction, ApiError> {
        json(self.request(Method::POST, "/v1/transactions").json(body)).await
    }

    pub async fn update(
        &self,
        id: &str,
        patch: &TransactionPatch,
    ) -> Result<Transaction, ApiError> {
        json(
            self.request(Method::PATCH, &format!("/v1/transactions/{id}"))
                .json(patch),
        )
        .await
    }

    /// `cmid` makes it idempotent: a replay the server already applied is a 204.
    pub async fn delete(&self, id: &str, cmid: &str) -> Result<(), ApiError> {
        empty(
            self.request(Method::DELETE, &format!("/v1/transactions/{id}"))
                .query(&[("client_mutation_id", cmid)]),
        )
        .await
    }

    /// Approve (`approve`) or reject row `id`, as decided on `decision`'s
    /// version if it names one. `cmid` makes it idempotent: a replay
    /// answers what the first did.
    pub async fn decide(
        &self,
        id: &str,
        approve: bool,
        decision: &Decision,
        cmid: &str,
    ) -> Result<Transaction, ApiError> {
        let verb = if approve { "approve" } else { "reject" };
        let mut query = vec![("client_mutation_id", cmid.to_owned())];
        if let Some(v) = decision.version {
            query.push(("version", v.to_string()));
        }
        if let (false, Some(r)) = (approve, &decision.reason) {
            query.push(("reason", r.clone()));
        }
        json(
            self.request(Method::POST, &format!("/v1/transactions/{id}/{verb}"))
                .query(&query),
        )
        .await
    }

    /// The org's lock date.
    pub async fn lock_date(&self) -> Result<Option<NaiveDate>, ApiError> {
        let body: LockDate = json(self.request(Method::GET, "/v1/settings/lock-date")).await?;
        Ok(body.lock_date)
    }

    /// Sets or clears the org's lock date (owners only).
    pub async fn set_lock_date(&self, lock_date: Option<NaiveDate>) -> Result<(), ApiError> {
        let _: LockDate = json(
            self.request(Method::PUT, "/v1/settings/lock-date")
                .json(&LockDate { lock_date }),
        )
        .await?;
        Ok(())
    }

    /// Every change to row `id`, oldest first.
    pub async fn history(&self, id: &str) -> Result<History, ApiError> {
        json(self.request(Method::GET, &format!("/v1/transactions/{id}/history"))).await
    }

    pub async fn profit_loss(&self, range: &ReportRange) -> Result<ProfitLoss, ApiError> {
        let mut query = vec![
            ("from", range.from.to_string()),
            ("to", range.to.to_string()),
        ];
        if let Some(p) = &range.property_id {
            query.push(("property_id", p.clone()));
        }
        json(
            self.request(Method::GET, "/v1/reports/profit-loss")
                .query(&query),
        )
        .await
    }

    pub async fn daily_approval(
        &self,
        date: NaiveDate,
        property_id: Option<&str>,
    ) -> Result<DailyApproval, ApiError> {
        let mut query = vec![("date", date.to_string())];
        if let Some(p) = property_id {
            query.push(("property_id", p.to_owned()));
        }
        json(
            self.request(Method::GET, "/v1/approvals/daily")
                .query(&query),
        )
        .await
    }

    pub async fn today_pending(&self, property_id: Option<&str>) -> Result<TodayPending, ApiError> {
        let mut rb = self.request(Method::GET, "/v1/approvals/today-pending");
        if let Some(p) = property_id {
            rb = rb.query(&[("property_id", p)]);
        }
        json(rb).await
    }
}

async fn send(rb: RequestBuilder) -> Result<reqwest::Response, ApiError> {
    let resp = rb
        .send()
        .await
        .map_err(|e| ApiError::Network(e.to_string()))?;
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body: Option<ErrorBody> = resp.json().await.ok();
    let (code, message) = body
        .map(|b| (b.error.code, b.error.message))
        .unwrap_or_else(|| (String::new(), status.to_string()));
    Err(match status {
        StatusCode::UNAUTHORIZED => ApiError::Unauthorized,
        StatusCode::NOT_FOUND => ApiError::NotFound,
        // A locked period is not a race to resolve: resending will not help.
        StatusCode::CONFLICT if code == ledgerline_wire::rules::PERIOD_LOCKED => {
            ApiError::Rejected {
                status: 409,
                code,
                message,
            }
        }
        StatusCode::CONFLICT => ApiError::Conflict(message),
        StatusCode::TOO_MANY_REQUESTS => ApiError::Throttled {
            message: match retry_after {
                Some(d) => format!("too many attempts; try again in {} s", d.as_secs().max(1)),
                None => "too many attempts; try again in a moment".to_owned(),
            },
            retry_after,
        },
        StatusCode::REQUEST_TIMEOUT => ApiError::Network(message),
        s if s.is_server_error() => ApiError::Network(format!("{s}: {message}")),
        s => ApiError::Rejected {
            status: s.as_u16(),
            code,
            message,
        },
    })
}

async fn json<T: DeserializeOwned>(rb: RequestBuilder) -> Result<T, ApiError> {
    let resp = send(rb).await?;
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| ApiError::Network(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode(e.to_string()))
}

async fn empty(rb: RequestBuilder) -> Result<(), ApiError> {
    send(rb).await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server that answers every request with `body` (200, JSON).
    async fn canned(body: serde_json::Value) -> String {
        canned_with("200 OK", "", body).await
    }

    /// A server that answers every request with `status`, extra header
    /// lines `headers` and `body`.
    async fn canned_with(
        status: &'static str,
        headers: &'static str,
        body: serde_json::Value,
    ) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let body = body.to_string();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = sock.read(&mut buf).await;
                    let reply = format!(
                        "HTTP/1.1 {status}\r\n{headers}content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(reply.as_bytes()).await;
                });
            }
        });
        format!("http://{addr}")
    }

    fn event(seq: u64, kind: &str) -> serde_json::Value {
        serde_json::json!({
            "seq": seq, "type": kind, "property_id": "p1",
            "row": {"id": "t1"}, "client_mutation_id": null,
            "affected_report_dates": ["2026-11-27"], "at": "2026-11-27T10:00:00Z"
        })
    }

    #[tokio::test]
    async fn events_of_unknown_types_or_shapes_are_skipped_and_counted_not_fatal() {
        let mut with_more_fields = event(3, "transaction.deleted");
        with_more_fields["added_later"] = serde_json::json!({"any": "thing"});
        let url = canned(serde_json::json!({
            "events": [
                event(1, "transaction.deleted"),
                event(2, "transaction.archived"),
                {"seq": 4, "type": "transaction.updated", "row": 17},
                with_more_fields,
            ],
            "cursor": "ep1.4",
            "reset": false,
            "a_field_from_the_future": true,
        }))
        .await;
        let api = Api::new(reqwest::Client::new(), &url, Duration::from_secs(5));
        let polled = api
            .poll(None, Duration::from_secs(1), Duration::from_secs(1))
            .await
            .expect("the answer is usable");
        let seqs: Vec<u64> = polled.response.events.iter().map(|e| e.seq).collect();
        assert_eq!(
            seqs,
            [1, 3],
            "unknown fields are ignored; unreadable events left out"
        );
        assert_eq!(polled.skipped, 2);
        assert_eq!(
            polled.response.cursor, "ep1.4",
            "the cursor still moves past them"
        );
    }

    #[tokio::test]
    async fn a_429_says_when_to_try_again() {
        let url = canned_with(
            "429 Too Many Requests",
            "retry-after: 30\r\n",
            serde_json::json!({"error": {"code": "too_many_attempts", "message": "slow down"}}),
        )
        .await;
        let api = Api::new(reqwest::Client::new(), &url, Duration::from_secs(5));
        let err = api.login("a@x", "wrong").await.unwrap_err();
        assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
        assert!(err.is_retryable());
        let shown = crate::CommandError::from(err);
        assert_eq!(shown.kind, crate::ErrorKind::Throttled);
        assert_eq!(shown.message, "too many attempts; try again in 30 s");
    }
}
