#!/usr/bin/env bash
# schemathesis against the real server: every operation of /openapi.json,
# `--checks all`, all phases (examples, coverage, fuzzing, stateful). The
# server runs on a random loopback port over a temporary SQLite file and is
# stopped by its PID; nothing but loopback is contacted (and PyPI once, to
# create the virtual environment). A step of scripts/test.sh.
#
#   scripts/schemathesis.sh                  # the whole run
#   ST_MAX_EXAMPLES=20 scripts/schemathesis.sh   # a quicker one
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ledgerline/target}"
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

VERSION=4.32.5
VENV="${LEDGERLINE_VENV:-$HOME/.cache/ledgerline/venv}"
if ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$VERSION"; then
  log "schemathesis $VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
fi

cd "$ROOT"
cargo build --quiet -p ledgerline-server --bin ledgerline-server
DIR="$(mktemp -d)"
# Short polls: the fuzzer parks many; 300 ms keeps the run fast.
"$CARGO_TARGET_DIR/debug/ledgerline-server" serve --addr 127.0.0.1:0 \
  --database-url "sqlite://$DIR/fuzz.db" --poll-timeout-ms 300 \
  >"$DIR/stdout" 2>"$DIR/server.log" &
PID=$!
stop() {
  kill "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  if [ "${KEEP_LOG:-}" ]; then cp "$DIR/server.log" "$ROOT/target/schemathesis-server.log" 2>/dev/null || true; fi
  rm -rf "$DIR"
}
trap stop EXIT
for _ in $(seq 1 600); do
  grep -q '^listening on ' "$DIR/stdout" && break
  kill -0 "$PID" 2>/dev/null || { cat "$DIR/server.log" >&2; exit 1; }
  sleep 0.1
done
URL="$(sed -n 's/^listening on //p' "$DIR/stdout")"
log "schemathesis --checks all against $URL"

export LEDGERLINE_URL="$URL"
export PYTHONPATH="$ROOT/scripts/schemathesis${PYTHONPATH:+:$PYTHONPATH}"
export SCHEMATHESIS_HOOKS=hooks
"$VENV/bin/st" run "$URL/openapi.json" \
  --checks all \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "${ST_MAX_EXAMPLES:-60}" \
  --seed "${ST_SEED:-1}" \
  --workers 1 \
  --request-timeout 10 \
  --no-color \
  ${ST_ARGS:-}
