//! The "Needs attention" list: held writes, resent after a fix or
//! discarded.

use chrono::Utc;
use ledgerline_wire::{
    rules::{self},
    NewTransaction, TransactionPatch, TransactionStatus,
};
use serde_json::Value;

use super::*;
use crate::{
    cache::{delete_rows, get_row, put_row, Cache},
    error::{CommandError, ErrorKind},
    outbox::{self, Decision, Entry, Op, State},
    session::SessionCtx,
    telemetry::Telemetry,
    view::{Attention, Patch, Row, WriteFix},
};

/// The "Needs attention" list: every write not yet on the server, oldest first.
pub(crate) async fn attention(cache: &Cache) -> Result<Vec<Attention>, sqlx::Error> {
    let mut out = Vec::new();
    for e in outbox::all(cache.pool()).await? {
        out.push(Attention {
            row: cache.get(&e.target_id).await?,
            client_mutation_id: e.client_mutation_id,
            op: e.op,
            state: e.state,
            row_id: e.target_id,
            reason: e.error,
            body: e.body,
        });
    }
    Ok(out)
}

fn held_only(e: &Entry) -> Result<(), CommandError> {
    if e.state == State::Queued {
        return Err(CommandError::invalid(
            "client_mutation_id",
            "this write is still on its way to the server",
        ));
    }
    Ok(())
}

fn fix_patch(patch: &mut TransactionPatch, fix: WriteFix) {
    let WriteFix {
        kind,
        property_id,
        amount_minor,
        currency,
        category,
        memo,
        occurred_on,
    } = fix;
    patch.kind = kind.or(patch.kind);
    patch.property_id = property_id.or(patch.property_id.take());
    patch.amount_minor = amount_minor.or(patch.amount_minor);
    patch.currency = currency.or(patch.currency);
    patch.category = category.or(patch.category.take());
    patch.memo = memo.or(patch.memo.take());
    patch.occurred_on = occurred_on.or(patch.occurred_on);
}

/// Resends a held write, with the user's `fix` (for a create or an update),
/// checked like a new one. An update in conflict goes on top of the row as
/// the server has it now.
pub(crate) async fn retry(
    ctx: &SessionCtx,
    cmid: &str,
    fix: WriteFix,
) -> Result<Row, CommandError> {
    let mut w = ctx.cache.write_for(&[]).await?;
    let e = outbox::by_mutation_id(&mut w.tx, cmid)
        .await?
        .ok_or_else(not_found)?;
    held_only(&e)?;
    ctx.cache.settle_in(&mut w, &[&e.target_id]).await?;
    let current = get_row(&mut w.tx, &e.target_id).await?;
    let decode = |err: serde_json::Error| CommandError::internal(format!("queued write: {err}"));
    let mut patches = Vec::new();
    let (body, row) = match e.op {
        Op::Create => {
            let mut new: NewTransaction =
                serde_json::from_value(e.body.clone().unwrap_or(Value::Null)).map_err(decode)?;
            let mut patch = TransactionPatch::default();
            fix_patch(&mut patch, fix);
            new.kind = patch.kind.unwrap_or(new.kind);
            new.property_id = patch.property_id.unwrap_or(new.property_id);
            new.amount_minor = patch.amount_minor.unwrap_or(new.amount_minor);
            new.currency = patch.currency.unwrap_or(new.currency);
            new.category = patch.category.unwrap_or(new.category);
            new.memo = patch.memo.unwrap_or(new.memo);
            new.occurred_on = patch.occurred_on.unwrap_or(new.occurred_on);
            check_property(ctx, &new.property_id)?;
            rules::validate_new(&new).map_err(invalid)?;
            check_unlocked(ctx, &[new.occurred_on]).await?;
            let mut row = current.clone().ok_or_else(not_found)?;
            row.kind = new.kind;
            row.property_id = new.property_id.clone();
            row.amount_minor = new.amount_minor;
            row.currency = new.currency;
            row.category = new.category.clone();
            row.memo = new.memo.clone();
            row.occurred_on = new.occurred_on;
            (Some(to_json(&new)?), Some(row))
        }
        Op::Update => {
            let mut patch: TransactionPatch =
                serde_json::from_value(e.body.clone().unwrap_or(Value::Null)).map_err(decode)?;
            fix_patch(&mut patch, fix);
            let mut row = current.clone().ok_or_else(|| {
                CommandError::new(
                    ErrorKind::NotFound,
                    "this transaction no longer exists; discard the change",
                )
            })?;
            if !row.id.starts_with("local-") {
                patch.version = row.version;
            }
            if let Some(p) = &patch.property_id {
                check_property(ctx, p)?;
            }
            check_patch(&patch)?;
            let days = [
                row.occurred_on,
                patch.occurred_on.unwrap_or(row.occurred_on),
            ];
            check_unlocked(ctx, &days).await?;
            apply_patch(&mut row, &patch);
            (Some(to_json(&patch)?), Some(row))
        }
        Op::Delete => {
            if let Some(row) = &current {
                check_unlocked(ctx, &[row.occurred_on]).await?;
            }
            (None, None)
        }
        Op::Approve | Op::Reject => {
            let mut row = current.clone().ok_or_else(not_found)?;
            check_unlocked(ctx, &[row.occurred_on]).await?;
            // Resent on the row as it is now (the user looked at it again):
            // its version, and the same reason.
            let mut decision = Decision::of(&e).map_err(decode)?;
            decision.version = (!row.is_local()).then_some(row.version);
            row.status = if e.op == Op::Approve {
                TransactionStatus::Approved
            } else {
                TransactionStatus::Rejected
            };
            row.rejection_reason = decision.reason.clone();
            (Some(to_json(&decision)?), Some(row))
        }
    };
    outbox::requeue(&mut w.tx, e.id, body.as_ref(), current.as_ref()).await?;
    let shown = match row {
        Some(mut row) => {
            row.pending_sync = true;
            row.sync_error = None;
            row.updated_at = Utc::now();
            put_row(&mut w.tx, &row).await?;
            patches.push(Patch::Upsert {
                row: row.clone().into(),
            });
            Some(row)
        }
        None => {
            for id in delete_rows(&mut w.tx, std::slice::from_ref(&e.target_id)).await? {
                patches.push(Patch::Remove { id });
            }
            current
        }
    };
    ctx.cache.finish(w, patches).await?;
    ctx.outbox_kick.notify_one();
    notify(ctx).await;
    shown.ok_or_else(not_found)
}

/// Drops a held write: a refused create takes its row (and anything queued
/// for it) along; any other write leaves the row as the server has it.
pub(crate) async fn discard(ctx: &SessionCtx, cmid: &str) -> Result<(), CommandError> {
    let mut w = ctx.cache.write_for(&[]).await?;
    let e = outbox::by_mutation_id(&mut w.tx, cmid)
        .await?
        .ok_or_else(not_found)?;
    held_only(&e)?;
    ctx.cache.settle_in(&mut w, &[&e.target_id]).await?;
    let mut patches = Vec::new();
    if e.op == Op::Create {
        sqlx::query("DELETE FROM outbox WHERE target_id = ?")
            .bind(&e.target_id)
            .execute(&mut *w.tx)
            .await?;
        for id in delete_rows(&mut w.tx, std::slice::from_ref(&e.target_id)).await? {
            patches.push(Patch::Remove { id });
        }
    } else {
        outbox::remove(&mut w.tx, e.id).await?;
        let still_held: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE target_id = ? AND state != 'queued'",
        )
        .bind(&e.target_id)
        .fetch_one(&mut *w.tx)
        .await?;
        if let Some(mut row) = get_row(&mut w.tx, &e.target_id).await? {
            if still_held == 0 && row.sync_error.is_some() {
                row.sync_error = None;
                put_row(&mut w.tx, &row).await?;
                patches.push(Patch::Upsert { row: row.into() });
            }
        }
    }
    ctx.cache.finish(w, patches).await?;
    if let Ok(depth) = outbox::depth(ctx.cache.pool()).await {
        Telemetry::set(&ctx.telemetry.outbox_depth, depth);
    }
    // The writes queued behind it may go now.
    ctx.outbox_kick.notify_one();
    notify(ctx).await;
    Ok(())
}
