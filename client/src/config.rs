//! [`CoreConfig`]: where the cache lives and every interval the core waits
//! on. The defaults are the product's values (the numbers); tests
//! shorten them.

use std::{path::PathBuf, time::Duration};

/// The one cache file of earlier versions (every identity shared it); a
/// core adopts it as its identity's cache on first open.
pub const LEGACY_CACHE_FILE: &str = "ledgerline-cache.sqlite";
/// The directory (inside the data directory) of the per-identity caches.
pub const CACHE_DIR: &str = "caches";

#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// The app's data directory: one SQLite cache (rows, outbox, seq) per
    /// identity in its `caches/`, each created when first signed in.
    pub data_dir: PathBuf,
    /// First reconnect delay; doubles per failure up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Failures in a row after which the session is offline.
    pub offline_after_failures: u32,
    /// While offline the long-poll is probed (a poll answered at once with
    /// what changed after the cache's cursor) with jittered backoff, at most
    /// this long apart: Live within this long of the server's return.
    pub offline_probe_max: Duration,
    /// Degraded (probes answered, the long-poll failing): one probe every
    /// jitter(`offline_poll_min`, `offline_poll_max`).
    pub offline_poll_min: Duration,
    pub offline_poll_max: Duration,
    /// Back from a failure, every watched report is refreshed after
    /// jitter(0, this): a fleet coming back at once is not a herd.
    pub reconnect_refresh_spread: Duration,
    /// The share of sessions that upload their counters (`POST
    /// /v1/telemetry`), decided once per session: 0.02 in the product.
    pub telemetry_sample_rate: f64,
    /// A sampled session uploads every jitter(this / 2, this).
    pub telemetry_every: Duration,
    /// The `timeout_ms` asked of the server's long-poll.
    pub poll_timeout: Duration,
    /// How much longer than `poll_timeout` an answer may take before the
    /// request counts as stuck.
    pub poll_grace: Duration,
    /// A healthy poll loop beats this often.
    pub heartbeat: Duration,
    /// A loop silent for `takeover` ± `takeover_jitter` is replaced.
    pub takeover: Duration,
    pub takeover_jitter: Duration,
    /// Page size of a full snapshot (`GET /v1/transactions`).
    pub snapshot_page: u32,
    /// How long a cache write waits for a lock held elsewhere before it
    /// fails (and the poll loop backs off in the cache-error state).
    pub cache_busy_timeout: Duration,
    /// Timeout of every request other than the long-poll.
    pub request_timeout: Duration,
    /// Stale times honoured by `window_focused`.
    pub lists_stale: Duration,
    pub profit_loss_stale_live: Duration,
    pub profit_loss_stale_offline: Duration,
}

impl CoreConfig {
    /// The product defaults with the cache in `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> CoreConfig {
        CoreConfig {
            data_dir: data_dir.into(),
            ..CoreConfig::default()
        }
    }

    /// Where the cache of the identity whose file name is `file` lives.
    pub fn cache_path(&self, file: &str) -> PathBuf {
        self.data_dir.join(CACHE_DIR).join(file)
    }
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            data_dir: PathBuf::from("."),
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(8),
            offline_after_failures: 3,
            offline_probe_max: Duration::from_secs(5),
            offline_poll_min: Duration::from_secs(12),
            offline_poll_max: Duration::from_secs(18),
            reconnect_refresh_spread: Duration::from_secs(10),
            telemetry_sample_rate: 0.02,
            telemetry_every: Duration::from_secs(300),
            poll_timeout: Duration::from_secs(25),
            poll_grace: Duration::from_secs(5),
            heartbeat: Duration::from_secs(10),
            takeover: Duration::from_secs(18),
            takeover_jitter: Duration::from_secs(2),
            snapshot_page: 5000,
            cache_busy_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(15),
            lists_stale: Duration::from_secs(5),
            profit_loss_stale_live: Duration::from_secs(25),
            profit_loss_stale_offline: Duration::from_secs(10),
        }
    }
}
