#!/usr/bin/env bash
# Builds Doorstep and starts it with demo data. On a machine with no display
# it runs under a virtual one (Xvfb).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

npm --prefix ui run build --silent
cargo build --bin doorstep

# The demo keeps its own data, away from a real technician's.
export DOORSTEP_DATA_DIR="${DOORSTEP_DATA_DIR:-$PWD/.demo-data}"
echo "Doorstep data: $DOORSTEP_DATA_DIR"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec target/debug/doorstep
else
  echo "No display: running under Xvfb (take a screenshot with: DISPLAY=<display> import -window root shot.png)"
  exec xvfb-run -a -s "-screen 0 1280x800x24" target/debug/doorstep
fi
