//! Finance integrity in the core, against the real server: a write into a
//! locked period is refused before it is queued, a row moved out of a staff
//! member's property leaves their cache, and totals say when the rows
//! beside them are ahead.

use std::time::Duration;

use chrono::{Days, Utc};
use ledgerline_client::{CoreEvent, ErrorKind, ReportRange, StatusState};
use ledgerline_wire::TransactionPatch;

use crate::helpers::*;

const STAFF: &str = "staff@demo.test";
const DEADLINE: Duration = Duration::from_secs(10);

async fn live(core: &ledgerline_client::Core) {
    let core = core.clone();
    wait_until("live", DEADLINE, move || {
        let core = core.clone();
        async move {
            core.status().state == StatusState::Live && core.cache().seq().await.unwrap().is_some()
        }
    })
    .await
    .unwrap();
}

async fn put_lock_date(owner: &Remote, day: Option<chrono::NaiveDate>) {
    owner
        .http
        .put(format!("{}/v1/settings/lock-date", owner.url))
        .bearer_auth(&owner.token)
        .json(&serde_json::json!({ "lock_date": day }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
}

#[tokio::test]
async fn a_write_into_a_locked_period_is_refused_locally_in_the_servers_words_and_never_queued() {
    let server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let mut c = TestCore::signed_in(&server, dir.path(), ACCOUNTANT).await;
    live(&c.core).await;
    let p = first_property(&c.core);
    let today = Utc::now().date_naive();
    let lock = today - Days::new(10);
    let mut old = new_txn(&p, 500, "before the lock");
    old.occurred_on = lock - Days::new(1);
    let accountant = server.http().login(ACCOUNTANT).await.unwrap();
    let existing = accountant.create(&old).await.unwrap();

    let owner = server.http().login(OWNER).await.unwrap();
    put_lock_date(&owner, Some(lock)).await;
    let core = c.core.clone();
    wait_until("the lock date to reach the core", DEADLINE, move || {
        let core = core.clone();
        async move { core.org_settings().await.unwrap().lock_date == Some(lock) }
    })
    .await
    .unwrap();
    assert!(
        c.drain()
            .iter()
            .any(|e| matches!(e, CoreEvent::Settings(s) if s.lock_date == Some(lock))),
        "windows are told"
    );

    // The server's own words for the same create.
    let said: serde_json::Value = accountant
        .http
        .post(format!("{}/v1/transactions", accountant.url))
        .bearer_auth(&accountant.token)
        .json(&old)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(said["error"]["code"], "period_locked");

    let refused = c.core.create_transaction(old.clone()).await.unwrap_err();
    assert_eq!(refused.kind, ErrorKind::PeriodLocked);
    assert_eq!(said["error"]["message"], refused.message.as_str());
    // Editing a locked row, moving an open row into the locked period, and
    // deleting a locked row: all refused the same way.
    let open = c
        .core
        .create_transaction(new_txn(&p, 700, "open"))
        .await
        .unwrap();
    let edits = [
        (
            existing.id.clone(),
            TransactionPatch {
                version: existing.version,
                memo: Some("x".into()),
                ..Default::default()
            },
        ),
        (
            open.id.clone(),
            TransactionPatch {
                version: 0,
                occurred_on: Some(lock),
                ..Default::default()
            },
        ),
    ];
    for (id, patch) in edits {
        let err = c.core.update_transaction(&id, patch).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::PeriodLocked, "{id}");
    }
    let err = c.core.delete_transaction(&existing.id).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::PeriodLocked);
    // Only the open create went into the outbox.
    let queued: Vec<String> = c
        .core
        .outbox()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.target_id)
        .collect();
    assert!(queued.iter().all(|t| *t == open.id), "{queued:?}");

    // The owner clears the lock: the same write goes through.
    put_lock_date(&owner, None).await;
    let core = c.core.clone();
    wait_until(
        "the cleared lock date to reach the core",
        DEADLINE,
        move || {
            let core = core.clone();
            async move { core.org_settings().await.unwrap().lock_date.is_none() }
        },
    )
    .await
    .unwrap();
    c.core.delete_transaction(&existing.id).await.unwrap();
}

#[tokio::test]
async fn a_row_moved_out_of_a_staff_members_property_leaves_their_cache() {
    let server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let staff = TestCore::signed_in(&server, dir.path(), STAFF).await;
    live(&staff.core).await;
    let theirs = first_property(&staff.core);
    let owner = server.http().login(OWNER).await.unwrap();
    let row = owner
        .create(&new_txn(&theirs, 900, "moves away"))
        .await
        .unwrap();
    let core = staff.core.clone();
    let id = row.id.clone();
    wait_until("the staff member to see the row", DEADLINE, move || {
        let (core, id) = (core.clone(), id.clone());
        async move { core.cache().get(&id).await.unwrap().is_some() }
    })
    .await
    .unwrap();

    let props = owner.get_json("/v1/properties").await.unwrap();
    let other = props["items"]
        .as_array()
        .or(props.as_array())
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .find(|p| *p != theirs)
        .unwrap();
    owner
        .http
        .patch(format!("{}/v1/transactions/{}", owner.url, row.id))
        .bearer_auth(&owner.token)
        .json(&serde_json::json!({"version": row.version, "property_id": other}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let core = staff.core.clone();
    let id = row.id.clone();
    wait_until(
        "the moved row to leave the staff cache",
        DEADLINE,
        move || {
            let (core, id) = (core.clone(), id.clone());
            async move { core.cache().get(&id).await.unwrap().is_none() }
        },
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn totals_are_marked_catching_up_until_their_as_of_seq_reaches_the_rows() {
    let server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let mut c = TestCore::signed_in(&server, dir.path(), OWNER).await;
    live(&c.core).await;
    let today = Utc::now().date_naive();
    let range = ReportRange {
        property_id: None,
        from: today - Days::new(30),
        to: today,
    };
    let first = c.core.watch_report(range.clone()).await.unwrap();
    assert!(!first.catching_up);
    assert_eq!(
        first.as_of_seq,
        c.core.cache().seq().await.unwrap().unwrap_or(0)
    );
    c.drain();

    let p = first_property(&c.core);
    let other = server.http().login(MANAGER).await.unwrap();
    other
        .create(&new_txn(&p, 1_234, "moves the totals"))
        .await
        .unwrap();
    let core = c.core.clone();
    let seq = wait_for("the event to be applied", DEADLINE, move || {
        let core = core.clone();
        async move {
            core.cache()
                .seq()
                .await
                .unwrap()
                .filter(|s| *s > first.as_of_seq)
        }
    })
    .await
    .unwrap();

    // The rows moved ahead of the figures: marked at once, before a fetch.
    let mut seen_catching_up = false;
    let end = tokio::time::Instant::now() + DEADLINE;
    loop {
        for e in c.drain() {
            if let CoreEvent::Aggregates(a) = e {
                if a.range != range {
                    continue;
                }
                if a.catching_up {
                    assert!(a.as_of_seq < seq, "catching up below the rows' seq");
                    seen_catching_up = true;
                } else if a.as_of_seq >= seq {
                    assert!(seen_catching_up, "marked catching up before it caught up");
                    let latest = c.core.reports().latest(&range).unwrap();
                    assert!(!latest.catching_up && latest.as_of_seq >= seq);
                    return;
                }
            }
        }
        assert!(
            tokio::time::Instant::now() < end,
            "the totals never caught up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_rows_history_comes_from_the_server_and_offline_from_what_was_cached() {
    let mut server = TestServer::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let c = TestCore::signed_in(&server, dir.path(), ACCOUNTANT).await;
    live(&c.core).await;
    let p = first_property(&c.core);
    let manager = server.http().login(MANAGER).await.unwrap();
    let row = manager
        .create(&new_txn(&p, 1_000, "audited"))
        .await
        .unwrap();
    let approved: serde_json::Value = manager
        .http
        .post(format!(
            "{}/v1/transactions/{}/approve",
            manager.url, row.id
        ))
        .query(&[("version", row.version)])
        .bearer_auth(&manager.token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(approved["status"], "approved");

    let fresh = c.core.row_history(&row.id).await.unwrap();
    assert!(!fresh.offline);
    let actions: Vec<_> = fresh.items.iter().map(|i| i.action.as_str()).collect();
    assert_eq!(actions, ["created", "approved"]);
    assert_eq!(
        fresh.items[1].changes["status"],
        (serde_json::json!("pending"), serde_json::json!("approved"))
    );
    assert_eq!(fresh.items[1].by.name, "Manuel Manager");

    server.stop();
    let offline = c.core.row_history(&row.id).await.unwrap();
    assert!(offline.offline, "read from the cache");
    assert_eq!(offline.items, fresh.items);
    // A row whose history was never fetched says so, offline.
    let err = c.core.row_history("never-opened").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Network);
}
