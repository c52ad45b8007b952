#!/usr/bin/env bash
# Every check Ledgerline has, from a fresh Debian 12 machine: installs what is
# missing, then formatting, lints, the UI's build and unit tests, every
# Rust test — unit, integration against the real server, and the end-to-end
# run of the real app under Xvfb with WebDriver — and schemathesis against
# the real server's OpenAPI document.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
setup_main all
cd "$ROOT"

# A private Postgres and NATS on free loopback ports, stopped by PID on exit
# (also when a step fails): LEDGERLINE_TEST_PG_URL, LEDGERLINE_TEST_NATS_URL,
# and LEDGERLINE_NATS_SERVER for the tests that run nats-server themselves.
source "$ROOT/scripts/services.sh"
ensure_services_installed
services_trap
pg_start
nats_start

# Test builds without debug info: half the target size, faster links.
export CARGO_PROFILE_DEV_DEBUG=0 CARGO_PROFILE_TEST_DEBUG=0
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
mkdir -p target/e2e

log "cargo fmt --check"
cargo fmt --all --check

log "ui: build and unit tests"
(cd ui && npm run --silent build && npm test --silent)

log "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

log "cargo test (under Xvfb and a D-Bus session bus for the desktop e2e)"
# One build serves everything: the e2e tests drive the `ledgerline` binary
# this same `cargo test` build produced.
export LEDGERLINE_E2E_OUT="$ROOT/target/e2e"
dbus-run-session -- xvfb-run -a -s "-screen 0 1440x900x24" \
  cargo test --workspace --no-fail-fast 2>&1 | tee target/test.log

log "cargo test: the server's API suite against Postgres"
LEDGERLINE_TEST_DATABASE=postgres cargo test --workspace --test api --no-fail-fast 2>&1 |
  tee target/test-postgres.log

log "schemathesis --checks all against the real server (scripts/schemathesis.sh)"
scripts/schemathesis.sh
log "all tests passed"
