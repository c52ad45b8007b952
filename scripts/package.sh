#!/usr/bin/env bash
# A .deb of the desktop app (`make package`; not part of the tests).
# Uses the npm package @tauri-apps/cli, which ships a prebuilt binary (a few
# seconds to install, against ~16 min for `cargo install tauri-cli`), and
# builds only the deb bundle: an AppImage needs a download from GitHub,
# which this machine cannot reach.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
setup_main run
cd "$ROOT"

TOOLS="$HOME/.cache/ledgerline/tauri-cli"
if [ ! -x "$TOOLS/node_modules/.bin/tauri" ]; then
  log "npm install @tauri-apps/cli (prebuilt binary) into $TOOLS"
  mkdir -p "$TOOLS"
  npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error @tauri-apps/cli@2 >/dev/null
fi

log "building the UI"
(cd ui && npm run --silent build)

log "tauri build --bundles deb"
# tauri.conf.json has no beforeBuildCommand: the UI was built just above.
(cd src-tauri && "$TOOLS/node_modules/.bin/tauri" build --bundles deb --ci "$@")

deb="$(ls -t "$CARGO_TARGET_DIR"/release/bundle/deb/*.deb 2>/dev/null | head -1 || true)"
if [ -z "$deb" ]; then
  deb="$(ls -t "$CARGO_TARGET_DIR"/*/bundle/deb/*.deb 2>/dev/null | head -1 || true)"
fi
if [ -z "$deb" ]; then
  echo "error: tauri build finished but no .deb was found under $CARGO_TARGET_DIR" >&2
  exit 1
fi
log "package: $deb"
echo "$deb"
