//! The core's [`KvStore`] over a tauri-plugin-store file: the session and
//! the flags live in the same JSON file as the window layout. Every change
//! is saved to disk at once (they are rare and small), so a crash right
//! after signing in still finds the session on the next start.

use std::sync::Arc;

use ledgerline_client::{KvStore, StoreError};
use serde_json::Value;
use tauri::Runtime;
use tauri_plugin_store::Store;

pub struct PluginKv<R: Runtime> {
    store: Arc<Store<R>>,
}

impl<R: Runtime> PluginKv<R> {
    pub fn new(store: Arc<Store<R>>) -> Self {
        PluginKv { store }
    }

    fn save(&self) -> Result<(), StoreError> {
        self.store
            .save()
            .map_err(|e| StoreError::Other(format!("saving the settings store: {e}")))
    }
}

/// The store as the shell uses it beyond the core's [`KvStore`]: the window
/// layout changes often (every move), so it is written lazily — the plugin
/// saves it after a short debounce — and flushed at exit.
pub trait SettingsStore: KvStore {
    fn set_deferred(&self, key: &str, value: Value);
    fn flush(&self) -> Result<(), StoreError>;
}

impl<R: Runtime> SettingsStore for PluginKv<R> {
    fn set_deferred(&self, key: &str, value: Value) {
        self.store.set(key, value);
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.save()
    }
}

impl<R: Runtime> KvStore for PluginKv<R> {
    fn get(&self, key: &str) -> Result<Option<Value>, StoreError> {
        Ok(self.store.get(key))
    }

    fn set(&self, key: &str, value: Value) -> Result<(), StoreError> {
        self.store.set(key, value);
        self.save()
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        if self.store.delete(key) {
            self.save()?;
        }
        Ok(())
    }
}
