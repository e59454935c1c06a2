#!/usr/bin/env bash
# Browser tests of the dispatcher console (tests/console): installs Chromium
# if missing, builds the console and doorstep-hq, runs the tests in headless
# Chromium, and ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

if [ ! -x /usr/bin/chromium ]; then
  echo "console-test: installing chromium" >&2
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null \
    || { echo "console-test: could not install chromium"; echo "0 passed, 1 failed"; exit 1; }
fi

if [ ! -d ui/node_modules/playwright-core ]; then
  npm --prefix ui install --no-audit --no-fund >/dev/null \
    || { echo "console-test: npm install failed"; echo "0 passed, 1 failed"; exit 1; }
fi

npm --prefix ui run build:console >/dev/null \
  || { echo "console-test: the console did not build"; echo "0 passed, 1 failed"; exit 1; }
# The same selection as scripts/test.sh's build, so nothing is compiled twice.
cargo test -q --workspace --lib --bins --tests --no-run \
  || { echo "console-test: doorstep-hq did not build"; echo "0 passed, 1 failed"; exit 1; }

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
node --test --test-concurrency=1 --test-reporter=tap tests/console/ 2>&1 | tee "$out"
status=${PIPESTATUS[0]}

passed=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$out" | tail -1)
failed=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$out" | tail -1)
passed=${passed:-0}
failed=${failed:-0}
# A crash before any test reports still counts as a failure.
if [ "$status" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
echo "${passed} passed, ${failed} failed"
[ "$failed" = 0 ]
