//! The persistent outbox: every optimistic write is queued here in the same
//! transaction that changes its row, so a crash never loses one or leaves a
//! row pending with nothing queued. Entries are replayed oldest first by
//! [`crate::mutations`]; each carries its `client_mutation_id`, which makes
//! a replay after a crash harmless.
//!
//! A write the server refuses (4xx) or finds in conflict (409) is not
//! dropped: it stays here, *held* (`state` `refused` or `conflict`, with
//! the server's reason), and so do the later writes queued for its row,
//! until the user resends ([`crate::mutations::retry`]) or discards it. The
//! sender skips held rows' entries; everything else goes on in order.

use chrono::Utc;
use serde_json::Value;
use sqlx::{Row as _, SqliteConnection, SqlitePool};

use crate::view::Row;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Create,
    Update,
    Delete,
    Approve,
    Reject,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Update => "update",
            Op::Delete => "delete",
            Op::Approve => "approve",
            Op::Reject => "reject",
        }
    }

    pub fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "create" => Op::Create,
            "update" => Op::Update,
            "delete" => Op::Delete,
            "approve" => Op::Approve,
            "reject" => Op::Reject,
            _ => return None,
        })
    }
}

/// Where an entry is: waiting to be sent, or held for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Not sent yet (or sent and not yet answered).
    Queued,
    /// The server refused it (a 4xx other than 409).
    Refused,
    /// The row changed on the server since the write was made (409).
    Conflict,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Refused => "refused",
            State::Conflict => "conflict",
        }
    }

    fn parse(s: &str) -> Option<State> {
        Some(match s {
            "queued" => State::Queued,
            "refused" => State::Refused,
            "conflict" => State::Conflict,
            _ => return None,
        })
    }
}

/// What an approve or reject carries: the version it was decided on (none
/// when the row had writes of its own still queued: it is decided on the
/// row they make), and a rejection's reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Decision {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Decision {
    /// An approve's or reject's decision as queued (decisions queued before
    /// they carried a body are on the row as it is).
    pub fn of(entry: &Entry) -> Result<Decision, serde_json::Error> {
        entry
            .body
            .clone()
            .map(serde_json::from_value)
            .transpose()
            .map(Option::unwrap_or_default)
    }
}

/// One queued write.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Queue position (assigned on push).
    pub id: i64,
    pub client_mutation_id: String,
    pub op: Op,
    /// The row written; `local-<cmid>` while its create is unconfirmed.
    pub target_id: String,
    /// The request body (NewTransaction or TransactionPatch JSON).
    pub body: Option<Value>,
    /// The row before the optimistic change, for rollback.
    pub prior: Option<Row>,
    pub state: State,
    /// The server's reason, when held.
    pub error: Option<String>,
}

const ENTRY_COLS: &str = "id, client_mutation_id, op, target_id, body, prior, state, error";

pub(crate) async fn push(conn: &mut SqliteConnection, e: &Entry) -> Result<i64, sqlx::Error> {
    let id = sqlx::query(
        "INSERT INTO outbox (client_mutation_id, op, target_id, body, prior, created_at) \
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(&e.client_mutation_id)
    .bind(e.op.as_str())
    .bind(&e.target_id)
    .bind(e.body.as_ref().map(Value::to_string))
    .bind(
        e.prior
            .as_ref()
            .map(|r| serde_json::to_string(r).unwrap_or_default()),
    )
    .bind(Utc::now().to_rfc3339())
    .fetch_one(&mut *conn)
    .await?
    .get::<i64, _>(0);
    Ok(id)
}

/// The oldest entry to send: queued, and not behind a held write on its row.
pub(crate) async fn first(pool: &SqlitePool) -> Result<Option<Entry>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {ENTRY_COLS} FROM outbox o WHERE state = 'queued' AND NOT EXISTS \
         (SELECT 1 FROM outbox h WHERE h.target_id = o.target_id AND h.state != 'queued' AND h.id < o.id) \
         ORDER BY id LIMIT 1"
    ))
    .fetch_optional(pool)
    .await?;
    row.map(|r| decode(&r)).transpose()
}

/// Every entry, oldest first.
pub async fn all(pool: &SqlitePool) -> Result<Vec<Entry>, sqlx::Error> {
    sqlx::query(&format!("SELECT {ENTRY_COLS} FROM outbox ORDER BY id"))
        .fetch_all(pool)
        .await?
        .iter()
        .map(decode)
        .collect()
}

/// The entry made under `cmid`.
pub(crate) async fn by_mutation_id(
    conn: &mut SqliteConnection,
    cmid: &str,
) -> Result<Option<Entry>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {ENTRY_COLS} FROM outbox WHERE client_mutation_id = ?"
    ))
    .bind(cmid)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| decode(&r)).transpose()
}

/// Holds an entry for the user, with the server's reason.
pub(crate) async fn hold(
    conn: &mut SqliteConnection,
    id: i64,
    state: State,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE outbox SET state = ?, error = ? WHERE id = ?")
        .bind(state.as_str())
        .bind(reason)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Queues a held entry again, with `body` (the user's fix) and `prior`.
pub(crate) async fn requeue(
    conn: &mut SqliteConnection,
    id: i64,
    body: Option<&Value>,
    prior: Option<&Row>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outbox SET state = 'queued', error = NULL, body = ?, prior = ? WHERE id = ?",
    )
    .bind(body.map(Value::to_string))
    .bind(prior.map(|r| serde_json::to_string(r).unwrap_or_default()))
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// How many entries are queued (unsent), refused and in conflict.
pub(crate) async fn tally(pool: &SqlitePool) -> Result<(u64, u64, u64), sqlx::Error> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, COUNT(*) FROM outbox GROUP BY state")
            .fetch_all(pool)
            .await?;
    let mut t = (0, 0, 0);
    for (state, n) in rows {
        match State::parse(&state) {
            Some(State::Queued) => t.0 += n as u64,
            Some(State::Refused) => t.1 += n as u64,
            Some(State::Conflict) => t.2 += n as u64,
            None => {}
        }
    }
    Ok(t)
}

pub(crate) async fn remove(conn: &mut SqliteConnection, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM outbox WHERE id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A create was confirmed as `real_id` at `version`: later writes queued
/// against its local id now go to the real row, based on that version.
pub(crate) async fn retarget(
    conn: &mut SqliteConnection,
    local_id: &str,
    real_id: &str,
    version: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outbox SET body = json_set(body, '$.version', ?) \
         WHERE target_id = ? AND op = 'update' AND body IS NOT NULL",
    )
    .bind(version)
    .bind(local_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE outbox SET target_id = ? WHERE target_id = ?")
        .bind(real_id)
        .bind(local_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn depth(pool: &SqlitePool) -> Result<u64, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(pool)
        .await?;
    Ok(n as u64)
}

fn decode(r: &sqlx::sqlite::SqliteRow) -> Result<Entry, sqlx::Error> {
    let op: String = r.try_get("op")?;
    let body: Option<String> = r.try_get("body")?;
    let prior: Option<String> = r.try_get("prior")?;
    let state: String = r.try_get("state")?;
    let json_err = |e: serde_json::Error| sqlx::Error::Decode(Box::new(e));
    Ok(Entry {
        id: r.try_get("id")?,
        client_mutation_id: r.try_get("client_mutation_id")?,
        op: Op::parse(&op)
            .ok_or_else(|| sqlx::Error::Decode(format!("outbox op {op:?}").into()))?,
        target_id: r.try_get("target_id")?,
        body: body
            .map(|b| serde_json::from_str(&b))
            .transpose()
            .map_err(json_err)?,
        prior: prior
            .map(|p| serde_json::from_str(&p))
            .transpose()
            .map_err(json_err)?,
        state: State::parse(&state)
            .ok_or_else(|| sqlx::Error::Decode(format!("outbox state {state:?}").into()))?,
        error: r.try_get("error")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::tests::open_temp;
    use serde_json::json;

    fn entry(cmid: &str, op: Op, target: &str) -> Entry {
        Entry {
            id: 0,
            client_mutation_id: cmid.into(),
            op,
            target_id: target.into(),
            body: Some(json!({"version": 0, "memo": cmid})),
            prior: None,
            state: State::Queued,
            error: None,
        }
    }

    #[tokio::test]
    async fn entries_survive_reopening_and_come_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.sqlite");
        {
            let cache = crate::cache::Cache::open(&path, Default::default())
                .await
                .unwrap();
            let mut w = cache.write().await.unwrap();
            for i in 0..5 {
                push(
                    &mut w.tx,
                    &entry(&format!("m{i}"), Op::Create, &format!("local-m{i}")),
                )
                .await
                .unwrap();
            }
            cache.finish(w, vec![]).await.unwrap();
            cache.close().await;
        }
        let cache = crate::cache::Cache::open(&path, Default::default())
            .await
            .unwrap();
        let all = all(cache.pool()).await.unwrap();
        let cmids: Vec<_> = all.iter().map(|e| e.client_mutation_id.as_str()).collect();
        assert_eq!(cmids, ["m0", "m1", "m2", "m3", "m4"]);
        assert_eq!(
            first(cache.pool())
                .await
                .unwrap()
                .unwrap()
                .client_mutation_id,
            "m0"
        );
        let mut w = cache.write().await.unwrap();
        remove(&mut w.tx, all[0].id).await.unwrap();
        cache.finish(w, vec![]).await.unwrap();
        assert_eq!(
            first(cache.pool())
                .await
                .unwrap()
                .unwrap()
                .client_mutation_id,
            "m1"
        );
        assert_eq!(depth(cache.pool()).await.unwrap(), 4);
    }

    #[tokio::test]
    async fn a_duplicate_mutation_id_is_refused() {
        let (_dir, cache) = open_temp().await;
        let mut w = cache.write().await.unwrap();
        push(&mut w.tx, &entry("m", Op::Create, "local-m"))
            .await
            .unwrap();
        assert!(push(&mut w.tx, &entry("m", Op::Create, "local-m"))
            .await
            .is_err());
    }

    #[tokio::test]
    async fn confirming_a_create_retargets_later_writes() {
        let (_dir, cache) = open_temp().await;
        let mut w = cache.write().await.unwrap();
        push(&mut w.tx, &entry("c", Op::Create, "local-c"))
            .await
            .unwrap();
        push(&mut w.tx, &entry("u", Op::Update, "local-c"))
            .await
            .unwrap();
        push(&mut w.tx, &entry("d", Op::Delete, "local-c"))
            .await
            .unwrap();
        retarget(&mut w.tx, "local-c", "t42", 1).await.unwrap();
        cache.finish(w, vec![]).await.unwrap();
        let all = all(cache.pool()).await.unwrap();
        assert!(all.iter().all(|e| e.target_id == "t42"));
        assert_eq!(all[1].body.as_ref().unwrap()["version"], json!(1));
    }
}
