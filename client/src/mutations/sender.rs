//! The sender: replays the outbox oldest first; confirms what the server
//! took, holds what it refused with its reason.

use std::{sync::Arc, time::Duration};

use ledgerline_wire::{NewTransaction, Transaction, TransactionPatch};
use serde_json::Value;
use tokio::time::sleep;

use super::*;
use crate::{
    backoff::{Backoff, Retry},
    cache::{delete_rows, get_row, put_row, Cache},
    error::{ApiError, CommandError},
    outbox::{self, Decision, Entry, Op, State},
    session::SessionCtx,
    telemetry::Telemetry,
    view::{MutationFailure, Patch, Row, StatusState},
};

enum Drain {
    Empty,
    /// Unreachable, or throttled with the server's Retry-After.
    NetworkDown(Option<Duration>),
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
            Ok(Drain::NetworkDown(asked)) => Some(
                match backoff.failed() {
                    Retry::Reconnect(d) | Retry::Offline(d) => d,
                }
                .max(asked.unwrap_or_default()),
            ),
            Ok(Drain::Unauthorized) => return ctx.unauthorized(),
            Err(e) => {
                tracing::error!(error = %e, "outbox unreadable");
                Some(ctx.config.backoff_max)
            }
        };
        status.borrow_and_update();
        tokio::select! {
            _ = ctx.life.cancel.cancelled() => return,
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
        if ctx.life.cancel.is_cancelled() {
            return Ok(Drain::Empty);
        }
        let Some(entry) = outbox::first(ctx.cache.pool()).await? else {
            return Ok(Drain::Empty);
        };
        // Cancelling mid-request is safe: the replay is idempotent.
        let sent = tokio::select! {
            _ = ctx.life.cancel.cancelled() => return Ok(Drain::Empty),
            sent = send(ctx, &entry) => sent,
        };
        match sent {
            Ok(confirmed) => {
                confirm(&ctx.cache, &entry, confirmed).await?;
                notify(ctx).await;
            }
            Err(ApiError::Unauthorized) => return Ok(Drain::Unauthorized),
            Err(e) if e.is_retryable() => {
                tracing::debug!(error = %e, cmid = %entry.client_mutation_id, "outbox: server unreachable");
                return Ok(Drain::NetworkDown(e.retry_after()));
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
        Op::Delete => match ctx.api.delete(&e.target_id, &e.client_mutation_id).await {
            // Already gone: the delete is done.
            Ok(()) | Err(ApiError::NotFound) => Ok(None),
            Err(err) => Err(err),
        },
        Op::Approve | Op::Reject => {
            let decision = Decision::of(e).map_err(decode)?;
            let approve = e.op == Op::Approve;
            ctx.api
                .decide(&e.target_id, approve, &decision, &e.client_mutation_id)
                .await
                .map(Some)
        }
    }
}

/// The server took the write: drop it from the outbox and make the row the
/// server's (keeping the overlay of later writes still queued for it).
pub(super) async fn confirm(
    cache: &Cache,
    e: &Entry,
    confirmed: Option<Transaction>,
) -> Result<(), sqlx::Error> {
    let mut ids = vec![e.target_id.as_str()];
    ids.extend(confirmed.as_ref().map(|t| t.id.as_str()));
    let mut w = cache.write_for(&ids).await?;
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
                patches.push(Patch::Upsert { row: row.into() });
            }
        }
    }
    cache.finish(w, patches).await?;
    Ok(())
}

/// The server refused the write (or found it in conflict): it stays in the
/// outbox, held with the server's reason, in the "Needs attention" list;
/// its row shows the reason — a refused create keeps its row in sight, an
/// update, delete or decision goes back to the row as it was (or as the
/// server has it now).
async fn refuse(ctx: &SessionCtx, e: &Entry, err: ApiError) -> Result<(), sqlx::Error> {
    tracing::info!(error = %err, cmid = %e.client_mutation_id, op = e.op.as_str(), "write refused; held for the user");
    let message = match &err {
        ApiError::Conflict(_) => {
            "changed by someone else since you read it; resend to apply your change on top, or discard it".to_owned()
        }
        ApiError::NotFound if e.op == Op::Create => {
            "the server does not know this property, or you may no longer use it".to_owned()
        }
        ApiError::NotFound => "this transaction no longer exists".to_owned(),
        other => other.to_string(),
    };
    let state = match err {
        ApiError::Conflict(_) => State::Conflict,
        _ => State::Refused,
    };
    let mut w = ctx.cache.write_for(&[&e.target_id]).await?;
    outbox::hold(&mut w.tx, e.id, state, &message).await?;
    let mut patches = Vec::new();
    let current = get_row(&mut w.tx, &e.target_id).await?;
    if e.op == Op::Create {
        if let Some(mut row) = current {
            row.pending_sync = false;
            row.sync_error = Some(message.clone());
            put_row(&mut w.tx, &row).await?;
            patches.push(Patch::Upsert { row: row.into() });
        }
    } else if matches!(err, ApiError::NotFound) {
        // Gone on the server: nothing to show; the entry says why.
        for id in delete_rows(&mut w.tx, std::slice::from_ref(&e.target_id)).await? {
            patches.push(Patch::Remove { id });
        }
    } else {
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
            patches.push(Patch::Upsert { row: row.into() });
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
    notify(ctx).await;
    Ok(())
}
