#!/usr/bin/env bash
# A local Ledgerline fleet (`make cluster`): builds the server, starts a
# private Postgres and NATS (scripts/services.sh), then N server instances
# (default 3) on free loopback ports sharing that database and that bus, and
# prints where they are and how to watch a write on one instance arrive on
# another's long-poll. Ctrl-C stops everything, by PID.
#
#   scripts/cluster.sh [--instances N] [--no-build] [--smoke]
#
#   --instances N  how many server instances (default 3)
#   --no-build     use the release binary already built
#   --smoke        (or CLUSTER_SMOKE=1) instead of waiting: sign in on the
#                  first instance, long-poll on the second, write on the third,
#                  check the write arrives on the poll, print OK and stop
#
# CLUSTER_BIN=PATH runs that ledgerline-server instead of the release build
# (with --no-build, no cargo at all). Instance logs: target/cluster/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/services.sh" # sources setup.sh: log, as_root, ensure_apt
cd "$ROOT"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

instances=3
build=true
case "${CLUSTER_SMOKE:-0}" in 1 | true | yes) smoke=true ;; *) smoke=false ;; esac
while [ $# -gt 0 ]; do
  case "$1" in
    --instances) instances=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
    --instances=*) instances=${1#*=}; shift ;;
    --no-build) build=false; shift ;;
    --smoke) smoke=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
case "$instances" in '' | *[!0-9]* | 0) echo "--instances wants a positive number, not '$instances'" >&2; exit 2 ;; esac

BIN="${CLUSTER_BIN:-$CARGO_TARGET_DIR/release/ledgerline-server}"
LOGDIR="$ROOT/target/cluster"
mkdir -p "$LOGDIR"
rm -f "$LOGDIR"/instance-*.log

server_pids=()
server_urls=()
smoke_tmp=

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local pid
  # All at once (each drains its long-polls), then wait for each.
  for pid in "${server_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${server_pids[@]}"; do services_kill "$pid" TERM 10; done
  server_pids=()
  services_stop_all
  if [ -n "$smoke_tmp" ]; then rm -rf "$smoke_tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() {
  echo "error: $*" >&2
  exit 1
}

# json FIELD.PATH < JSON: one value (list items by index), empty if absent.
json() {
  python3 -c '
import json, sys
d = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    try:
        d = d[int(k)] if isinstance(d, list) else d[k]
    except (KeyError, IndexError, ValueError, TypeError):
        sys.exit(0)
print(d if not isinstance(d, (dict, list)) else json.dumps(d))
' "$1"
}

ensure_apt curl ca-certificates
command -v python3 >/dev/null || ensure_apt python3
if $build; then
  ensure_apt build-essential pkg-config
  command -v cargo >/dev/null || die "cargo not found. Install Rust (rustup, stable >= 1.85) and re-run."
  log "cargo build --release -p ledgerline-server"
  cargo build --release -p ledgerline-server
fi
[ -x "$BIN" ] || die "no server binary at $BIN (run without --no-build)"

ensure_services_installed
pg_start
nats_start
"$SERVICES_PG_BIN/psql" "$LEDGERLINE_TEST_PG_URL" -X -q -v ON_ERROR_STOP=1 -c 'CREATE DATABASE ledgerline'
DB_URL="postgres://postgres@127.0.0.1:$SERVICES_PG_PORT/ledgerline"
NATS_URL="$LEDGERLINE_TEST_NATS_URL"

# start_instance N SECS: one `serve` on a free port, until /healthz says ok.
start_instance() {
  local n=$1 secs=$2 port pid logf rc
  logf="$LOGDIR/instance-$n.log"
  for _ in 1 2 3; do
    free_port port
    "$BIN" serve --addr "127.0.0.1:$port" --database-url "$DB_URL" --nats-url "$NATS_URL" >"$logf" 2>&1 &
    pid=$!
    server_pids+=("$pid")
    rc=0
    wait_http "http://127.0.0.1:$port/healthz" ok "$secs" "$pid" "$logf" || rc=$?
    if [ "$rc" -eq 0 ]; then
      server_urls+=("http://127.0.0.1:$port")
      log "instance $n: http://127.0.0.1:$port (pid $pid)"
      return 0
    fi
    if ! services_alive "$pid" && grep -qi 'address already in use' "$logf"; then
      log "instance $n: port $port was taken meanwhile; trying another"
      continue
    fi
    die "instance $n did not come up (log: $logf)"
  done
  die "instance $n found no free port"
}

# The first instance alone: it migrates the empty database and creates the
# demo data; the others then start on a ready database.
log "starting $instances instance(s) on $DB_URL, bus $NATS_URL"
start_instance 1 120
for ((i = 2; i <= instances; i++)); do start_instance "$i" 60; done

A=${server_urls[0]}
B=${server_urls[$((1 % instances))]}
C=${server_urls[$((2 % instances))]}

print_table() {
  local i
  echo
  echo "Ledgerline cluster: $instances instance(s), one Postgres, one NATS"
  for ((i = 0; i < instances; i++)); do
    printf '  %-12s %-28s pid %-7s log %s\n' "instance $((i + 1))" "${server_urls[$i]}" "${server_pids[$i]}" \
      "target/cluster/instance-$((i + 1)).log"
  done
  printf '  %-12s %s\n' postgres "$DB_URL" nats "$NATS_URL"
  echo
}

# --- smoke: sign in on A, long-poll on B, write on C ----------------------
smoke_run() {
  local tmp login token prop head cursor cmid body code t0 t1 deadline found=false poll_pid
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/ledgerline-smoke.XXXXXX")
  smoke_tmp=$tmp
  login=$(curl -fsS -X POST "$A/v1/auth/login" -H 'content-type: application/json' \
    -d '{"email":"owner@demo.test","password":"demo"}') || die "login on $A failed"
  token=$(json token <<<"$login")
  prop=$(json properties.0.id <<<"$login")
  if [ -z "$token" ] || [ -z "$prop" ]; then die "login on $A: no token or property in: $login"; fi
  echo "signed in on $A as owner@demo.test (property $prop)"

  head=$(curl -fsS --get "$B/v1/realtime/poll" -H "authorization: Bearer $token" \
    --data-urlencode "property_id=$prop") || die "poll on $B failed (is the token valid on another instance?)"
  cursor=$(json cursor <<<"$head")
  [ -n "$cursor" ] || die "poll on $B: no cursor in: $head"

  cmid="cluster-smoke-$(date +%s)-$RANDOM"
  body=$(printf '{"kind":"expense","property_id":"%s","amount_minor":1234,"currency":"USD","category":"Supplies","memo":"cluster smoke","occurred_on":"%s","client_mutation_id":"%s"}' \
    "$prop" "$(date -u +%F)" "$cmid")

  # The long-poll waits on B while the write goes to C.
  poll_once() {
    curl -sS --max-time 20 -o "$tmp/poll.json" -w '%{http_code}' --get "$B/v1/realtime/poll" \
      -H "authorization: Bearer $token" --data-urlencode "cursor=$cursor" \
      --data-urlencode "property_id=$prop" --data-urlencode "timeout_ms=15000" >"$tmp/poll.code" 2>"$tmp/poll.err" || true
  }
  poll_once &
  poll_pid=$!
  sleep 0.5
  echo "long-polling on $B; writing on $C"
  t0=$(date +%s%N)
  code=$(curl -sS -o "$tmp/post.json" -w '%{http_code}' -X POST "$C/v1/transactions" \
    -H "authorization: Bearer $token" -H 'content-type: application/json' -d "$body") || code=000
  [ "$code" = 201 ] || die "POST /v1/transactions on $C: HTTP $code: $(cat "$tmp/post.json" 2>/dev/null)"
  wait "$poll_pid" || true

  deadline=$((SECONDS + 20))
  while :; do
    t1=$(date +%s%N)
    code=$(cat "$tmp/poll.code" 2>/dev/null || true)
    [ "$code" = 200 ] || die "poll on $B: HTTP ${code:-none}: $(cat "$tmp/poll.json" "$tmp/poll.err" 2>/dev/null)"
    if python3 -c '
import json, sys
events = json.load(open(sys.argv[1])).get("events", [])
sys.exit(0 if any(e.get("client_mutation_id") == sys.argv[2] and e.get("type") == "transaction.added" for e in events) else 1)
' "$tmp/poll.json" "$cmid"; then
      found=true
      break
    fi
    [ "$SECONDS" -lt "$deadline" ] || break
    # Not in this answer (a timeout, or other events first): poll on from its cursor.
    cursor=$(json cursor <"$tmp/poll.json")
    [ -n "$cursor" ] || break
    poll_once
  done
  if ! $found; then
    die "the write on $C (client_mutation_id $cmid) never arrived on $B's poll; last answer: $(cat "$tmp/poll.json")"
  fi
  echo "the write on $C arrived on $B's long-poll $(((t1 - t0) / 1000000)) ms after it was sent"
}

print_table
if $smoke; then
  smoke_run
  log "cluster smoke OK"
  exit 0
fi

cat <<EOF
Try it (sign in on one instance, long-poll on another, write on a third):

  LOGIN=\$(curl -s -X POST $A/v1/auth/login -H 'content-type: application/json' \\
    -d '{"email":"owner@demo.test","password":"demo"}')
  TOKEN=\$(echo "\$LOGIN" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  PROP=\$(echo "\$LOGIN" | python3 -c 'import json,sys; print(json.load(sys.stdin)["properties"][0]["id"])')
  CURSOR=\$(curl -s $B/v1/realtime/poll -H "authorization: Bearer \$TOKEN" | python3 -c 'import json,sys; print(json.load(sys.stdin)["cursor"])')
  curl -s --get $B/v1/realtime/poll -H "authorization: Bearer \$TOKEN" --data-urlencode "cursor=\$CURSOR" &
  curl -s -X POST $C/v1/transactions -H "authorization: Bearer \$TOKEN" -H 'content-type: application/json' \\
    -d '{"kind":"expense","property_id":"'\$PROP'","amount_minor":1234,"currency":"USD","category":"Supplies","memo":"hello","occurred_on":"$(date -u +%F)","client_mutation_id":"try-'\$RANDOM'"}'

The desktop app against one instance: LEDGERLINE_SERVER=$A cargo run -p ledgerline-desktop
Ctrl-C stops the cluster.
EOF

# Until Ctrl-C (the INT trap exits, and EXIT stops everything), or until a
# server or nats-server exits on its own.
wait -n "${server_pids[@]}" "$SERVICES_NATS_PID" || true
for ((i = 0; i < instances; i++)); do
  if ! services_alive "${server_pids[$i]}"; then
    services_show_log "$LOGDIR/instance-$((i + 1)).log"
    die "instance $((i + 1)) exited"
  fi
done
die "nats-server exited"
