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
