//! How the core tells the app about low-rate news: the injected
//! [`Emitter`]. The Tauri shell implements it with `emit` to every window;
//! tests and tools use [`ChannelEmitter`]. Row patches do not come here —
//! they go to each window's own subscription ([`crate::fanout`]).

use tokio::sync::mpsc;

use crate::view::{
    Aggregates, AttentionSummary, MutationFailure, SessionView, Status, SyncProgress,
};

/// The sink of the core's events. Calls are made from the core's tasks and
/// must not block.
pub trait Emitter: Send + Sync + 'static {
    /// Live / reconnecting / offline changed.
    fn status(&self, status: Status);
    /// A watched report range was refreshed.
    fn aggregates(&self, aggregates: Aggregates);
    /// A full snapshot is under way (or finished).
    fn sync_progress(&self, progress: SyncProgress);
    /// Signed in (`Some`) or out (`None`, also when the server ended it).
    fn session(&self, session: Option<SessionView>);
    /// A queued write was refused and its row rolled back.
    fn mutation_failed(&self, failure: MutationFailure);
    /// The "Needs attention" counts changed (a write queued, sent, refused,
    /// resent or discarded): windows re-read `needs_attention`.
    fn attention(&self, summary: AttentionSummary);
    /// Something the user should read once (a cache rebuilt, …).
    fn notice(&self, message: String);
}

/// Everything an [`Emitter`] is told, as one enum.
#[derive(Debug, Clone, PartialEq)]
pub enum CoreEvent {
    Status(Status),
    Aggregates(Box<Aggregates>),
    SyncProgress(SyncProgress),
    Session(Option<Box<SessionView>>),
    MutationFailed(Box<MutationFailure>),
    Attention(AttentionSummary),
    Notice(String),
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
    fn status(&self, status: Status) {
        let _ = self.0.send(CoreEvent::Status(status));
    }
    fn aggregates(&self, aggregates: Aggregates) {
        let _ = self.0.send(CoreEvent::Aggregates(Box::new(aggregates)));
    }
    fn sync_progress(&self, progress: SyncProgress) {
        let _ = self.0.send(CoreEvent::SyncProgress(progress));
    }
    fn session(&self, session: Option<SessionView>) {
        let _ = self.0.send(CoreEvent::Session(session.map(Box::new)));
    }
    fn mutation_failed(&self, failure: MutationFailure) {
        let _ = self.0.send(CoreEvent::MutationFailed(Box::new(failure)));
    }
    fn attention(&self, summary: AttentionSummary) {
        let _ = self.0.send(CoreEvent::Attention(summary));
    }
    fn notice(&self, message: String) {
        let _ = self.0.send(CoreEvent::Notice(message));
    }
}

/// Drops everything (load tools that only count).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopEmitter;

impl Emitter for NoopEmitter {
    fn status(&self, _: Status) {}
    fn aggregates(&self, _: Aggregates) {}
    fn sync_progress(&self, _: SyncProgress) {}
    fn session(&self, _: Option<SessionView>) {}
    fn mutation_failed(&self, _: MutationFailure) {}
    fn attention(&self, _: AttentionSummary) {}
    fn notice(&self, _: String) {}
}
