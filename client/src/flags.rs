//! The two runtime flags: `FIN_LEADER_ENABLED` (default true; false runs one
//! long-poll per subscriber, the rollback behaviour) and
//! `FIN_DERIVED_DEBOUNCE_MS` (default 1000). Read from the [`KvStore`] under
//! their own names, overridden at start by environment variables of the same
//! names, changeable at runtime with [`Flags::set`] (which persists the value
//! and wins over the environment until the next start).

use std::sync::{
    atomic::{AtomicBool, AtomicU64, Ordering},
    Arc,
};

use serde_json::Value;
use tokio::sync::watch;

use crate::{
    error::CommandError,
    store::{KvStore, StoreError},
    view::FlagValues,
};

pub const LEADER_ENABLED: &str = "FIN_LEADER_ENABLED";
pub const DERIVED_DEBOUNCE_MS: &str = "FIN_DERIVED_DEBOUNCE_MS";

pub const DEFAULT_DEBOUNCE_MS: u64 = 1000;
/// Past an hour a "debounce" is an outage.
const MAX_DEBOUNCE_MS: u64 = 3_600_000;

/// The flags in force. Cheap to clone; reads are atomic loads.
#[derive(Clone)]
pub struct Flags {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn KvStore>,
    leader_enabled: AtomicBool,
    debounce_ms: AtomicU64,
    /// Bumped on every change so loops that depend on a flag can react.
    changed: watch::Sender<FlagValues>,
}

impl Flags {
    /// Stored values, then `env` (normally `std::env::var`) on top.
    pub fn load(
        store: Arc<dyn KvStore>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Flags, StoreError> {
        let mut leader = store
            .get(LEADER_ENABLED)?
            .and_then(|v| parse_bool(&v))
            .unwrap_or(true);
        let mut debounce = store
            .get(DERIVED_DEBOUNCE_MS)?
            .and_then(|v| parse_ms(&v))
            .unwrap_or(DEFAULT_DEBOUNCE_MS);
        if let Some(v) = env(LEADER_ENABLED) {
            match parse_bool(&Value::String(v.clone())) {
                Some(b) => leader = b,
                None => tracing::warn!(value = %v, "ignoring unparsable {LEADER_ENABLED}"),
            }
        }
        if let Some(v) = env(DERIVED_DEBOUNCE_MS) {
            match parse_ms(&Value::String(v.clone())) {
                Some(ms) => debounce = ms,
                None => tracing::warn!(value = %v, "ignoring unparsable {DERIVED_DEBOUNCE_MS}"),
            }
        }
        let values = FlagValues {
            leader_enabled: leader,
            derived_debounce_ms: debounce,
        };
        Ok(Flags {
            inner: Arc::new(Inner {
                store,
                leader_enabled: AtomicBool::new(leader),
                debounce_ms: AtomicU64::new(debounce),
                changed: watch::Sender::new(values),
            }),
        })
    }

    pub fn leader_enabled(&self) -> bool {
        self.inner.leader_enabled.load(Ordering::Relaxed)
    }

    pub fn derived_debounce_ms(&self) -> u64 {
        self.inner.debounce_ms.load(Ordering::Relaxed)
    }

    pub fn values(&self) -> FlagValues {
        FlagValues {
            leader_enabled: self.leader_enabled(),
            derived_debounce_ms: self.derived_debounce_ms(),
        }
    }

    /// Sets a flag by name, persists it, and tells whoever watches.
    pub fn set(&self, name: &str, value: Value) -> Result<FlagValues, CommandError> {
        match name {
            LEADER_ENABLED => {
                let b = parse_bool(&value)
                    .ok_or_else(|| CommandError::invalid("value", "expected true or false"))?;
                self.inner.store.set(name, Value::Bool(b))?;
                self.inner.leader_enabled.store(b, Ordering::Relaxed);
            }
            DERIVED_DEBOUNCE_MS => {
                let ms = parse_ms(&value).ok_or_else(|| {
                    CommandError::invalid("value", format!("expected 0..={MAX_DEBOUNCE_MS} ms"))
                })?;
                self.inner.store.set(name, Value::from(ms))?;
                self.inner.debounce_ms.store(ms, Ordering::Relaxed);
            }
            other => {
                return Err(CommandError::invalid(
                    "name",
                    format!(
                    "unknown flag {other:?}; expected {LEADER_ENABLED} or {DERIVED_DEBOUNCE_MS}"
                ),
                ))
            }
        }
        let values = self.values();
        self.inner.changed.send_replace(values);
        Ok(values)
    }

    /// Follows every change of the flags.
    pub fn watch(&self) -> watch::Receiver<FlagValues> {
        self.inner.changed.subscribe()
    }
}

fn parse_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Some(true),
            "0" | "false" | "no" | "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn parse_ms(v: &Value) -> Option<u64> {
    let ms = match v {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (ms <= MAX_DEBOUNCE_MS).then_some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use serde_json::json;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults_when_nothing_is_stored() {
        let flags = Flags::load(Arc::new(MemoryStore::new()), no_env).unwrap();
        assert!(flags.leader_enabled());
        assert_eq!(flags.derived_debounce_ms(), 1000);
    }

    #[test]
    fn stored_values_are_read_and_env_overrides_them() {
        let store = Arc::new(MemoryStore::new());
        store.set(LEADER_ENABLED, json!(false)).unwrap();
        store.set(DERIVED_DEBOUNCE_MS, json!(250)).unwrap();
        let flags = Flags::load(store.clone(), no_env).unwrap();
        assert!(!flags.leader_enabled());
        assert_eq!(flags.derived_debounce_ms(), 250);

        let env = |name: &str| match name {
            LEADER_ENABLED => Some("true".to_owned()),
            DERIVED_DEBOUNCE_MS => Some("40".to_owned()),
            _ => None,
        };
        let flags = Flags::load(store, env).unwrap();
        assert!(flags.leader_enabled());
        assert_eq!(flags.derived_debounce_ms(), 40);
    }

    #[test]
    fn unparsable_env_is_ignored() {
        let env = |name: &str| (name == DERIVED_DEBOUNCE_MS).then(|| "soon".to_owned());
        let flags = Flags::load(Arc::new(MemoryStore::new()), env).unwrap();
        assert_eq!(flags.derived_debounce_ms(), 1000);
    }

    #[test]
    fn set_persists_and_notifies() {
        let store = Arc::new(MemoryStore::new());
        let flags = Flags::load(store.clone(), no_env).unwrap();
        let mut changes = flags.watch();
        flags.set(LEADER_ENABLED, json!(false)).unwrap();
        flags.set(DERIVED_DEBOUNCE_MS, json!("300")).unwrap();
        assert!(changes.has_changed().unwrap());
        assert_eq!(
            *changes.borrow_and_update(),
            FlagValues {
                leader_enabled: false,
                derived_debounce_ms: 300
            }
        );
        assert_eq!(store.get(LEADER_ENABLED).unwrap(), Some(json!(false)));
        assert_eq!(store.get(DERIVED_DEBOUNCE_MS).unwrap(), Some(json!(300)));
        assert!(flags.set("FIN_NOPE", json!(1)).is_err());
        assert!(flags.set(DERIVED_DEBOUNCE_MS, json!(-1)).is_err());
        // A restart reads what was set.
        let again = Flags::load(store, no_env).unwrap();
        assert_eq!(again.values(), flags.values());
    }
}
