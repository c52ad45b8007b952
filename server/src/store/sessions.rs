//! Pruning sessions nobody can use any more: expired, or revoked by logout.
//! A revoked or expired row is never looked up again (`live_session` skips
//! it), so deleting it changes nothing but the table's size; without this
//! every login ever made stays a row.

use chrono::{DateTime, TimeDelta, Utc};

use super::{Store, StoreError};

/// How long a revoked session's row outlives its revocation: the instances
/// of a fleet read recent revocations from it (`crate::fleet`'s sweep looks
/// a few seconds back), so it must not vanish at once.
pub const KEEP_REVOKED: TimeDelta = TimeDelta::minutes(5);

impl Store {
    /// Deletes sessions expired at `now`, or revoked more than
    /// [`KEEP_REVOKED`] before it; returns how many went.
    #[tracing::instrument(skip_all, err)]
    pub async fn prune_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR revoked_at < $2")
            .bind(now.timestamp_millis())
            .bind((now - KEEP_REVOKED).timestamp_millis())
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[tokio::test]
    async fn only_live_sessions_survive() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        store.ensure_demo().await.unwrap();
        let user = store
            .user_by_email("owner@demo.test")
            .await
            .unwrap()
            .unwrap();
        let now = Utc::now();
        let live = store
            .create_session(&user, "live", now + TimeDelta::days(1))
            .await
            .unwrap();
        store
            .create_session(&user, "expired", now - TimeDelta::seconds(1))
            .await
            .unwrap();
        let revoked = store
            .create_session(&user, "revoked", now + TimeDelta::days(1))
            .await
            .unwrap();
        store.revoke_session(&revoked).await.unwrap();
        // Just revoked: kept for the fleet's revocation sweep.
        assert_eq!(store.prune_sessions(now).await.unwrap(), 1);
        let later = now + KEEP_REVOKED + TimeDelta::seconds(1);
        assert_eq!(store.prune_sessions(later).await.unwrap(), 1);
        let left: Vec<String> = sqlx::query_scalar("SELECT id FROM sessions")
            .fetch_all(&store.read)
            .await
            .unwrap();
        assert_eq!(left, [live]);
    }
}
