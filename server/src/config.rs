//! Command-line flags (clap, each with an environment fallback) and the
//! configuration they produce. Defaults are chosen so that `serve` with no
//! flags at all runs the embedded SQLite mode.

use std::{net::SocketAddr, time::Duration};

use clap::{Args, Parser, Subcommand};

use crate::realtime::HubConfig;

/// `ledgerline-server`: the Ledgerline API server.
#[derive(Debug, Parser)]
#[command(name = "ledgerline-server", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API.
    Serve(ServeArgs),
    /// Bulk-create demo organizations for load tests.
    Seed(SeedArgs),
    /// Give the database a new epoch, so every long-poll cursor issued
    /// before gets `reset: true`. Run it after restoring a backup.
    NewEpoch(DatabaseArgs),
}

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// `sqlite://FILE` (created if missing), `sqlite::memory:`, or `postgres://…`.
    #[arg(
        long,
        env = "LEDGERLINE_DATABASE_URL",
        default_value = "sqlite://ledgerline.db"
    )]
    pub database_url: String,
    /// Postgres connections this instance keeps open.
    #[arg(long, env = "LEDGERLINE_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
}

impl DatabaseArgs {
    pub fn store_options(&self) -> crate::store::StoreOptions {
        crate::store::StoreOptions {
            max_connections: self.db_max_connections,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "LEDGERLINE_ADDR", default_value = "127.0.0.1:8787")]
    pub addr: SocketAddr,

    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Start an empty database without the demo organizations (whose users
    /// all have the password `demo`): for any deployment others can reach.
    #[arg(long, env = "LEDGERLINE_NO_DEMO")]
    pub no_demo: bool,

    #[command(flatten)]
    pub realtime: RealtimeConfig,
}

#[derive(Debug, Clone, Args)]
pub struct SeedArgs {
    /// How many organizations to create.
    #[arg(long, default_value_t = 1000)]
    pub orgs: u64,
    /// Properties per organization.
    #[arg(long, default_value_t = 5)]
    pub properties: u32,
    /// Users per organization (the first is the owner, then a manager, an
    /// accountant, and staff).
    #[arg(long, default_value_t = 5)]
    pub users: u32,

    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// The realtime hub's knobs, and the retention of the durable event log.
#[derive(Debug, Clone, Args)]
pub struct RealtimeConfig {
    /// Longest a long-poll waits, and the default `timeout_ms`.
    #[arg(long, env = "LEDGERLINE_POLL_TIMEOUT_MS", default_value_t = 25_000)]
    pub poll_timeout_ms: u64,
    /// Waiting long-polls per org; past it polls are answered at once with `retry_after_ms`.
    #[arg(long, env = "LEDGERLINE_WAITER_CAP", default_value_t = 5_000)]
    pub waiter_cap: usize,
    /// Parked long-polls per token; past it the token's oldest is answered
    /// at once with `retry_after_ms`.
    #[arg(long, env = "LEDGERLINE_POLLS_PER_TOKEN", default_value_t = 16)]
    pub polls_per_token: usize,
    /// Events kept in memory per org.
    #[arg(long, env = "LEDGERLINE_BUFFER_CAPACITY", default_value_t = 1_024)]
    pub buffer_capacity: usize,
    /// How long an event stays in an org's memory buffer.
    #[arg(long, env = "LEDGERLINE_EVENT_TTL_MS", default_value_t = 300_000)]
    pub event_ttl_ms: u64,
    /// An org's buffer is dropped after this long without activity.
    #[arg(long, env = "LEDGERLINE_IDLE_EVICT_MS", default_value_t = 120_000)]
    pub idle_evict_ms: u64,
    /// Events older than this are pruned from the durable log (default 7 days).
    #[arg(long, env = "LEDGERLINE_EVENT_RETENTION_MS", default_value_t = 7 * 24 * 3_600_000)]
    pub event_retention_ms: u64,
    /// NATS server of a fleet (several instances sharing one Postgres):
    /// committed events, logouts and heartbeats go over it.
    #[arg(long, env = "LEDGERLINE_NATS_URL")]
    pub nats_url: Option<String>,
    /// How long a session looked up in the database is trusted from memory
    /// (logouts end it at once everywhere regardless); 0 turns the cache off.
    #[arg(long, env = "LEDGERLINE_SESSION_CACHE_MS", default_value_t = 60_000)]
    pub session_cache_ms: u64,
    #[command(flatten)]
    pub connections: ConnectionConfig,
}

/// The connection layer's knobs (`crate::conn`): how long a client may take
/// and how many connections are served at once.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ConnectionConfig {
    /// Longest a client may take to send a request's head, counted from the
    /// connection's start (first request) or the head's first byte; past it
    /// the connection is closed.
    #[arg(long, env = "LEDGERLINE_HEADER_TIMEOUT_MS", default_value_t = 10_000)]
    pub header_timeout_ms: u64,
    /// A keep-alive connection with no request in progress is closed after
    /// this long. A parked long-poll is a request in progress.
    #[arg(long, env = "LEDGERLINE_IDLE_TIMEOUT_MS", default_value_t = 60_000)]
    pub idle_timeout_ms: u64,
    /// Longest a request other than the long-poll may take (its body
    /// included); past it the answer is 503.
    #[arg(long, env = "LEDGERLINE_REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    pub request_timeout_ms: u64,
    /// Open connections served at once; past it a new connection gets an
    /// immediate 503 and is closed. Default: the open-file limit (raised to
    /// its hard limit at start) less a reserve for the server's own files.
    #[arg(long, env = "LEDGERLINE_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
}

impl ConnectionConfig {
    pub fn header_timeout(&self) -> Duration {
        Duration::from_millis(self.header_timeout_ms)
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            header_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            request_timeout_ms: 30_000,
            max_connections: None,
        }
    }
}

impl RealtimeConfig {
    pub fn poll_timeout(&self) -> Duration {
        Duration::from_millis(self.poll_timeout_ms)
    }

    pub fn event_ttl(&self) -> Duration {
        Duration::from_millis(self.event_ttl_ms)
    }

    pub fn idle_evict(&self) -> Duration {
        Duration::from_millis(self.idle_evict_ms)
    }

    pub fn session_cache_ttl(&self) -> Duration {
        Duration::from_millis(self.session_cache_ms)
    }

    pub fn event_retention(&self) -> Duration {
        Duration::from_millis(self.event_retention_ms)
    }

    /// The realtime hub's configuration; the hub's own defaults for what
    /// has no flag (the batch size).
    pub fn hub(&self) -> HubConfig {
        HubConfig {
            buffer_capacity: self.buffer_capacity,
            event_ttl: self.event_ttl(),
            idle_evict: self.idle_evict(),
            poll_timeout: self.poll_timeout(),
            waiter_cap: self.waiter_cap,
            polls_per_token: self.polls_per_token,
            ..HubConfig::default()
        }
    }
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        RealtimeConfig {
            poll_timeout_ms: 25_000,
            waiter_cap: 5_000,
            polls_per_token: 16,
            buffer_capacity: 1_024,
            event_ttl_ms: 300_000,
            idle_evict_ms: 120_000,
            event_retention_ms: 7 * 24 * 3_600_000,
            nats_url: None,
            session_cache_ms: 60_000,
            connections: ConnectionConfig::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serve_with_no_flags_uses_the_embedded_defaults() {
        let cli = Cli::try_parse_from(["ledgerline-server", "serve"]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("expected serve")
        };
        // Environment fallbacks could interfere; only check when unset.
        if std::env::var_os("LEDGERLINE_ADDR").is_none() {
            assert_eq!(args.addr.to_string(), "127.0.0.1:8787");
        }
        if std::env::var_os("LEDGERLINE_DATABASE_URL").is_none() {
            assert_eq!(args.database.database_url, "sqlite://ledgerline.db");
        }
        if std::env::var_os("LEDGERLINE_NO_DEMO").is_none() {
            assert!(!args.no_demo);
        }
        let d = RealtimeConfig::default();
        assert_eq!(args.realtime.poll_timeout_ms, d.poll_timeout_ms);
        assert_eq!(args.realtime.waiter_cap, d.waiter_cap);
        assert_eq!(args.realtime.polls_per_token, d.polls_per_token);
        assert_eq!(args.realtime.event_retention_ms, d.event_retention_ms);
        if std::env::vars().all(|(k, _)| !k.starts_with("LEDGERLINE_")) {
            assert_eq!(args.realtime.connections, d.connections);
        }
    }

    #[test]
    fn realtime_defaults_are_the_hubs() {
        assert_eq!(RealtimeConfig::default().hub(), HubConfig::default());
    }

    #[test]
    fn seed_takes_counts() {
        let cli = Cli::try_parse_from([
            "ledgerline-server",
            "seed",
            "--orgs",
            "7",
            "--properties",
            "2",
            "--users",
            "3",
        ])
        .unwrap();
        let Command::Seed(args) = cli.command else {
            panic!("expected seed")
        };
        assert_eq!((args.orgs, args.properties, args.users), (7, 2, 3));
    }
}
