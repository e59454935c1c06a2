#!/usr/bin/env bash
# Prints Doorstep's performance figures (release build):
#  - the store with 10,000 jobs: job list and search, signature save to durable;
#  - the real app under Xvfb: cold start to its first job list on screen, and the
#    memory (PSS beside resident) of the app and its WebKit processes after
#    opening 20 jobs with two photos and a signature each, and after 200
#    openings of them (the growth), beside issue 15's targets;
#  - sync over loopback against a real HQ (SQLite and PostgreSQL, the latter
#    durable: fsync and synchronous_commit on): depot sync of 1,000 jobs with
#    20 KiB signatures beside the physical floor, 200 and 2,000 devices
#    syncing at once, and 1, 2 and 4 `doorstep-hq serve` processes on one
#    PostgreSQL;
#  - the customers' history at scale: one technician's day pulled with its
#    customers' stories from an HQ holding 100,000 customers and 1,000,000
#    past jobs (SQLite and PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
npm --prefix ui run build --silent
cargo bench -p doorstep-store --bench store
bash scripts/keyring-session.sh xvfb-run -a -s "-screen 0 1280x800x24" cargo bench --bench app
eval "$(DOORSTEP_PG_DURABLE=1 bash scripts/postgres.sh env)"
trap 'bash scripts/postgres.sh stop >/dev/null 2>&1 || true' EXIT
cargo build --release -p doorstep-hq
cargo bench -p doorstep-sync --bench depot
cargo bench -p doorstep-sync --bench history
