//! The core's low-rate news as Tauri events to the windows of the session
//! it is about (a window of another organization never hears it): `status`,
//! `aggregates`, `sync_progress`, `session` (the names of
//! `docs/desktop-api.md`), plus `mutation_failed` for a write the server
//! refused, `notice` for a message to read once (a cache rebuilt), and
//! `attention` when the "Needs attention" counts change. Row patches never come this way; they go to each window's own
//! `Channel` (see [`crate::commands::rows`]).

use ledgerline_client::{
    Aggregates, AttentionSummary, Emitter, MutationFailure, OrgSettings, SessionView, Status,
    SyncProgress,
};
use serde::Serialize;
use tauri::{AppHandle, Emitter as _, EventTarget, Manager, Runtime};

use crate::state::Shell;

pub const STATUS: &str = "status";
pub const AGGREGATES: &str = "aggregates";
pub const SYNC_PROGRESS: &str = "sync_progress";
pub const SESSION: &str = "session";
pub const MUTATION_FAILED: &str = "mutation_failed";
pub const ATTENTION: &str = "attention";
pub const NOTICE: &str = "notice";
pub const SETTINGS: &str = "settings";

/// Emits each session's news to that session's windows.
pub struct WindowEmitter<R: Runtime> {
    app: AppHandle<R>,
}

impl<R: Runtime> WindowEmitter<R> {
    pub fn new(app: AppHandle<R>) -> Self {
        WindowEmitter { app }
    }

    fn emit(&self, session: &str, event: &str, payload: impl Serialize + Clone) {
        let shell = self.app.try_state::<Shell>();
        let result = self.app.emit_filter(event, payload, |target| match target {
            EventTarget::WebviewWindow { label }
            | EventTarget::Webview { label }
            | EventTarget::Window { label } => shell
                .as_ref()
                .is_none_or(|s| s.session_of(label).as_deref() == Some(session)),
            _ => false,
        });
        if let Err(e) = result {
            tracing::warn!(event, error = %e, "could not emit to the windows");
        }
    }
}

impl<R: Runtime> Emitter for WindowEmitter<R> {
    fn settings(&self, session: &str, settings: OrgSettings) {
        self.emit(session, SETTINGS, settings);
    }

    fn status(&self, session: &str, status: Status) {
        self.emit(session, STATUS, status);
    }

    fn aggregates(&self, session: &str, aggregates: Aggregates) {
        self.emit(session, AGGREGATES, aggregates);
    }

    fn sync_progress(&self, session: &str, progress: SyncProgress) {
        self.emit(session, SYNC_PROGRESS, progress);
    }

    fn session(&self, session: &str, view: Option<SessionView>) {
        if let (Some(v), Some(shell)) = (&view, self.app.try_state::<Shell>()) {
            for (label, _) in shell.open_windows() {
                // Windows that belong to no session yet (opened signed
                // out, e.g. at start before the sign-in) are this one's.
                if shell.bound_session(&label).is_none() {
                    shell.bind(&label, session);
                }
                if shell.session_of(&label).as_deref() == Some(session) {
                    if let Some(w) = self.app.get_webview_window(&label) {
                        crate::windows::name_after(&w, v);
                    }
                }
            }
        }
        self.emit(session, SESSION, view);
    }

    fn mutation_failed(&self, session: &str, failure: MutationFailure) {
        self.emit(session, MUTATION_FAILED, failure);
    }

    fn attention(&self, session: &str, summary: AttentionSummary) {
        self.emit(session, ATTENTION, summary);
    }

    fn notice(&self, session: &str, message: String) {
        self.emit(session, NOTICE, message);
    }
}
