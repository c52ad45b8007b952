//! The environment knobs of the desktop app, read once at start.
//!
//! | variable | effect |
//! |---|---|
//! | `LEDGERLINE_DATA_DIR` | where the cache (SQLite) and the store file live; default the OS app data dir |
//! | `LEDGERLINE_SERVER`, `LEDGERLINE_EMAIL`, `LEDGERLINE_PASSWORD` | all three: sign in without the form (kiosks, automation); `LEDGERLINE_EMAIL=a@x,b@y` signs in several accounts side by side, with one password for all or a comma-separated list |
//! | `LEDGERLINE_BACKOFF_BASE_MS`, `LEDGERLINE_BACKOFF_MAX_MS` | reconnect backoff (500 ms doubling to 8 s) |
//! | `LEDGERLINE_OFFLINE_AFTER_FAILURES` | failures in a row before "offline" (3) |
//! | `LEDGERLINE_OFFLINE_PROBE_MAX_MS` | offline, the most time between probes of the long-poll (5 000): Live within this long of the server's return |
//! | `LEDGERLINE_OFFLINE_POLL_MIN_MS`, `LEDGERLINE_OFFLINE_POLL_MAX_MS` | probe cadence while the server answers probes but not long-polls, jittered (12 000–18 000) |
//! | `LEDGERLINE_RECONNECT_REFRESH_SPREAD_MS` | back from a failure, reports are refreshed after jitter(0, this) (10 000) |
//! | `LEDGERLINE_TELEMETRY_SAMPLE_RATE` | share of sessions uploading their counters, 0–1 (0.02) |
//! | `LEDGERLINE_POLL_TIMEOUT_MS` | the long-poll timeout asked of the server (25 000) |
//! | `LEDGERLINE_REQUEST_TIMEOUT_MS` | every other request (15 000) |
//! | `FIN_LEADER_ENABLED`, `FIN_DERIVED_DEBOUNCE_MS` | the core's flags; read by the core itself (store, then environment) |
//!
//! The defaults are the core's product values ([`CoreConfig::default`]);
//! the interval knobs exist so tests can shorten them.

use std::{path::PathBuf, time::Duration};

use ledgerline_client::{CommandError, Core, CoreConfig};

pub const DATA_DIR: &str = "LEDGERLINE_DATA_DIR";
pub const SERVER: &str = "LEDGERLINE_SERVER";
pub const EMAIL: &str = "LEDGERLINE_EMAIL";
pub const PASSWORD: &str = "LEDGERLINE_PASSWORD";

/// Picks one interval field of a [`CoreConfig`].
type Field = fn(&mut CoreConfig) -> &mut Duration;

/// Each interval knob and the [`CoreConfig`] field it sets.
const DURATION_KNOBS: &[(&str, Field)] = &[
    ("LEDGERLINE_BACKOFF_BASE_MS", |c| &mut c.backoff_base),
    ("LEDGERLINE_BACKOFF_MAX_MS", |c| &mut c.backoff_max),
    ("LEDGERLINE_OFFLINE_PROBE_MAX_MS", |c| {
        &mut c.offline_probe_max
    }),
    ("LEDGERLINE_RECONNECT_REFRESH_SPREAD_MS", |c| {
        &mut c.reconnect_refresh_spread
    }),
    ("LEDGERLINE_OFFLINE_POLL_MIN_MS", |c| {
        &mut c.offline_poll_min
    }),
    ("LEDGERLINE_OFFLINE_POLL_MAX_MS", |c| {
        &mut c.offline_poll_max
    }),
    ("LEDGERLINE_POLL_TIMEOUT_MS", |c| &mut c.poll_timeout),
    ("LEDGERLINE_REQUEST_TIMEOUT_MS", |c| &mut c.request_timeout),
];
const OFFLINE_AFTER_FAILURES: &str = "LEDGERLINE_OFFLINE_AFTER_FAILURES";
const TELEMETRY_SAMPLE_RATE: &str = "LEDGERLINE_TELEMETRY_SAMPLE_RATE";

/// What the environment asked for.
#[derive(Debug, Clone)]
pub struct ShellConfig {
    pub data_dir: Option<PathBuf>,
    pub auto_sign_in: Option<AutoSignIn>,
    /// The core's intervals, with `data_dir` still to be set.
    pub core: CoreConfig,
}

/// `LEDGERLINE_SERVER` + `LEDGERLINE_EMAIL` + `LEDGERLINE_PASSWORD`: one
/// account, or several side by side (`LEDGERLINE_EMAIL=a@x,b@y` with one
/// password for all or a comma-separated list of as many).
#[derive(Clone, PartialEq, Eq)]
pub struct AutoSignIn {
    pub server_url: String,
    /// `(email, password)`, in the order given; the first is the session
    /// of windows not bound to another.
    pub accounts: Vec<(String, String)>,
}

impl std::fmt::Debug for AutoSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let emails: Vec<&str> = self.accounts.iter().map(|(e, _)| e.as_str()).collect();
        f.debug_struct("AutoSignIn")
            .field("server_url", &self.server_url)
            .field("emails", &emails)
            .finish_non_exhaustive()
    }
}

impl AutoSignIn {
    fn parse(server_url: String, emails: &str, passwords: &str) -> Result<AutoSignIn, String> {
        let split = |s: &str| -> Vec<String> {
            s.split(',')
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect()
        };
        let emails = split(emails);
        // A password may contain a comma: split only when the counts match.
        let passwords = match split(passwords) {
            list if list.len() == emails.len() => list,
            _ => vec![passwords.to_owned(); emails.len()],
        };
        if emails.is_empty() {
            return Err(format!("{EMAIL} names no account"));
        }
        Ok(AutoSignIn {
            server_url,
            accounts: emails.into_iter().zip(passwords).collect(),
        })
    }

    /// Signs each account in, unless a stored session is already that user
    /// on that server (then its cache and running long-poll are kept).
    pub async fn sign_in(&self, core: &Core) {
        for (email, password) in &self.accounts {
            let signed_in = core.sessions().iter().any(|s| {
                s.server_url.trim_end_matches('/') == self.server_url.trim_end_matches('/')
                    && s.user.email.eq_ignore_ascii_case(email)
            });
            if signed_in {
                continue;
            }
            match core.sign_in(&self.server_url, email, password).await {
                Ok(view) => {
                    tracing::info!(email = %view.user.email, "signed in from the environment")
                }
                Err(CommandError { kind, message, .. }) => {
                    tracing::error!(?kind, %message, %email, "sign-in from the environment failed")
                }
            }
        }
    }
}

impl ShellConfig {
    /// Reads the knobs through `env` (normally `std::env::var`). Empty
    /// values count as unset; an unparsable number is an error, not a
    /// silent default.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<ShellConfig, String> {
        let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let mut core = CoreConfig::default();
        for (name, field) in DURATION_KNOBS {
            if let Some(v) = get(name) {
                *field(&mut core) = Duration::from_millis(parse_number(name, &v)?);
            }
        }
        if let Some(v) = get(OFFLINE_AFTER_FAILURES) {
            core.offline_after_failures = parse_number(OFFLINE_AFTER_FAILURES, &v)?
                .try_into()
                .map_err(|_| format!("{OFFLINE_AFTER_FAILURES} is too large"))?;
        }
        if let Some(v) = get(TELEMETRY_SAMPLE_RATE) {
            core.telemetry_sample_rate = v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or_else(|| {
                    format!("{TELEMETRY_SAMPLE_RATE}={v:?} is not a number from 0 to 1")
                })?;
        }
        if core.offline_poll_min > core.offline_poll_max {
            return Err(
                "LEDGERLINE_OFFLINE_POLL_MIN_MS is above LEDGERLINE_OFFLINE_POLL_MAX_MS".into(),
            );
        }
        let auto_sign_in = match (get(SERVER), get(EMAIL), get(PASSWORD)) {
            (Some(server_url), Some(email), Some(password)) => {
                Some(AutoSignIn::parse(server_url, &email, &password)?)
            }
            (None, None, None) => None,
            _ => {
                return Err(format!(
                    "set all of {SERVER}, {EMAIL} and {PASSWORD} to sign in from the environment, or none"
                ))
            }
        };
        Ok(ShellConfig {
            data_dir: get(DATA_DIR).map(PathBuf::from),
            auto_sign_in,
            core,
        })
    }

    /// The core's configuration with its caches in `data_dir`.
    pub fn core_config(&self, data_dir: &std::path::Path) -> CoreConfig {
        CoreConfig {
            data_dir: data_dir.to_owned(),
            ..self.core.clone()
        }
    }
}

fn parse_number(name: &str, value: &str) -> Result<u64, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("{name}={value:?} is not a whole number"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<ShellConfig, String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ShellConfig::from_env(|name| map.get(name).cloned())
    }

    #[test]
    fn no_environment_means_product_defaults() {
        let c = from(&[]).unwrap();
        assert!(c.data_dir.is_none());
        assert!(c.auto_sign_in.is_none());
        assert_eq!(c.core.offline_poll_min, Duration::from_secs(12));
        assert_eq!(c.core.offline_poll_max, Duration::from_secs(18));
    }

    #[test]
    fn interval_knobs_override_the_core_config() {
        let c = from(&[
            ("LEDGERLINE_OFFLINE_POLL_MIN_MS", "1500"),
            ("LEDGERLINE_OFFLINE_POLL_MAX_MS", "2500"),
            ("LEDGERLINE_BACKOFF_BASE_MS", "100"),
            ("LEDGERLINE_OFFLINE_AFTER_FAILURES", "2"),
            ("LEDGERLINE_OFFLINE_PROBE_MAX_MS", "900"),
            ("LEDGERLINE_TELEMETRY_SAMPLE_RATE", "1"),
            ("LEDGERLINE_DATA_DIR", "/tmp/x"),
        ])
        .unwrap();
        assert_eq!(c.core.offline_probe_max, Duration::from_millis(900));
        assert_eq!(c.core.telemetry_sample_rate, 1.0);
        assert_eq!(c.core.offline_poll_min, Duration::from_millis(1500));
        assert_eq!(c.core.offline_poll_max, Duration::from_millis(2500));
        assert_eq!(c.core.backoff_base, Duration::from_millis(100));
        assert_eq!(c.core.offline_after_failures, 2);
        let core = c.core_config(c.data_dir.as_deref().unwrap());
        assert_eq!(core.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(
            core.cache_path("a.sqlite"),
            PathBuf::from("/tmp/x/caches/a.sqlite")
        );
    }

    #[test]
    fn bad_numbers_and_inverted_ranges_are_errors() {
        assert!(from(&[("LEDGERLINE_BACKOFF_BASE_MS", "soon")]).is_err());
        assert!(from(&[
            ("LEDGERLINE_OFFLINE_POLL_MIN_MS", "5000"),
            ("LEDGERLINE_OFFLINE_POLL_MAX_MS", "1000"),
        ])
        .is_err());
    }

    #[test]
    fn auto_sign_in_needs_all_three_and_hides_the_password() {
        let c = from(&[
            ("LEDGERLINE_SERVER", "http://127.0.0.1:1"),
            ("LEDGERLINE_EMAIL", "owner@demo.test"),
            ("LEDGERLINE_PASSWORD", "demo"),
        ])
        .unwrap();
        let auto = c.auto_sign_in.unwrap();
        assert_eq!(
            auto.accounts,
            [("owner@demo.test".to_owned(), "demo".to_owned())]
        );
        assert!(!format!("{auto:?}").contains("demo\""));
        assert!(from(&[("LEDGERLINE_EMAIL", "owner@demo.test")]).is_err());
    }

    #[test]
    fn several_accounts_sign_in_side_by_side_with_one_password_or_one_each() {
        let server = ("LEDGERLINE_SERVER", "http://127.0.0.1:1");
        let one = from(&[
            server,
            ("LEDGERLINE_EMAIL", "a@x, b@y"),
            ("LEDGERLINE_PASSWORD", "pw"),
        ])
        .unwrap()
        .auto_sign_in
        .unwrap();
        assert_eq!(
            one.accounts,
            [
                ("a@x".to_owned(), "pw".to_owned()),
                ("b@y".to_owned(), "pw".to_owned())
            ]
        );
        let each = from(&[
            server,
            ("LEDGERLINE_EMAIL", "a@x,b@y"),
            ("LEDGERLINE_PASSWORD", "p1,p2"),
        ])
        .unwrap()
        .auto_sign_in
        .unwrap();
        assert_eq!(each.accounts[1], ("b@y".to_owned(), "p2".to_owned()));
    }
}
