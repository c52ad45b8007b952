//! The real `ledgerline-server`, in-process on its own runtime (so a test
//! can stop it hard and start it again on the same port and database), and
//! "another client": plain HTTP with its own token.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::{Context, Result};
use chrono::NaiveDate;
use ledgerline_server::{AppState, RealtimeConfig, Store};
use ledgerline_wire::{
    Currency, LoginResponse, NewTransaction, ProfitLoss, Transaction, TransactionKind,
};
use serde_json::json;
use tokio::{net::TcpListener, runtime::Runtime};
use tokio_util::sync::CancellationToken;

pub(crate) const PASSWORD: &str = "demo";
pub(crate) const OWNER: &str = "owner@demo.test";
pub(crate) const MANAGER: &str = "manager@demo.test";

pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    pub(crate) url: String,
    pub(crate) db: PathBuf,
    runtime: Option<Runtime>,
}

impl TestServer {
    /// A fresh server with the demo data on a new database in `dir`.
    pub(crate) async fn spawn(dir: &std::path::Path) -> Result<TestServer> {
        TestServer::start(dir.join("server.sqlite"), 0).await
    }

    /// A server on `db` listening on `port` (0: any free port).
    pub(crate) async fn start(db: PathBuf, port: u16) -> Result<TestServer> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let url = format!("sqlite://{}", db.display());
        let (tx, rx) = tokio::sync::oneshot::channel();
        runtime.spawn(async move {
            let result = async {
                let store = Store::open(&url).await.context("server store")?;
                store.ensure_demo().await.context("demo data")?;
                let state = AppState::new(store, RealtimeConfig::default());
                let listener = TcpListener::bind(("127.0.0.1", port))
                    .await
                    .context("bind")?;
                anyhow::Ok((state, listener))
            }
            .await;
            match result {
                Ok((state, listener)) => {
                    let _ = tx.send(listener.local_addr().map_err(anyhow::Error::from));
                    let _ = ledgerline_server::run(listener, state, CancellationToken::new()).await;
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        });
        let addr = rx.await.context("server task vanished")??;
        Ok(TestServer {
            addr,
            url: format!("http://{addr}"),
            db,
            runtime: Some(runtime),
        })
    }

    /// Stops it hard: no more answers, every connection dropped.
    pub(crate) fn stop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }

    /// Starts it again on the same port and database.
    pub(crate) async fn restart(&mut self) -> Result<()> {
        self.stop();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            // The port may take a moment to be free again.
            match TestServer::start(self.db.clone(), self.addr.port()).await {
                Ok(mut again) => {
                    self.runtime = again.runtime.take();
                    return Ok(());
                }
                Err(e) if tokio::time::Instant::now() < deadline => {
                    tracing_free_log(&format!("restart: {e:#}; retrying"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// `ledgerline_realtime_waiters` from `/metrics` (summed over labels).
    pub(crate) async fn waiters(&self) -> Result<u64> {
        let text = reqwest::get(format!("{}/metrics", self.url))
            .await?
            .error_for_status()?
            .text()
            .await?;
        Ok(text
            .lines()
            .filter(|l| l.starts_with("ledgerline_realtime_waiters"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64)
    }

    /// The value of the `/metrics` line `series` (a name with its labels);
    /// 0 while the series is absent.
    pub(crate) async fn metric(&self, series: &str) -> Result<f64> {
        let text = reqwest::get(format!("{}/metrics", self.url))
            .await?
            .error_for_status()?
            .text()
            .await?;
        Ok(text
            .lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(0.0))
    }

    /// Another client, signed in as `email`.
    pub(crate) async fn remote(&self, email: &str) -> Result<Remote> {
        Remote::login(&self.url, email).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn tracing_free_log(msg: &str) {
    eprintln!("[e2e] {msg}");
}

/// "Another client": plain HTTP calls with its own token.
#[derive(Clone)]
pub(crate) struct Remote {
    http: reqwest::Client,
    url: String,
    token: String,
    pub(crate) property_id: String,
}

impl Remote {
    pub(crate) async fn login(url: &str, email: &str) -> Result<Remote> {
        let http = reqwest::Client::new();
        let resp: LoginResponse = http
            .post(format!("{url}/v1/auth/login"))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let property_id = resp
            .properties
            .first()
            .map(|p| p.id.clone())
            .context("the demo user has no property")?;
        Ok(Remote {
            http,
            url: url.to_owned(),
            token: resp.token,
            property_id,
        })
    }

    /// Writes one transaction dated `on`.
    pub(crate) async fn create(
        &self,
        kind: TransactionKind,
        amount_minor: i64,
        memo: &str,
        on: NaiveDate,
    ) -> Result<Transaction> {
        let input = NewTransaction {
            kind,
            property_id: self.property_id.clone(),
            amount_minor,
            currency: Currency::USD,
            category: "e2e".into(),
            memo: memo.into(),
            occurred_on: on,
            client_mutation_id: None,
        };
        Ok(self
            .http
            .post(format!("{}/v1/transactions", self.url))
            .bearer_auth(&self.token)
            .json(&input)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// Every transaction this user sees.
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
            let page: ledgerline_wire::TransactionPage =
                rb.send().await?.error_for_status()?.json().await?;
            out.extend(page.items);
            match page.next {
                Some(n) => after = Some(n),
                None => return Ok(out),
            }
        }
    }

    /// Sets (or with `None` clears) the org's lock date: owners only.
    pub(crate) async fn set_lock_date(&self, day: Option<NaiveDate>) -> Result<()> {
        self.http
            .put(format!("{}/v1/settings/lock-date", self.url))
            .bearer_auth(&self.token)
            .json(&json!({ "lock_date": day }))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    /// The server's profit-loss for `from..=to`, all properties.
    pub(crate) async fn profit_loss(&self, from: &str, to: &str) -> Result<ProfitLoss> {
        Ok(self
            .http
            .get(format!("{}/v1/reports/profit-loss", self.url))
            .query(&[("from", from), ("to", to)])
            .bearer_auth(&self.token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }
}
