//! `ledgerline-loadgen`: the side-by-side long-poll benchmark's generator.
//!
//! It parks N long-polls over M orgs on the system under test (Ledgerline,
//! Nchan or Pushpin, chosen by `--target`), reads the server's RSS before and
//! after, publishes events at a fixed rate, and reports publish → delivery
//! latency, deliveries per second and lost deliveries. `scripts/bench-compare.sh`
//! runs it against all three, each pinned to its own core.
//!
//! # Layout
//! - `http`: a minimal HTTP/1.1 keep-alive client connection and its parser.
//! - `target`: the protocol adapters — subscribe request, delivery parsing,
//!   publish request — for each system.
//! - `waiter`: the task behind one parked long-poll, and the shared counters.
//! - `publisher`: the open-loop publish schedule over a connection pool.
//! - `run`: one measurement from opening waiters to the summary.
//! - `stats`: percentiles. `rss`: `/proc/<pid>/status` parsing.
//! - `sessions`: minting bearer tokens for seeded Ledgerline orgs.
//! - `grip`: the tiny GRIP backend Pushpin proxies subscribe requests to.
//! - `fill`: the many-orgs test (one event per org, then idle eviction).
//! - `rate`: poll requests per second per server CPU-second (polls that
//!   answer at once).

pub mod fill;
pub mod grip;
pub mod http;
pub mod publisher;
pub mod rate;
pub mod rss;
pub mod run;
pub mod sessions;
pub mod stats;
pub mod target;
pub mod waiter;
