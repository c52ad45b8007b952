#!/usr/bin/env bash
# Login flood against the real server binary (`scripts/bench.sh login`):
# 400 concurrent wrong-password logins at one account from one address,
# then 400 at as many unknown accounts from 400 loopback addresses (which
# the throttle cannot tell apart: only the argon2 workers bound them), with
# a colleague's login timed during each. Prints attempts/s, status codes,
# the colleague's latency, and the server's peak RSS (VmHWM).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ledgerline/target}"
cd "$ROOT"
PROFILE="${PROFILE:-release}"
if [ "$PROFILE" = release ]; then
  cargo build --quiet --release -p ledgerline-server --bin ledgerline-server
else
  cargo build --quiet -p ledgerline-server --bin ledgerline-server
fi
BIN="$CARGO_TARGET_DIR/$PROFILE/ledgerline-server"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
DIR="$(mktemp -d)"
"$BIN" serve --addr 127.0.0.1:0 --database-url "sqlite://$DIR/bench.db" >"$DIR/stdout" 2>"$DIR/server.log" &
PID=$!
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$DIR"' EXIT
for _ in $(seq 1 600); do grep -q '^listening on ' "$DIR/stdout" && break; sleep 0.1; done
URL="$(sed -n 's/^listening on //p' "$DIR/stdout")"
python3 "$ROOT/scripts/bench/login_flood.py" "$URL" "$PID" "$PROFILE"
