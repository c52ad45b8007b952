//! Integration tests: the real server on `127.0.0.1:0` over a fresh SQLite
//! file per test, driven over HTTP.

// A test binary has no public API: `pub` in its modules means "for the tests".
#![allow(unreachable_pub)]

mod helpers;
mod realtime;
