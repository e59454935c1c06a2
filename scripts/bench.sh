#!/usr/bin/env bash
# Prints Doorstep's performance figures (release build):
#  - the store with 10,000 jobs: job list and search, signature save to durable;
#  - the real app under Xvfb: cold start to an interactive job list, and the
#    resident memory of the app and its WebKit processes after opening 20 jobs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
npm --prefix ui run build --silent
cargo bench -p doorstep-store --bench store
xvfb-run -a -s "-screen 0 1280x800x24" cargo bench --bench app
