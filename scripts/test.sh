#!/usr/bin/env bash
# Runs every check and test: formatting, lints, the UI's type check, unit and
# integration tests, and end-to-end tests of the real window under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"

echo "== format"
cargo fmt --all -- --check

echo "== UI: type check, unit tests and build"
(cd ui && npm run --silent check && npm run --silent check:console && npm run --silent test && npm run --silent build)

echo "== lints"
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== PostgreSQL for the HQ server's conformance suite"
eval "$(bash scripts/postgres.sh env)"
trap 'bash scripts/postgres.sh stop >/dev/null 2>&1 || true' EXIT

echo "== unit, integration and end-to-end tests"
# The end-to-end tests drive target/debug/doorstep, which this build embeds
# the fresh UI into; they run one at a time, each with its own window. The
# sync system test kills and restarts target/debug/doorstep-hq.
cargo build --bin doorstep --quiet
cargo build -p doorstep-hq --bin doorstep-hq --quiet
log=$(mktemp)
trap 'rm -f "$log"; bash scripts/postgres.sh stop >/dev/null 2>&1 || true' EXIT
status=0
# pipefail (set above) makes a failing cargo fail the pipeline despite tee.
# The app's store key lives in the OS keyring: the tests get a real one of
# their own (a private session bus with gnome-keyring), never a mock.
bash scripts/keyring-session.sh xvfb-run -a -s "-screen 0 1280x800x24" \
  cargo test --workspace --lib --bins --tests --quiet -- --include-ignored --test-threads=1 2>&1 \
  | tee "$log" || status=1

echo "== dispatcher console in headless Chromium"
bash scripts/console-test.sh 2>&1 | tee -a "$log" || status=1

# One closing line for the whole run: cargo's "test result" lines plus the
# console's "N passed, N failed".
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
     /^[0-9]+ passed, [0-9]+ failed$/ { p += $1; f += $3 }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
exit "$status"
