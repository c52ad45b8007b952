//! Full snapshots: the server's head cursor first, then every page of
//! `GET /v1/transactions`, then the cache made equal to them at that head —
//! the first sync of an identity (written page by page as the pages come,
//! so windows show rows before it ends), and after a `reset`. Progress goes to the
//! windows as `sync_progress`; a snapshot that fails says why there, so
//! they offer `retry_sync` instead of a bar that never moves.

use std::{collections::HashSet, sync::Arc};

use ledgerline_wire::{Cursor, Transaction, TransactionPage};

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
            sync_failed(ctx, &SyncProgress::default(), &e);
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

/// Rows of a snapshot's first page (the rest: `snapshot_page`).
const FIRST_PAGE: u32 = 1000;

/// Fetches every row and makes the cache equal to them at `head`. A cache
/// without a seq (a first sync) takes each page as it comes, while the next
/// one is fetched ([`Cache::stream_page`](crate::cache::Cache::stream_page));
/// a re-snapshot replaces the rows at the end, in one transaction.
async fn rows_at(ctx: &Arc<SessionCtx>, head: u64) -> Result<(), ApiError> {
    let cache_err = |e: sqlx::Error| ApiError::Decode(format!("cache: {e}"));
    let streamed = ctx.cache.seq().await.map_err(cache_err)?.is_none();
    // A stream over rows a crash left behind compares ids at the end.
    let mut seen: Option<HashSet<String>> = match streamed {
        true => ctx
            .cache
            .begin_stream()
            .await
            .map_err(cache_err)?
            .then(HashSet::new),
        false => None,
    };
    let mut kept: Vec<Transaction> = Vec::new();
    let mut progress = SyncProgress {
        done: 0,
        total: None,
        finished: false,
        streamed,
        frontier: None,
        error: None,
    };
    ctx.emitter.sync_progress(progress.clone());
    let limit = ctx.config.snapshot_page;
    // A small first page: the first rows show while the big ones come.
    let mut page = fetch(ctx, limit.min(FIRST_PAGE), None, &progress).await?;
    loop {
        let next = page.next.take();
        let items = std::mem::take(&mut page.items);
        progress.done += items.len() as u64;
        // The next page is asked for while this one is written.
        let fetching = async {
            match &next {
                Some(after) => fetch(ctx, limit, Some(after), &progress).await.map(Some),
                None => Ok(None),
            }
        };
        if streamed {
            if let Some(seen) = &mut seen {
                seen.extend(items.iter().map(|t| t.id.clone()));
            }
            let (written, fetched) = tokio::join!(ctx.cache.stream_page(items), fetching);
            if let Some(frontier) = written.map_err(cache_err)? {
                progress.frontier = Some(frontier);
            }
            ctx.emitter.sync_progress(progress.clone());
            match fetched? {
                Some(p) => page = p,
                None => break,
            }
        } else {
            kept.extend(items);
            ctx.emitter.sync_progress(progress.clone());
            match fetching.await? {
                Some(p) => page = p,
                None => break,
            }
        }
    }
    if streamed {
        ctx.cache
            .finish_stream(head, seen.as_ref())
            .await
            .map_err(cache_err)?;
    } else {
        ctx.cache.replace_all(kept, head).await.map_err(cache_err)?;
    }
    ctx.lists_synced();
    progress.total = Some(progress.done);
    progress.finished = true;
    ctx.emitter.sync_progress(progress);
    let _ = ctx.figures.inbox.send(aggregates::Msg::RefreshAll);
    Ok(())
}

/// One page of the snapshot; a failure is told to the windows with the
/// rows done so far.
async fn fetch(
    ctx: &SessionCtx,
    limit: u32,
    after: Option<&str>,
    progress: &SyncProgress,
) -> Result<TransactionPage, ApiError> {
    match ctx.api.list_transactions(limit, after).await {
        Ok(page) => Ok(page),
        Err(e) => {
            sync_failed(ctx, progress, &e);
            Err(e)
        }
    }
}

/// Tells the windows a snapshot stopped after `done` rows and why: they
/// offer `retry_sync` instead of a bar that never moves.
fn sync_failed(ctx: &SessionCtx, progress: &SyncProgress, error: &ApiError) {
    ctx.emitter.sync_progress(SyncProgress {
        error: Some(error.to_string()),
        ..progress.clone()
    });
}
