//! Full snapshots: the server's head cursor first, then every page of
//! `GET /v1/transactions`, then the cache made equal to them at that head —
//! the first sync of an identity, and after a `reset`. Progress goes to the
//! windows as `sync_progress`; a snapshot that fails says why there, so
//! they offer `retry_sync` instead of a bar that never moves.

use std::sync::Arc;

use ledgerline_wire::{Cursor, Transaction};

use crate::{
    aggregates, error::ApiError, session::SessionCtx, telemetry::Telemetry, view::SyncProgress,
};

/// A full snapshot: the head cursor first, then every page, then the cache
/// made equal to them at that head. `polled` is the cursor whose answer said
/// `reset` (`None`: the cache had none yet); if another loop has moved the
/// cache past it meanwhile, this one is skipped.
pub(crate) async fn snapshot(ctx: &Arc<SessionCtx>, polled: Option<u64>) -> Result<(), ApiError> {
    let _one = ctx.sync.snapshot_lock.lock().await;
    // Another loop moved the cache past what this one polled (or made the
    // first snapshot) while it waited for the lock.
    if ctx.cache.seq().await.ok().flatten() > polled {
        return Ok(());
    }
    let head = match head(ctx).await {
        Ok(head) => head,
        Err(e) => {
            sync_failed(ctx, 0, &e);
            return Err(e);
        }
    };
    // Before the rows: a crash in between leaves the new epoch with the old
    // seq, which the server answers with `reset` — another snapshot.
    ctx.cache
        .remember_epoch(&head)
        .await
        .map_err(|e| ApiError::Decode(e.to_string()))?;
    // Read after the head: an event changing it later comes through the poll.
    crate::integrity::refresh_lock_date(ctx).await?;
    rows_at(ctx, head.seq()).await
}

/// The server's head cursor, answered at once.
async fn head(ctx: &SessionCtx) -> Result<Cursor, ApiError> {
    let head = ctx
        .api
        .poll(None, ctx.config.poll_timeout, ctx.config.poll_grace)
        .await?;
    let head = head
        .response
        .cursor
        .parse::<Cursor>()
        .map_err(|e| ApiError::Decode(e.to_string()))?;
    Telemetry::raise(&ctx.telemetry.head_seq, head.seq());
    Ok(head)
}

/// Fetches every row and makes the cache equal to them at `head`.
async fn rows_at(ctx: &Arc<SessionCtx>, head: u64) -> Result<(), ApiError> {
    let mut rows: Vec<Transaction> = Vec::new();
    let mut after: Option<String> = None;
    ctx.emitter.sync_progress(SyncProgress {
        done: 0,
        total: None,
        finished: false,
        error: None,
    });
    loop {
        let page = match ctx
            .api
            .list_transactions(ctx.config.snapshot_page, after.as_deref())
            .await
        {
            Ok(page) => page,
            Err(e) => {
                sync_failed(ctx, rows.len() as u64, &e);
                return Err(e);
            }
        };
        rows.extend(page.items);
        ctx.emitter.sync_progress(SyncProgress {
            done: rows.len() as u64,
            total: None,
            finished: false,
            error: None,
        });
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let done = rows.len() as u64;
    ctx.cache
        .replace_all(rows, head)
        .await
        .map_err(|e| ApiError::Decode(format!("cache: {e}")))?;
    ctx.lists_synced();
    ctx.emitter.sync_progress(SyncProgress {
        done,
        total: Some(done),
        finished: true,
        error: None,
    });
    let _ = ctx.figures.inbox.send(aggregates::Msg::RefreshAll);
    Ok(())
}

/// Tells the windows a snapshot stopped after `done` rows and why: they
/// offer `retry_sync` instead of a bar that never moves.
fn sync_failed(ctx: &SessionCtx, done: u64, error: &ApiError) {
    ctx.emitter.sync_progress(SyncProgress {
        done,
        total: None,
        finished: false,
        error: Some(error.to_string()),
    });
}
