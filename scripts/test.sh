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
# the fresh UI into. The sync system test kills and restarts
# target/debug/doorstep-hq. Everything is built once, up front, and with
# one selection (the whole workspace's tests, which builds both binaries
# too): building a binary on its own would resolve other features and
# compile every dependency a second time.
cargo test --workspace --lib --bins --tests --no-run --quiet
log=$(mktemp)
window_log=$(mktemp)
fuzz_log=$(mktemp)
trap 'rm -f "$log" "$window_log" "$fuzz_log"; bash scripts/postgres.sh stop >/dev/null 2>&1 || true' EXIT

# Two groups at once, each one test at a time: the tests of the real window
# (tests/e2e_*.rs), which share tauri-driver's port, and all the others. Most
# of either group's time is spent waiting on a window, a server or a kill, so
# running them side by side shortens the run without sharing a port.
window_tests=()
other_tests=()
for file in tests/*.rs crates/*/tests/*.rs; do
  case "$file" in
    tests/e2e_*) window_tests+=(--test "$(basename "$file" .rs)") ;;
    *) other_tests+=(--test "$(basename "$file" .rs)") ;;
  esac
done
# The app's store key lives in the OS keyring: the tests get a real one of
# their own (a private session bus with gnome-keyring), never a mock.
run_tests() {
  bash scripts/keyring-session.sh xvfb-run -a -s "-screen 0 1280x800x24" \
    cargo test --workspace --no-fail-fast "$@" --quiet -- --include-ignored --test-threads=1
}
status=0
run_tests "${window_tests[@]}" >"$window_log" 2>&1 &
window_pid=$!
# pipefail (set above) makes a failing cargo fail the pipeline despite tee.
run_tests --lib --bins "${other_tests[@]}" 2>&1 | tee "$log" || status=1
# Then HQ's API fuzzed from its OpenAPI document, on SQLite and this
# PostgreSQL, still beside the window tests (its HQ listens on a free port
# of its own and its PostgreSQL schema is its own): two streams at once on
# two cores, so a window never waits on three.
bash scripts/fuzz-hq.sh >"$fuzz_log" 2>&1 || status=1
wait "$window_pid" || status=1
echo "== end-to-end tests of the real window"
tee -a "$log" <"$window_log"
echo "== HQ's API fuzzed from /openapi.json (Schemathesis)"
tee -a "$log" <"$fuzz_log"

echo "== dispatcher console in headless Chromium"
bash scripts/console-test.sh 2>&1 | tee -a "$log" || status=1

# One closing line for the whole run: cargo's "test result" lines plus the
# "N passed, N failed" of the fuzzer and the console.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
     /^[0-9]+ passed, [0-9]+ failed$/ { p += $1; f += $3 }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
exit "$status"
