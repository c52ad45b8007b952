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

use std::{sync::Arc, time::Duration};

use chrono::{NaiveDate, Utc};
use ledgerline_wire::{
    rules::{self, FieldError},
    NewTransaction, Transaction, TransactionPatch, TransactionStatus,
};
use serde_json::Value;
use tokio::time::sleep;
use uuid::Uuid;

use crate::{
    backoff::{Backoff, Retry},
    cache::{delete_rows, get_row, put_row, Cache},
    error::{ApiError, CommandError, ErrorKind},
    outbox::{self, Decision, Entry, Op, State},
    session::SessionCtx,
    telemetry::Telemetry,
    view::{Attention, AttentionSummary, MutationFailure, Patch, Row, StatusState, WriteFix},
};

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
            // Decisions queued before they carried a body are on the row as it is.
            let decision: Decision = match &e.body {
                Some(b) => serde_json::from_value(b.clone()).map_err(decode)?,
                None => Decision::default(),
            };
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
    let mut w = ctx.cache.write().await?;
    outbox::hold(&mut w.tx, e.id, state, &message).await?;
    let mut patches = Vec::new();
    let current = get_row(&mut w.tx, &e.target_id).await?;
    if e.op == Op::Create {
        if let Some(mut row) = current {
            row.pending_sync = false;
            row.sync_error = Some(message.clone());
            put_row(&mut w.tx, &row).await?;
            patches.push(Patch::Upsert { row });
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
    notify(ctx).await;
    Ok(())
}

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
    let mut w = ctx.cache.write().await?;
    let e = outbox::by_mutation_id(&mut w.tx, cmid)
        .await?
        .ok_or_else(not_found)?;
    held_only(&e)?;
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
            let mut decision: Decision = match &e.body {
                Some(b) => serde_json::from_value(b.clone()).map_err(decode)?,
                None => Decision::default(),
            };
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
            patches.push(Patch::Upsert { row: row.clone() });
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
    let mut w = ctx.cache.write().await?;
    let e = outbox::by_mutation_id(&mut w.tx, cmid)
        .await?
        .ok_or_else(not_found)?;
    held_only(&e)?;
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
                patches.push(Patch::Upsert { row });
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
