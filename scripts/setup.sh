#!/usr/bin/env bash
# Installs what building, running and testing Ledgerline needs on a fresh
# Debian 12 machine, and nothing that is already there. Sourced by run.sh and
# test.sh; safe to run again.
#
#   scripts/setup.sh          # everything (build + tests)
#   scripts/setup.sh run      # only what `make run` needs
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# One cargo target directory outside the clone, so a fresh clone (CI) reuses
# earlier builds instead of starting cold.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ledgerline/target}"
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# apt packages: build (webkit2gtk pulls gtk, soup, javascriptcore, dbus dev),
# tests (Xvfb, WebKitWebDriver, a D-Bus session bus for single-instance,
# ImageMagick for screenshots, python3-venv for schemathesis).
APT_BUILD=(build-essential pkg-config libwebkit2gtk-4.1-dev curl ca-certificates)
APT_TEST=(xvfb xauth webkit2gtk-driver dbus dbus-x11 imagemagick procps python3 python3-venv)

ensure_apt() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

ensure_toolchain() {
  if ! command -v cargo >/dev/null; then
    echo "error: cargo not found. Install Rust (rustup, stable >= 1.85) and re-run." >&2
    exit 1
  fi
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    ensure_apt nodejs npm
  fi
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt 2>/dev/null || true
}

ensure_ui_deps() {
  if [ ! -d "$ROOT/ui/node_modules" ] || [ "$ROOT/ui/package-lock.json" -nt "$ROOT/ui/node_modules/.package-lock.json" ]; then
    log "npm ci (ui/)"
    (cd "$ROOT/ui" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

ensure_tauri_driver() {
  if ! command -v tauri-driver >/dev/null; then
    log "cargo install tauri-driver"
    cargo install tauri-driver --locked --quiet
  fi
}

setup_main() {
  ensure_apt "${APT_BUILD[@]}"
  ensure_toolchain
  ensure_ui_deps
  if [ "${1:-all}" != run ]; then
    ensure_apt "${APT_TEST[@]}"
    ensure_tauri_driver
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  setup_main "${1:-all}"
fi
