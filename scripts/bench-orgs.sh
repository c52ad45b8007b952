#!/usr/bin/env bash
# The many-orgs test: seed N orgs (default 1,000,000; 5 properties and 5
# users each), publish one event to each so every org gets a hub buffer,
# report the time and the server's peak RSS, then let idle eviction run and
# show memory returning toward the baseline.
#
#   scripts/bench-orgs.sh                    # 1M orgs
#   BENCH_ORGS=100000 BENCH_IDLE_EVICT_MS=60000 scripts/bench-orgs.sh
#
# Writes docs/bench/<date>-<arch>-<n>cpu-<cpu>-orgs.{json,md}. BENCH_PORT,
# BENCH_SERVER_PRELOAD (an allocator .so for LD_PRELOAD), BENCH_NAME_SUFFIX.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ledgerline/bench-target}"
export PATH="$HOME/.cargo/bin:$PATH"

ORGS="${BENCH_ORGS:-1000000}"
IDLE_EVICT_MS="${BENCH_IDLE_EVICT_MS:-300000}"
CONCURRENCY="${BENCH_CONCURRENCY:-32}"
OUT_DIR="${BENCH_OUT:-$ROOT/docs/bench}"
PORT="${BENCH_PORT:-24788}"
# e.g. /usr/lib/x86_64-linux-gnu/libjemalloc.so.2: does freed buffer memory go back to the OS?
PRELOAD="${BENCH_SERVER_PRELOAD:-}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

if [ -z "${BENCH_SKIP_BUILD:-}" ]; then
  log "building ledgerline-server and ledgerline-loadgen (release)"
  (cd "$ROOT" && cargo build --release --quiet -p ledgerline-server -p ledgerline-loadgen)
fi
SERVER_BIN="${LEDGERLINE_SERVER_BIN:-$CARGO_TARGET_DIR/release/ledgerline-server}"
LOADGEN="$CARGO_TARGET_DIR/release/ledgerline-loadgen"

TMP="$(mktemp -d /tmp/ledgerline-orgs.XXXXXX)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "${BENCH_KEEP_TMP:-}" ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

ARCH="$(uname -m)" NPROC="$(nproc)"
CPU="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
CPU_SLUG="$(echo "$CPU" | tr '[:upper:]' '[:lower:]' | sed 's/([^)]*)//g; s/[^a-z0-9]\+/-/g; s/^-//; s/-$//')"
NAME="$(date -u +%Y-%m-%d)-$ARCH-${NPROC}cpu-$CPU_SLUG-orgs${BENCH_NAME_SUFFIX:-}"
mkdir -p "$OUT_DIR"

DB="$TMP/orgs.db"
log "seeding $ORGS orgs (load: $(cut -d' ' -f1-3 /proc/loadavg))"
t0=$(date +%s.%N)
RUST_LOG="warn,sqlx=error" "$SERVER_BIN" seed --orgs "$ORGS" --database-url "sqlite://$DB?mode=rwc" | tee "$TMP/seed.txt"
t1=$(date +%s.%N)
"$LOADGEN" mint-sessions --database-url "sqlite://$DB" --orgs "$ORGS" --tokens-per-org 1 \
  --out "$TMP/sessions.tsv"
t2=$(date +%s.%N)
SEED_S=$(echo "$t1 - $t0" | bc) MINT_S=$(echo "$t2 - $t1" | bc)
log "seed ${SEED_S}s, sessions ${MINT_S}s; database $(du -h "$DB" | cut -f1)"

# The server gets core 0, the generator core 1, as in bench-compare.sh.
LD_PRELOAD="$PRELOAD" taskset -c 0 "$SERVER_BIN" serve --addr "127.0.0.1:$PORT" --database-url "sqlite://$DB" \
  --idle-evict-ms "$IDLE_EVICT_MS" > "$TMP/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 300); do curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null && break; sleep 0.1; done

# Watch long enough for the sweeper to evict everything published.
WATCH_S=$(( IDLE_EVICT_MS / 1000 + 120 ))
taskset -c 1 "$LOADGEN" fill-orgs --server "127.0.0.1:$PORT" --server-pid "$SERVER_PID" \
  --sessions "$TMP/sessions.tsv" --concurrency "$CONCURRENCY" --watch-s "$WATCH_S" \
  --json-out "$OUT_DIR/$NAME.json" | tee "$TMP/fill.txt"

{
  echo "# Many orgs: one event to each of $ORGS orgs, then idle eviction"
  echo
  echo "Machine: $ARCH, $NPROC CPUs, $CPU. Server on core 0, generator on core 1."
  echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other builds on the machine)."
  echo "Idle eviction: ${IDLE_EVICT_MS} ms. Publish concurrency: $CONCURRENCY. Allocator preload: ${PRELOAD:-none (glibc)}."
  echo
  echo "- seed: $(cat "$TMP/seed.txt")"
  echo "- sessions minted in ${MINT_S}s"
  echo "- $(cat "$TMP/fill.txt")"
  echo
  echo "Samples (time, RSS, buffered orgs) are in \`$NAME.json\`."
} > "$OUT_DIR/$NAME.md"
log "wrote $OUT_DIR/$NAME.md and .json"
