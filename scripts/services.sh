#!/usr/bin/env bash
# Private, throwaway Postgres and NATS servers for the tests and the local
# fleet: never a machine-wide service, never a fixed port, 127.0.0.1 only.
# Sourced by test.sh and cluster.sh; run directly for a manual check:
#
#   scripts/services.sh check   # install, start both, `select 1`, stop both
#
# Sourced, it gives:
#   ensure_services_installed  apt-get installs Debian's postgresql and
#                              nats-server if missing, starting no service;
#                              exports LEDGERLINE_NATS_SERVER
#   pg_start                   initdb in a temp dir, starts it on a free port;
#                              exports LEDGERLINE_TEST_PG_URL
#                              (postgres://postgres@127.0.0.1:PORT/postgres,
#                              trust auth; CREATE DATABASE works with it)
#   pg_stop                    stops it by the PID in postmaster.pid, removes
#                              the temp dir
#   nats_start                 nats-server on a free port; exports
#                              LEDGERLINE_TEST_NATS_URL (nats://127.0.0.1:PORT)
#                              and LEDGERLINE_NATS_SERVER (the binary)
#   nats_stop                  stops it by PID
#   services_stop_all          both stops; idempotent, for `trap ... EXIT`
#   services_trap              trap services_stop_all on EXIT, INT and TERM
#   free_port VAR              a free loopback TCP port into $VAR
#   wait_http URL BODY SECS PID  until URL answers BODY (PID must stay alive)
#
# Also set after a start: SERVICES_PG_PORT, SERVICES_PG_PID, SERVICES_PG_BIN
# (Debian's bin dir: psql, pg_isready), SERVICES_NATS_PORT, SERVICES_NATS_PID.

if ! declare -F ensure_apt >/dev/null || ! declare -F as_root >/dev/null || ! declare -F log >/dev/null; then
  # setup.sh turns on `set -euo pipefail`; keep the sourcing shell's options.
  _services_opts=$(set +o)
  # shellcheck source=scripts/setup.sh
  source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/setup.sh"
  eval "$_services_opts"
  unset _services_opts
fi

SERVICES_PG_DIR="${SERVICES_PG_DIR:-}"
SERVICES_PG_PID="${SERVICES_PG_PID:-}"
SERVICES_PG_PORT="${SERVICES_PG_PORT:-}"
SERVICES_PG_BIN="${SERVICES_PG_BIN:-}"
SERVICES_NATS_DIR="${SERVICES_NATS_DIR:-}"
SERVICES_NATS_PID="${SERVICES_NATS_PID:-}"
SERVICES_NATS_PORT="${SERVICES_NATS_PORT:-}"
SERVICES_PORTS_TAKEN="${SERVICES_PORTS_TAKEN:-}"
# Seconds each server gets to come up.
SERVICES_START_TIMEOUT="${SERVICES_START_TIMEOUT:-30}"

# Prints an error; the caller returns 1 (a failing call here would end a
# `set -e` caller before it showed the server's log).
services_err() {
  printf 'error: %s\n' "$*" >&2
}

# Prints the last lines of a server's log to stderr, framed.
services_show_log() {
  local file=$1
  if [ -f "$file" ]; then
    printf -- '---- last lines of %s ----\n' "$file" >&2
    tail -n 40 "$file" >&2 || true
    printf -- '---- end of %s ----\n' "$file" >&2
  fi
}

# True while PID is a live process (a zombie counts as gone).
services_alive() {
  local pid=$1 state
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
  [ "$state" != Z ]
}

# Sends SIG to PID, then waits up to SECS for it to go; SIGKILL after that.
services_kill() {
  local pid=$1 sig=$2 secs=$3 i
  services_alive "$pid" || return 0
  kill "-$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < secs * 10; i++)); do
    services_alive "$pid" || break
    sleep 0.1
  done
  if services_alive "$pid"; then
    log "pid $pid ignored SIG$sig for ${secs}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  # Reap it if it is our child; harmless when it is not.
  wait "$pid" 2>/dev/null || true
}

# --- ports ---------------------------------------------------------------

# Is PORT free on 127.0.0.1 (nothing bound or connected there)?
services_port_free() {
  local port=$1
  case " $SERVICES_PORTS_TAKEN " in *" $port "*) return 1 ;; esac
  if command -v python3 >/dev/null; then
    python3 - "$port" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
    return
  fi
  if command -v ss >/dev/null; then
    [ -z "$(ss -Htan "( sport = :$port )" 2>/dev/null)" ]
    return
  fi
  # Last resort: nothing answers a connect.
  ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

# free_port VAR: a free TCP port on 127.0.0.1 into $VAR, never one this shell
# already handed out. Picked at random below the kernel's ephemeral range, so
# outgoing connections do not take it before the server binds it.
# (Locals are prefixed so that VAR may be any caller's name, even `port`.)
free_port() {
  local _fp_var=$1 _fp_lo=20000 _fp_hi=60000 _fp_eph='' _fp_rest _fp_port
  read -r _fp_eph _fp_rest </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  if [ -n "$_fp_eph" ] && [ "$_fp_eph" -gt $((_fp_lo + 1000)) ]; then _fp_hi=$((_fp_eph - 1)); fi
  for _fp_port in $(shuf -i "$_fp_lo-$_fp_hi" -n 200); do
    if services_port_free "$_fp_port"; then
      SERVICES_PORTS_TAKEN="$SERVICES_PORTS_TAKEN $_fp_port"
      printf -v "$_fp_var" '%s' "$_fp_port"
      return 0
    fi
  done
  services_err "no free port found in $_fp_lo-$_fp_hi"
  return 1
}

# wait_http URL BODY SECS [PID] [LOG]: until URL answers exactly BODY.
wait_http() {
  local url=$1 want=$2 secs=$3 pid=${4:-} logf=${5:-} deadline got
  deadline=$((SECONDS + secs))
  while [ "$SECONDS" -lt "$deadline" ]; do
    got=$(curl -fsS --max-time 2 "$url" 2>/dev/null || true)
    [ "$got" = "$want" ] && return 0
    if [ -n "$pid" ] && ! services_alive "$pid"; then
      services_err "the process behind $url (pid $pid) exited before it answered"
      if [ -n "$logf" ]; then services_show_log "$logf"; fi
      return 1
    fi
    sleep 0.2
  done
  services_err "$url did not answer '$want' within ${secs}s"
  if [ -n "$logf" ]; then services_show_log "$logf"; fi
  return 1
}

# --- installation --------------------------------------------------------

# Debian's Postgres bin dir (/usr/lib/postgresql/N/bin, highest N), not
# whatever initdb happens to be first on PATH (/usr/local/bin may have one).
services_pg_bindir() {
  local d
  if [ -n "${LEDGERLINE_PG_BINDIR:-}" ]; then
    printf '%s\n' "$LEDGERLINE_PG_BINDIR"
    return
  fi
  d=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/initdb' 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$d" ]; then
    dirname "$d"
    return
  fi
  d=$(command -v initdb 2>/dev/null) || return 1
  dirname "$(readlink -f "$d")"
}

# Debian puts nats-server in /usr/sbin, which is not on a normal user's PATH.
services_nats_bin() {
  if [ -n "${LEDGERLINE_NATS_SERVER:-}" ] && [ -x "$LEDGERLINE_NATS_SERVER" ]; then
    printf '%s\n' "$LEDGERLINE_NATS_SERVER"
  elif command -v nats-server 2>/dev/null; then
    :
  elif [ -x /usr/sbin/nats-server ]; then
    printf '%s\n' /usr/sbin/nats-server
  else
    return 1
  fi
}

services_pg_online_clusters() {
  command -v pg_lsclusters >/dev/null || return 0
  pg_lsclusters -h 2>/dev/null | awk '$4 ~ /^online/ {print $1 "/" $2}'
}

# apt-get install PACKAGES without letting maintainer scripts start any
# service: invoke-rc.d and deb-systemd-invoke obey /usr/sbin/policy-rc.d,
# and exit 101 there means "action forbidden".
services_apt_no_start() {
  local policy="${SERVICES_POLICY_RC_D:-/usr/sbin/policy-rc.d}" ours=false rc=0
  if [ ! -e "$policy" ]; then
    as_root sh -c "printf '#!/bin/sh\n# ledgerline services.sh: no service starts during apt-get install\nexit 101\n' >$policy && chmod 755 $policy"
    ours=true
  elif ! grep -q 'exit 101' "$policy" 2>/dev/null; then
    log "warning: $policy exists and may allow services to start; leaving it as it is"
  fi
  ensure_apt "$@" || rc=$?
  if $ours; then as_root rm -f "$policy"; fi
  return "$rc"
}

ensure_services_installed() {
  local pkgs=() before after c
  services_pg_bindir >/dev/null 2>&1 || pkgs+=(postgresql)
  services_nats_bin >/dev/null || pkgs+=(nats-server)
  command -v curl >/dev/null || pkgs+=(curl)
  if [ ${#pkgs[@]} -gt 0 ]; then
    before=$(services_pg_online_clusters)
    services_apt_no_start "${pkgs[@]}"
    # Debian's postinst creates the system cluster 15/main; it must not be
    # left running by us. With the policy above it never starts, but if a
    # policy-rc.d of the machine let it start, stop what we started.
    after=$(services_pg_online_clusters)
    for c in $after; do
      case " $(echo "$before" | tr '\n' ' ') " in *" $c "*) continue ;; esac
      log "stopping the system cluster $c that apt-get install started"
      as_root pg_ctlcluster "${c%%/*}" "${c#*/}" stop || true
    done
  fi
  if ! services_pg_bindir >/dev/null; then
    services_err "no initdb found after installing postgresql"
    return 1
  fi
  if ! LEDGERLINE_NATS_SERVER=$(services_nats_bin); then
    services_err "no nats-server found after installing it"
    return 1
  fi
  export LEDGERLINE_NATS_SERVER
}

# --- Postgres ------------------------------------------------------------

# Runs a command as the postgres user when we are root (Postgres refuses to
# run as root), else as ourselves.
services_as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_start() {
  local bin base dir port rc pid
  if [ -n "$SERVICES_PG_PID" ] && services_alive "$SERVICES_PG_PID"; then return 0; fi
  if ! bin=$(services_pg_bindir); then
    services_err "Postgres is not installed (run ensure_services_installed)"
    return 1
  fi
  SERVICES_PG_BIN=$bin
  base="${TMPDIR:-/tmp}"
  if [ "$(id -u)" -eq 0 ]; then
    if ! getent passwd postgres >/dev/null; then
      services_err "no 'postgres' user to run Postgres as"
      return 1
    fi
    # The postgres user must be able to reach the data dir.
    runuser -u postgres -- test -x "$base" 2>/dev/null || base=/tmp
  fi
  # Short path: the unix socket's path must stay under ~100 bytes.
  dir=$(mktemp -d "$base/ledgerline-pg.XXXXXX")
  SERVICES_PG_DIR=$dir
  mkdir -p "$dir/sock"
  if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$dir"; fi

  if ! (cd "$dir" && services_as_pg "$bin/initdb" -D "$dir/data" -U postgres \
    --auth=trust --encoding=UTF8 --locale=C --no-sync --no-instructions) >"$dir/initdb.log" 2>&1; then
    services_err "initdb failed"
    services_show_log "$dir/initdb.log"
    return 1
  fi
  # Only loopback, and only trust there: nothing else can reach it.
  cat >"$dir/data/pg_hba.conf" <<'EOF'
local all all              trust
host  all all 127.0.0.1/32 trust
EOF
  cat >>"$dir/data/postgresql.conf" <<EOF

# ledgerline services.sh: a private, throwaway test cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/sock'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
shared_buffers = 128MB
max_wal_size = 1GB
log_min_messages = warning
log_min_error_statement = panic
EOF
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir/data/pg_hba.conf"; fi

  # A port can be taken between the check and the bind: try a few.
  for _ in 1 2 3; do
    free_port port || return 1
    rc=0
    (cd "$dir" && services_as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" \
      -o "-p $port" -w -t "$SERVICES_START_TIMEOUT" -s start) >"$dir/pg_ctl.log" 2>&1 || rc=$?
    if [ "$rc" -eq 0 ]; then break; fi
    pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && services_alive "$pid"; then
      services_kill "$pid" QUIT 5   # started but not ready in time: give up
      break
    fi
    grep -qi 'address already in use' "$dir/postgres.log" 2>/dev/null || break
    log "port $port was taken meanwhile; trying another"
  done
  if [ "$rc" -ne 0 ]; then
    services_err "Postgres did not start (pg_ctl exit $rc) in $dir"
    services_show_log "$dir/pg_ctl.log"
    services_show_log "$dir/postgres.log"
    return 1
  fi
  SERVICES_PG_PID=$(head -n 1 "$dir/data/postmaster.pid")
  SERVICES_PG_PORT=$port
  # pg_ctl -w waited already; pg_isready on the TCP port confirms loopback works.
  local deadline=$((SECONDS + SERVICES_START_TIMEOUT))
  until "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres; do
    if [ "$SECONDS" -ge "$deadline" ] || ! services_alive "$SERVICES_PG_PID"; then
      services_err "Postgres (pid $SERVICES_PG_PID) does not accept connections on 127.0.0.1:$port"
      services_show_log "$dir/postgres.log"
      return 1
    fi
    sleep 0.1
  done
  export LEDGERLINE_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
  log "Postgres $("$bin/postgres" -V | awk '{print $3}') on 127.0.0.1:$port (pid $SERVICES_PG_PID, $dir)"
}

pg_stop() {
  local pid=$SERVICES_PG_PID
  if [ -z "$pid" ] && [ -n "$SERVICES_PG_DIR" ]; then
    pid=$(head -n 1 "$SERVICES_PG_DIR/data/postmaster.pid" 2>/dev/null || true)
  fi
  # SIGINT = fast shutdown (ends sessions, no checkpoint wait worth having).
  if [ -n "$pid" ]; then services_kill "$pid" INT 15; fi
  if [ -n "$SERVICES_PG_DIR" ] && [ -d "$SERVICES_PG_DIR" ]; then rm -rf "$SERVICES_PG_DIR"; fi
  SERVICES_PG_PID='' SERVICES_PG_DIR='' SERVICES_PG_PORT=''
  unset LEDGERLINE_TEST_PG_URL
}

# --- NATS ----------------------------------------------------------------

# Extra nats-server flags, word-split (e.g. LEDGERLINE_NATS_ARGS="-js").
nats_start() {
  local bin dir port line
  if [ -n "$SERVICES_NATS_PID" ] && services_alive "$SERVICES_NATS_PID"; then return 0; fi
  if ! bin=$(services_nats_bin); then
    services_err "nats-server is not installed (run ensure_services_installed)"
    return 1
  fi
  export LEDGERLINE_NATS_SERVER="$bin"
  dir=$(mktemp -d "${TMPDIR:-/tmp}/ledgerline-nats.XXXXXX")
  SERVICES_NATS_DIR=$dir
  for _ in 1 2 3; do
    free_port port || return 1
    # shellcheck disable=SC2086
    "$bin" -a 127.0.0.1 -p "$port" ${LEDGERLINE_NATS_ARGS:-} >"$dir/nats.log" 2>&1 &
    SERVICES_NATS_PID=$!
    local deadline=$((SECONDS + SERVICES_START_TIMEOUT)) ready=false
    while [ "$SECONDS" -lt "$deadline" ] && services_alive "$SERVICES_NATS_PID"; do
      # A NATS server greets every connection with `INFO {...}`.
      line=$( (exec 3<>"/dev/tcp/127.0.0.1/$port" && read -r -t 2 l <&3 && printf '%s' "$l") 2>/dev/null || true)
      case "$line" in INFO*) ready=true && break ;; esac
      sleep 0.1
    done
    if $ready; then break; fi
    if ! services_alive "$SERVICES_NATS_PID" && grep -qi 'address already in use' "$dir/nats.log"; then
      wait "$SERVICES_NATS_PID" 2>/dev/null || true
      log "port $port was taken meanwhile; trying another"
      continue
    fi
    if services_alive "$SERVICES_NATS_PID"; then
      services_err "nats-server (pid $SERVICES_NATS_PID) did not answer on 127.0.0.1:$port within ${SERVICES_START_TIMEOUT}s"
    else
      local st=0
      wait "$SERVICES_NATS_PID" 2>/dev/null || st=$?
      services_err "nats-server exited (status $st) before it answered on 127.0.0.1:$port"
    fi
    services_show_log "$dir/nats.log"
    nats_stop
    return 1
  done
  if ! $ready; then
    services_err "nats-server found no free port"
    nats_stop
    return 1
  fi
  SERVICES_NATS_PORT=$port
  export LEDGERLINE_TEST_NATS_URL="nats://127.0.0.1:$port"
  log "nats-server $("$bin" --version 2>/dev/null | awk '{print $NF}') on 127.0.0.1:$port (pid $SERVICES_NATS_PID)"
}

nats_stop() {
  if [ -n "$SERVICES_NATS_PID" ]; then services_kill "$SERVICES_NATS_PID" TERM 10; fi
  if [ -n "$SERVICES_NATS_DIR" ] && [ -d "$SERVICES_NATS_DIR" ]; then rm -rf "$SERVICES_NATS_DIR"; fi
  SERVICES_NATS_PID='' SERVICES_NATS_DIR='' SERVICES_NATS_PORT=''
  unset LEDGERLINE_TEST_NATS_URL
}

services_stop_all() {
  nats_stop || true
  pg_stop || true
}

# EXIT runs the stop; INT and TERM exit (with the usual codes) through EXIT.
services_trap() {
  trap services_stop_all EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

services_check() {
  services_trap
  ensure_services_installed
  pg_start
  nats_start
  echo "LEDGERLINE_TEST_PG_URL=$LEDGERLINE_TEST_PG_URL"
  echo "LEDGERLINE_TEST_NATS_URL=$LEDGERLINE_TEST_NATS_URL"
  echo "LEDGERLINE_NATS_SERVER=$LEDGERLINE_NATS_SERVER"
  "$SERVICES_PG_BIN/psql" "$LEDGERLINE_TEST_PG_URL" -X -q -v ON_ERROR_STOP=1 -c 'select 1'
  "$SERVICES_PG_BIN/psql" "$LEDGERLINE_TEST_PG_URL" -X -q -v ON_ERROR_STOP=1 \
    -c 'create database services_check' -c 'drop database services_check'
  services_stop_all
  log "services check passed"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-check}" in
    check) services_check ;;
    *)
      echo "usage: $0 check" >&2
      exit 2
      ;;
  esac
fi
