#!/usr/bin/env bash
# Side-by-side long-poll benchmark: Ledgerline, Nchan and Pushpin under the
# same workload, each server pinned to core 0 and the generator to core 1.
#
#   scripts/bench-compare.sh                # 1k, 10k and the most this machine holds
#   BENCH_WAITERS="1000" BENCH_SYSTEMS="ledgerline nchan" scripts/bench-compare.sh
#
# Knobs (environment): BENCH_WAITERS (space-separated counts; "max" = as many
# as the open-file limit allows), BENCH_SYSTEMS, BENCH_RATE (events/s,
# default 50), BENCH_DURATION_S (default 10), BENCH_WAITERS_PER_ORG
# (default 10), BENCH_RATE_CONNECTIONS / BENCH_RATE_S (the poll-rate
# phase: connections, seconds; default 64, 5), BENCH_OUT (default docs/bench), BENCH_SKIP_BUILD=1 (use the
# binaries already built), LEDGERLINE_SERVER_BIN (another server binary).
#
# It installs nginx-light + libnginx-mod-nchan and pushpin with apt-get if
# missing, generates every config into a temp dir (127.0.0.1, non-default
# ports), starts and stops each server itself by PID, and writes
# docs/bench/<date>-<arch>-<n>cpu-<cpu>.{md,png,jsonl}. The table is also
# printed. Definitions are printed with it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ledgerline/bench-target}"
export PATH="$HOME/.cargo/bin:$PATH"

SYSTEMS="${BENCH_SYSTEMS:-ledgerline nchan pushpin}"
WAITERS="${BENCH_WAITERS:-1000 10000 max}"
RATE="${BENCH_RATE:-50}"
DURATION="${BENCH_DURATION_S:-10}"
PER_ORG="${BENCH_WAITERS_PER_ORG:-10}"
OUT_DIR="${BENCH_OUT:-$ROOT/docs/bench}"

# Ports below the ephemeral range (32768+) and away from the usual dev ports
# (`make run` serves on 8787, a demo server on 18787 is common here).
LL_PORT=24787 NGINX_PORT=24080 PUSHPIN_PORT=24999 PUSHPIN_PUB_PORT=24561 GRIP_PORT=24090
SOURCE_IPS="127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

ensure_apt() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    as_root apt-get update -qq
    # policy-rc.d-style: never let the packages start their system services.
    as_root env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 \
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# --- setup -------------------------------------------------------------------

ensure_apt nginx-light libnginx-mod-nchan pushpin zurl python3-venv util-linux procps curl

# Open files: one per parked poll on each side. Raise the soft limit to the
# hard one; without CAP_SYS_RESOURCE (containers) the hard one is the ceiling.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE="$(ulimit -n)"
[ "$NOFILE" = unlimited ] && NOFILE=1048576
MAX_WAITERS=$(( NOFILE - 1000 ))
[ "$MAX_WAITERS" -gt 100000 ] && MAX_WAITERS=100000
log "open-file limit $NOFILE: at most $MAX_WAITERS waiters per process"

# Ephemeral ports: the default range (32768-60999) is left alone so it never
# hands out our listening ports (all below 32768); several source addresses
# (127.0.0.2-5) lift the 28k-tuples-per-address ceiling instead.

if [ -z "${BENCH_SKIP_BUILD:-}" ]; then
  log "building ledgerline-server and ledgerline-loadgen (release)"
  (cd "$ROOT" && cargo build --release --quiet -p ledgerline-server -p ledgerline-loadgen)
fi
SERVER_BIN="${LEDGERLINE_SERVER_BIN:-$CARGO_TARGET_DIR/release/ledgerline-server}"
LOADGEN="$CARGO_TARGET_DIR/release/ledgerline-loadgen"

TMP="$(mktemp -d /tmp/ledgerline-bench.XXXXXX)"
STARTED=()   # PIDs this script started; stopped on exit
stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  for pid in "${STARTED[@]:-}"; do [ -n "$pid" ] && stop_pid "$pid"; done
  if [ -n "${BENCH_KEEP_TMP:-}" ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

wait_http() { # url
  for _ in $(seq 1 300); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "error: $1 did not come up" >&2; return 1
}

# Largest requested count decides how many Ledgerline orgs to seed.
counts=()
for w in $WAITERS; do
  [ "$w" = max ] && w=$MAX_WAITERS
  [ "$w" -gt "$MAX_WAITERS" ] && { log "$w waiters exceed the open-file limit; using $MAX_WAITERS"; w=$MAX_WAITERS; }
  counts+=("$w")
done
MAX_COUNT=0; for w in "${counts[@]}"; do [ "$w" -gt "$MAX_COUNT" ] && MAX_COUNT=$w; done
ORGS_NEEDED=$(( (MAX_COUNT + PER_ORG - 1) / PER_ORG ))

# --- the systems -------------------------------------------------------------

LL_DB="$TMP/ledgerline.db"
prepare_ledgerline() {
  log "seeding $ORGS_NEEDED Ledgerline orgs and minting their sessions"
  RUST_LOG="warn,sqlx=error" "$SERVER_BIN" seed --orgs "$ORGS_NEEDED" --database-url "sqlite://$LL_DB?mode=rwc" >&2
  "$LOADGEN" mint-sessions --database-url "sqlite://$LL_DB" --orgs "$ORGS_NEEDED" \
    --out "$TMP/sessions.tsv" >&2
}

start_ledgerline() {
  taskset -c 0 "$SERVER_BIN" serve --addr "127.0.0.1:$LL_PORT" \
    --database-url "sqlite://$LL_DB" --poll-timeout-ms 25000 \
    > "$TMP/ledgerline.log" 2>&1 &
  SYS_PIDS=("$!"); STARTED+=("$!")
  wait_http "http://127.0.0.1:$LL_PORT/healthz"
  # One real login, so the minted tokens are not the only path exercised.
  curl -fsS -o /dev/null -H 'content-type: application/json' \
    -d '{"email":"user0@org1.seed.test","password":"demo"}' \
    "http://127.0.0.1:$LL_PORT/v1/auth/login"
  SUB="127.0.0.1:$LL_PORT" PUB="127.0.0.1:$LL_PORT"
  EXTRA=(--sessions "$TMP/sessions.tsv"
         --ready-url "http://127.0.0.1:$LL_PORT/metrics" --ready-metric ledgerline_realtime_waiters)
}

start_nchan() {
  mkdir -p "$TMP/nginx"
  cat > "$TMP/nginx/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
worker_processes 1;
worker_rlimit_nofile $NOFILE;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections $(( NOFILE - 100 )); multi_accept on; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx/body;
  nchan_message_buffer_length 1000;
  nchan_shared_memory_size 512m;
  nchan_message_timeout 5m;
  server {
    listen 127.0.0.1:$NGINX_PORT backlog=4096;
    location ~ ^/sub/(.+)\$ {
      nchan_subscriber longpoll;
      nchan_channel_id \$1;
      nchan_subscriber_timeout 25s;
      nchan_subscriber_first_message newest;
    }
    location ~ ^/pub/(.+)\$ {
      nchan_publisher;
      nchan_channel_id \$1;
    }
    location = /nchan_status { nchan_stub_status; }
  }
}
EOF
  taskset -c 0 nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" > "$TMP/nginx/out.log" 2>&1 &
  local master=$!; STARTED+=("$master")
  wait_http "http://127.0.0.1:$NGINX_PORT/nchan_status"
  SYS_PIDS=("$master" $(pgrep -P "$master"))
  SUB="127.0.0.1:$NGINX_PORT" PUB="127.0.0.1:$NGINX_PORT"
  EXTRA=(--ready-url "http://127.0.0.1:$NGINX_PORT/nchan_status" --ready-metric subscribers)
}

start_pushpin() {
  local d="$TMP/pushpin"
  mkdir -p "$d/run" "$d/log"
  # The Debian package points pushpin-proxy at a system zurl
  # (ipc:///var/run/zurl/…); ours runs beside it, in our run dir.
  sed "s#ipc:///var/run/zurl/zurl-#ipc://{rundir}/{ipc_prefix}zurl-#" \
    /usr/lib/pushpin/internal.conf > "$d/internal.conf"
  sed -e "s#^include=.*#include=$d/internal.conf#" \
      -e "s#^rundir=.*#rundir=$d/run#" \
      -e "s#^ipc_prefix=.*#ipc_prefix=bench-#" \
      -e "s#^http_port=.*#http_port=$PUSHPIN_PORT#" \
      -e "s#^logdir=.*#logdir=$d/log#" \
      -e "s#^log_level=.*#log_level=1#" \
      -e "s#^client_maxconn=.*#client_maxconn=$(( NOFILE - 200 ))#" \
      -e "s#^routesfile=.*#routesfile=$d/routes#" \
      -e "s#^push_in_spec=.*#push_in_spec=tcp://127.0.0.1:24560#" \
      -e "s#^push_in_sub_specs=.*#push_in_sub_specs=tcp://127.0.0.1:24562#" \
      -e "s#^command_spec=tcp.*#command_spec=tcp://127.0.0.1:24563#" \
      -e "s#^push_in_http_port=.*#push_in_http_port=$PUSHPIN_PUB_PORT#" \
      /etc/pushpin/pushpin.conf > "$d/pushpin.conf"
  echo "* 127.0.0.1:$GRIP_PORT" > "$d/routes"
  # zurl makes pushpin's requests to the backend: it must allow loopback
  # (the packaged template denies 127.*).
  cat > "$d/zurl.conf" <<EOF
[General]
in_spec=ipc://$d/run/bench-zurl-in
in_stream_spec=ipc://$d/run/bench-zurl-in-stream
out_spec=ipc://$d/run/bench-zurl-out
defpolicy=allow
allow=127.*
deny=
max_open_requests=10000
buffer_size=200000
timeout=600
in_hwm=10000
out_hwm=10000
EOF
  taskset -c 0 "$LOADGEN" grip-backend --addr "127.0.0.1:$GRIP_PORT" > "$d/backend.log" 2>&1 &
  STARTED+=("$!")
  taskset -c 0 zurl --config="$d/zurl.conf" > "$d/zurl.log" 2>&1 &
  local zurl=$!; STARTED+=("$zurl")
  taskset -c 0 pushpin --config "$d/pushpin.conf" --merge-output > "$d/pushpin.log" 2>&1 &
  local runner=$!; STARTED+=("$runner")
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$PUSHPIN_PUB_PORT/" 2>/dev/null && break; sleep 0.1
  done
  # The backend answers anything but /sub/… with 404: seeing that 404
  # through Pushpin proves the chain condure → proxy → zurl → backend.
  local code=000
  for _ in $(seq 1 100); do
    code="$(curl -s -o /dev/null -w '%{http_code}' -m 5 "http://127.0.0.1:$PUSHPIN_PORT/ping" || true)"
    [ "$code" = 404 ] && break; sleep 0.1
  done
  if [ "$code" != 404 ]; then
    echo "error: pushpin answered $code; see $d/pushpin.log" >&2; tail -20 "$d/pushpin.log" >&2; return 1
  fi
  SYS_PIDS=("$runner" $(pgrep -P "$runner") "$zurl")
  SUB="127.0.0.1:$PUSHPIN_PORT" PUB="127.0.0.1:$PUSHPIN_PUB_PORT"
  EXTRA=()
}

stop_system() {
  # Stop in reverse start order: everything this system started.
  local i
  for (( i=${#STARTED[@]}-1; i>=0; i-- )); do stop_pid "${STARTED[$i]}"; done
  STARTED=()
}

# --- measure -----------------------------------------------------------------

ARCH="$(uname -m)" NPROC="$(nproc)"
CPU="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
CPU_SLUG="$(echo "$CPU" | tr '[:upper:]' '[:lower:]' | sed 's/([^)]*)//g; s/[^a-z0-9]\+/-/g; s/^-//; s/-$//')"
STAMP="$(date -u +%Y-%m-%d)"
NAME="$STAMP-$ARCH-${NPROC}cpu-$CPU_SLUG"
mkdir -p "$OUT_DIR"
JSONL="$TMP/results.jsonl"

case " $SYSTEMS " in *" ledgerline "*) prepare_ledgerline ;; esac

for w in "${counts[@]}"; do
  for sys in $SYSTEMS; do
    log "$sys: $w waiters ($PER_ORG per org), $RATE events/s for ${DURATION}s; load: $(cut -d' ' -f1-3 /proc/loadavg)"
    "start_$sys"
    taskset -c 1 "$LOADGEN" run --target "$sys" --server "$SUB" --publish "$PUB" \
      --waiters "$w" --waiters-per-org "$PER_ORG" --rate "$RATE" --duration-s "$DURATION" \
      $(printf -- '--server-pid %s ' "${SYS_PIDS[@]}") --source-ips "$SOURCE_IPS" \
      "${EXTRA[@]}" --json-out "$JSONL" || log "$sys at $w waiters failed"
    stop_system
  done
done

# Poll requests per second per server core: polls answered at once (one
# buffered event each) on BENCH_RATE_CONNECTIONS keep-alive connections for
# BENCH_RATE_S seconds, divided by the server's CPU time (loadgen poll-rate).
RATE_JSONL="$TMP/poll-rate.jsonl"
for sys in $SYSTEMS; do
  [ "$sys" = pushpin ] && continue   # no poll that answers at once
  log "$sys: poll requests/s per core (${BENCH_RATE_CONNECTIONS:-64} connections, ${BENCH_RATE_S:-5}s)"
  "start_$sys"
  RATE_EXTRA=()
  [ "$sys" = ledgerline ] && RATE_EXTRA=(--sessions "$TMP/sessions.tsv")
  taskset -c 1 "$LOADGEN" poll-rate --target "$sys" --server "$SUB" --publish "$PUB" \
    --connections "${BENCH_RATE_CONNECTIONS:-64}" --duration-s "${BENCH_RATE_S:-5}" \
    $(printf -- '--server-pid %s ' "${SYS_PIDS[@]}") "${RATE_EXTRA[@]}" \
    --json-out "$RATE_JSONL" || log "$sys poll rate failed"
  stop_system
done

cp "$JSONL" "$OUT_DIR/$NAME.jsonl"
[ -f "$RATE_JSONL" ] && cp "$RATE_JSONL" "$OUT_DIR/$NAME-poll-rate.jsonl"
log "report"
VENV="$HOME/.cache/ledgerline/bench-venv"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import matplotlib' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet matplotlib
fi
"$VENV/bin/python" "$ROOT/scripts/bench/report.py" "$OUT_DIR/$NAME.jsonl" \
  --md "$OUT_DIR/$NAME.md" --png "$OUT_DIR/$NAME.png" \
  --machine "$ARCH, $NPROC CPUs, $CPU; kernel $(uname -r)" \
  --workload "$PER_ORG waiters per org, $RATE events/s for ${DURATION}s, server on core 0, generator on core 1" \
  --load "$(cut -d' ' -f1-3 /proc/loadavg)" \
  --server "${LEDGERLINE_SERVER_BIN:+$LEDGERLINE_SERVER_BIN (LEDGERLINE_SERVER_BIN)}${LEDGERLINE_SERVER_BIN:-workspace at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')}"
if [ -f "$RATE_JSONL" ]; then
  python3 - "$RATE_JSONL" >> "$OUT_DIR/$NAME.md" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("\n## Poll requests per second per core\n")
print("Polls answered at once (one buffered event each), keep-alive connections, server on core 0;")
print("*per core* = completed polls / the server's CPU-seconds (all its threads) meanwhile.\n")
print("| system | connections | polls/s | server CPU (s) | polls per CPU-second | body bytes | errors |")
print("|---|---:|---:|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r['target']} | {r['connections']} | {r['polls_per_s']:.0f} | {r['server_cpu_s']:.2f} | {r['polls_per_cpu_s']:.0f} | {r['response_bytes']} | {r['errors']} |")
PY
  tail -8 "$OUT_DIR/$NAME.md"
fi
log "wrote $OUT_DIR/$NAME.md, .png and .jsonl"
