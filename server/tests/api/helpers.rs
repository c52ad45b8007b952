//! `spawn_app()`: the real server on `127.0.0.1:0` over a fresh temporary
//! SQLite file, with request helpers and test-only reads of the database.

use std::net::SocketAddr;

use ledgerline_server::{run, AppState, RealtimeConfig, Store};
use ledgerline_wire::{Event, LoginResponse, Transaction};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};
use sqlx::SqlitePool;
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub(crate) struct TestApp {
    pub(crate) addr: SocketAddr,
    pub(crate) client: reqwest::Client,
    /// A separate connection to the server's database file, for checking
    /// rows and events behind the API's back.
    pub(crate) db: SqlitePool,
    shutdown: CancellationToken,
    server: Option<JoinHandle<std::io::Result<()>>>,
    _dir: TempDir,
}

/// A signed-in demo user.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) token: String,
    pub(crate) user_id: String,
    pub(crate) org_id: String,
    pub(crate) properties: Vec<String>,
}

pub(crate) async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let store = Store::open(&url).await.expect("open store");
    store.ensure_demo().await.expect("demo data");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let state = AppState::new(store, RealtimeConfig::default());
    let server = tokio::spawn(run(listener, state, shutdown.clone()));
    let db = SqlitePool::connect(&url).await.expect("test connection");
    TestApp {
        addr,
        client: reqwest::Client::new(),
        db,
        shutdown,
        server: Some(server),
        _dir: dir,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl TestApp {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub(crate) fn request(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    pub(crate) async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, token).send().await.unwrap()
    }

    pub(crate) async fn post_json(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::POST, path, token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn patch_json(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::PATCH, path, token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn post(&self, path: &str, token: &str) -> Response {
        self.request(Method::POST, path, token)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn delete(&self, path: &str, token: &str) -> Response {
        self.request(Method::DELETE, path, token)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn login_response(&self, email: &str, password: &str) -> Response {
        self.client
            .post(self.url("/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
    }

    /// Sign in as a demo user (password `demo`).
    pub(crate) async fn login(&self, email: &str) -> Session {
        let response = self.login_response(email, "demo").await;
        assert_eq!(response.status(), StatusCode::OK, "login {email}");
        let body: LoginResponse = response.json().await.unwrap();
        Session {
            token: body.token,
            user_id: body.user.id,
            org_id: body.org.id,
            properties: body.properties.into_iter().map(|p| p.id).collect(),
        }
    }

    /// Create a transaction as `who`; panics unless 201.
    pub(crate) async fn create(&self, who: &Session, body: Value) -> Transaction {
        let response = self.post_json("/v1/transactions", &who.token, &body).await;
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "create: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Stop the server and wait until it has.
    pub(crate) async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
    }

    /// Events of `org_id` as stored, ascending seq.
    pub(crate) async fn events(&self, org_id: &str) -> Vec<Event> {
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT seq, property_id, kind, payload FROM events WHERE org_id = $1 ORDER BY seq",
        )
        .bind(org_id)
        .fetch_all(&self.db)
        .await
        .unwrap();
        rows.into_iter()
            .map(|(seq, property_id, kind, payload)| {
                let event: Event = serde_json::from_str(&payload).unwrap();
                assert_eq!(event.seq as i64, seq, "payload seq matches column");
                assert_eq!(event.property_id, property_id);
                assert_eq!(event.kind.as_str(), kind);
                event
            })
            .collect()
    }

    pub(crate) async fn event_count(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM events")
            .fetch_one(&self.db)
            .await
            .unwrap()
    }

    pub(crate) async fn transaction_count(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM transactions")
            .fetch_one(&self.db)
            .await
            .unwrap()
    }

    /// The row as stored, as JSON (for before/after comparisons).
    pub(crate) async fn stored_row(&self, id: &str) -> Option<Value> {
        let row: Option<(String, i64, String, String, i64, String)> = sqlx::query_as(
            "SELECT property_id, amount_minor, status, occurred_on, version, category
             FROM transactions WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.db)
        .await
        .unwrap();
        row.map(|(p, a, s, d, v, c)| {
            json!({"property_id": p, "amount_minor": a, "status": s, "occurred_on": d, "version": v, "category": c})
        })
    }
}

/// A valid create body for `property_id`.
pub(crate) fn new_tx(property_id: &str) -> Value {
    json!({
        "kind": "revenue",
        "property_id": property_id,
        "amount_minor": 12_345,
        "currency": "USD",
        "category": "rooms",
        "memo": "night 1",
        "occurred_on": "2026-11-20",
        "client_mutation_id": null
    })
}

/// Assert `response` has `status` and the JSON error shape with `code`;
/// returns the message.
pub(crate) async fn assert_error(response: Response, status: StatusCode, code: &str) -> String {
    let got = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(got, status, "body: {text}");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    assert_eq!(body["error"]["code"], code, "body: {text}");
    let message = body["error"]["message"]
        .as_str()
        .expect("message")
        .to_owned();
    assert!(!message.is_empty());
    assert_eq!(body.as_object().unwrap().len(), 1, "only `error`: {text}");
    message
}
