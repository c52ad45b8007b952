//! The window commands: rows, writes, reports, diagnostics and flags, and
//! what the shell, tests and tools read.

use std::sync::Arc;

use ledgerline_wire::{NewTransaction, TransactionPatch};
use serde_json::Value;

use super::*;
use crate::{
    aggregates::{self, Msg, Reports},
    cache::Cache,
    delivery::WindowMessage,
    error::{ApiError, CommandError},
    fanout::Subscription,
    mutations, outbox,
    session::SessionCtx,
    telemetry::Telemetry,
    view::{
        Aggregates, Counters, Diagnostics, ReportRange, Row, RowPage, RowQuery, Status,
        StatusState, Subscribed,
    },
};

impl Core {
    // ---- rows ----------------------------------------------------------

    /// `subscribe` (channel form): every later
    /// [`PatchBatch`](crate::view::PatchBatch) arrives on
    /// `batches`; drop the subscription to end it.
    pub async fn subscribe(&self) -> Result<Subscription, CommandError> {
        Ok(self.ctx()?.cache.subscribe().await?)
    }

    /// `subscribe` (a window's form, for `tauri::ipc::Channel::send`): the
    /// window's messages ([`crate::delivery`]: coalesced, at most 64 KiB,
    /// at most 60 a second, each naming the seq before it), kept until
    /// [`Core::unsubscribe`] or the session's end.
    pub async fn subscribe_with(
        &self,
        on_message: impl Fn(WindowMessage) + Send + Sync + 'static,
    ) -> Result<Subscribed, CommandError> {
        Ok(self
            .ctx()?
            .cache
            .subscribe_window(Arc::new(on_message))
            .await?)
    }

    /// `unsubscribe`.
    pub fn unsubscribe(&self, subscription: u64) {
        if let Some(ctx) = self.current() {
            ctx.cache.hub().remove(subscription);
        }
    }

    /// `list_rows`: from the cache, so it works at once and offline.
    pub async fn list_rows(&self, query: RowQuery) -> Result<RowPage, CommandError> {
        check_query(&query)?;
        Ok(self.ctx()?.cache.list(&query).await?)
    }

    /// [`Core::list_rows`] with the rows as JSON written by SQLite: what
    /// the window's `list_rows` answers (the same JSON, without decoding
    /// each row into Rust and serializing it again).
    pub async fn list_rows_json(
        &self,
        query: RowQuery,
    ) -> Result<crate::cache::RowPageJson, CommandError> {
        check_query(&query)?;
        Ok(self.ctx()?.cache.list_json(&query).await?)
    }

    /// `export_csv`: every row of `query` (its paging ignored) into a CSV
    /// file at `path`, streamed from the cache; `progress` after each page.
    pub async fn export_csv(
        &self,
        query: RowQuery,
        path: &std::path::Path,
        progress: impl Fn(crate::export::ExportProgress),
    ) -> Result<crate::export::Exported, CommandError> {
        let ctx = self.ctx()?;
        let names = ctx
            .stored
            .properties
            .iter()
            .map(|p| (p.id.clone(), p.name.clone()))
            .collect();
        crate::export::write_csv(&ctx.cache, &query, &names, path, progress)
            .await
            .map_err(|e| CommandError::internal(e.to_string()))
    }

    /// `create_transaction`: the pending row, shown everywhere at once.
    pub async fn create_transaction(&self, input: NewTransaction) -> Result<Row, CommandError> {
        mutations::create(&*self.ctx()?, input).await
    }

    /// `update_transaction`.
    pub async fn update_transaction(
        &self,
        id: &str,
        patch: TransactionPatch,
    ) -> Result<Row, CommandError> {
        mutations::update(&*self.ctx()?, id, patch).await
    }

    /// `delete_transaction`.
    pub async fn delete_transaction(&self, id: &str) -> Result<(), CommandError> {
        mutations::delete(&*self.ctx()?, id).await
    }

    /// `approve_transaction`.
    pub async fn approve_transaction(&self, id: &str) -> Result<Row, CommandError> {
        mutations::decide(&*self.ctx()?, id, true, None).await
    }

    /// `reject_transaction`, optionally saying why (shown beside the row).
    pub async fn reject_transaction(
        &self,
        id: &str,
        reason: Option<String>,
    ) -> Result<Row, CommandError> {
        mutations::decide(&*self.ctx()?, id, false, reason).await
    }

    // ---- reports -------------------------------------------------------

    /// `watch_report`: counts one more window on `range` and returns its
    /// figures (fetched now unless fresh).
    pub async fn watch_report(&self, range: ReportRange) -> Result<Aggregates, CommandError> {
        let ctx = self.ctx()?;
        if range.from > range.to {
            return Err(CommandError::invalid("range", "from is after to"));
        }
        let reports = &ctx.figures.reports;
        reports.watch(&range);
        if !reports
            .stale(&range, self.profit_loss_stale(&ctx))
            .is_empty()
        {
            match aggregates::fetch_all(&ctx, &range).await {
                Ok(()) => {}
                Err(ApiError::Unauthorized) => {
                    ctx.unauthorized();
                    return Err(CommandError::signed_out());
                }
                // Offline: the cached figures (or none) now, fresh ones later.
                Err(e) if e.is_retryable() => tracing::debug!(error = %e, "report fetch failed"),
                Err(e) => return Err(e.into()),
            }
        }
        reports
            .latest(&range)
            .ok_or_else(|| CommandError::internal("report range vanished while watched"))
    }

    /// `unwatch_report`.
    pub fn unwatch_report(&self, range: &ReportRange) {
        if let Some(ctx) = self.current() {
            ctx.figures.reports.unwatch(range);
        }
    }

    /// `window_focused`: re-fetches what is stale — lists (5 s) when not
    /// live by kicking the poll loop into its next try now (a probe asks
    /// only for what changed), aggregates 25 s live, 10 s otherwise.
    pub fn window_focused(&self) -> Result<(), CommandError> {
        let ctx = self.ctx()?;
        let live = ctx.status.get().state == StatusState::Live;
        let lists_stale = ctx
            .lists_synced_at()
            .is_none_or(|at| at.elapsed() >= self.shared.config.lists_stale);
        if !live && lists_stale {
            ctx.sync.kick.notify_waiters();
        }
        let stale = self.profit_loss_stale(&ctx);
        for range in ctx.figures.reports.ranges() {
            for kind in ctx.figures.reports.stale(&range, stale) {
                let _ = ctx.figures.inbox.send(Msg::Refresh(range.clone(), kind));
            }
        }
        Ok(())
    }

    fn profit_loss_stale(&self, ctx: &SessionCtx) -> std::time::Duration {
        match ctx.status.get().state {
            StatusState::Live => self.shared.config.profit_loss_stale_live,
            _ => self.shared.config.profit_loss_stale_offline,
        }
    }

    // ---- diagnostics and flags -------------------------------------------

    /// `diagnostics`: this handle's session (zeros when signed out).
    pub fn diagnostics(&self) -> Diagnostics {
        let (status, seq, counters) = match self.current() {
            Some(ctx) => (
                ctx.status.get(),
                ctx.telemetry
                    .cache_seq
                    .load(std::sync::atomic::Ordering::Relaxed),
                ctx.telemetry.counters(),
            ),
            None => (signed_out_status(), 0, Counters::default()),
        };
        Diagnostics {
            status,
            seq,
            counters,
            flags: self.shared.flags.values(),
        }
    }

    /// `set_flag`: takes effect at once (the poll loops re-form when
    /// `FIN_LEADER_ENABLED` changes) and is persisted.
    pub fn set_flag(&self, name: &str, value: Value) -> Result<Diagnostics, CommandError> {
        self.shared.flags.set(name, value)?;
        Ok(self.diagnostics())
    }

    // ---- for the shell, tests and tools --------------------------------

    /// This handle's session's status (reconnecting when signed out).
    pub fn status(&self) -> Status {
        self.current()
            .map(|c| c.status.get())
            .unwrap_or_else(signed_out_status)
    }

    /// Follows this handle's session's status changes.
    pub fn watch_status(&self) -> tokio::sync::watch::Receiver<Status> {
        match self.current() {
            Some(c) => c.status.watch(),
            None => tokio::sync::watch::channel(signed_out_status()).1,
        }
    }

    /// This handle's session's counters (fresh zeros when signed out).
    pub fn telemetry(&self) -> Arc<Telemetry> {
        self.current()
            .map(|c| c.telemetry.clone())
            .unwrap_or_default()
    }

    /// The signed-in identity's cache (panics when signed out: for tests and tools).
    pub fn cache(&self) -> Cache {
        self.current().expect("signed in").cache.clone()
    }

    /// This handle's session's watched reports (empty when signed out).
    pub fn reports(&self) -> Arc<Reports> {
        self.current()
            .map(|c| c.figures.reports.clone())
            .unwrap_or_default()
    }

    /// The writes still queued, oldest first.
    pub async fn outbox(&self) -> Result<Vec<outbox::Entry>, CommandError> {
        Ok(outbox::all(self.ctx()?.cache.pool()).await?)
    }

    /// Stops every task of every session and closes their caches; the
    /// core is unusable after. (Dropping the last handle also stops the
    /// tasks, without waiting.)
    pub async fn shutdown(&self) {
        let sessions = std::mem::take(
            &mut *self
                .shared
                .sessions
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        self.shared.root.cancel();
        for ctx in sessions {
            ctx.life.tracker.close();
            ctx.life.tracker.wait().await;
            ctx.cache.close().await;
        }
        self.shared.tracker.close();
        self.shared.tracker.wait().await;
    }
}

/// A `list_rows` query the cache can answer: `from` not after `to`, and
/// either a key or an offset.
fn check_query(query: &RowQuery) -> Result<(), CommandError> {
    if let (Some(from), Some(to)) = (query.from, query.to) {
        if from > to {
            return Err(CommandError::invalid("from", "from is after to"));
        }
    }
    if query.after.is_some() && query.offset.is_some() {
        return Err(CommandError::invalid(
            "after",
            "a page is asked either after a key or from an offset, not both",
        ));
    }
    Ok(())
}
