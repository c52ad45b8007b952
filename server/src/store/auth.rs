//! Users, sessions and the properties a user may see. Sessions hold only the
//! sha256 of their bearer token, an expiry, and a revocation time.

use chrono::{DateTime, Utc};
use ledgerline_wire::{OrgInfo, PropertyInfo, Role};

use super::{from_millis, Store, StoreError, Visible};

/// A user as login needs it.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: String,
    pub org_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
}

/// A live session: who the token belongs to.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub token_id: String,
    pub user_id: String,
    pub org_id: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
}

fn parse_role(s: &str) -> Result<Role, StoreError> {
    Role::parse(s).ok_or_else(|| StoreError::Corrupt(format!("role {s:?}")))
}

impl Store {
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        let row: Option<(String, String, String, String, String, String)> = sqlx::query_as(
            "SELECT id, org_id, email, name, role, password_hash FROM users WHERE email = $1",
        )
        .bind(email.trim().to_lowercase())
        .fetch_optional(&self.read)
        .await?;
        row.map(|(id, org_id, email, name, role, password_hash)| {
            Ok(UserRecord {
                id,
                org_id,
                email,
                name,
                role: parse_role(&role)?,
                password_hash,
            })
        })
        .transpose()
    }

    /// Record a new session; returns its id (the `token_id`).
    pub async fn create_session(
        &self,
        user: &UserRecord,
        token_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let id = uuid::Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO sessions (id, token_hash, user_id, org_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(token_hash)
        .bind(&user.id)
        .bind(&user.org_id)
        .bind(Utc::now().timestamp_millis())
        .bind(expires_at.timestamp_millis())
        .execute(&self.write)
        .await?;
        Ok(id)
    }

    /// The session a token hash belongs to, if it exists, has not expired at
    /// `now` and was not revoked.
    pub async fn live_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row: Option<(String, String, String, String, i64)> = sqlx::query_as(
            "SELECT s.id, s.user_id, s.org_id, u.role, s.expires_at
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now.timestamp_millis())
        .fetch_optional(&self.read)
        .await?;
        row.map(|(token_id, user_id, org_id, role, expires_at)| {
            Ok(SessionRecord {
                token_id,
                user_id,
                org_id,
                role: parse_role(&role)?,
                expires_at: from_millis(expires_at)
                    .ok_or_else(|| StoreError::Corrupt(format!("expires_at {expires_at}")))?,
            })
        })
        .transpose()
    }

    /// Revoke a session (logout); returns its token hash, for the session
    /// caches of the fleet. Revoking twice is harmless (`None`).
    pub async fn revoke_session(&self, token_id: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL
             RETURNING token_hash",
        )
        .bind(Utc::now().timestamp_millis())
        .bind(token_id)
        .fetch_optional(&self.write)
        .await?)
    }

    /// `(token_id, token_hash)` of the sessions revoked at or after `since`,
    /// by any instance.
    pub async fn revoked_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, token_hash FROM sessions WHERE revoked_at >= $1 ORDER BY revoked_at LIMIT 100000",
        )
        .bind(since.timestamp_millis())
        .fetch_all(&self.read)
        .await?)
    }

    /// The property ids a property-scoped user is assigned to.
    pub async fn assigned_properties(&self, user_id: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT property_id FROM user_properties WHERE user_id = $1 ORDER BY property_id",
        )
        .bind(user_id)
        .fetch_all(&self.read)
        .await?)
    }

    pub async fn org(&self, org_id: &str) -> Result<OrgInfo, StoreError> {
        let (id, name): (String, String) =
            sqlx::query_as("SELECT id, name FROM orgs WHERE id = $1")
                .bind(org_id)
                .fetch_optional(&self.read)
                .await?
                .ok_or(StoreError::NotFound)?;
        Ok(OrgInfo { id, name })
    }

    /// The org's reporting currency.
    pub async fn org_currency(&self, org_id: &str) -> Result<String, StoreError> {
        sqlx::query_scalar("SELECT currency FROM orgs WHERE id = $1")
            .bind(org_id)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// The org's properties the caller may see, by name.
    pub async fn properties(
        &self,
        org_id: &str,
        visible: Visible<'_>,
    ) -> Result<Vec<PropertyInfo>, StoreError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT id, name FROM properties WHERE org_id = $1 ORDER BY name, id")
                .bind(org_id)
                .fetch_all(&self.read)
                .await?;
        Ok(rows
            .into_iter()
            .filter(|(id, _)| visible.is_none_or(|v| v.contains(id)))
            .map(|(id, name)| PropertyInfo { id, name })
            .collect())
    }

    /// Whether `property_id` is one of the org's and visible to the caller.
    pub async fn property_visible(
        &self,
        org_id: &str,
        property_id: &str,
        visible: Visible<'_>,
    ) -> Result<bool, StoreError> {
        if visible.is_some_and(|v| !v.iter().any(|p| p == property_id)) {
            return Ok(false);
        }
        let found: Option<String> =
            sqlx::query_scalar("SELECT id FROM properties WHERE id = $1 AND org_id = $2")
                .bind(property_id)
                .bind(org_id)
                .fetch_optional(&self.read)
                .await?;
        Ok(found.is_some())
    }
}
