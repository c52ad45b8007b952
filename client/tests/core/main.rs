//! Integration tests of the desktop core against the REAL server, run
//! in-process on 127.0.0.1 with its own SQLite file, and a real SQLite cache
//! file per core. One test binary; helpers in `helpers.rs`.

mod helpers;
mod integrity;
mod mutations;
mod offline;
mod paging;
mod races;
mod realtime;
mod resync;
mod session;
mod stream;
