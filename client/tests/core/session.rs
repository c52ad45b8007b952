//! Sign in, resume after a restart, sign out, and the server ending a session.

use std::{sync::Arc, time::Duration};

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
    assert_eq!(store.get("session").unwrap(), None);
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
    let token = store.get("session").unwrap().unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    c.core.sign_out(false).await.unwrap();
    assert!(c.core.session().is_none());
    assert_eq!(store.get("session").unwrap(), None);
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
    let token = store.get("session").unwrap().unwrap()["token"]
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
    assert_eq!(store.get("session").unwrap(), None);
    assert!(c.drain().contains(&CoreEvent::Session(None)));
}
