//! Finance integrity on the desktop: the org's lock date (kept in the
//! cache, moved by `settings.lock_date` events, read at each snapshot and
//! each return to Live; writes into a locked period are refused before they
//! are queued, see [`crate::mutations`]) and each row's history (fetched,
//! and kept in the cache so it reads offline).

use std::sync::Arc;

use chrono::{NaiveDate, Utc};

use crate::{
    error::{ApiError, CommandError, ErrorKind},
    session::SessionCtx,
    view::{OrgSettings, RowHistory},
    Core,
};

/// Records the lock date the server reported and, when it moved, tells the
/// session's windows.
pub(crate) async fn lock_date_changed(
    ctx: &SessionCtx,
    lock_date: Option<NaiveDate>,
) -> Result<(), sqlx::Error> {
    if ctx.cache.store_lock_date(lock_date).await? {
        ctx.emitter.settings(OrgSettings::new(lock_date));
    }
    Ok(())
}

/// Reads the lock date from the server (a snapshot, a return to Live: an
/// event missed while away, or a cache older than lock dates).
pub(crate) async fn refresh_lock_date(ctx: &Arc<SessionCtx>) -> Result<(), ApiError> {
    let lock_date = ctx.api.lock_date().await?;
    lock_date_changed(ctx, lock_date)
        .await
        .map_err(|e| ApiError::Decode(format!("cache: {e}")))
}

/// Tells windows of a lock date an applied poll answer carried.
pub(crate) fn applied(ctx: &SessionCtx, lock_date: Option<Option<NaiveDate>>) {
    if let Some(lock_date) = lock_date {
        ctx.emitter.settings(OrgSettings::new(lock_date));
    }
}

impl Core {
    /// `org_settings`: the lock date as the cache has it (works offline).
    pub async fn org_settings(&self) -> Result<OrgSettings, CommandError> {
        let ctx = self.ctx()?;
        Ok(OrgSettings::new(ctx.cache.lock_date().await?))
    }

    /// `set_lock_date`: owners only, and only online — a lock date is the
    /// server's to hold, never queued.
    pub async fn set_lock_date(
        &self,
        lock_date: Option<NaiveDate>,
    ) -> Result<OrgSettings, CommandError> {
        let ctx = self.ctx()?;
        if ctx.stored.user.role != ledgerline_wire::Role::Owner {
            return Err(CommandError::new(
                ErrorKind::Invalid,
                "only owners set the lock date",
            ));
        }
        ctx.api.set_lock_date(lock_date).await?;
        lock_date_changed(&ctx, lock_date).await?;
        Ok(OrgSettings::new(lock_date))
    }

    /// `row_history`: every change to row `id`, from the server; offline (or
    /// with the server failing), the copy last fetched.
    pub async fn row_history(&self, id: &str) -> Result<RowHistory, CommandError> {
        let ctx = self.ctx()?;
        match ctx.api.history(id).await {
            Ok(history) => {
                ctx.cache.store_history(id, &history).await?;
                Ok(RowHistory {
                    items: history.items,
                    fetched_at: Utc::now(),
                    offline: false,
                })
            }
            Err(e) if e.is_retryable() => match ctx.cache.cached_history(id).await? {
                Some((history, fetched_at)) => Ok(RowHistory {
                    items: history.items,
                    fetched_at,
                    offline: true,
                }),
                None => Err(CommandError::new(
                    ErrorKind::Network,
                    "the history is not cached yet and the server cannot be reached",
                )),
            },
            Err(ApiError::Unauthorized) => {
                ctx.unauthorized();
                Err(ApiError::Unauthorized.into())
            }
            Err(e) => Err(e.into()),
        }
    }
}
