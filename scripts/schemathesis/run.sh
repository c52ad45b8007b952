#!/usr/bin/env bash
# The inside of scripts/schemathesis.sh: starts $SERVER_BIN on a random
# loopback port over a temporary SQLite file, runs $VENV's schemathesis
# against it with the hooks beside this file, stops the server by its PID.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
DIR="$(mktemp -d)"
# Short polls: the fuzzer parks many; 300 ms keeps the run fast.
"$SERVER_BIN" serve --addr 127.0.0.1:0 \
  --database-url "sqlite://$DIR/fuzz.db" --poll-timeout-ms 300 \
  >"$DIR/stdout" 2>"$DIR/server.log" &
PID=$!
stop() {
  kill "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
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

# Its caches (.hypothesis/, .schemathesis/) go to the temp dir, not the repo.
cd "$DIR"
export LEDGERLINE_URL="$URL"
export PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"
export SCHEMATHESIS_HOOKS=hooks
"$VENV/bin/st" run "$URL/openapi.json" \
  --checks all \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "${ST_MAX_EXAMPLES:-100}" \
  --seed "${ST_SEED:-1}" \
  --workers 1 \
  --request-timeout 10 \
  --no-color \
  ${ST_ARGS:-}
if grep -q 'panicked' "$DIR/server.log"; then
  log "the server logged a panic:"; grep -A3 'panicked' "$DIR/server.log" >&2; exit 1
fi
