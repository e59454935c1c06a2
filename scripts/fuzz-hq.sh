#!/usr/bin/env bash
# Property-based fuzzing of HQ's API from its own /openapi.json, with
# Schemathesis (pinned in scripts/fuzz-hq-requirements.txt, installed in
# .venv-fuzz). It starts a real doorstep-hq on a free loopback port with a
# fresh database and the demo set, logs in as the demo dispatcher and
# enrolls a device, then fuzzes every operation twice: as the dispatcher
# (session cookie) and as the device (Bearer token). Each run checks that no
# answer is a 5xx, that every status code and content type is one the
# document names, and that every body matches the document's schema.
#
#   scripts/fuzz-hq.sh                       SQLite, and PostgreSQL as well
#                                            when DOORSTEP_TEST_POSTGRES_URL
#                                            is set (scripts/postgres.sh env)
#   DOORSTEP_FUZZ_EXAMPLES=N                 cases per operation (default 25)
#   DOORSTEP_FUZZ_SEED=N                     the seed (default 1: the same
#                                            cases every run)
#   scripts/fuzz-hq.sh ARGS...               ARGS go to both Schemathesis runs,
#                                            e.g. --include-path /api/v1/jobs
#
# Ends with "N passed, N failed", one per operation, role and backend. The tokens
# travel to Schemathesis only in its environment (its config reads them from
# there) and are never printed; Schemathesis masks them in what it reports.
set -uo pipefail
cd "$(dirname "$0")/.."

examples="${DOORSTEP_FUZZ_EXAMPLES:-25}"
seed="${DOORSTEP_FUZZ_SEED:-1}"

fail() {
  echo "fuzz-hq: $*"
  echo "0 passed, 1 failed"
  exit 1
}

# Schemathesis in a virtualenv of its own, at the pinned versions; made
# again when the pins change.
venv="$PWD/.venv-fuzz"
requirements=scripts/fuzz-hq-requirements.txt
if [ ! -x "$venv/bin/schemathesis" ] || [ "$requirements" -nt "$venv/bin/schemathesis" ]; then
  echo "fuzz-hq: installing Schemathesis in .venv-fuzz"
  python3 -m venv "$venv" || fail "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" \
    || fail "could not install Schemathesis"
  touch "$venv/bin/schemathesis"
fi

# The same selection as scripts/test.sh's build, so nothing is compiled twice.
cargo test -q --workspace --lib --bins --tests --no-run || fail "doorstep-hq did not build"
hq=target/debug/doorstep-hq
dir=$(mktemp -d)
hq_pid=""
stop_hq() {
  if [ -n "$hq_pid" ]; then kill "$hq_pid" 2>/dev/null; wait "$hq_pid" 2>/dev/null; fi
  hq_pid=""
}
postgres_schema=""
psql=""
cleanup() {
  stop_hq
  if [ -n "$postgres_schema" ]; then
    "$psql" -q "$DOORSTEP_TEST_POSTGRES_URL" -c "DROP SCHEMA IF EXISTS $postgres_schema CASCADE" >/dev/null 2>&1
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
read_json() { "$venv/bin/python" -c "import json, sys; print($1)"; }

passed=0
failed=0
# Adds up a run's JUnit report: one test case per operation.
count() {
  local counts
  counts=$("$venv/bin/python" - "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
cases = list(ET.parse(sys.argv[1]).iter("testcase"))
bad = sum(1 for c in cases if c.find("failure") is not None or c.find("error") is not None)
print(len(cases) - bad, bad)
PY
  ) || counts="0 1"
  passed=$((passed + ${counts% *}))
  failed=$((failed + ${counts#* }))
}

# Each role's headers, read by Schemathesis from the environment.
cat >"$dir/dispatcher.toml" <<'TOML'
headers = { Cookie = "doorstep_session=${DOORSTEP_FUZZ_SESSION}", Origin = "${DOORSTEP_FUZZ_ORIGIN}" }
TOML
cat >"$dir/device.toml" <<'TOML'
headers = { Authorization = "Bearer ${DOORSTEP_FUZZ_DEVICE_TOKEN}" }
TOML
export PYTHONPATH="$PWD/scripts" SCHEMATHESIS_HOOKS=fuzz_hq_hooks

# fuzz_backend NAME DATABASE [SCHEMATHESIS ARGS...]: a fresh HQ on DATABASE
# with the demo set, fuzzed as the device and as the dispatcher.
fuzz_backend() {
  local name=$1 database=$2
  shift 2
  echo "== fuzzing HQ's API on $name"
  local demo code
  if ! demo=$("$hq" admin load-demo --database "$database"); then
    echo "fuzz-hq: load-demo failed on $name"
    failed=$((failed + 1))
    return
  fi
  code=$(sed -n 's/^enrollment code for .*: \([^ ]*\) (expires.*/\1/p' <<<"$demo" | head -1)

  local port base
  port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  "$hq" serve --listen "127.0.0.1:$port" --database "$database" >"$dir/hq-$name.log" 2>&1 &
  hq_pid=$!
  for _ in $(seq 200); do
    curl -fsS "$base/health" >/dev/null 2>&1 && break
    kill -0 "$hq_pid" 2>/dev/null || break
    sleep 0.1
  done

  # The dispatcher's session cookie, read off the log-in's Set-Cookie.
  local session
  session=$(curl -fsS -o /dev/null -D - -H 'Content-Type: application/json' \
    -d '{"username":"dispatcher","password":"doorstep-demo"}' "$base/api/v1/login" \
    | sed -n 's/^[Ss]et-[Cc]ookie: doorstep_session=\([^;]*\).*/\1/p' | tr -d '\r')
  # A device enrolled with the demo's code, and the ids of its jobs (for
  # the hooks in scripts/fuzz_hq_hooks.py). The token goes to curl on its
  # standard input, never in a command line.
  local enrolled device_token="" device_id="" job_ids=""
  enrolled=$(curl -fsS -H 'Content-Type: application/json' -H 'X-Doorstep-Protocol: 1' \
    -d "{\"code\":\"$code\",\"device_name\":\"fuzzer\"}" "$base/api/v1/enroll")
  if [ -n "$enrolled" ]; then
    device_token=$(read_json 'json.load(sys.stdin)["token"]' <<<"$enrolled")
    device_id=$(read_json 'json.load(sys.stdin)["device_id"]' <<<"$enrolled")
    job_ids=$(curl -fsS -H 'X-Doorstep-Protocol: 1' -H @- "$base/api/v1/sync/jobs" \
      <<<"Authorization: Bearer $device_token" \
      | read_json '",".join(job["id"] for job in json.load(sys.stdin)["jobs"])')
  fi
  if [ -z "$session" ] || [ -z "$device_token" ] || [ -z "$job_ids" ]; then
    cat "$dir/hq-$name.log"
    echo "fuzz-hq: HQ on $name did not start, or the demo dispatcher or device could not sign in"
    failed=$((failed + 1))
    stop_hq
    return
  fi
  export DOORSTEP_FUZZ_SESSION="$session" DOORSTEP_FUZZ_ORIGIN="$base"
  export DOORSTEP_FUZZ_DEVICE_TOKEN="$device_token" DOORSTEP_FUZZ_DEVICE_ID="$device_id"
  export DOORSTEP_FUZZ_JOB_IDS="$job_ids"

  # The device first: the dispatcher's run may revoke it (its stateful
  # phase follows GET /api/v1/devices to POST /api/v1/devices/{id}/revoke).
  # Log-out is left out of the dispatcher's run: it would end the very
  # session that run fuzzes with.
  local role
  for role in device dispatcher; do
    local leave_out=()
    [ "$role" = dispatcher ] && leave_out=(--exclude-path /api/v1/logout)
    echo "== $name, as the $role"
    # Run in the temporary directory, where Schemathesis leaves its cache;
    # no database of earlier examples, so a seed gives the same cases.
    (cd "$dir" && "$venv/bin/schemathesis" --config-file "$role.toml" run "$base/openapi.json" \
      --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
      --max-examples "$examples" --seed "$seed" --generation-database none --workers 1 \
      --report junit --report-junit-path "$name-$role.xml" "${leave_out[@]}" "$@")
    count "$dir/$name-$role.xml"
  done
  stop_hq
}

fuzz_backend sqlite "sqlite:$dir/hq.sqlite3" "$@"

# PostgreSQL too, when scripts/postgres.sh runs one (scripts/test.sh starts
# it): in a schema of this run's own, dropped at the end.
if [ -n "${DOORSTEP_TEST_POSTGRES_URL:-}" ]; then
  psql=$(command -v psql || ls -d /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -n 1)
  postgres_schema="fuzz_$$"
  if [ -n "$psql" ] && "$psql" -q "$DOORSTEP_TEST_POSTGRES_URL" -c "CREATE SCHEMA $postgres_schema" >/dev/null; then
    joiner='?'
    [[ "$DOORSTEP_TEST_POSTGRES_URL" == *'?'* ]] && joiner='&'
    fuzz_backend postgresql "$DOORSTEP_TEST_POSTGRES_URL${joiner}options=-c%20search_path%3D$postgres_schema" "$@"
  else
    postgres_schema=""
    echo "fuzz-hq: could not make a schema in PostgreSQL"
    failed=$((failed + 1))
  fi
fi

echo "${passed} passed, ${failed} failed"
[ "$failed" = 0 ]
