//! Optimistic writes and their replay. Each write changes its row in the
//! cache at once (`pending_sync: true`), queues itself in the
//! [`outbox`](crate::outbox) in the same transaction, and is published to
//! every window; the sender loop then replays the outbox in order. A write
//! is first checked against the server's own rules (`ledgerline_wire::rules`,
//! the same words), so what the server would refuse is never queued.
//!
//! The server calls are idempotent: every write carries its
//! `client_mutation_id` (sent twice, the server answers with the first
//! result — the same row, never a false 409), and the confirmed row replaces
//! the optimistic one in one batch whichever arrives first — the server's
//! answer or the event (see [`crate::cache::Cache::apply_events`]). A
//! refused write (4xx) or one in conflict (409) is held in the outbox with
//! the server's reason — the "Needs attention" list ([`attention`]) — until
//! the user resends ([`retry`]) or discards it ([`discard`]); it is also
//! reported through
//! [`Emitter::mutation_failed`](crate::emit::Emitter::mutation_failed). A
//! network failure leaves it queued.

use chrono::{NaiveDate, Utc};
use ledgerline_wire::{
    rules::{self, FieldError},
    NewTransaction, TransactionPatch, TransactionStatus,
};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    cache::{delete_rows, put_row, Cache},
    error::{CommandError, ErrorKind},
    outbox::{self, Decision, Entry, Op, State},
    session::SessionCtx,
    telemetry::Telemetry,
    view::{AttentionSummary, Patch, Row},
};

mod attention;
mod sender;
#[cfg(test)]
mod tests;

pub(crate) use attention::{attention, discard, retry};
pub(crate) use sender::run;

fn not_found() -> CommandError {
    CommandError::new(ErrorKind::NotFound, "no such transaction")
}

/// Refuses a write touching any of `dates` (a row's old and new day) when
/// the org's lock date covers one: before it is queued, in the server's
/// words.
async fn check_unlocked(ctx: &SessionCtx, dates: &[NaiveDate]) -> Result<(), CommandError> {
    match ctx.cache.lock_date().await? {
        Some(lock) if rules::locked(Some(lock), dates) => Err(CommandError::new(
            ErrorKind::PeriodLocked,
            rules::period_locked_message(lock),
        )),
        _ => Ok(()),
    }
}

/// Whether `patch` changes what an approval or rejection of `row` was
/// about (everything but the memo): the server sends such a row back to
/// pending, and so does its optimistic copy.
fn voids_decision(row: &Row, patch: &TransactionPatch) -> bool {
    patch.kind.is_some_and(|v| v != row.kind)
        || patch
            .property_id
            .as_ref()
            .is_some_and(|v| *v != row.property_id)
        || patch.amount_minor.is_some_and(|v| v != row.amount_minor)
        || patch.currency.is_some_and(|v| v != row.currency)
        || patch.category.as_ref().is_some_and(|v| *v != row.category)
        || patch.occurred_on.is_some_and(|v| v != row.occurred_on)
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

/// A rule of `ledgerline_wire::rules` broken: the server's own words.
fn invalid(e: FieldError) -> CommandError {
    CommandError::invalid(e.field, e.message)
}

/// The server's patch rules, for a patch whose `version` may still be 0
/// (made on a row whose create is not confirmed yet; set when it is).
fn check_patch(patch: &TransactionPatch) -> Result<(), CommandError> {
    rules::validate_patch(&TransactionPatch {
        version: patch.version.max(1),
        ..patch.clone()
    })
    .map_err(invalid)
}

/// `patch` applied to `row` (the optimistic overlay).
fn apply_patch(row: &mut Row, patch: &TransactionPatch) {
    if let Some(p) = &patch.property_id {
        row.property_id = p.clone();
    }
    if let Some(a) = patch.amount_minor {
        row.amount_minor = a;
    }
    if let Some(k) = patch.kind {
        row.kind = k;
    }
    if let Some(c) = patch.currency {
        row.currency = c;
    }
    if let Some(c) = &patch.category {
        row.category = c.clone();
    }
    if let Some(m) = &patch.memo {
        row.memo = m.clone();
    }
    if let Some(d) = patch.occurred_on {
        row.occurred_on = d;
    }
}

async fn queue(
    ctx: &SessionCtx,
    row: Option<&Row>,
    removed: Option<&str>,
    entry: Entry,
) -> Result<(), CommandError> {
    let ids: Vec<&str> = row
        .map(|r| r.id.as_str())
        .into_iter()
        .chain(removed)
        .collect();
    let mut w = ctx.cache.write_for(&ids).await?;
    let mut patches = Vec::new();
    if let Some(row) = row {
        put_row(&mut w.tx, row).await?;
        patches.push(Patch::Upsert {
            row: row.clone().into(),
        });
    }
    if let Some(id) = removed {
        delete_rows(&mut w.tx, &[id.to_owned()]).await?;
        patches.push(Patch::Remove { id: id.to_owned() });
    }
    outbox::push(&mut w.tx, &entry).await?;
    ctx.cache.finish(w, patches).await?;
    Telemetry::add(&ctx.telemetry.outbox_depth, 1);
    ctx.outbox_kick.notify_one();
    notify(ctx).await;
    Ok(())
}

/// Tells every window how many writes need attention.
pub(crate) async fn notify(ctx: &SessionCtx) {
    match summary(&ctx.cache).await {
        Ok(s) => ctx.emitter.attention(s),
        Err(e) => tracing::warn!(error = %e, "outbox unreadable"),
    }
}

pub(crate) async fn summary(cache: &Cache) -> Result<AttentionSummary, sqlx::Error> {
    let (unsent, refused, conflict) = outbox::tally(cache.pool()).await?;
    Ok(AttentionSummary {
        unsent,
        refused,
        conflict,
    })
}

fn entry(cmid: String, op: Op, target: &str, body: Option<Value>, prior: Option<Row>) -> Entry {
    Entry {
        id: 0,
        client_mutation_id: cmid,
        op,
        target_id: target.to_owned(),
        body,
        prior,
        state: State::Queued,
        error: None,
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<Value, CommandError> {
    serde_json::to_value(v).map_err(|e| CommandError::internal(e.to_string()))
}

pub(crate) async fn create(ctx: &SessionCtx, input: NewTransaction) -> Result<Row, CommandError> {
    check_property(ctx, &input.property_id)?;
    let cmid = match &input.client_mutation_id {
        Some(c) => {
            rules::id("client_mutation_id", c).map_err(invalid)?;
            // The caller retries a mutation: the row it made, not a second one.
            if let Some(row) = ctx.cache.get(&Row::local_id(c)).await? {
                return Ok(row);
            }
            if let Some(id) = ctx.cache.id_of_mutation(c).await? {
                return ctx.cache.get(&id).await?.ok_or_else(not_found);
            }
            c.clone()
        }
        // A fresh id cannot have made anything yet.
        None => Uuid::new_v4().to_string(),
    };
    // What the server would refuse is never queued: the same rules, the same words.
    rules::validate_new(&NewTransaction {
        client_mutation_id: Some(cmid.clone()),
        ..input.clone()
    })
    .map_err(invalid)?;
    check_unlocked(ctx, &[input.occurred_on]).await?;
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
        rejection_reason: None,
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
    if let Some(p) = &patch.property_id {
        check_property(ctx, p)?;
    }
    check_patch(&patch)?;
    let new_day = patch.occurred_on.unwrap_or(prior.occurred_on);
    check_unlocked(ctx, &[prior.occurred_on, new_day]).await?;
    let cmid = match &patch.client_mutation_id {
        Some(c) => {
            rules::id("client_mutation_id", c).map_err(invalid)?;
            c.clone()
        }
        None => Uuid::new_v4().to_string(),
    };
    let mut row = prior.clone();
    if row.status != TransactionStatus::Pending && voids_decision(&row, &patch) {
        row.status = TransactionStatus::Pending;
        row.rejection_reason = None;
    }
    apply_patch(&mut row, &patch);
    row.pending_sync = true;
    row.sync_error = None;
    row.updated_at = Utc::now();
    // The id goes to the server: a replay of this update is answered with
    // its first result, never a false 409.
    let patch = TransactionPatch {
        client_mutation_id: Some(cmid.clone()),
        ..patch
    };
    let e = entry(cmid, Op::Update, id, Some(to_json(&patch)?), Some(prior));
    queue(ctx, Some(&row), None, e).await?;
    Ok(row)
}

pub(crate) async fn delete(ctx: &SessionCtx, id: &str) -> Result<(), CommandError> {
    let prior = ctx.cache.get(id).await?.ok_or_else(not_found)?;
    if prior.status == TransactionStatus::Approved && !ctx.stored.user.role.can_approve() {
        return Err(CommandError::new(
            ErrorKind::Invalid,
            "only managers and owners delete an approved transaction",
        ));
    }
    check_unlocked(ctx, &[prior.occurred_on]).await?;
    let e = entry(
        Uuid::new_v4().to_string(),
        Op::Delete,
        id,
        None,
        Some(prior),
    );
    queue(ctx, None, Some(id), e).await
}

/// Approve or reject row `id` (a rejection optionally says why), as it is
/// in the cache: its version goes along, so a row someone changed since is
/// a conflict to look at, not a silent decision about something else.
pub(crate) async fn decide(
    ctx: &SessionCtx,
    id: &str,
    approve: bool,
    reason: Option<String>,
) -> Result<Row, CommandError> {
    if !ctx.stored.user.role.can_approve() {
        return Err(CommandError::new(
            ErrorKind::Invalid,
            "only managers and owners approve or reject",
        ));
    }
    let reason = reason.filter(|r| !approve && !r.trim().is_empty());
    if let Some(r) = &reason {
        rules::reason(r).map_err(invalid)?;
    }
    let prior = ctx.cache.get(id).await?.ok_or_else(not_found)?;
    check_unlocked(ctx, &[prior.occurred_on]).await?;
    let mut row = prior.clone();
    row.status = if approve {
        TransactionStatus::Approved
    } else {
        TransactionStatus::Rejected
    };
    row.rejection_reason = reason.clone();
    row.pending_sync = true;
    row.sync_error = None;
    row.updated_at = Utc::now();
    let op = if approve { Op::Approve } else { Op::Reject };
    let decision = Decision {
        // A row with writes of its own still queued is decided on as they
        // leave it: its version is not known yet.
        version: (!prior.pending_sync && !prior.is_local()).then_some(prior.version),
        reason,
    };
    let body = Some(to_json(&decision)?);
    let e = entry(Uuid::new_v4().to_string(), op, id, body, Some(prior));
    queue(ctx, Some(&row), None, e).await?;
    Ok(row)
}
