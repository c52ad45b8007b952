//! `spawn_app()`: the real server on `127.0.0.1:0` over a fresh database —
//! a temporary SQLite file, or with `LEDGERLINE_TEST_DATABASE=postgres` a
//! new database in the private Postgres cluster at `LEDGERLINE_TEST_PG_URL`
//! (`scripts/test.sh` starts one) — with request helpers, test-only reads of
//! the database, and the realtime helpers: long-polls, `/metrics` gauges,
//! restarts on the same database, and condition waits with a deadline.

use std::{future::Future, net::SocketAddr, time::Duration};

use ledgerline_server::{run, store::Backend, AppState, RealtimeConfig, Store};
use ledgerline_wire::{Cursor, Event, LoginResponse, PollResponse, Transaction};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};
use sqlx::AnyPool;
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long a condition wait or a test poll may take before the test fails.
/// Generous: it only bounds a hang, it is not a timing assertion.
pub const DEADLINE: Duration = Duration::from_secs(20);

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    /// A separate connection to the server's database, for checking rows
    /// and events behind the API's back.
    pub db: AnyPool,
    url: String,
    config: RealtimeConfig,
    shutdown: CancellationToken,
    server: Option<JoinHandle<std::io::Result<()>>>,
    _dir: TempDir,
}

/// Which backend this run of the suite uses: `LEDGERLINE_TEST_DATABASE`
/// (`sqlite`, the default, or `postgres`).
pub fn backend() -> Backend {
    match std::env::var("LEDGERLINE_TEST_DATABASE").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("LEDGERLINE_TEST_DATABASE={other:?}: use sqlite or postgres"),
    }
}

/// A fresh, empty database of the suite's backend, and its url.
pub async fn fresh_database(dir: &TempDir) -> String {
    sqlx::any::install_default_drivers();
    match backend() {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("test.db").display()),
        Backend::Postgres => postgres_database().await,
    }
}

/// A new database in the test cluster (`LEDGERLINE_TEST_PG_URL`, a
/// superuser url; `scripts/services.sh` starts a private cluster).
pub async fn postgres_database() -> String {
    let admin = std::env::var("LEDGERLINE_TEST_PG_URL").expect(
        "LEDGERLINE_TEST_PG_URL: the Postgres cluster to test against (scripts/services.sh)",
    );
    sqlx::any::install_default_drivers();
    let name = format!("ll_{}", uuid::Uuid::new_v4().simple());
    let pool = AnyPool::connect(&admin)
        .await
        .expect("connect to the test cluster");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&pool)
        .await
        .expect("create a test database");
    pool.close().await;
    let (base, _) = admin
        .rsplit_once('/')
        .expect("LEDGERLINE_TEST_PG_URL ends in /DATABASE");
    format!("{base}/{name}")
}

/// A signed-in demo user.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub user_id: String,
    pub org_id: String,
    pub properties: Vec<String>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(RealtimeConfig::default()).await
}

/// The server with these realtime settings.
pub async fn spawn_app_with(config: RealtimeConfig) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = fresh_database(&dir).await;
    let (addr, shutdown, server) = start(&url, config.clone()).await;
    let db = AnyPool::connect(&url).await.expect("test connection");
    TestApp {
        addr,
        client: reqwest::Client::new(),
        db,
        url,
        config,
        shutdown,
        server: Some(server),
        _dir: dir,
    }
}

type Started = (
    SocketAddr,
    CancellationToken,
    JoinHandle<std::io::Result<()>>,
);

async fn start(url: &str, config: RealtimeConfig) -> Started {
    let store = Store::open(url).await.expect("open store");
    store.ensure_demo().await.expect("demo data");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let state = AppState::start(store, config)
        .await
        .expect("start the state");
    let server = tokio::spawn(run(listener, state, shutdown.clone()));
    (addr, shutdown, server)
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl TestApp {
    /// Another server instance on the same database, with its own hub (and
    /// `config`, e.g. the same bus): a second member of a fleet.
    pub async fn spawn_peer(&self, config: RealtimeConfig) -> TestApp {
        let (addr, shutdown, server) = start(&self.url, config.clone()).await;
        TestApp {
            addr,
            client: reqwest::Client::new(),
            db: self.db.clone(),
            url: self.url.clone(),
            config,
            shutdown,
            server: Some(server),
            _dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// The server's database url.
    pub fn database_url(&self) -> &str {
        &self.url
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn request(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, token).send().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::POST, path, token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch_json(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::PATCH, path, token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.request(Method::DELETE, path, token)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, token: &str) -> Response {
        self.request(Method::POST, path, token)
            .send()
            .await
            .unwrap()
    }

    pub async fn login_response(&self, email: &str, password: &str) -> Response {
        self.client
            .post(self.url("/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
    }

    /// Sign in as a demo user (password `demo`).
    pub async fn login(&self, email: &str) -> Session {
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
    pub async fn create(&self, who: &Session, body: Value) -> Transaction {
        let response = self.post_json("/v1/transactions", &who.token, &body).await;
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "create: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Stop the server and wait until it has.
    pub async fn stop(mut self) {
        self.stop_server().await;
    }

    async fn stop_server(&mut self) {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
    }

    /// Stop the server and start a new one (new port, empty hub) on the same
    /// database file, with `config`.
    pub async fn restart_with(&mut self, config: RealtimeConfig) {
        self.stop_server().await;
        let (addr, shutdown, server) = start(&self.url, config.clone()).await;
        self.addr = addr;
        self.shutdown = shutdown;
        self.server = Some(server);
        self.config = config;
    }

    /// [`TestApp::restart_with`] the same settings.
    pub async fn restart(&mut self) {
        self.restart_with(self.config.clone()).await;
    }

    /// Events of `org_id` as stored, ascending seq.
    pub async fn events(&self, org_id: &str) -> Vec<Event> {
        let payloads: Vec<String> =
            sqlx::query_scalar("SELECT payload FROM events WHERE org_id = $1 ORDER BY seq")
                .bind(org_id)
                .fetch_all(&self.db)
                .await
                .unwrap();
        payloads
            .iter()
            .map(|p| serde_json::from_str(p).unwrap())
            .collect()
    }

    pub async fn event_count(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM events")
            .fetch_one(&self.db)
            .await
            .unwrap()
    }

    pub async fn transaction_count(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM transactions")
            .fetch_one(&self.db)
            .await
            .unwrap()
    }

    /// The row as stored, as JSON (for before/after comparisons).
    pub async fn stored_row(&self, id: &str) -> Option<Value> {
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

    /// `GET /v1/realtime/poll` with a raw query string (`cursor=3&…`).
    pub async fn poll_raw(&self, token: &str, query: &str) -> Response {
        self.get(&format!("/v1/realtime/poll?{query}"), token).await
    }

    /// One long-poll that must answer 200.
    pub fn poll(
        &self,
        who: &Session,
        query: Poll<'_>,
    ) -> impl Future<Output = PollResponse> + Send + 'static {
        let request = self
            .request(Method::GET, "/v1/realtime/poll", &who.token)
            .query(&query.pairs());
        async move {
            let response = tokio::time::timeout(DEADLINE, request.send())
                .await
                .expect("poll answered before the deadline")
                .unwrap();
            let status = response.status();
            let text = response.text().await.unwrap();
            assert_eq!(status, StatusCode::OK, "poll: {text}");
            serde_json::from_str(&text).unwrap()
        }
    }

    /// The head cursor for `who` (a poll without a cursor).
    pub async fn head(&self, who: &Session) -> u64 {
        let r = self.poll(who, Poll::default()).await;
        assert!(r.events.is_empty() && !r.reset);
        seq(&r.cursor)
    }

    /// Long-polls from `cursor` until `count` events arrived; then one more
    /// short poll must bring nothing. Returns the events and the last cursor.
    pub async fn collect(
        &self,
        who: &Session,
        mut cursor: u64,
        property_id: Option<&str>,
        count: usize,
    ) -> (Vec<Event>, u64) {
        let mut events = Vec::new();
        let collecting = async {
            while events.len() < count {
                let q = Poll {
                    cursor: Some(cursor),
                    property_id,
                    timeout_ms: Some(5_000),
                };
                let r = self.poll(who, q).await;
                assert!(!r.reset, "no reset expected");
                events.extend(r.events);
                cursor = seq(&r.cursor);
            }
        };
        tokio::time::timeout(DEADLINE, collecting)
            .await
            .unwrap_or_else(|_| panic!("only {} of {count} events", events.len()));
        let extra = Poll {
            cursor: Some(cursor),
            property_id,
            timeout_ms: Some(100),
        };
        let r = self.poll(who, extra).await;
        assert!(r.events.is_empty(), "more events than expected: {r:?}");
        (events, seq(&r.cursor))
    }

    /// A sample of `/metrics` (no labels, or the full `name{labels}`).
    pub async fn metric(&self, series: &str) -> f64 {
        let text = self
            .client
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
            .parse()
            .unwrap()
    }

    /// Waits until the gauge `series` reads `value`.
    pub async fn metric_reaches(&self, series: &str, value: f64) {
        eventually(&format!("{series} == {value}"), || async {
            self.metric(series).await == value
        })
        .await;
    }
}

/// The query of one long-poll.
#[derive(Debug, Clone, Copy, Default)]
pub struct Poll<'a> {
    pub cursor: Option<u64>,
    pub property_id: Option<&'a str>,
    pub timeout_ms: Option<u64>,
}

impl Poll<'_> {
    /// A poll from `cursor`, waiting up to `timeout_ms`.
    pub fn at(cursor: u64, timeout_ms: u64) -> Poll<'static> {
        Poll {
            cursor: Some(cursor),
            property_id: None,
            timeout_ms: Some(timeout_ms),
        }
    }

    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(c) = self.cursor {
            pairs.push(("cursor", c.to_string()));
        }
        if let Some(p) = self.property_id {
            pairs.push(("property_id", p.to_owned()));
        }
        if let Some(t) = self.timeout_ms {
            pairs.push(("timeout_ms", t.to_string()));
        }
        pairs
    }
}

/// A private `nats-server` on a free loopback port (the binary named by
/// `LEDGERLINE_NATS_SERVER`, or `nats-server` on the PATH), killed on drop.
pub struct Nats {
    pub port: u16,
    child: Option<tokio::process::Child>,
}

impl Nats {
    pub async fn start() -> Nats {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut nats = Nats { port, child: None };
        nats.restart().await;
        nats
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts it (again) on the same port; returns once it accepts.
    pub async fn restart(&mut self) {
        let binary =
            std::env::var("LEDGERLINE_NATS_SERVER").unwrap_or_else(|_| "nats-server".into());
        let child = tokio::process::Command::new(&binary)
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{binary}: {e} (scripts/services.sh installs it)"));
        self.child = Some(child);
        let addr = format!("127.0.0.1:{}", self.port);
        eventually("nats-server accepts", || async {
            tokio::net::TcpStream::connect(&addr).await.is_ok()
        })
        .await;
    }

    /// SIGKILL, and wait until it is gone.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
    }
}

/// The seq of a cursor the server returned (`epoch.seq`).
pub fn seq(cursor: &str) -> u64 {
    cursor
        .parse::<Cursor>()
        .unwrap_or_else(|e| panic!("{e}"))
        .seq()
}

/// Polls `condition` every 10 ms until it holds; fails the test after
/// [`DEADLINE`].
pub async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = tokio::time::Instant::now();
    while !condition().await {
        assert!(started.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A valid create body for `property_id`.
pub fn new_tx(property_id: &str) -> Value {
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
pub async fn assert_error(response: Response, status: StatusCode, code: &str) -> String {
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
