//! Signing in and out, a session's start and end, and its writes waiting
//! for attention.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::*;
use crate::{
    aggregates::{self, Reports},
    api::Api,
    cache::Cache,
    config::CoreConfig,
    emit::SessionEmitter,
    error::{ApiError, CommandError, ErrorKind},
    mutations, outbox, realtime,
    session::{Figures, Lifetime, SessionCtx, StatusCell, StoredSession, SyncState},
    telemetry::Telemetry,
    upload,
    view::{Attention, Row, SessionView, StatusState, WriteFix},
};

impl Core {
    pub(super) async fn start(
        &self,
        stored: StoredSession,
    ) -> Result<Arc<SessionCtx>, CommandError> {
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
        let folder = cache.spawn_folder(FOLD_WHEN_IDLE, ctx.life.cancel.clone());
        ctx.life.tracker.spawn(async move {
            let _ = folder.await;
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
    pub(super) async fn end(&self, ctx: &Arc<SessionCtx>, revoke: bool) {
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
}

/// The one cache file of earlier versions becomes its identity's cache
/// (moved into `caches/`), so its unsent writes are sent at next sign-in.
pub(super) async fn adopt_legacy_cache(config: &CoreConfig) {
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
