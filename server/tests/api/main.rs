//! Integration tests: the real server on `127.0.0.1:0` over a fresh SQLite
//! file per test, driven over HTTP.

// A test binary has no public API: `pub` in its modules means "for the tests".
#![allow(unreachable_pub)]

mod auth;
mod bad_input;
mod binary;
mod contract;
mod events;
mod helpers;
mod idempotency;
mod isolation;
mod operations;
mod realtime;
mod reports;
mod throttle;
mod token_cap;
mod transactions;
