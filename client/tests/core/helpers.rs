//! Spawning the real server (on its own runtime, so a test can stop it hard
//! and start it again on the same port and database), opening cores with
//! short intervals, a plain HTTP client standing in for "another client",
//! and waiting on conditions with deadlines.

#![allow(dead_code)]

use std::{
    future::Future,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use anyhow::{bail, Context, Result};
use ledgerline_client::{ChannelEmitter, Core, CoreConfig, CoreEvent, KvStore, MemoryStore};
use ledgerline_server::{AppState, RealtimeConfig, Store};
use ledgerline_wire::{
    Currency, LoginResponse, NewTransaction, Transaction, TransactionKind, TransactionPage,
};
use tokio::{net::TcpListener, runtime::Runtime, sync::mpsc};
use tokio_util::sync::CancellationToken;

pub(crate) const PASSWORD: &str = "demo";
pub(crate) const OWNER: &str = "owner@demo.test";
pub(crate) const MANAGER: &str = "manager@demo.test";
pub(crate) const ACCOUNTANT: &str = "accountant@demo.test";
pub(crate) const RIVAL: &str = "owner@rival.test";

/// The real server on its own runtime. Dropping it (or `stop`) kills every
/// task and connection of it at once, like a crash.
pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    pub(crate) url: String,
    pub(crate) db: PathBuf,
    runtime: Option<Runtime>,
    _dir: Option<tempfile::TempDir>,
}

impl TestServer {
    /// A fresh server with the demo data on a new database.
    pub(crate) async fn spawn() -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("server.sqlite");
        let mut server = TestServer::start(db, 0).await;
        server._dir = Some(dir);
        server
    }

    /// A server on `db` listening on `port` (0: any free port).
    pub(crate) async fn start(db: PathBuf, port: u16) -> TestServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let url = format!("sqlite://{}", db.display());
        let (tx, rx) = tokio::sync::oneshot::channel();
        runtime.spawn(async move {
            let store = Store::open(&url).await.expect("server store");
            store.ensure_demo().await.expect("demo data");
            let config = RealtimeConfig {
                poll_timeout_ms: 2_000,
                ..RealtimeConfig::default()
            };
            let state = AppState::new(store, config);
            let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
            let _ = tx.send(listener.local_addr().unwrap());
            let _ = ledgerline_server::run(listener, state, CancellationToken::new()).await;
        });
        let addr = rx.await.expect("server started");
        TestServer {
            addr,
            url: format!("http://{addr}"),
            db,
            runtime: Some(runtime),
            _dir: None,
        }
    }

    /// Stops it hard: no more answers, every connection dropped.
    pub(crate) fn stop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }

    /// Starts it again on the same port and database.
    pub(crate) async fn restart(&mut self) {
        self.stop();
        let mut again = TestServer::start(self.db.clone(), self.addr.port()).await;
        self.runtime = again.runtime.take();
    }

    pub(crate) fn http(&self) -> Remote {
        Remote {
            http: reqwest::Client::new(),
            url: self.url.clone(),
            token: String::new(),
        }
    }

    /// The value of the `/metrics` line that starts with `series ` (0 when
    /// the series is absent).
    pub(crate) async fn metric(&self, series: &str) -> Result<f64> {
        let text = reqwest::get(format!("{}/metrics", self.url))
            .await?
            .text()
            .await?;
        Ok(text
            .lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(0.0))
    }

    /// `ledgerline_realtime_waiters` from `/metrics` (summed over labels).
    pub(crate) async fn waiters(&self) -> Result<u64> {
        let text = reqwest::get(format!("{}/metrics", self.url))
            .await?
            .text()
            .await?;
        Ok(text
            .lines()
            .filter(|l| l.starts_with("ledgerline_realtime_waiters"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// "Another client": plain HTTP calls with its own token.
#[derive(Clone)]
pub(crate) struct Remote {
    pub(crate) http: reqwest::Client,
    pub(crate) url: String,
    pub(crate) token: String,
}

impl Remote {
    pub(crate) async fn login(mut self, email: &str) -> Result<Remote> {
        let resp: LoginResponse = self
            .http
            .post(format!("{}/v1/auth/login", self.url))
            .json(&serde_json::json!({"email": email, "password": PASSWORD}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        self.token = resp.token;
        Ok(self)
    }

    pub(crate) async fn logout(&self) -> Result<()> {
        self.http
            .post(format!("{}/v1/auth/logout", self.url))
            .bearer_auth(&self.token)
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    pub(crate) async fn create(&self, t: &NewTransaction) -> Result<Transaction> {
        Ok(self
            .http
            .post(format!("{}/v1/transactions", self.url))
            .bearer_auth(&self.token)
            .json(t)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// Every transaction this token sees.
    pub(crate) async fn all(&self) -> Result<Vec<Transaction>> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut rb = self
                .http
                .get(format!("{}/v1/transactions", self.url))
                .bearer_auth(&self.token)
                .query(&[("limit", "500")]);
            if let Some(a) = &after {
                rb = rb.query(&[("after", a)]);
            }
            let page: TransactionPage = rb.send().await?.error_for_status()?.json().await?;
            out.extend(page.items);
            match page.next {
                Some(n) => after = Some(n),
                None => return Ok(out),
            }
        }
    }

    pub(crate) async fn get_json(&self, path_and_query: &str) -> Result<serde_json::Value> {
        Ok(self
            .http
            .get(format!("{}{}", self.url, path_and_query))
            .bearer_auth(&self.token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }
}

/// The first demo property of whoever signed in.
pub(crate) fn new_txn(property_id: &str, amount_minor: i64, memo: &str) -> NewTransaction {
    NewTransaction {
        kind: TransactionKind::Revenue,
        property_id: property_id.to_owned(),
        amount_minor,
        currency: Currency::USD,
        category: "rooms".into(),
        memo: memo.to_owned(),
        occurred_on: chrono::Utc::now().date_naive(),
        client_mutation_id: None,
    }
}

/// Short intervals so failure paths run in well under a second.
pub(crate) fn test_config(dir: &Path) -> CoreConfig {
    CoreConfig {
        backoff_base: Duration::from_millis(40),
        backoff_max: Duration::from_millis(200),
        offline_probe_max: Duration::from_millis(200),
        offline_poll_min: Duration::from_millis(300),
        offline_poll_max: Duration::from_millis(450),
        reconnect_refresh_spread: Duration::ZERO,
        telemetry_sample_rate: 0.0,
        poll_timeout: Duration::from_millis(1_500),
        poll_grace: Duration::from_millis(1_000),
        heartbeat: Duration::from_millis(500),
        takeover: Duration::from_secs(5),
        takeover_jitter: Duration::from_millis(500),
        request_timeout: Duration::from_secs(5),
        ..CoreConfig::new(dir)
    }
}

/// A core on the cache in `dir` with `store`, and what it emits.
pub(crate) struct TestCore {
    pub(crate) core: Core,
    pub(crate) events: mpsc::UnboundedReceiver<CoreEvent>,
}

impl TestCore {
    pub(crate) async fn open(dir: &Path, store: Arc<dyn KvStore>) -> TestCore {
        TestCore::open_with(test_config(dir), store).await
    }

    pub(crate) async fn open_with(config: CoreConfig, store: Arc<dyn KvStore>) -> TestCore {
        let (emitter, events) = ChannelEmitter::new();
        let core = Core::open(config, store, Arc::new(emitter))
            .await
            .expect("core opens");
        TestCore { core, events }
    }

    /// A fresh core (own cache dir, memory store) signed in as `email`.
    pub(crate) async fn signed_in(server: &TestServer, dir: &Path, email: &str) -> TestCore {
        let c = TestCore::open(dir, Arc::new(MemoryStore::new())).await;
        c.core
            .sign_in(&server.url, email, PASSWORD)
            .await
            .expect("sign in");
        c
    }

    /// Drains the events emitted so far.
    pub(crate) fn drain(&mut self) -> Vec<CoreEvent> {
        let mut out = Vec::new();
        while let Ok(e) = self.events.try_recv() {
            out.push(e);
        }
        out
    }
}

/// Polls `check` until it gives `Some` or `deadline` passes.
#[track_caller]
pub(crate) fn wait_for<'a, T, F, Fut>(
    what: &'a str,
    deadline: Duration,
    mut check: F,
) -> impl Future<Output = Result<T>> + 'a
where
    T: 'a,
    F: FnMut() -> Fut + 'a,
    Fut: Future<Output = Option<T>> + 'a,
{
    let caller = std::panic::Location::caller();
    async move {
        let end = tokio::time::Instant::now() + deadline;
        loop {
            if let Some(v) = check().await {
                return Ok(v);
            }
            if tokio::time::Instant::now() >= end {
                bail!("timed out after {deadline:?} waiting for {what} (at {caller})");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Polls `check` until it holds or `deadline` passes.
#[track_caller]
pub(crate) fn wait_until<'a, F, Fut>(
    what: &'a str,
    deadline: Duration,
    mut check: F,
) -> impl Future<Output = Result<()>> + 'a
where
    F: FnMut() -> Fut + 'a,
    Fut: Future<Output = bool> + 'a,
{
    wait_for(what, deadline, move || {
        let fut = check();
        async move { fut.await.then_some(()) }
    })
}

/// The ids of every cached row.
pub(crate) async fn cached_ids(core: &Core) -> std::collections::BTreeSet<String> {
    core.cache()
        .all_rows()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
}

pub(crate) fn first_property(core: &Core) -> String {
    core.session().context("signed in").unwrap().properties[0]
        .id
        .clone()
}
