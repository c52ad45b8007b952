//! Integration tests: the real server on `127.0.0.1:0` over a fresh SQLite
//! file per test, driven over HTTP.

mod auth;
mod bad_input;
mod binary;
mod events;
mod helpers;
mod idempotency;
mod isolation;
mod operations;
mod reports;
mod transactions;
