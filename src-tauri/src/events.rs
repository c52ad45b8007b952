//! The core's low-rate news as Tauri events to every window: `status`,
//! `aggregates`, `sync_progress`, `session` (the names of
//! `docs/desktop-api.md`), plus `mutation_failed` for a write the server
//! refused, `notice` for a message to read once (a cache rebuilt), and
//! `attention` when the "Needs attention" counts change. Row patches never come this way; they go to each window's own
//! `Channel` (see [`crate::commands::rows`]).

use ledgerline_client::{
    Aggregates, AttentionSummary, Emitter, MutationFailure, SessionView, Status, SyncProgress,
};
use serde::Serialize;
use tauri::{AppHandle, Emitter as _, Runtime};

pub const STATUS: &str = "status";
pub const AGGREGATES: &str = "aggregates";
pub const SYNC_PROGRESS: &str = "sync_progress";
pub const SESSION: &str = "session";
pub const MUTATION_FAILED: &str = "mutation_failed";
pub const ATTENTION: &str = "attention";
pub const NOTICE: &str = "notice";

/// Emits to every window of the app.
pub struct WindowEmitter<R: Runtime> {
    app: AppHandle<R>,
}

impl<R: Runtime> WindowEmitter<R> {
    pub fn new(app: AppHandle<R>) -> Self {
        WindowEmitter { app }
    }

    fn emit(&self, event: &str, payload: impl Serialize + Clone) {
        if let Err(e) = self.app.emit(event, payload) {
            tracing::warn!(event, error = %e, "could not emit to the windows");
        }
    }
}

impl<R: Runtime> Emitter for WindowEmitter<R> {
    fn status(&self, status: Status) {
        self.emit(STATUS, status);
    }

    fn aggregates(&self, aggregates: Aggregates) {
        self.emit(AGGREGATES, aggregates);
    }

    fn sync_progress(&self, progress: SyncProgress) {
        self.emit(SYNC_PROGRESS, progress);
    }

    fn session(&self, session: Option<SessionView>) {
        self.emit(SESSION, session);
    }

    fn mutation_failed(&self, failure: MutationFailure) {
        self.emit(MUTATION_FAILED, failure);
    }

    fn attention(&self, summary: AttentionSummary) {
        self.emit(ATTENTION, summary);
    }

    fn notice(&self, message: String) {
        self.emit(NOTICE, message);
    }
}
