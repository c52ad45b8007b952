//! The Ledgerline desktop core: everything the desktop app does except
//! drawing windows. It signs in, keeps exactly **one** long-poll per login
//! session however many windows are open, mirrors the rows into a local
//! SQLite cache that windows list from (at once on start, and offline),
//! refreshes the derived aggregates with a debounce, and makes writes
//! optimistic through a persistent outbox.
//!
//! There is no Tauri in this crate. The shell holds a [`Core`], maps each IPC
//! command of `docs/desktop-api.md` to one call on it, maps each window's
//! [`Subscription`] (or [`Core::subscribe_with`] callback) to a
//! `tauri::ipc::Channel`, and implements [`Emitter`] with `emit`.
//!
//! # Layout
//! - [`core`]: [`Core`], the cheap-clone handle holding the sessions (any
//!   number, one per identity, each with its own cache and one long-poll);
//!   one method per command.
//! - [`view`]: the shapes windows see (`Row`, `Patch`, `PatchBatch`,
//!   `Status`, `Aggregates`, `Diagnostics`, …).
//! - [`session`]: a persisted session and the context its tasks share.
//! - [`realtime`]: the poll loop(s), backoff, offline probes.
//! - `snapshot`: the first sync and re-snapshots (head, pages, cache).
//! - [`watchdog`]: heartbeat and takeover of a stuck poll loop.
//! - [`backoff`]: reconnect delays and jitter.
//! - [`cache`]: the SQLite row cache, one file per identity with its lock
//!   file; journals poll answers and folds them into its rows in the
//!   background, serves lists merged over what is not folded yet; moves
//!   aside and rebuilds a file it cannot use (`CacheError`).
//! - [`fanout`]: the windows' subscriptions.
//! - [`delivery`]: one window's messages: coalesced, split, rate-bounded,
//!   each naming the seq before it.
//! - [`outbox`]: the persistent queue of unconfirmed writes, and the ones
//!   held for the user (refused, in conflict).
//! - [`mutations`]: optimistic writes checked by the server's rules, the
//!   outbox's replay, and the "Needs attention" list (resend, discard).
//! - [`aggregates`]: watched report ranges and their debounced refresh.
//! - [`debounce`]: the keyed leading+trailing throttle.
//! - [`flags`]: `FIN_LEADER_ENABLED`, `FIN_DERIVED_DEBOUNCE_MS`.
//! - [`telemetry`]: counters for the diagnostics panel.
//! - [`upload`]: the sampled sessions' counter uploads.
//! - [`store`]: the key-value storage trait (and memory/JSON-file impls).
//! - [`emit`]: the injected [`Emitter`].
//! - [`api`]: the server's HTTP API.
//! - [`config`]: [`CoreConfig`], every interval with its product default.
//! - [`error`]: `ApiError` and the one serializable `CommandError`.
//! - [`export`]: CSV export of a query, streamed from the cache into a file.

pub mod aggregates;
pub mod api;
pub mod backoff;
pub mod cache;
pub mod config;
pub mod core;
pub mod debounce;
pub mod delivery;
pub mod emit;
pub mod error;
pub mod export;
pub mod fanout;
pub mod flags;
pub mod integrity;
pub mod mutations;
pub mod outbox;
pub mod realtime;
pub mod session;
mod snapshot;
pub mod store;
pub mod telemetry;
pub mod upload;
pub mod view;
pub mod watchdog;

pub use crate::core::Core;
pub use config::CoreConfig;
pub use delivery::WindowMessage;
pub use emit::{ChannelEmitter, CoreEvent, Emitter, NoopEmitter};
pub use error::{ApiError, CommandError, ErrorKind};
pub use fanout::Subscription;
pub use store::{JsonFileStore, KvStore, MemoryStore, StoreError};
pub use view::{
    Aggregates, Attention, AttentionSummary, Counters, Diagnostics, FlagValues, MutationFailure,
    OrgSettings, Patch, PatchBatch, ReportRange, Row, RowHistory, RowKey, RowPage, RowQuery,
    SessionView, Status, StatusState, Subscribed, SyncProgress, WriteFix,
};
