#!/usr/bin/env bash
# Builds Doorstep and starts it with demo data: a local HQ server (SQLite)
# with a demo dispatcher and jobs, and the app enrolled against it, so jobs
# arrive from HQ and completed work goes up. On a machine with no display the
# app runs under a virtual one (Xvfb).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

npm --prefix ui run build --silent
npm --prefix ui run build:console --silent
cargo build --bin doorstep -p doorstep --bin doorstep-hq -p doorstep-hq

# The demo's jobs are a Fujian operator's, booked in China time: show them in
# it, whatever this machine's zone (a TZ already set wins).
export TZ="${TZ:-Asia/Shanghai}"

# The demo keeps its own data, away from a real technician's.
export DOORSTEP_DATA_DIR="${DOORSTEP_DATA_DIR:-$PWD/.demo-data/app}"
hq_dir="${DOORSTEP_HQ_DIR:-$PWD/.demo-data/hq}"
port="${DOORSTEP_HQ_PORT:-8787}"
mkdir -p "$DOORSTEP_DATA_DIR" "$hq_dir"
database="sqlite:$hq_dir/hq.sqlite3"

# Loading the demo twice adds nothing but a fresh enrollment code.
demo=$(target/debug/doorstep-hq admin load-demo --database "$database")
code=$(sed -n 's/^enrollment code for .*: \([^ ]*\) (expires.*/\1/p' <<<"$demo")

# DOORSTEP_HQ_TLS=1: HQ serves https with a certificate from a demo CA of
# its own (made once, kept in the HQ's data), and the app enrolls trusting
# that CA, as it would an operator's.
scheme=http
tls_args=()
if [ "${DOORSTEP_HQ_TLS:-0}" = 1 ]; then
  tls="$hq_dir/tls"
  if [ ! -f "$tls/hq.pem" ]; then
    mkdir -p "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=Doorstep demo CA" \
      -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
      -keyout "$tls/hq.key" -out "$tls/hq.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$tls/san.ext"
    openssl x509 -req -in "$tls/hq.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
      -CAcreateserial -days 365 -extfile "$tls/san.ext" -out "$tls/hq.pem" 2>/dev/null
  fi
  scheme=https
  tls_args=(--tls-cert "$tls/hq.pem" --tls-key "$tls/hq.key")
  export DOORSTEP_HQ_CA="$tls/ca.pem"
  echo "HQ serves https; its demo CA (to trust in a browser): $tls/ca.pem"
fi

target/debug/doorstep-hq serve --listen "127.0.0.1:$port" --database "$database" "${tls_args[@]}" &
hq_pid=$!
trap 'kill "$hq_pid" 2>/dev/null || true' EXIT
health=(curl -fsS "$scheme://127.0.0.1:$port/health")
if [ -n "${DOORSTEP_HQ_CA:-}" ]; then health+=(--cacert "$DOORSTEP_HQ_CA"); fi
for _ in $(seq 100); do
  "${health[@]}" >/dev/null 2>&1 && break
  sleep 0.1
done

export DOORSTEP_HQ_URL="$scheme://127.0.0.1:$port"
export DOORSTEP_ENROLL_CODE="$code"
echo "Doorstep app data: $DOORSTEP_DATA_DIR"
echo "HQ: $DOORSTEP_HQ_URL (data: $hq_dir)"
echo "Dispatcher console: $DOORSTEP_HQ_URL/console/  ($(sed -n 's/^dispatcher: //p' <<<"$demo"))"
app=(target/debug/doorstep)
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "No display: running under Xvfb (take a screenshot with: DISPLAY=<display> import -window root shot.png)"
  app=(xvfb-run -a -s "-screen 0 1280x800x24" "${app[@]}")
fi
# The store's key goes to the OS keyring. Where no Secret Service answers
# (a server, a bare session), the demo starts its own, keeping its keyring
# in the demo folder so the key is there again at the next run.
if ! dbus-send --session --print-reply --dest=org.freedesktop.secrets \
  /org/freedesktop/secrets org.freedesktop.DBus.Peer.Ping >/dev/null 2>&1; then
  echo "No keyring running: starting one for the demo (its keyring is kept in .demo-data/desktop)"
  export DOORSTEP_KEYRING_HOME="${DOORSTEP_KEYRING_HOME:-$PWD/.demo-data/desktop}"
  app=(bash scripts/keyring-session.sh "${app[@]}")
fi
"${app[@]}"
