//! Optimistic writes and their replay. Each write changes its row in the
//! cache at once (`pending_sync: true`), queues itself in the
//! [`outbox`](crate::outbox) in the same transaction, and is published to
//! every window; the sender loop then replays the outbox in order.
//!
//! The server calls are idempotent: a create carries its
//! `client_mutation_id` (sent twice, the server returns the same row), a
//! delete that finds nothing is done, and the confirmed row replaces the
//! optimistic one in one batch whichever arrives first — the server's answer
//! or the event (see [`crate::cache::Cache::apply_events`]). A refused write
//! (4xx) is rolled back with its reason in `sync_error` and reported through
//! [`Emitter::mutation_failed`](crate::emit::Emitter::mutation_failed); a
//! network failure leaves it queued.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use ledgerline_wire::{
    money::validate_amount, NewTransaction, Transaction, TransactionPatch, TransactionStatus,
};
use serde_json::Value;
use tokio::time::sleep;
use uuid::Uuid;

use crate::{
    backoff::{Backoff, Retry},
    cache::{delete_rows, get_row, put_row, Cache},
    error::{ApiError, CommandError, ErrorKind},
    outbox::{self, Entry, Op},
    session::SessionCtx,
    telemetry::Telemetry,
    view::{MutationFailure, Patch, Row, StatusState},
};

fn not_found() -> CommandError {
    CommandError::new(ErrorKind::NotFound, "no such transaction")
}

fn check_property(ctx: &SessionCtx, property_id: &str) -> Result<(), CommandError> {
    if ctx.stored.properties.iter().any(|p| p.id == property_id) {
        Ok(())
    } else {
        Err(CommandError::invalid(
            "property_id",
            "not one of your properties",
        ))
    }
}

fn check_amount(amount: i64) -> Result<(), CommandError> {
    validate_amount(amount)
        .map(drop)
        .map_err(|e| CommandError::invalid("amount_minor", e.to_string()))
}

async fn queue(
    ctx: &SessionCtx,
    row: Option<&Row>,
    removed: Option<&str>,
    entry: Entry,
) -> Result<(), CommandError> {
    let mut w = ctx.cache.write().await?;
    let mut patches = Vec::new();
    if let Some(row) = row {
        put_row(&mut w.tx, row).await?;
        patches.push(Patch::Upsert { row: row.clone() });
    }
    if let Some(id) = removed {
        delete_rows(&mut w.tx, &[id.to_owned()]).await?;
        patches.push(Patch::Remove { id: id.to_owned() });
    }
    outbox::push(&mut w.tx, &entry).await?;
    ctx.cache.finish(w, patches).await?;
    Telemetry::add(&ctx.telemetry.outbox_depth, 1);
    ctx.outbox_kick.notify_one();
    Ok(())
}

fn entry(cmid: String, op: Op, target: &str, body: Option<Value>, prior: Option<Row>) -> Entry {
    Entry {
        id: 0,
        client_mutation_id: cmid,
        op,
        target_id: target.to_owned(),
        body,
        prior,
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<Value, CommandError> {
    serde_json::to_value(v).map_err(|e| CommandError::internal(e.to_string()))
}

pub(crate) async fn create(ctx: &SessionCtx, input: NewTransaction) -> Result<Row, CommandError> {
    check_property(ctx, &input.property_id)?;
    check_amount(input.amount_minor)?;
    if input.category.trim().is_empty() {
        return Err(CommandError::invalid("category", "a category is required"));
    }
    let cmid = match &input.client_mutation_id {
        Some(c) if c.is_empty() || c.len() > 100 => {
            return Err(CommandError::invalid(
                "client_mutation_id",
                "1 to 100 characters",
            ))
        }
        Some(c) => {
            // The caller retries a mutation: the row it made, not a second one.
            if let Some(row) = ctx.cache.get(&Row::local_id(c)).await? {
                return Ok(row);
            }
            let made: Option<String> =
                sqlx::query_scalar("SELECT id FROM rows WHERE client_mutation_id = ?")
                    .bind(c)
                    .fetch_optional(ctx.cache.pool())
                    .await?;
            if let Some(id) = made {
                return ctx.cache.get(&id).await?.ok_or_else(not_found);
            }
            c.clone()
        }
        // A fresh id cannot have made anything yet.
        None => Uuid::new_v4().to_string(),
    };
    let local_id = Row::local_id(&cmid);
    let now = Utc::now();
    let body = NewTransaction {
        client_mutation_id: Some(cmid.clone()),
        ..input
    };
    let row = Row {
        id: local_id.clone(),
        kind: body.kind,
        property_id: body.property_id.clone(),
        amount_minor: body.amount_minor,
        currency: body.currency,
        category: body.category.clone(),
        memo: body.memo.clone(),
        occurred_on: body.occurred_on,
        status: TransactionStatus::Pending,
        version: 0,
        client_mutation_id: Some(cmid.clone()),
        created_by: ctx.stored.user.id.clone(),
        created_at: now,
        updated_at: now,
        pending_sync: true,
        sync_error: None,
    };
    let e = entry(cmid, Op::Create, &local_id, Some(to_json(&body)?), None);
    queue(ctx, Some(&row), None, e).await?;
    Ok(row)
}

pub(crate) async fn update(
    ctx: &SessionCtx,
    id: &str,
    patch: TransactionPatch,
) -> Result<Row, CommandError> {
    let prior = ctx.cache.get(id).await?.ok_or_else(not_found)?;
    let mut row = prior.clone();
    if let Some(p) = &patch.property_id {
        check_property(ctx, p)?;
        row.property_id = p.clone();
    }
    if let Some(a) = patch.amount_minor {
        check_amount(a)?;
        row.amount_minor = a;
    }
    if let Some(k) = patch.kind {
        row.kind = k;
    }
    if let Some(c) = patch.currency {
        row.currency = c;
    }
    if let Some(c) = &patch.category {
        if c.trim().is_empty() {
            return Err(CommandError::invalid("category", "a category is required"));
        }
        row.category = c.clone();
    }
    if let Some(m) = &patch.memo {
        row.memo = m.clone();
    }
    if let Some(d) = patch.occurred_on {
        row.occurred_on = d;
    }
    row.pending_sync = true;
    row.sync_error = None;
    row.updated_at = Utc::now();
    let e = entry(
        Uuid::new_v4().to_string(),
        Op::Update,
        id,
        Some(to_json(&patch)?),
        Some(prior),
    );
    queue(ctx, Some(&row), None, e).await?;
    Ok(row)
}

pub(crate) async fn delete(ctx: &SessionCtx, id: &str) -> Result<(), CommandError> {
    let prior = ctx.cache.get(id).await?.ok_or_else(not_found)?;
    let e = entry(
        Uuid::new_v4().to_string(),
        Op::Delete,
        id,
        None,
        Some(prior),
    );
    queue(ctx, None, Some(id), e).await
}

pub(crate) async fn decide(ctx: &SessionCtx, id: &str, approve: bool) -> Result<Row, CommandError> {
    if !ctx.stored.user.role.can_approve() {
        return Err(CommandError::new(
            ErrorKind::Invalid,
            "only managers and owners approve or reject",
        ));
    }
    let prior = ctx.cache.get(id).await?.ok_or_else(not_found)?;
    let mut row = prior.clone();
    row.status = if approve {
        TransactionStatus::Approved
    } else {
        TransactionStatus::Rejected
    };
    row.pending_sync = true;
    row.sync_error = None;
    row.updated_at = Utc::now();
    let op = if approve { Op::Approve } else { Op::Reject };
    let e = entry(Uuid::new_v4().to_string(), op, id, None, Some(prior));
    queue(ctx, Some(&row), None, e).await?;
    Ok(row)
}

enum Drain {
    Empty,
    NetworkDown,
    Unauthorized,
}

/// The sender: replays the outbox oldest first, whenever kicked, and after
/// a network failure again on backoff or as soon as the session is live.
pub(crate) async fn run(ctx: Arc<SessionCtx>) {
    let mut backoff = Backoff::new(&ctx.config);
    let mut status = ctx.status.watch();
    loop {
        let outcome = drain(&ctx).await;
        if let Ok(depth) = outbox::depth(ctx.cache.pool()).await {
            Telemetry::set(&ctx.telemetry.outbox_depth, depth);
        }
        let wait = match outcome {
            Ok(Drain::Empty) => {
                backoff.succeeded();
                None
            }
            Ok(Drain::NetworkDown) => Some(match backoff.failed() {
                Retry::Reconnect(d) | Retry::Offline(d) => d,
            }),
            Ok(Drain::Unauthorized) => return ctx.unauthorized(),
            Err(e) => {
                tracing::error!(error = %e, "outbox unreadable");
                Some(ctx.config.backoff_max)
            }
        };
        status.borrow_and_update();
        tokio::select! {
            _ = ctx.cancel.cancelled() => return,
            _ = ctx.outbox_kick.notified() => {}
            _ = sleep(wait.unwrap_or(Duration::MAX / 4)), if wait.is_some() => {}
            _ = async {
                while status.changed().await.is_ok() {
                    if status.borrow().state == StatusState::Live { return }
                }
                std::future::pending::<()>().await
            }, if wait.is_some() => {}
        }
    }
}

async fn drain(ctx: &SessionCtx) -> Result<Drain, sqlx::Error> {
    loop {
        if ctx.cancel.is_cancelled() {
            return Ok(Drain::Empty);
        }
        let Some(entry) = outbox::first(ctx.cache.pool()).await? else {
            return Ok(Drain::Empty);
        };
        // Cancelling mid-request is safe: the replay is idempotent.
        let sent = tokio::select! {
            _ = ctx.cancel.cancelled() => return Ok(Drain::Empty),
            sent = send(ctx, &entry) => sent,
        };
        match sent {
            Ok(confirmed) => confirm(&ctx.cache, &entry, confirmed).await?,
            Err(ApiError::Unauthorized) => return Ok(Drain::Unauthorized),
            Err(e) if e.is_retryable() => {
                tracing::debug!(error = %e, cmid = %entry.client_mutation_id, "outbox: server unreachable");
                return Ok(Drain::NetworkDown);
            }
            Err(e) => refuse(ctx, &entry, e).await?,
        }
        if let Ok(depth) = outbox::depth(ctx.cache.pool()).await {
            Telemetry::set(&ctx.telemetry.outbox_depth, depth);
        }
    }
}

async fn send(ctx: &SessionCtx, e: &Entry) -> Result<Option<Transaction>, ApiError> {
    let body = |e: &Entry| e.body.clone().unwrap_or(Value::Null);
    let decode = |err: serde_json::Error| ApiError::Rejected {
        status: 0,
        code: "bad_outbox_entry".into(),
        message: err.to_string(),
    };
    match e.op {
        Op::Create => {
            let new: NewTransaction = serde_json::from_value(body(e)).map_err(decode)?;
            ctx.api.create(&new).await.map(Some)
        }
        Op::Update => {
            let patch: TransactionPatch = serde_json::from_value(body(e)).map_err(decode)?;
            ctx.api.update(&e.target_id, &patch).await.map(Some)
        }
        Op::Delete => match ctx.api.delete(&e.target_id).await {
            // Already gone: the delete is done.
            Ok(()) | Err(ApiError::NotFound) => Ok(None),
            Err(err) => Err(err),
        },
        Op::Approve => ctx.api.approve(&e.target_id).await.map(Some),
        Op::Reject => ctx.api.reject(&e.target_id).await.map(Some),
    }
}

/// The server took the write: drop it from the outbox and make the row the
/// server's (keeping the overlay of later writes still queued for it).
async fn confirm(
    cache: &Cache,
    e: &Entry,
    confirmed: Option<Transaction>,
) -> Result<(), sqlx::Error> {
    let mut w = cache.write().await?;
    outbox::remove(&mut w.tx, e.id).await?;
    let mut patches = Vec::new();
    let mut local_row = None;
    if e.op == Op::Create {
        local_row = get_row(&mut w.tx, &e.target_id).await?;
        for id in delete_rows(&mut w.tx, std::slice::from_ref(&e.target_id)).await? {
            patches.push(Patch::Remove { id });
        }
    }
    if let Some(t) = confirmed {
        outbox::retarget(&mut w.tx, &e.target_id, &t.id, t.version).await?;
        let still_queued: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE target_id = ?")
                .bind(&t.id)
                .fetch_one(&mut *w.tx)
                .await?;
        let current = get_row(&mut w.tx, &t.id).await?;
        let row = match (still_queued > 0, local_row, &current) {
            // Later writes are queued: keep showing them, on the real id.
            (true, Some(local), _) => Some(Row {
                id: t.id.clone(),
                version: t.version,
                created_at: t.created_at,
                ..local
            }),
            (true, None, Some(_)) => None,
            _ => Some(Row::confirmed(t)),
        };
        if let Some(row) = row {
            let newer_or_same = current.as_ref().is_none_or(|c| row.version >= c.version);
            if newer_or_same && current.as_ref() != Some(&row) {
                put_row(&mut w.tx, &row).await?;
                patches.push(Patch::Upsert { row });
            }
        }
    }
    cache.finish(w, patches).await?;
    Ok(())
}

/// The server refused the write: roll its row back and say why.
async fn refuse(ctx: &SessionCtx, e: &Entry, err: ApiError) -> Result<(), sqlx::Error> {
    tracing::info!(error = %err, cmid = %e.client_mutation_id, op = e.op.as_str(), "write refused; rolling back");
    let message = match &err {
        ApiError::Conflict(_) => {
            "changed by someone else since you read it; reload and try again".to_owned()
        }
        ApiError::NotFound => "this transaction no longer exists".to_owned(),
        other => other.to_string(),
    };
    let mut w = ctx.cache.write().await?;
    outbox::remove(&mut w.tx, e.id).await?;
    let mut patches = Vec::new();
    let gone = e.op == Op::Create || matches!(err, ApiError::NotFound);
    if gone {
        // The row does not exist on the server: nothing queued for it can succeed.
        sqlx::query("DELETE FROM outbox WHERE target_id = ?")
            .bind(&e.target_id)
            .execute(&mut *w.tx)
            .await?;
        for id in delete_rows(&mut w.tx, std::slice::from_ref(&e.target_id)).await? {
            patches.push(Patch::Remove { id });
        }
    } else {
        let current = get_row(&mut w.tx, &e.target_id).await?;
        let restored = match (current, &e.prior) {
            // Still our overlay (or deleted by us): back to what it was.
            (Some(c), Some(prior)) if c.pending_sync => Some(prior.clone()),
            (None, Some(prior)) => Some(prior.clone()),
            // An event has replaced it since: keep the server's row.
            (Some(c), _) => Some(c),
            (None, None) => None,
        };
        if let Some(mut row) = restored {
            row.pending_sync = false;
            row.sync_error = Some(message.clone());
            put_row(&mut w.tx, &row).await?;
            patches.push(Patch::Upsert { row });
        }
    }
    ctx.cache.finish(w, patches).await?;
    let mut error = CommandError::from(err);
    error.message = message;
    ctx.emitter.mutation_failed(MutationFailure {
        client_mutation_id: e.client_mutation_id.clone(),
        row_id: e.target_id.clone(),
        error,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::tests::{event, open_temp, txn};
    use ledgerline_wire::EventType;

    /// What `create` writes, without a session: the local row and its entry.
    async fn optimistic_create(cache: &Cache, cmid: &str) -> Entry {
        let mut t = txn(&Row::local_id(cmid), 0, Some(cmid));
        t.version = 0;
        let mut row = Row::confirmed(t);
        row.pending_sync = true;
        let mut w = cache.write().await.unwrap();
        put_row(&mut w.tx, &row).await.unwrap();
        let mut e = entry(
            cmid.into(),
            Op::Create,
            &row.id,
            Some(serde_json::json!({})),
            None,
        );
        e.id = outbox::push(&mut w.tx, &e).await.unwrap();
        cache.finish(w, vec![Patch::Upsert { row }]).await.unwrap();
        e
    }

    fn shown(
        batches: &mut tokio::sync::mpsc::UnboundedReceiver<crate::view::PatchBatch>,
    ) -> std::collections::BTreeMap<String, Row> {
        let mut rows = std::collections::BTreeMap::new();
        while let Ok(b) = batches.try_recv() {
            for p in b.patches {
                match p {
                    Patch::Upsert { row } => {
                        rows.insert(row.id.clone(), row);
                    }
                    Patch::Remove { id } => {
                        rows.remove(&id);
                    }
                }
            }
        }
        rows
    }

    #[tokio::test]
    async fn event_before_response_leaves_one_confirmed_row() {
        let (_dir, cache) = open_temp().await;
        let mut sub = cache.subscribe().await.unwrap();
        let e = optimistic_create(&cache, "m1").await;
        let real = txn("t1", 1, Some("m1"));
        let applied = cache
            .apply_events(&[event(1, EventType::Added, real.clone())], 1)
            .await
            .unwrap();
        let batch = applied.batch.unwrap();
        assert_eq!(
            batch.patches.len(),
            2,
            "remove local and upsert real in one batch"
        );
        confirm(&cache, &e, Some(real)).await.unwrap();
        let rows = cache.all_rows().await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].id.as_str(), rows[0].pending_sync), ("t1", false));
        let seen = shown(&mut sub.batches);
        assert_eq!(seen.keys().collect::<Vec<_>>(), ["t1"]);
        assert!(outbox::all(cache.pool()).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn response_before_event_leaves_one_confirmed_row() {
        let (_dir, cache) = open_temp().await;
        let mut sub = cache.subscribe().await.unwrap();
        let e = optimistic_create(&cache, "m1").await;
        let real = txn("t1", 1, Some("m1"));
        confirm(&cache, &e, Some(real.clone())).await.unwrap();
        let applied = cache
            .apply_events(&[event(1, EventType::Added, real)], 1)
            .await
            .unwrap();
        assert_eq!(
            applied.batch, None,
            "the event changes nothing already shown"
        );
        let rows = cache.all_rows().await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].id, "t1");
        let seen = shown(&mut sub.batches);
        assert_eq!(seen.keys().collect::<Vec<_>>(), ["t1"]);
        assert!(!seen["t1"].pending_sync);
    }

    #[tokio::test]
    async fn a_confirmed_create_keeps_later_queued_edits_on_the_real_id() {
        let (_dir, cache) = open_temp().await;
        let e = optimistic_create(&cache, "m1").await;
        let mut w = cache.write().await.unwrap();
        let mut edited = get_row(&mut w.tx, "local-m1").await.unwrap().unwrap();
        edited.memo = "edited".into();
        put_row(&mut w.tx, &edited).await.unwrap();
        let body = serde_json::json!({"version": 0, "memo": "edited"});
        outbox::push(
            &mut w.tx,
            &entry("m2".into(), Op::Update, "local-m1", Some(body), None),
        )
        .await
        .unwrap();
        cache.finish(w, vec![]).await.unwrap();

        confirm(&cache, &e, Some(txn("t1", 1, Some("m1"))))
            .await
            .unwrap();
        let row = cache.get("t1").await.unwrap().unwrap();
        assert_eq!(
            (row.memo.as_str(), row.pending_sync, row.version),
            ("edited", true, 1)
        );
        let queued = outbox::all(cache.pool()).await.unwrap();
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].target_id, "t1");
        assert_eq!(queued[0].body.as_ref().unwrap()["version"], 1);
    }
}
