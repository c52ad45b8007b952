//! What the cache keeps besides rows: the org's lock date (meta key
//! `lock_date`, moved by `settings.lock_date` events and snapshots) and each
//! row's history as last fetched, so both hold offline.

use chrono::{NaiveDate, Utc};
use ledgerline_wire::History;
use sqlx::SqliteConnection;

use super::Cache;

pub(crate) async fn set_lock_date(
    conn: &mut SqliteConnection,
    lock_date: Option<NaiveDate>,
) -> Result<(), sqlx::Error> {
    match lock_date {
        Some(day) => {
            sqlx::query(
                "INSERT INTO meta (key, value) VALUES ('lock_date', ?)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            )
            .bind(day.to_string())
            .execute(&mut *conn)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM meta WHERE key = 'lock_date'")
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

impl Cache {
    /// The org's lock date as last heard from the server.
    pub async fn lock_date(&self) -> Result<Option<NaiveDate>, sqlx::Error> {
        let v: Option<String> =
            sqlx::query_scalar("SELECT value FROM meta WHERE key = 'lock_date'")
                .fetch_optional(&self.pool)
                .await?;
        Ok(v.and_then(|v| v.parse().ok()))
    }

    /// Records the lock date the server reported (a snapshot's, or an
    /// event's). Returns whether it changed.
    pub async fn store_lock_date(&self, lock_date: Option<NaiveDate>) -> Result<bool, sqlx::Error> {
        if self.lock_date().await? == lock_date {
            return Ok(false);
        }
        let mut w = self.write_for(&[]).await?;
        set_lock_date(&mut w.tx, lock_date).await?;
        w.tx.commit().await?;
        Ok(true)
    }

    /// Keeps `history` as row `id`'s, for reading offline.
    pub async fn store_history(&self, id: &str, history: &History) -> Result<(), sqlx::Error> {
        let body = serde_json::to_string(history).map_err(|e| sqlx::Error::Encode(e.into()))?;
        let mut w = self.write_for(&[]).await?;
        sqlx::query(
            "INSERT INTO history (transaction_id, body, fetched_at) VALUES (?, ?, ?)
             ON CONFLICT(transaction_id) DO UPDATE SET body = excluded.body,
                 fetched_at = excluded.fetched_at",
        )
        .bind(id)
        .bind(body)
        .bind(Utc::now())
        .execute(&mut *w.tx)
        .await?;
        w.tx.commit().await
    }

    /// Row `id`'s history as last fetched, and when.
    pub async fn cached_history(
        &self,
        id: &str,
    ) -> Result<Option<(History, chrono::DateTime<Utc>)>, sqlx::Error> {
        let row: Option<(String, chrono::DateTime<Utc>)> =
            sqlx::query_as("SELECT body, fetched_at FROM history WHERE transaction_id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(body, at)| {
            serde_json::from_str(&body)
                .map(|h| (h, at))
                .map_err(|e| sqlx::Error::Decode(e.into()))
        })
        .transpose()
    }
}
