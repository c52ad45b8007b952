#!/usr/bin/env bash
# Runs Ledgerline on a fresh Debian 12 machine: installs what is missing,
# starts the server on the embedded SQLite database (demo data is created on
# first start) and opens the desktop app signed in as the demo owner. With no
# display it says so and runs the server alone.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
setup_main run
cd "$ROOT"

ADDR="${LEDGERLINE_ADDR:-127.0.0.1:8787}"
export LEDGERLINE_DATABASE_URL="${LEDGERLINE_DATABASE_URL:-sqlite://$ROOT/ledgerline.db}"

log "building the UI and the binaries"
(cd ui && npm run --silent build)
has_display=false
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then has_display=true; fi
if $has_display; then
  cargo build --quiet -p ledgerline-server -p ledgerline-desktop
else
  cargo build --quiet -p ledgerline-server
fi

log "starting the server on $ADDR ($LEDGERLINE_DATABASE_URL)"
"$CARGO_TARGET_DIR/debug/ledgerline-server" serve --addr "$ADDR" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null' EXIT INT TERM
for _ in $(seq 1 100); do
  curl -fs "http://$ADDR/healthz" >/dev/null 2>&1 && break
  kill -0 $server 2>/dev/null || { echo "the server exited; see above" >&2; exit 1; }
  sleep 0.1
done

python3 "$ROOT/scripts/demo-rows.py" "http://$ADDR"

if $has_display; then
  log "opening the desktop app as owner@demo.test"
  LEDGERLINE_SERVER="http://$ADDR" LEDGERLINE_EMAIL=owner@demo.test LEDGERLINE_PASSWORD=demo \
    "$CARGO_TARGET_DIR/debug/ledgerline" "$@"
else
  log "no display (DISPLAY/WAYLAND_DISPLAY unset): running the server alone at http://$ADDR — Ctrl+C stops it"
  log "sign in with owner@demo.test / demo"
  wait $server
fi
