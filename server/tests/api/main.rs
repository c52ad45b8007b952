//! Integration tests: the real server on `127.0.0.1:0` over a fresh
//! database per test — SQLite, or Postgres with
//! `LEDGERLINE_TEST_DATABASE=postgres` (helpers.rs) — driven over HTTP.

// A test binary has no public API: `pub` in its modules means "for the tests".
#![allow(unreachable_pub)]

mod auth;
mod bad_input;
mod binary;
mod connections;
mod contract;
mod events;
mod fleet;
mod helpers;
mod idempotency;
mod integrity;
mod isolation;
mod operations;
mod poll_http;
mod raw;
mod realtime;
mod reports;
mod telemetry;
mod throttle;
mod token_cap;
mod transactions;
