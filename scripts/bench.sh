#!/usr/bin/env bash
# Every benchmark that prints a figure (`make bench`). Each one is a section
# of its own below, delimited by `# --- name` / `# --- end name`; add yours
# the same way. Release builds; run on an otherwise idle machine.
#
#   scripts/bench.sh            # all sections
#   scripts/bench.sh longpoll   # just one
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
want() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }
ONLY="${1:-}"

# --- longpoll: the realtime hub behind the real server (server/benches/longpoll.rs)
# Idle long-polls held open (RSS per waiter of the server process), and
# write→delivery latency at 1k and 10k waiters, deliveries per second.
# Every waiter is a socket in the server and one in the bench, so the
# open-file limit of each process caps the waiter count: raise the soft
# limit to the hard one (raising the hard one needs CAP_SYS_RESOURCE).
if want longpoll; then
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  log "longpoll: open-file limit $(ulimit -n)"
  cargo bench --quiet -p ledgerline-server --bench longpoll
fi
# --- end longpoll

# --- compare: Ledgerline vs Nchan vs Pushpin under one workload (scripts/bench-compare.sh)
# RSS per idle waiter, publish→delivery p50/p99, deliveries/s, lost, at 1k,
# 10k and as many waiters as the open-file limit allows; writes the table
# and a plot under docs/bench/. Installs nginx-light + nchan and pushpin.
if want compare; then
  scripts/bench-compare.sh
fi
# --- end compare

# --- fleet: SQLite vs Postgres vs 3 instances on Postgres + NATS (server/benches/fleet.rs)
# writes/s and cross-instance write→delivery p50/p99 in one run, and the bus
# subject scheme's cost per skipped and per decoded message. Starts a private
# Postgres cluster and nats-server (scripts/services.sh), stops them by PID.
if want fleet; then
  (
    source "$ROOT/scripts/services.sh"
    ensure_services_installed
    services_trap
    pg_start
    cargo bench --quiet -p ledgerline-server --bench fleet
  )
fi
# --- end fleet

# --- core: the desktop core's hot paths (client/examples/bench_core.rs)
# Cache apply rows/s in 1000-event batches (wall and per CPU-second),
# event → 6 subscribers p50/p99, start over 200k cached rows → first page,
# a 100k-row month's first page / keyset pages / CSV export rows/s.
if want core; then
  cargo run --quiet --release -p ledgerline-client --example bench_core
fi
# --- end core

# --- desktop: a 60k-row month into a fresh window, under Xvfb (src-tauri/tests/e2e/scale.rs)
# The real app (release build) under tauri-driver + WebKitWebDriver against
# the real server seeded with 60,000 transactions this month: launch →
# Live → first rows → every row in the window, then the month exported to
# a file. Needs what `make test` needs for the e2e (scripts/setup.sh).
if want desktop; then
  (cd ui && npm run build --silent)
  dbus-run-session -- xvfb-run -a -s "-screen 0 1440x900x24" \
    cargo test --release -p ledgerline-desktop --test e2e -- --ignored --nocapture scale 2>&1 \
    | grep -E '^\[e2e\]|test result'
fi
# --- end desktop

# --- login: 400 concurrent bad logins, peak RSS (scripts/bench-login.sh)
# attempts/s, status codes, a colleague's login latency during the flood,
# the server's peak RSS; one account from one address, then 400 addresses.
if want login; then
  scripts/bench-login.sh
fi
# --- end login

# --- orgs: 1M orgs, one event each, peak RSS, idle eviction (scripts/bench-orgs.sh)
# About 25 minutes on 2 cores, so only when asked: `scripts/bench.sh orgs`.
if [ "$ONLY" = orgs ]; then
  scripts/bench-orgs.sh
fi
# --- end orgs
