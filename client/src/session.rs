//! A signed-in session: what is persisted of it ([`StoredSession`], so a
//! restart resumes without signing in) and the context its tasks share
//! ([`SessionCtx`]: the API client with the token, the cache, the status,
//! and the `CancellationToken` that stops every task of the session).

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use ledgerline_wire::{LoginResponse, OrgInfo, PropertyInfo, UserInfo};
use serde::{Deserialize, Serialize};
use tokio::{
    sync::{mpsc, watch, Notify},
    time::Instant,
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    aggregates::{self, Reports},
    api::Api,
    cache::Cache,
    config::CoreConfig,
    emit::SessionEmitter,
    flags::Flags,
    telemetry::Telemetry,
    view::{SessionView, Status, StatusState},
};

/// The key the signed-in sessions are stored under (a list).
pub const SESSIONS_KEY: &str = "sessions";
/// The key of earlier versions' one session; read once, then removed.
pub const LEGACY_SESSION_KEY: &str = "session";

/// What survives a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSession {
    pub server_url: String,
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: UserInfo,
    pub org: OrgInfo,
    pub properties: Vec<PropertyInfo>,
}

impl StoredSession {
    pub fn from_login(server_url: &str, login: LoginResponse) -> StoredSession {
        StoredSession {
            server_url: server_url.trim_end_matches('/').to_owned(),
            token: login.token,
            expires_at: login.expires_at,
            user: login.user,
            org: login.org,
            properties: login.properties,
        }
    }

    pub fn view(&self) -> SessionView {
        SessionView {
            id: self.id(),
            server_url: self.server_url.clone(),
            user: self.user.clone(),
            org: self.org.clone(),
            properties: self.properties.clone(),
        }
    }

    /// Whose rows the cache holds: the same user of the same org on the same server.
    pub fn identity(&self) -> String {
        format!("{}|{}|{}", self.server_url, self.org.id, self.user.id)
    }

    /// The file name of this identity's cache: server and user, readable.
    pub fn cache_file(&self) -> String {
        cache_file(&self.server_url, &self.user.id)
    }

    /// The session's id: its cache file's name without the extension, so
    /// the same identity always has the same id.
    pub fn id(&self) -> String {
        self.cache_file().trim_end_matches(".sqlite").to_owned()
    }
}

/// The cache file name of `user_id` on `server_url`: every character that
/// is not a letter, a digit, `-` or `.` becomes `_`.
pub fn cache_file(server_url: &str, user_id: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let server = server_url
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    format!("{}--{}.sqlite", clean(server), clean(user_id))
}

/// The status badge: publishes a change to the emitter once.
pub struct StatusCell {
    tx: watch::Sender<Status>,
    emitter: SessionEmitter,
}

impl StatusCell {
    pub(crate) fn new(emitter: SessionEmitter) -> StatusCell {
        StatusCell {
            tx: watch::Sender::new(Status {
                state: StatusState::Reconnecting,
                since: Utc::now(),
            }),
            emitter,
        }
    }

    pub fn get(&self) -> Status {
        *self.tx.borrow()
    }

    pub fn watch(&self) -> watch::Receiver<Status> {
        self.tx.subscribe()
    }

    pub fn set(&self, state: StatusState) {
        let changed = self.tx.send_if_modified(|s| {
            if s.state == state {
                return false;
            }
            *s = Status {
                state,
                since: Utc::now(),
            };
            true
        });
        if changed {
            tracing::info!(state = ?state, "status");
            self.emitter.status(self.get());
        }
    }
}

/// Everything of one session, grouped by who needs it: the link to the
/// server and the cache every task uses; the session's own lifetime; the
/// poll loop's sync state; the aggregates task's figures; the outbox
/// sender's wake-up.
pub(crate) struct SessionCtx {
    /// [`StoredSession::id`].
    pub(crate) id: Arc<str>,
    pub(crate) stored: StoredSession,
    pub(crate) api: Api,
    pub(crate) cache: Cache,
    pub(crate) emitter: SessionEmitter,
    pub(crate) telemetry: Arc<Telemetry>,
    pub(crate) flags: Flags,
    pub(crate) config: CoreConfig,
    pub(crate) status: Arc<StatusCell>,
    /// The session owns its tasks: they run on `life.tracker` and stop
    /// with `life.cancel`.
    pub(crate) life: Lifetime,
    /// The poll loop's (and the re-fetches beside it).
    pub(crate) sync: SyncState,
    /// The aggregates task's.
    pub(crate) figures: Figures,
    /// The outbox sender's: wakes it.
    pub(crate) outbox_kick: Notify,
}

/// A session's tasks and the tokens that stop them.
pub(crate) struct Lifetime {
    /// Stops every task of this session.
    pub(crate) cancel: CancellationToken,
    /// Fired when the server answered 401: the session is over.
    pub(crate) ended: CancellationToken,
    pub(crate) tracker: TaskTracker,
}

/// Where the rows stand with the server.
#[derive(Default)]
pub(crate) struct SyncState {
    /// One snapshot at a time.
    pub(crate) snapshot_lock: tokio::sync::Mutex<()>,
    /// Wakes a poll loop waiting out a failure to try at once (`retry_sync`,
    /// a window focused while not live).
    pub(crate) kick: Notify,
    /// When the lists were last known current (a poll answered or a
    /// snapshot finished). A std Mutex: set and read, never across `.await`.
    pub(crate) synced_at: Mutex<Option<Instant>>,
}

/// The watched report ranges and the aggregates task's inbox.
pub(crate) struct Figures {
    pub(crate) reports: Arc<Reports>,
    pub(crate) inbox: mpsc::UnboundedSender<aggregates::Msg>,
}

impl SessionCtx {
    pub(crate) fn view(&self) -> SessionView {
        self.stored.view()
    }

    /// The server said 401: stop everything and let the core sign out.
    pub(crate) fn unauthorized(&self) {
        tracing::warn!("the server ended the session (401)");
        self.life.ended.cancel();
        self.life.cancel.cancel();
    }

    pub(crate) fn lists_synced(&self) {
        *self
            .sync
            .synced_at
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }

    pub(crate) fn lists_synced_at(&self) -> Option<Instant> {
        *self
            .sync
            .synced_at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}
