//! Sign in, resume after a restart, sign out, and the server ending a session.

use std::{sync::Arc, time::Duration};

use futures::FutureExt;

use ledgerline_client::{CoreEvent, ErrorKind, JsonFileStore, KvStore, MemoryStore};

use crate::helpers::*;

#[tokio::test]
async fn sign_in_is_persisted_and_a_restart_resumes_without_signing_in() {
    let server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("store.json");
    let first = TestCore::open(
        dir.path(),
        Arc::new(JsonFileStore::open(&store_path).unwrap()),
    )
    .await;
    assert!(first.core.session().is_none());
    let view = first
        .core
        .sign_in(&server.url, ACCOUNTANT, PASSWORD)
        .await
        .unwrap();
    assert_eq!(view.user.email, ACCOUNTANT);
    assert_eq!(view.properties.len(), 5);
    first.core.shutdown().await;
    drop(first);

    let again = TestCore::open(
        dir.path(),
        Arc::new(JsonFileStore::open(&store_path).unwrap()),
    )
    .await;
    assert_eq!(again.core.session(), Some(view));
    // The resumed token works: a write goes through.
    let p = first_property(&again.core);
    let row = again
        .core
        .create_transaction(new_txn(&p, 1234, "after restart"))
        .await
        .unwrap();
    let cmid = row.client_mutation_id.clone().unwrap();
    let remote = server.http().login(OWNER).await.unwrap();
    wait_until(
        "the write to reach the server",
        Duration::from_secs(10),
        || {
            let remote = remote.clone();
            let cmid = cmid.clone();
            async move {
                remote
                    .all()
                    .await
                    .map(|all| {
                        all.iter()
                            .any(|t| t.client_mutation_id.as_deref() == Some(&cmid))
                    })
                    .unwrap_or(false)
            }
        },
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn wrong_password_is_unauthorized_and_nothing_is_stored() {
    let server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryStore::new());
    let c = TestCore::open(dir.path(), store.clone()).await;
    let err = c
        .core
        .sign_in(&server.url, OWNER, "nope")
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unauthorized);
    assert!(c.core.session().is_none());
    assert_eq!(store.get("sessions").unwrap(), None);
    let err = c
        .core
        .sign_in("ftp://x", OWNER, PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind, err.field.as_deref()),
        (ErrorKind::Invalid, Some("server_url"))
    );
}

#[tokio::test]
async fn sign_out_revokes_the_token_and_stops_the_session() {
    let server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryStore::new());
    let mut c = TestCore::open(dir.path(), store.clone()).await;
    c.core.sign_in(&server.url, OWNER, PASSWORD).await.unwrap();
    let token = store.get("sessions").unwrap().unwrap()[0]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    c.core.sign_out(false).await.unwrap();
    assert!(c.core.session().is_none());
    assert_eq!(store.get("sessions").unwrap(), None);
    assert!(c.drain().contains(&CoreEvent::Session(None)));
    let status = reqwest::Client::new()
        .get(format!("{}/v1/transactions", server.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401, "the token is revoked");
    let err = c.core.list_rows(Default::default()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unauthorized);
}

#[tokio::test]
async fn a_401_from_the_server_ends_the_session() {
    let server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryStore::new());
    let mut c = TestCore::open(dir.path(), store.clone()).await;
    c.core.sign_in(&server.url, OWNER, PASSWORD).await.unwrap();
    // Revoke the core's own token behind its back.
    let token = store.get("sessions").unwrap().unwrap()[0]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let remote = Remote {
        token,
        ..server.http()
    };
    // Read the scope first: the logout ends the core's parked long-poll with
    // a 401, which may end the session before the next line runs.
    let p = first_property(&c.core);
    remote.logout().await.unwrap();
    // The write is queued; sending it (or the long-poll) meets the 401.
    let _ = c.core.create_transaction(new_txn(&p, 100, "doomed")).await;
    wait_until("the session to end", Duration::from_secs(10), || {
        let ended = c.core.session().is_none();
        async move { ended }
    })
    .await
    .unwrap();
    assert_eq!(store.get("sessions").unwrap(), None);
    assert!(c.drain().contains(&CoreEvent::Session(None)));
}

/// A core that retries slowly, so a write queued while the server is down
/// stays queued for the length of a test step.
fn slow_retry_config(dir: &std::path::Path) -> ledgerline_client::CoreConfig {
    ledgerline_client::CoreConfig {
        backoff_base: Duration::from_secs(30),
        backoff_max: Duration::from_secs(30),
        ..test_config(dir)
    }
}

#[tokio::test]
async fn a_write_made_offline_survives_another_users_sign_in_and_is_sent_once_on_return() {
    let mut server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryStore::new());
    let c = TestCore::open_with(slow_retry_config(dir.path()), store).await;
    c.core
        .sign_in(&server.url, ACCOUNTANT, PASSWORD)
        .await
        .unwrap();
    let p = first_property(&c.core);
    server.stop();
    let row = c
        .core
        .create_transaction(new_txn(&p, 777, "entered offline"))
        .await
        .unwrap();
    let cmid = row.client_mutation_id.clone().unwrap();
    // Signing out warns; signed out anyway, the write stays in its cache.
    assert!(c.core.sign_out(false).await.is_err());
    c.core.sign_out(true).await.unwrap();
    server.restart().await;
    // Someone else signs in on this computer.
    c.core
        .sign_in(&server.url, MANAGER, PASSWORD)
        .await
        .unwrap();
    assert!(
        c.core.cache().get(&row.id).await.unwrap().is_none(),
        "not in their cache"
    );
    assert!(c.core.outbox().await.unwrap().is_empty());
    let files: Vec<_> = std::fs::read_dir(dir.path().join("caches"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "sqlite"))
        .collect();
    assert_eq!(files.len(), 2, "one cache per identity");
    let remote = server.http().login(OWNER).await.unwrap();
    let on_server = |remote: Remote, cmid: String| async move {
        remote
            .all()
            .await
            .unwrap()
            .iter()
            .filter(|t| t.client_mutation_id.as_deref() == Some(&cmid))
            .count()
    };
    assert_eq!(on_server(remote.clone(), cmid.clone()).await, 0);
    // Back as the first user: the write goes, once.
    c.core
        .sign_in(&server.url, ACCOUNTANT, PASSWORD)
        .await
        .unwrap();
    wait_until("the write on the server", Duration::from_secs(10), || {
        on_server(remote.clone(), cmid.clone()).map(|n| n == 1)
    })
    .await
    .unwrap();
    let core = c.core.clone();
    wait_until("an empty outbox", Duration::from_secs(10), || {
        let core = core.clone();
        async move { core.outbox().await.unwrap().is_empty() }
    })
    .await
    .unwrap();
    assert_eq!(on_server(remote, cmid).await, 1);
}

#[tokio::test]
async fn signing_out_with_unsent_writes_warns_and_says_how_many() {
    let mut server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let c = TestCore::open_with(slow_retry_config(dir.path()), Arc::new(MemoryStore::new())).await;
    c.core
        .sign_in(&server.url, ACCOUNTANT, PASSWORD)
        .await
        .unwrap();
    let p = first_property(&c.core);
    server.stop();
    for memo in ["one", "two"] {
        c.core
            .create_transaction(new_txn(&p, 100, memo))
            .await
            .unwrap();
    }
    let err = c.core.sign_out(false).await.unwrap_err();
    assert_eq!(err.kind, ledgerline_client::ErrorKind::Unsent);
    assert!(err.message.starts_with("2 writes"), "{}", err.message);
    assert!(c.core.session().is_some(), "still signed in");
    c.core.sign_out(true).await.unwrap();
    assert!(c.core.session().is_none());
}

#[tokio::test]
async fn a_second_core_on_the_same_data_dir_is_kept_off_the_cache() {
    let server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let first = TestCore::signed_in(&server, dir.path(), ACCOUNTANT).await;
    // A second process (no D-Bus to hand over): same data dir, same account.
    let second = TestCore::open(dir.path(), Arc::new(MemoryStore::new())).await;
    let err = second
        .core
        .sign_in(&server.url, ACCOUNTANT, PASSWORD)
        .await
        .unwrap_err();
    assert!(
        err.message.contains("another Ledgerline process"),
        "{}",
        err.message
    );
    assert!(second.core.session().is_none());
    waiters_settle(&server, 1).await;
    first.core.shutdown().await;
}

#[tokio::test]
async fn a_second_process_resumes_nothing_says_why_and_keeps_the_first_ones_sessions() {
    let server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("store.json");
    let store = || Arc::new(JsonFileStore::open(&store_path).unwrap());
    let first = TestCore::open(dir.path(), store()).await;
    first
        .core
        .sign_in(&server.url, ACCOUNTANT, PASSWORD)
        .await
        .unwrap();
    // A second launch without D-Bus: same data dir, same store file.
    let second = TestCore::open(dir.path(), store()).await;
    assert!(second.core.sessions().is_empty(), "no second long-poll");
    let notices = second.core.notices();
    assert_eq!(notices.len(), 1);
    assert!(
        notices[0].contains("another Ledgerline process"),
        "{notices:?}"
    );
    waiters_settle(&server, 1).await;
    second.core.shutdown().await;
    drop(second);
    // The first's session is still stored for its next start.
    first.core.shutdown().await;
    drop(first);
    let again = TestCore::open(dir.path(), store()).await;
    assert_eq!(again.core.sessions().len(), 1);
}

async fn waiters_settle(server: &TestServer, n: u64) {
    wait_until("the waiter gauge", Duration::from_secs(10), || async {
        server.waiters().await.unwrap_or(u64::MAX) == n
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_corrupt_cache_is_moved_aside_rebuilt_and_reported() {
    let server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryStore::new());
    let first = TestCore::open(dir.path(), store.clone()).await;
    first
        .core
        .sign_in(&server.url, ACCOUNTANT, PASSWORD)
        .await
        .unwrap();
    let core = first.core.clone();
    wait_until("rows cached", Duration::from_secs(10), || {
        let core = core.clone();
        async move { core.cache().seq().await.unwrap().is_some() }
    })
    .await
    .unwrap();
    let caches = dir.path().join("caches");
    first.core.shutdown().await;
    drop(first);
    for entry in std::fs::read_dir(&caches).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "sqlite") {
            std::fs::write(&path, vec![0x5a; 8192]).unwrap();
            let _ = std::fs::remove_file(path.with_extension("sqlite-wal"));
            let _ = std::fs::remove_file(path.with_extension("sqlite-shm"));
        }
    }
    // Resumes the stored session on a cache that is now garbage.
    let mut again = TestCore::open(dir.path(), store).await;
    assert!(again.core.session().is_some());
    let notice = again
        .drain()
        .into_iter()
        .find_map(|e| match e {
            CoreEvent::Notice(m) => Some(m),
            _ => None,
        })
        .expect("the user is told");
    assert!(notice.contains("rebuilt"), "{notice}");
    let core = again.core.clone();
    wait_until("rebuilt from the server", Duration::from_secs(10), || {
        let core = core.clone();
        async move { core.cache().seq().await.unwrap().is_some() }
    })
    .await
    .unwrap();
    let moved = std::fs::read_dir(&caches)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".broken-")
        })
        .count();
    assert!(moved >= 1);
}

#[tokio::test]
async fn two_organizations_side_by_side_each_have_their_own_cache_and_one_long_poll() {
    let server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryStore::new());
    let c = TestCore::open(dir.path(), store.clone()).await;
    let demo = c.core.sign_in(&server.url, OWNER, PASSWORD).await.unwrap();
    let rival = c.core.sign_in(&server.url, RIVAL, PASSWORD).await.unwrap();
    assert_ne!(demo.org.id, rival.org.id);
    assert_eq!(
        c.core.sessions().len(),
        2,
        "the second sign-in adds a session"
    );
    let (a, b) = (c.core.in_session(&demo.id), c.core.in_session(&rival.id));
    // Three windows on one, two on the other: one long-poll each.
    let mut subs = Vec::new();
    for core in [&a, &a, &a, &b, &b] {
        subs.push(core.subscribe().await.unwrap());
    }
    waiters_settle(&server, 2).await;
    // Each writes into its own org; neither sees the other's rows.
    let pa = first_property(&a);
    let pb = first_property(&b);
    let ra = a
        .create_transaction(new_txn(&pa, 100, "demo"))
        .await
        .unwrap();
    let rb = b
        .create_transaction(new_txn(&pb, 200, "rival"))
        .await
        .unwrap();
    for (core, mine, theirs) in [(&a, &ra, &rb), (&b, &rb, &ra)] {
        let core = core.clone();
        let (mine, theirs) = (
            mine.client_mutation_id.clone(),
            theirs.client_mutation_id.clone(),
        );
        wait_until("its own row confirmed", Duration::from_secs(10), || {
            let core = core.clone();
            let (mine, theirs) = (mine.clone(), theirs.clone());
            async move {
                let rows = core.cache().all_rows().await.unwrap();
                rows.iter()
                    .any(|r| r.client_mutation_id == mine && !r.pending_sync)
                    && !rows.iter().any(|r| r.client_mutation_id == theirs)
            }
        })
        .await
        .unwrap();
    }
    // A restart resumes both.
    c.core.shutdown().await;
    drop(c);
    let again = TestCore::open(dir.path(), store).await;
    let ids: Vec<String> = again.core.sessions().into_iter().map(|s| s.id).collect();
    assert_eq!(ids, [demo.id.clone(), rival.id.clone()]);
    // Signing one out leaves the other running.
    again
        .core
        .in_session(&demo.id)
        .sign_out(false)
        .await
        .unwrap();
    assert_eq!(again.core.sessions().len(), 1);
    assert!(again.core.in_session(&rival.id).session().is_some());
    let _keep = again.core.in_session(&rival.id).subscribe().await.unwrap();
    waiters_settle(&server, 1).await;
}
