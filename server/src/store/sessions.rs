//! Pruning sessions nobody can use any more: expired, or revoked by logout.
//! A revoked or expired row is never looked up again (`live_session` skips
//! it), so deleting it changes nothing but the table's size; without this
//! every login ever made stays a row.

use chrono::{DateTime, Utc};

use super::{Store, StoreError};

impl Store {
    /// Deletes sessions expired at `now` or revoked; returns how many went.
    #[tracing::instrument(skip_all, err)]
    pub async fn prune_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done =
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR revoked_at IS NOT NULL")
                .bind(now.timestamp_millis())
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
        assert_eq!(store.prune_sessions(now).await.unwrap(), 2);
        let left: Vec<String> = sqlx::query_scalar("SELECT id FROM sessions")
            .fetch_all(&store.read)
            .await
            .unwrap();
        assert_eq!(left, [live]);
    }
}
