//! The fleet end to end: three `ledgerline-server` processes on one private
//! Postgres database and one private `nats-server`, 30 sessions long-polling
//! across them while writers go through all three. Mid-burst one instance
//! is killed with SIGKILL (its sessions move to another instance with the
//! cursor they had) and nats-server is killed and restarted. Every session
//! must receive every event it may see exactly once, in seq order — the
//! full lists are compared with the log. Then a logout through one instance
//! ends a poll parked on another.
//!
//! Needs `LEDGERLINE_TEST_PG_URL` and `nats-server` (scripts/services.sh,
//! which `make test` runs); without them it is skipped, except under
//! `CI=true`, where that is a failure.

// A test binary has no public API.
#![allow(unreachable_pub)]

#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::{
    collections::HashMap,
    process::Stdio,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst},
        Arc,
    },
    time::{Duration, Instant},
};

use helpers::{eventually, postgres_database, seq, Nats, DEADLINE};
use ledgerline_wire::{LoginResponse, PollResponse};
use reqwest::StatusCode;
use serde_json::json;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
    sync::watch,
};

const INSTANCES: usize = 3;
const SESSIONS: usize = 30;
const WRITERS: usize = 3;
const WRITES_PER_WRITER: usize = 60;
/// The whole run must finish well inside this.
const RUN_DEADLINE: Duration = Duration::from_secs(120);

struct Instance {
    base: String,
    child: Child,
}

async fn start_instance(database: &str, nats: &str) -> Instance {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ledgerline-server"));
    for (key, _) in std::env::vars() {
        if key.starts_with("LEDGERLINE_") {
            command.env_remove(key);
        }
    }
    let mut child = command
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--database-url",
            database,
            "--nats-url",
            nats,
            "--poll-timeout-ms",
            "20000",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start ledgerline-server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(DEADLINE, lines.next_line())
        .await
        .expect("the instance starts")
        .unwrap()
        .expect("a line on stdout");
    let base = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected: {line}"))
        .to_owned();
    Instance { base, child }
}

/// A signed-in session and what it may see.
#[derive(Clone)]
struct Session {
    token: String,
    org_id: String,
    /// `None`: every property of the org.
    properties: Option<Vec<String>>,
}

/// The instances' addresses and which are still alive.
struct Fleet {
    bases: Vec<String>,
    dead: Vec<AtomicBool>,
    client: reqwest::Client,
}

impl Fleet {
    /// The first live instance at or after `i`.
    fn live(&self, i: usize) -> usize {
        (0..INSTANCES)
            .map(|k| (i + k) % INSTANCES)
            .find(|k| !self.dead[*k].load(SeqCst))
            .expect("an instance is alive")
    }
}

fn skip_or_fail(what: &str) -> bool {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{what} is required under CI=true (scripts/services.sh)");
    }
    eprintln!("skipped: {what} not set (scripts/services.sh starts it)");
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_lose_nothing_through_a_kill_and_a_bus_restart() {
    if std::env::var("LEDGERLINE_TEST_PG_URL").is_err() && skip_or_fail("LEDGERLINE_TEST_PG_URL") {
        return;
    }
    tokio::time::timeout(RUN_DEADLINE, run())
        .await
        .expect("the cluster run finishes");
}

async fn run() {
    let started = Instant::now();
    let database = postgres_database().await;
    let mut nats = Nats::start().await;
    // All three at once: migrations and the demo data run once (locks).
    let nats_url = nats.url();
    let mut instances =
        futures::future::join_all((0..INSTANCES).map(|_| start_instance(&database, &nats_url)))
            .await;
    let fleet = Arc::new(Fleet {
        bases: instances.iter().map(|i| i.base.clone()).collect(),
        dead: (0..INSTANCES).map(|_| AtomicBool::new(false)).collect(),
        client: reqwest::Client::new(),
    });
    for base in &fleet.bases {
        eventually("the instance is on the bus", || async {
            metric(&fleet.client, base, "ledgerline_bus_connected").await == Some(1.0)
        })
        .await;
    }

    let users = [
        "owner@demo.test",
        "manager@demo.test",
        "accountant@demo.test",
        "staff@demo.test",
        "owner@rival.test",
    ];
    let mut sessions = Vec::new();
    let mut property_ids: HashMap<String, Vec<String>> = HashMap::new();
    for i in 0..SESSIONS {
        let email = users[i % users.len()];
        let login: LoginResponse = fleet
            .client
            .post(format!("{}/v1/auth/login", fleet.bases[i % INSTANCES]))
            .json(&json!({"email": email, "password": "demo"}))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        let ids: Vec<String> = login.properties.iter().map(|p| p.id.clone()).collect();
        let staff = email.starts_with("staff");
        if !staff {
            property_ids.insert(login.org.id.clone(), ids.clone());
        }
        sessions.push(Session {
            token: login.token,
            org_id: login.org.id,
            properties: staff.then_some(ids),
        });
    }
    let owners: Vec<Session> = sessions
        .iter()
        .filter(|s| s.properties.is_none())
        .take(2)
        .cloned()
        .collect();

    // Every session starts at the head and polls from its home instance.
    let (final_heads, heads_rx) = watch::channel(None::<HashMap<String, u64>>);
    let mut pollers = Vec::new();
    for (i, session) in sessions.iter().enumerate() {
        let head = poll(&fleet, i % INSTANCES, session, None).await.unwrap();
        assert!(!head.reset);
        pollers.push(tokio::spawn(follow(
            Arc::clone(&fleet),
            session.clone(),
            i % INSTANCES,
            seq(&head.cursor),
            heads_rx.clone(),
        )));
    }

    // The writers, through all instances; a failed write is retried with
    // its client_mutation_id on the next live instance.
    let written = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (fleet, written, property_ids) = (
                Arc::clone(&fleet),
                Arc::clone(&written),
                property_ids.clone(),
            );
            let owner = owners[w % owners.len()].clone();
            tokio::spawn(async move {
                let properties = &property_ids[&owner.org_id];
                for n in 0..WRITES_PER_WRITER {
                    let body = json!({
                        "kind": if n % 3 == 0 { "expense" } else { "revenue" },
                        "property_id": properties[n % properties.len()],
                        "amount_minor": 100 + n,
                        "currency": "USD",
                        "category": "rooms",
                        "memo": format!("writer {w} #{n}"),
                        "occurred_on": "2026-11-20",
                        "client_mutation_id": format!("w{w}-{n}"),
                    });
                    write(&fleet, w + n, &owner, &body).await;
                    written.fetch_add(1, SeqCst);
                }
            })
        })
        .collect();

    // Mid-burst: SIGKILL instance 0, later kill nats-server and restart it.
    let total = WRITERS * WRITES_PER_WRITER;
    eventually("a third of the writes", || async {
        written.load(SeqCst) >= total / 3
    })
    .await;
    fleet.dead[0].store(true, SeqCst);
    instances[0].child.kill().await.unwrap();
    eprintln!("killed instance 0 at {} writes", written.load(SeqCst));
    eventually("two thirds of the writes", || async {
        written.load(SeqCst) >= 2 * total / 3
    })
    .await;
    nats.kill().await;
    eprintln!("killed nats-server at {} writes", written.load(SeqCst));
    eventually("writes go on without the bus", || async {
        written.load(SeqCst) >= 2 * total / 3 + 15
    })
    .await;
    nats.restart().await;
    eprintln!("restarted nats-server at {} writes", written.load(SeqCst));
    for writer in writers {
        writer.await.unwrap();
    }

    // The log is the truth: what each session may see, in seq order.
    let db = sqlx::AnyPool::connect(&database).await.unwrap();
    let mut log: HashMap<String, Vec<(u64, String)>> = HashMap::new();
    for org in property_ids.keys() {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT seq, property_id FROM events WHERE org_id = $1 ORDER BY seq")
                .bind(org)
                .fetch_all(&db)
                .await
                .unwrap();
        log.insert(
            org.clone(),
            rows.into_iter().map(|(s, p)| (s as u64, p)).collect(),
        );
    }
    let events: usize = log.values().map(Vec::len).sum();
    assert_eq!(events, total, "one event per write, retries included");
    final_heads
        .send(Some(
            log.iter()
                .map(|(org, l)| (org.clone(), l.last().map_or(0, |e| e.0)))
                .collect(),
        ))
        .unwrap();
    for (poller, session) in pollers.into_iter().zip(&sessions) {
        let got = poller.await.unwrap();
        let expected: Vec<u64> = log[&session.org_id]
            .iter()
            .filter(|(_, p)| session.properties.as_ref().is_none_or(|ps| ps.contains(p)))
            .map(|(s, _)| *s)
            .collect();
        assert_eq!(got, expected, "a session's events, exactly once, in order");
    }
    eprintln!(
        "{SESSIONS} sessions received all {events} events exactly once across a kill -9 and a NATS restart ({:?})",
        started.elapsed()
    );

    // Logout through one instance ends a poll parked on another.
    let victim = &owners[0];
    let parked_on = fleet.live(1);
    let logout_on = fleet.live(parked_on + 1);
    assert_ne!(parked_on, logout_on);
    let head = poll(&fleet, parked_on, victim, None).await.unwrap();
    let parked = {
        let fleet = Arc::clone(&fleet);
        let victim = victim.clone();
        tokio::spawn(async move {
            fleet
                .client
                .get(format!("{}/v1/realtime/poll", fleet.bases[parked_on]))
                .bearer_auth(&victim.token)
                .query(&[("cursor", head.cursor.as_str()), ("timeout_ms", "15000")])
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    eventually("the poll is parked", || async {
        metric(
            &fleet.client,
            &fleet.bases[parked_on],
            "ledgerline_realtime_waiters",
        )
        .await
            >= Some(1.0)
    })
    .await;
    let logout = fleet
        .client
        .post(format!("{}/v1/auth/logout", fleet.bases[logout_on]))
        .bearer_auth(&victim.token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    assert_eq!(parked.await.unwrap(), StatusCode::UNAUTHORIZED);
}

/// Follows one session's events until its cursor reaches its org's final
/// head; an instance that stops answering is replaced by the next live one,
/// with the same cursor. Returns the seqs received, in order.
async fn follow(
    fleet: Arc<Fleet>,
    session: Session,
    mut home: usize,
    mut cursor: u64,
    mut heads: watch::Receiver<Option<HashMap<String, u64>>>,
) -> Vec<u64> {
    let mut got = Vec::new();
    loop {
        if let Some(heads) = &*heads.borrow_and_update() {
            if cursor >= heads[&session.org_id] {
                return got;
            }
        }
        match poll(&fleet, home, &session, Some(cursor)).await {
            Ok(r) => {
                assert!(!r.reset, "no reset expected: {r:?}");
                got.extend(r.events.iter().map(|e| e.seq));
                cursor = seq(&r.cursor);
            }
            Err(_) => home = fleet.live(home + 1),
        }
    }
}

async fn poll(
    fleet: &Fleet,
    instance: usize,
    session: &Session,
    cursor: Option<u64>,
) -> Result<PollResponse, reqwest::Error> {
    let mut query = vec![("timeout_ms", "2000".to_owned())];
    if let Some(c) = cursor {
        query.push(("cursor", c.to_string()));
    }
    let response = fleet
        .client
        .get(format!("{}/v1/realtime/poll", fleet.bases[instance]))
        .bearer_auth(&session.token)
        .query(&query)
        .timeout(Duration::from_secs(10))
        .send()
        .await?;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "a poll of a live session"
    );
    response.json().await
}

/// Creates a row through instance `start` (or the next live one on
/// failure) until the fleet confirms it.
async fn write(fleet: &Fleet, start: usize, owner: &Session, body: &serde_json::Value) {
    let mut instance = fleet.live(start % INSTANCES);
    let deadline = Instant::now() + DEADLINE;
    loop {
        let sent = fleet
            .client
            .post(format!("{}/v1/transactions", fleet.bases[instance]))
            .bearer_auth(&owner.token)
            .json(body)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        match sent {
            Ok(r) if r.status() == StatusCode::CREATED || r.status() == StatusCode::OK => return,
            Ok(r) => panic!("write refused: {} {}", r.status(), r.text().await.unwrap()),
            Err(_) => {
                assert!(Instant::now() < deadline, "a write never landed");
                instance = fleet.live(instance + 1);
            }
        }
    }
}

async fn metric(client: &reqwest::Client, base: &str, series: &str) -> Option<f64> {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))?
        .parse()
        .ok()
}
