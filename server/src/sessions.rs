//! The in-process session cache: who a bearer token belongs to, without a
//! database query per request. A long-poll is re-sent every ~25 s by every
//! signed-in window's session; at fleet scale that is millions of lookups a
//! minute, so the poll path reads this cache and only a miss (a token this
//! instance has not seen for [`SessionCache::ttl`]) goes to the store.
//!
//! Revocation must still be prompt everywhere: logout on any instance
//! invalidates the entry here ([`SessionCache::revoke`], also called for
//! revocations heard over the bus), and on a fleet a sweep reads the
//! sessions revoked in the last few seconds once a second
//! ([`SessionCache::sweep_revocations`]), so a lost bus message delays a
//! revocation by at most about a second. Expiry is checked on every hit.
//!
//! The org's property ids (which a poll's `property_id` list is checked
//! against) are cached the same way; properties are created only with their
//! org, so they cannot go stale.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use moka::sync::Cache;

use crate::{
    api::principal::Principal,
    store::{Store, StoreError},
};

/// Longest a session is trusted without asking the store again.
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);
/// Most sessions one instance keeps (about 0.4 KB each).
const MAX_SESSIONS: u64 = 2_000_000;
const MAX_ORGS: u64 = 1_000_000;

#[derive(Debug, Clone)]
struct Entry {
    principal: Arc<Principal>,
    expires_at: DateTime<Utc>,
}

/// Cheap to clone.
#[derive(Clone)]
pub struct SessionCache {
    /// Keyed by the token's sha256 (what the store keeps), never the token.
    sessions: Cache<String, Entry>,
    /// Org id → its property ids.
    org_properties: Cache<String, Arc<[String]>>,
    /// Hashes revoked in the last `ttl`: a lookup that read the session
    /// just before its revocation committed must not cache it afterwards.
    revoked: Cache<String, ()>,
    ttl: Duration,
}

impl std::fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCache")
            .field("sessions", &self.sessions.entry_count())
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl SessionCache {
    /// A cache trusting an entry for `ttl` (zero: no caching at all).
    pub fn new(ttl: Duration) -> Self {
        SessionCache {
            sessions: Cache::builder()
                .max_capacity(MAX_SESSIONS)
                .time_to_live(ttl.max(Duration::from_millis(1)))
                .build(),
            org_properties: Cache::builder()
                .max_capacity(MAX_ORGS)
                .time_to_live(ttl.max(Duration::from_millis(1)))
                .build(),
            revoked: Cache::builder()
                .max_capacity(MAX_SESSIONS)
                .time_to_live(ttl.max(Duration::from_millis(1)))
                .build(),
            ttl,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The live session of the token whose hash is `token_hash`, from the
    /// cache or the store; `None` for an unknown, expired or revoked token.
    pub async fn principal(
        &self,
        store: &Store,
        token_hash: &str,
    ) -> Result<Option<Arc<Principal>>, StoreError> {
        let now = Utc::now();
        if let Some(entry) = self.sessions.get(token_hash) {
            if entry.expires_at > now {
                return Ok(Some(entry.principal));
            }
            self.sessions.invalidate(token_hash);
            return Ok(None);
        }
        let Some(session) = store.live_session(token_hash, now).await? else {
            return Ok(None);
        };
        let properties = if session.role.is_property_scoped() {
            Some(store.assigned_properties(&session.user_id).await?)
        } else {
            None
        };
        let principal = Arc::new(Principal {
            user_id: session.user_id,
            org_id: session.org_id,
            role: session.role,
            token_id: session.token_id,
            properties,
        });
        if !self.ttl.is_zero() {
            self.sessions.insert(
                token_hash.to_owned(),
                Entry {
                    principal: Arc::clone(&principal),
                    expires_at: session.expires_at,
                },
            );
            // `revoke` marks before it invalidates; checking after the
            // insert means one of the two removes the entry.
            if self.revoked.contains_key(token_hash) {
                self.sessions.invalidate(token_hash);
                return Ok(None);
            }
        }
        Ok(Some(principal))
    }

    /// The ids of every property of `org_id`.
    pub async fn org_properties(
        &self,
        store: &Store,
        org_id: &str,
    ) -> Result<Arc<[String]>, StoreError> {
        if let Some(ids) = self.org_properties.get(org_id) {
            return Ok(ids);
        }
        let ids: Arc<[String]> = store
            .properties(org_id, None)
            .await?
            .into_iter()
            .map(|p| p.id)
            .collect();
        if !self.ttl.is_zero() {
            self.org_properties
                .insert(org_id.to_owned(), Arc::clone(&ids));
        }
        Ok(ids)
    }

    /// Forgets the token whose hash is `token_hash` (it was revoked here or
    /// on another instance): its next request asks the store, which refuses it.
    pub fn revoke(&self, token_hash: &str) {
        self.revoked.insert(token_hash.to_owned(), ());
        self.sessions.invalidate(token_hash);
    }

    /// Forgets every session (the bus reconnected: revocations may have been
    /// missed while it was down).
    pub fn clear(&self) {
        self.sessions.invalidate_all();
    }

    /// Applies the revocations committed since `since` (by any instance):
    /// returns their token ids, for the hub to end their parked polls.
    pub async fn sweep_revocations(
        &self,
        store: &Store,
        since: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let revoked = store.revoked_since(since).await?;
        Ok(revoked
            .into_iter()
            .map(|(token_id, token_hash)| {
                self.revoke(&token_hash);
                token_id
            })
            .collect())
    }
}
