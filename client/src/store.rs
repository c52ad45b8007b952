//! The small key-value storage the session and the flags persist in. The
//! Tauri shell backs [`KvStore`] with tauri-plugin-store; [`MemoryStore`]
//! serves tests and [`JsonFileStore`] serves tools that want a restart to
//! resume the session without a window.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::Mutex,
};

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("reading or writing {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a JSON object: {source}")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{0}")]
    Other(String),
}

/// Get, set and delete JSON values by key. Calls are short and synchronous
/// (tauri-plugin-store's are), so the core calls them from async code directly.
pub trait KvStore: Send + Sync + 'static {
    fn get(&self, key: &str) -> Result<Option<Value>, StoreError>;
    fn set(&self, key: &str, value: Value) -> Result<(), StoreError>;
    fn delete(&self, key: &str) -> Result<(), StoreError>;
}

/// Keeps values in memory; share one `Arc<MemoryStore>` between two cores to
/// simulate a restart.
#[derive(Debug, Default)]
pub struct MemoryStore {
    // A std Mutex: held only for a map operation, never across `.await`.
    values: Mutex<BTreeMap<String, Value>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl KvStore for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<Value>, StoreError> {
        Ok(lock(&self.values).get(key).cloned())
    }

    fn set(&self, key: &str, value: Value) -> Result<(), StoreError> {
        lock(&self.values).insert(key.to_owned(), value);
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        lock(&self.values).remove(key);
        Ok(())
    }
}

/// One JSON object in one file, rewritten whole (write to a temporary file,
/// then rename) on every change, so a crash never leaves half a file.
#[derive(Debug)]
pub struct JsonFileStore {
    path: PathBuf,
    // A std Mutex: held for a read-modify-write of a small file, never across `.await`.
    values: Mutex<BTreeMap<String, Value>>,
}

impl JsonFileStore {
    /// Opens `path`, or starts empty when it does not exist yet.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_owned();
        let values = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| StoreError::Corrupt {
                path: path.clone(),
                source,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(source) => return Err(StoreError::Io { path, source }),
        };
        Ok(JsonFileStore {
            path,
            values: Mutex::new(values),
        })
    }

    fn write(&self, values: &BTreeMap<String, Value>) -> Result<(), StoreError> {
        let io = |source| StoreError::Io {
            path: self.path.clone(),
            source,
        };
        let tmp = self.path.with_extension("tmp");
        let bytes =
            serde_json::to_vec_pretty(values).map_err(|e| StoreError::Other(e.to_string()))?;
        std::fs::write(&tmp, bytes).map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)
    }
}

impl KvStore for JsonFileStore {
    fn get(&self, key: &str) -> Result<Option<Value>, StoreError> {
        Ok(lock(&self.values).get(key).cloned())
    }

    fn set(&self, key: &str, value: Value) -> Result<(), StoreError> {
        let mut values = lock(&self.values);
        values.insert(key.to_owned(), value);
        self.write(&values)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        let mut values = lock(&self.values);
        if values.remove(key).is_some() {
            self.write(&values)?;
        }
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_file_store_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.json");
        let store = JsonFileStore::open(&path).unwrap();
        assert_eq!(store.get("a").unwrap(), None);
        store.set("a", json!({"x": 1})).unwrap();
        store.set("b", json!(true)).unwrap();
        store.delete("b").unwrap();
        drop(store);
        let store = JsonFileStore::open(&path).unwrap();
        assert_eq!(store.get("a").unwrap(), Some(json!({"x": 1})));
        assert_eq!(store.get("b").unwrap(), None);
    }

    #[test]
    fn memory_store_gets_what_was_set() {
        let store = MemoryStore::new();
        store.set("k", json!(5)).unwrap();
        assert_eq!(store.get("k").unwrap(), Some(json!(5)));
        store.delete("k").unwrap();
        assert_eq!(store.get("k").unwrap(), None);
    }
}
