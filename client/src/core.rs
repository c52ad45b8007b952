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

use std::sync::{Arc, Mutex};

use chrono::Utc;
use ledgerline_wire::{NewTransaction, TransactionPatch};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::{
    sync::{CancellationToken, DropGuard},
    task::TaskTracker,
};

use crate::{
    aggregates::{self, Msg, Reports},
    api::Api,
    cache::{Cache, CacheError},
    config::CoreConfig,
    delivery::WindowMessage,
    emit::{Emitter, SessionEmitter},
    error::{ApiError, CommandError, ErrorKind},
    fanout::Subscription,
    flags::Flags,
    mutations, outbox, realtime,
    session::{
        Figures, Lifetime, SessionCtx, StatusCell, StoredSession, SyncState, LEGACY_SESSION_KEY,
        SESSIONS_KEY,
    },
    store::KvStore,
    telemetry::Telemetry,
    upload,
    view::{
        Aggregates, Attention, Counters, Diagnostics, ReportRange, Row, RowPage, RowQuery,
        SessionView, Status, StatusState, Subscribed, WriteFix,
    },
};

/// How often the cache's WAL is checkpointed in the background.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

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
        adopt_legacy_cache(&config).await;
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

    async fn start(&self, stored: StoredSession) -> Result<Arc<SessionCtx>, CommandError> {
        let s = &self.shared;
        let id: Arc<str> = Arc::from(stored.id());
        let emitter = SessionEmitter::new(s.emitter.clone(), id.clone());
        let telemetry = Arc::new(Telemetry::default());
        // This identity's own cache: another identity's unsent writes are
        // in their own file, untouched, sent when that identity is back.
        let path = s.config.cache_path(&stored.cache_file());
        let (cache, recovered) = Cache::open_or_rebuild(
            &path,
            &stored.identity(),
            telemetry.clone(),
            s.config.cache_busy_timeout,
        )
        .await
        .map_err(cache_error)?;
        if let Some(r) = &recovered {
            tracing::warn!(moved_to = %r.moved_to.display(), salvaged = r.salvaged, reason = %r.reason, "cache rebuilt");
            emitter.notice(r.message());
        }
        Telemetry::set(&telemetry.outbox_depth, outbox::depth(cache.pool()).await?);
        let api = Api::new(s.http.clone(), &stored.server_url, s.config.request_timeout)
            .with_token(&stored.token);
        let (agg_tx, agg_rx) = mpsc::unbounded_channel();
        let status = Arc::new(StatusCell::new(emitter.clone()));
        let ctx = Arc::new(SessionCtx {
            id,
            stored,
            api,
            cache: cache.clone(),
            emitter,
            telemetry,
            flags: s.flags.clone(),
            config: s.config.clone(),
            status,
            life: Lifetime {
                cancel: s.root.child_token(),
                ended: CancellationToken::new(),
                tracker: TaskTracker::new(),
            },
            sync: SyncState::default(),
            figures: Figures {
                reports: Arc::new(Reports::default()),
                inbox: agg_tx,
            },
            outbox_kick: Default::default(),
        });
        ctx.status.set(StatusState::Reconnecting);
        s.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(ctx.clone());
        // The session owns its tasks: they stop with its token.
        ctx.life.tracker.spawn(realtime::run(ctx.clone()));
        ctx.life.tracker.spawn(mutations::run(ctx.clone()));
        ctx.life.tracker.spawn(aggregates::run(ctx.clone(), agg_rx));
        ctx.life
            .tracker
            .spawn(upload::run(ctx.clone(), rand::random()));
        let checkpointer = cache.spawn_checkpointer(CHECKPOINT_EVERY, ctx.life.cancel.clone());
        ctx.life.tracker.spawn(async move {
            let _ = checkpointer.await;
        });
        mutations::notify(&ctx).await;
        // When the server ends the session (401), sign out here too.
        let weak = Arc::downgrade(&self.shared);
        s.tracker.spawn({
            let ctx = ctx.clone();
            async move {
                tokio::select! {
                    // `unauthorized` fires both tokens at once: `ended` must win.
                    biased;
                    _ = ctx.life.ended.cancelled() => {
                        if let Some(shared) = weak.upgrade() {
                            Core { shared, bound: None }.end(&ctx, false).await;
                        }
                    }
                    _ = ctx.life.cancel.cancelled() => {}
                }
            }
        });
        Ok(ctx)
    }

    /// Stops `ctx`'s tasks, forgets it, optionally revokes its token.
    async fn end(&self, ctx: &Arc<SessionCtx>, revoke: bool) {
        {
            let mut sessions = self
                .shared
                .sessions
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let Some(at) = sessions.iter().position(|c| Arc::ptr_eq(c, ctx)) else {
                return;
            };
            sessions.remove(at);
        }
        // Forgotten as soon as it is no longer current: a restart from here
        // on does not resume it.
        self.persist();
        self.shared.emitter.session(&ctx.id, None);
        ctx.life.cancel.cancel();
        ctx.life.tracker.close();
        ctx.life.tracker.wait().await;
        ctx.cache.close().await;
        if revoke {
            match ctx.api.logout().await {
                Ok(()) | Err(ApiError::Unauthorized) => {}
                Err(e) => tracing::warn!(error = %e, "logout not confirmed by the server"),
            }
        }
    }

    // ---- session -------------------------------------------------------

    /// `session`: who this handle's session is, if signed in.
    pub fn session(&self) -> Option<SessionView> {
        self.current().map(|c| c.view())
    }

    /// `sign_in`: logs in, starts the session — its own cache and exactly
    /// one long-poll — beside the ones already signed in, and stores it.
    /// Signing in again as the same identity replaces that session.
    pub async fn sign_in(
        &self,
        server_url: &str,
        email: &str,
        password: &str,
    ) -> Result<SessionView, CommandError> {
        let url = server_url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(CommandError::invalid(
                "server_url",
                "expected http://host:port or https://host",
            ));
        }
        let api = Api::new(
            self.shared.http.clone(),
            url,
            self.shared.config.request_timeout,
        );
        let login = api.login(email, password).await.map_err(|e| match e {
            ApiError::Unauthorized => {
                CommandError::new(ErrorKind::Unauthorized, "wrong email or password")
            }
            other => other.into(),
        })?;
        let stored = StoredSession::from_login(url, login);
        let id = stored.id();
        lock(&self.shared.dormant).retain(|d| d.id() != id);
        if let Some(same) = self.all().into_iter().find(|c| *c.id == *id) {
            self.end(&same, true).await;
        }
        let view = stored.view();
        let token = api.with_token(&stored.token);
        if let Err(e) = self.start(stored).await {
            // Not started (its cache is held by another process, …): the
            // new token is of no use.
            let _ = token.logout().await;
            return Err(e);
        }
        self.persist();
        self.shared.emitter.session(&id, Some(view.clone()));
        Ok(view)
    }

    /// `sign_out`: stops everything of this handle's session and revokes
    /// its token; other sessions go on. With writes not yet on the server
    /// it refuses (`ErrorKind::Unsent`, saying how many) unless `force`:
    /// they stay in this identity's cache and are sent when it signs in
    /// again.
    pub async fn sign_out(&self, force: bool) -> Result<(), CommandError> {
        if let Some(ctx) = self.current() {
            let waiting = mutations::summary(&ctx.cache).await?.total();
            if waiting > 0 && !force {
                let writes = if waiting == 1 {
                    "write is"
                } else {
                    "writes are"
                };
                return Err(CommandError::new(
                    ErrorKind::Unsent,
                    format!(
                        "{waiting} {writes} not on the server yet; they stay on this computer \
                         and are sent when you sign in as {} again",
                        ctx.stored.user.email
                    ),
                ));
            }
            self.end(&ctx, true).await;
        }
        Ok(())
    }

    /// `retry_sync`: a poll loop waiting out a failure (a first sync that
    /// failed, offline) tries again now instead of at its next backoff.
    pub fn retry_sync(&self) -> Result<(), CommandError> {
        self.ctx()?.sync.kick.notify_waiters();
        Ok(())
    }

    /// `needs_attention`: every write not yet on the server — unsent,
    /// refused or in conflict — with the server's reason, oldest first.
    pub async fn needs_attention(&self) -> Result<Vec<Attention>, CommandError> {
        let ctx = self.ctx()?;
        Ok(mutations::attention(&ctx.cache).await?)
    }

    /// `retry_write`: resends a refused or conflicted write, with the
    /// user's fix (checked like a new write).
    pub async fn retry_write(
        &self,
        client_mutation_id: &str,
        fix: WriteFix,
    ) -> Result<Row, CommandError> {
        mutations::retry(&*self.ctx()?, client_mutation_id, fix).await
    }

    /// `discard_write`: drops a refused or conflicted write.
    pub async fn discard_write(&self, client_mutation_id: &str) -> Result<(), CommandError> {
        mutations::discard(&*self.ctx()?, client_mutation_id).await
    }

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
        let ctx = self.ctx()?;
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
        Ok(ctx.cache.list(&query).await?)
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

/// The one cache file of earlier versions becomes its identity's cache
/// (moved into `caches/`), so its unsent writes are sent at next sign-in.
async fn adopt_legacy_cache(config: &CoreConfig) {
    let legacy = config.data_dir.join(crate::config::LEGACY_CACHE_FILE);
    if !legacy.exists() {
        return;
    }
    let identity: Option<String> = match Cache::open(&legacy, Default::default()).await {
        Ok(cache) => {
            let found = sqlx::query_scalar("SELECT value FROM meta WHERE key = 'identity'")
                .fetch_optional(cache.pool())
                .await
                .ok()
                .flatten();
            cache.close().await;
            found
        }
        Err(e) => {
            tracing::warn!(error = %e, "the old cache file could not be read; left where it is");
            return;
        }
    };
    // "server|org|user"
    let Some((server, user)) = identity.as_deref().and_then(|i| {
        let (rest, user) = i.rsplit_once('|')?;
        let (server, _org) = rest.rsplit_once('|')?;
        Some((server.to_owned(), user.to_owned()))
    }) else {
        return;
    };
    let target = config.cache_path(&crate::session::cache_file(&server, &user));
    if target.exists() {
        return;
    }
    let moved = (|| -> std::io::Result<()> {
        std::fs::create_dir_all(target.parent().unwrap_or(&config.data_dir))?;
        std::fs::rename(&legacy, &target)?;
        for side in ["-wal", "-shm"] {
            let mut from = legacy.as_os_str().to_owned();
            from.push(side);
            let mut to = target.as_os_str().to_owned();
            to.push(side);
            if std::path::Path::new(&from).exists() {
                std::fs::rename(&from, &to)?;
            }
        }
        Ok(())
    })();
    match moved {
        Ok(()) => tracing::info!(to = %target.display(), "adopted the old cache file"),
        Err(e) => tracing::warn!(error = %e, "could not move the old cache file"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
