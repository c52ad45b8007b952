//! [`Core`]: the cheap-clone handle the Tauri shell (or a test, or a load
//! tool) holds, and the sessions it holds. Each IPC command of
//! `docs/desktop-api.md` is one call on it.
//!
//! The core holds any number of sessions at once — one per identity
//! (server + user), e.g. an accountant signed in to several client
//! organizations. Each [`SessionCtx`] owns its tasks (poll loop, outbox
//! sender, aggregates, checkpointer), its cache, status, reports and
//! counters; exactly one long-poll per session whatever the number of
//! windows. A `Core` is either bound to one session ([`Core::in_session`],
//! what the shell does for each window) or acts on the first one signed in.
//! Dropping the last handle cancels every task; [`Core::shutdown`] also
//! waits for them.

mod commands;
mod sessions;

use std::sync::{Arc, Mutex};

use chrono::Utc;
use serde_json::Value;
use tokio_util::{
    sync::{CancellationToken, DropGuard},
    task::TaskTracker,
};

use crate::{
    cache::CacheError,
    config::CoreConfig,
    emit::Emitter,
    error::{CommandError, ErrorKind},
    flags::Flags,
    session::{SessionCtx, StoredSession, LEGACY_SESSION_KEY, SESSIONS_KEY},
    store::KvStore,
    view::{SessionView, Status, StatusState},
};

/// How often the cache's WAL is checkpointed in the background.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// How long the poll loop's applies pause before the cache's journal is
/// folded into its rows in the background.
const FOLD_WHEN_IDLE: std::time::Duration = std::time::Duration::from_millis(50);

/// The desktop core. Clone it freely; all clones are the same core.
#[derive(Clone)]
pub struct Core {
    shared: Arc<Shared>,
    /// The session this handle acts on; `None`: the first one.
    bound: Option<Arc<str>>,
}

struct Shared {
    config: CoreConfig,
    store: Arc<dyn KvStore>,
    emitter: Arc<dyn Emitter>,
    http: reqwest::Client,
    flags: Flags,
    // A std Mutex: pushed to, removed from or cloned out of, never held
    // across `.await`. In sign-in order; the first is the default.
    sessions: Mutex<Vec<Arc<SessionCtx>>>,
    /// Stored sessions this process could not resume (their cache is held
    /// by another Ledgerline process): kept in the store, not running here.
    /// A std Mutex, like `sessions`.
    dormant: Mutex<Vec<StoredSession>>,
    /// Why something could not be done at start, for the windows to show
    /// (a session not resumed, …).
    notices: Mutex<Vec<String>>,
    root: CancellationToken,
    tracker: TaskTracker,
    _cancel_on_drop: DropGuard,
}

impl Core {
    /// Loads the flags (store, then environment) and resumes the stored
    /// sessions, each on its identity's cache — no network needed, so
    /// windows can list cached rows at once. A session that cannot be
    /// resumed (its cache held by another process, …) is left out with a
    /// notice; opening never fails on a cache.
    pub async fn open(
        config: CoreConfig,
        store: Arc<dyn KvStore>,
        emitter: Arc<dyn Emitter>,
    ) -> Result<Core, CommandError> {
        sessions::adopt_legacy_cache(&config).await;
        let flags = Flags::load(store.clone(), |name| std::env::var(name).ok())?;
        let http = reqwest::Client::builder()
            .connect_timeout(config.request_timeout)
            .build()
            .map_err(|e| CommandError::internal(format!("http client: {e}")))?;
        let root = CancellationToken::new();
        let core = Core {
            shared: Arc::new(Shared {
                config,
                store,
                emitter,
                http,
                flags,
                sessions: Mutex::new(Vec::new()),
                dormant: Mutex::new(Vec::new()),
                notices: Mutex::new(Vec::new()),
                _cancel_on_drop: root.clone().drop_guard(),
                root,
                tracker: TaskTracker::new(),
            }),
            bound: None,
        };
        for stored in core.stored_sessions()? {
            if stored.expires_at <= Utc::now() {
                continue;
            }
            let id = stored.id();
            if let Err(e) = core.start(stored.clone()).await {
                tracing::warn!(error = %e, session = %id, "a stored session could not be resumed");
                let message = format!(
                    "{} ({}) was not resumed: {}",
                    stored.user.email, stored.org.name, e.message
                );
                core.shared.emitter.notice(&id, message.clone());
                lock(&core.shared.notices).push(message);
                lock(&core.shared.dormant).push(stored);
            }
        }
        core.persist();
        Ok(core)
    }

    /// What could not be done at start (a stored session not resumed, and
    /// why), for windows that opened after it was emitted.
    pub fn notices(&self) -> Vec<String> {
        lock(&self.shared.notices).clone()
    }

    /// What the store holds: the list, or earlier versions' one session.
    fn stored_sessions(&self) -> Result<Vec<StoredSession>, CommandError> {
        let store = &self.shared.store;
        let read = |value: Value| -> Vec<StoredSession> {
            match value {
                Value::Array(items) => items
                    .into_iter()
                    .filter_map(|v| match serde_json::from_value(v) {
                        Ok(s) => Some(s),
                        Err(e) => {
                            tracing::warn!(error = %e, "a stored session is unreadable; left out");
                            None
                        }
                    })
                    .collect(),
                one => serde_json::from_value(one).ok().into_iter().collect(),
            }
        };
        let mut out = store.get(SESSIONS_KEY)?.map(read).unwrap_or_default();
        if let Some(legacy) = store.get(LEGACY_SESSION_KEY)? {
            out.extend(read(legacy));
            store.delete(LEGACY_SESSION_KEY)?;
        }
        Ok(out)
    }

    /// Writes the sessions to the store (what a restart resumes): the
    /// running ones and the dormant ones another process holds.
    fn persist(&self) {
        let mut stored: Vec<StoredSession> = self.all().iter().map(|c| c.stored.clone()).collect();
        stored.extend(lock(&self.shared.dormant).iter().cloned());
        let result = match serde_json::to_value(&stored) {
            Ok(json) if stored.is_empty() => self.shared.store.delete(SESSIONS_KEY).map(|_| json),
            Ok(json) => self
                .shared
                .store
                .set(SESSIONS_KEY, json.clone())
                .map(|_| json),
            Err(e) => {
                tracing::error!(error = %e, "sessions not serializable");
                return;
            }
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "could not store the sessions");
        }
    }

    fn all(&self) -> Vec<Arc<SessionCtx>> {
        self.shared
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn ctx(&self) -> Result<Arc<SessionCtx>, CommandError> {
        self.current().ok_or_else(CommandError::signed_out)
    }

    fn current(&self) -> Option<Arc<SessionCtx>> {
        let sessions = self
            .shared
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        match &self.bound {
            Some(id) => sessions.iter().find(|c| c.id == *id).cloned(),
            None => sessions.first().cloned(),
        }
    }

    /// This core, acting on session `id` (a window's session). Calls fail
    /// as signed out while no such session is signed in.
    pub fn in_session(&self, id: &str) -> Core {
        Core {
            shared: self.shared.clone(),
            bound: Some(Arc::from(id)),
        }
    }

    /// Every signed-in session, in sign-in order.
    pub fn sessions(&self) -> Vec<SessionView> {
        self.all().iter().map(|c| c.view()).collect()
    }
}

/// A std Mutex's guard, whether or not a holder panicked.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn signed_out_status() -> Status {
    Status {
        state: StatusState::Reconnecting,
        since: Utc::now(),
    }
}

fn cache_error(e: CacheError) -> CommandError {
    match e {
        CacheError::Locked { .. } => CommandError::new(
            ErrorKind::Internal,
            format!("{e}; close it (or sign out there) and try again"),
        ),
        other => {
            tracing::error!(error = %other, "cache could not be opened");
            CommandError::internal(format!("the local cache could not be opened: {other}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::{ReportRange, RowQuery};
    use ledgerline_wire::TransactionPatch;

    fn send<T: Send>(_: &T) {}

    /// The shell keeps a `Core` in Tauri's state and awaits its calls in
    /// async commands: it must be `Send + Sync` and so must their futures.
    #[test]
    fn the_core_and_its_calls_can_cross_threads() {
        fn shareable<T: Send + Sync + Clone + 'static>() {}
        shareable::<Core>();
    }

    #[allow(dead_code)]
    fn every_command_future_is_send(core: Core, range: ReportRange) {
        send(&core.sign_in("", "", ""));
        send(&core.sign_out(false));
        send(&core.subscribe());
        send(&core.subscribe_with(|_| {}));
        send(&core.list_rows(RowQuery::default()));
        send(&core.update_transaction("", TransactionPatch::default()));
        send(&core.delete_transaction(""));
        send(&core.approve_transaction(""));
        send(&core.reject_transaction("", None));
        send(&core.org_settings());
        send(&core.set_lock_date(None));
        send(&core.row_history(""));
        send(&core.watch_report(range));
        send(&core.outbox());
        send(&core.shutdown());
    }
}
