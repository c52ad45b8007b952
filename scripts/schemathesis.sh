#!/usr/bin/env bash
# schemathesis against the real server: every operation of /openapi.json,
# `--checks all`, all phases (examples, coverage, fuzzing, stateful), 0
# failures or it exits non-zero. A step of scripts/test.sh.
#
# Network: PyPI once, to create the virtual environment; then the server
# and schemathesis run in a network namespace of their own that has only a
# loopback interface (`unshare -rn`), so nothing else can be reached by
# construction. Where user namespaces are unavailable they run in the
# machine's namespace, still against a loopback address only.
#
#   scripts/schemathesis.sh                     # the whole run
#   ST_MAX_EXAMPLES=15 scripts/schemathesis.sh  # a quicker one
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ledgerline/target}"
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

VERSION=4.32.5
export VENV="${LEDGERLINE_VENV:-$HOME/.cache/ledgerline/venv}"
if ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$VERSION"; then
  log "schemathesis $VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
fi

cd "$ROOT"
cargo build --quiet -p ledgerline-server --bin ledgerline-server
export SERVER_BIN="$CARGO_TARGET_DIR/debug/ledgerline-server"
RUN="$ROOT/scripts/schemathesis/run.sh"
if unshare -rn sh -c 'ip link set lo up' 2>/dev/null; then
  log "schemathesis in a loopback-only network namespace"
  exec unshare -rn sh -c 'ip link set lo up && exec "$0"' "$RUN"
fi
log "schemathesis in this network namespace (no user namespaces here)"
exec "$RUN"
