//! How the core tells the app about low-rate news: the injected
//! [`Emitter`]. Every call names the session it is about (its
//! [`SessionView::id`](crate::view::SessionView)), so the Tauri shell can
//! send it to that session's windows only; tests and tools use
//! [`ChannelEmitter`]. Row patches do not come here — they go to each
//! window's own subscription ([`crate::fanout`]).

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::view::{
    Aggregates, AttentionSummary, MutationFailure, OrgSettings, SessionView, Status, SyncProgress,
};

/// The sink of the core's events. Calls are made from the core's tasks and
/// must not block. `session` is the id of the session the news is about.
pub trait Emitter: Send + Sync + 'static {
    /// Live / reconnecting / offline / cache error changed.
    fn status(&self, session: &str, status: Status);
    /// A watched report range was refreshed.
    fn aggregates(&self, session: &str, aggregates: Aggregates);
    /// A full snapshot is under way (or finished).
    fn sync_progress(&self, session: &str, progress: SyncProgress);
    /// Signed in (`Some`) or out (`None`, also when the server ended it).
    fn session(&self, session: &str, view: Option<SessionView>);
    /// A queued write was refused and its row rolled back.
    fn mutation_failed(&self, session: &str, failure: MutationFailure);
    /// The "Needs attention" counts changed (a write queued, sent, refused,
    /// resent or discarded): windows re-read `needs_attention`.
    fn attention(&self, session: &str, summary: AttentionSummary);
    /// Something the user should read once (a cache rebuilt, …).
    fn notice(&self, session: &str, message: String);
    /// The org's settings changed (its lock date): windows re-mark rows.
    fn settings(&self, session: &str, settings: OrgSettings);
}

/// One session's side of the emitter: the same calls, the id filled in.
#[derive(Clone)]
pub(crate) struct SessionEmitter {
    inner: Arc<dyn Emitter>,
    id: Arc<str>,
}

impl SessionEmitter {
    pub(crate) fn new(inner: Arc<dyn Emitter>, id: Arc<str>) -> SessionEmitter {
        SessionEmitter { inner, id }
    }
    pub(crate) fn status(&self, status: Status) {
        self.inner.status(&self.id, status);
    }
    pub(crate) fn aggregates(&self, aggregates: Aggregates) {
        self.inner.aggregates(&self.id, aggregates);
    }
    pub(crate) fn sync_progress(&self, progress: SyncProgress) {
        self.inner.sync_progress(&self.id, progress);
    }
    pub(crate) fn mutation_failed(&self, failure: MutationFailure) {
        self.inner.mutation_failed(&self.id, failure);
    }
    pub(crate) fn attention(&self, summary: AttentionSummary) {
        self.inner.attention(&self.id, summary);
    }
    pub(crate) fn notice(&self, message: String) {
        self.inner.notice(&self.id, message);
    }
    pub(crate) fn settings(&self, settings: OrgSettings) {
        self.inner.settings(&self.id, settings);
    }
}

/// Everything an [`Emitter`] is told, as one enum (the session id is left
/// out; [`ChannelEmitter::with_sessions`] keeps it).
#[derive(Debug, Clone, PartialEq)]
pub enum CoreEvent {
    Status(Status),
    Aggregates(Box<Aggregates>),
    SyncProgress(SyncProgress),
    Session(Option<Box<SessionView>>),
    MutationFailed(Box<MutationFailure>),
    Attention(AttentionSummary),
    Notice(String),
    Settings(OrgSettings),
}

/// Forwards every event to an unbounded channel.
#[derive(Debug, Clone)]
pub struct ChannelEmitter(pub mpsc::UnboundedSender<CoreEvent>);

impl ChannelEmitter {
    pub fn new() -> (ChannelEmitter, mpsc::UnboundedReceiver<CoreEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (ChannelEmitter(tx), rx)
    }
}

impl Emitter for ChannelEmitter {
    fn status(&self, _: &str, status: Status) {
        let _ = self.0.send(CoreEvent::Status(status));
    }
    fn aggregates(&self, _: &str, aggregates: Aggregates) {
        let _ = self.0.send(CoreEvent::Aggregates(Box::new(aggregates)));
    }
    fn sync_progress(&self, _: &str, progress: SyncProgress) {
        let _ = self.0.send(CoreEvent::SyncProgress(progress));
    }
    fn session(&self, _: &str, view: Option<SessionView>) {
        let _ = self.0.send(CoreEvent::Session(view.map(Box::new)));
    }
    fn mutation_failed(&self, _: &str, failure: MutationFailure) {
        let _ = self.0.send(CoreEvent::MutationFailed(Box::new(failure)));
    }
    fn attention(&self, _: &str, summary: AttentionSummary) {
        let _ = self.0.send(CoreEvent::Attention(summary));
    }
    fn notice(&self, _: &str, message: String) {
        let _ = self.0.send(CoreEvent::Notice(message));
    }
    fn settings(&self, _: &str, settings: OrgSettings) {
        let _ = self.0.send(CoreEvent::Settings(settings));
    }
}

/// Drops everything (load tools that only count).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopEmitter;

impl Emitter for NoopEmitter {
    fn status(&self, _: &str, _: Status) {}
    fn aggregates(&self, _: &str, _: Aggregates) {}
    fn sync_progress(&self, _: &str, _: SyncProgress) {}
    fn session(&self, _: &str, _: Option<SessionView>) {}
    fn mutation_failed(&self, _: &str, _: MutationFailure) {}
    fn attention(&self, _: &str, _: AttentionSummary) {}
    fn notice(&self, _: &str, _: String) {}
    fn settings(&self, _: &str, _: OrgSettings) {}
}
