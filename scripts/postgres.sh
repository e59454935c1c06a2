#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback, for the HQ server's tests.
#
#   scripts/postgres.sh          start it (installs PostgreSQL if missing); prints the URL
#   scripts/postgres.sh url      print the URL
#   scripts/postgres.sh stop     stop it and delete its files
#   eval "$(scripts/postgres.sh env)"   start it and export DOORSTEP_TEST_POSTGRES_URL
#                                       (and DOORSTEP_TEST_POSTGRES_CA, see below)
#
# Where openssl is installed, the cluster also speaks TLS with a certificate
# from a CA of its own (DOORSTEP_TEST_POSTGRES_CA), so the tests can reach it
# with sslmode=require; plain connections work as before.
# Idempotent: starting a running cluster just prints its URL. As root, the
# cluster runs as the `postgres` user (PostgreSQL refuses to run as root).
# DOORSTEP_PG_DIR and DOORSTEP_PG_PORT override where and on which port.
# Tests run it without fsync (it is thrown away); DOORSTEP_PG_DURABLE=1 starts
# it with PostgreSQL's durable defaults (fsync and synchronous_commit on), as
# the benchmarks need: a commit then waits for the disk, as SQLite's does.
set -euo pipefail

DIR="${DOORSTEP_PG_DIR:-${TMPDIR:-/tmp}/doorstep-pg-$(id -u)}"
PORT="${DOORSTEP_PG_PORT:-54329}"
DB=doorstep_test
USER_NAME=doorstep
URL="postgres://${USER_NAME}@127.0.0.1:${PORT}/${DB}"

log() { echo "postgres.sh: $*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

pg_bin() {
    local bin
    bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -z "$bin" ] && command -v pg_ctl >/dev/null 2>&1; then
        bin="$(dirname "$(command -v pg_ctl)")"
    fi
    echo "$bin"
}

install_postgres() {
    if [ -n "$(pg_bin)" ]; then return; fi
    log "installing PostgreSQL with apt"
    export DEBIAN_FRONTEND=noninteractive
    if ! as_root apt-get install -y -q postgresql >/dev/null; then
        as_root apt-get update -q >/dev/null
        as_root apt-get install -y -q postgresql >/dev/null
    fi
    [ -n "$(pg_bin)" ] || { log "PostgreSQL did not install"; exit 1; }
}

# Runs a PostgreSQL tool as the user that owns the cluster.
run() {
    local tool="$(pg_bin)/$1"
    shift
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$tool" "$@"
    else
        "$tool" "$@"
    fi
}

running() {
    [ -f "$DIR/data/PG_VERSION" ] && run pg_ctl -D "$DIR/data" status >/dev/null 2>&1
}

# A CA and a server certificate for 127.0.0.1, made once per cluster.
make_tls() {
    local tls="$DIR/tls"
    if [ -f "$tls/server.pem" ] || ! command -v openssl >/dev/null 2>&1; then return; fi
    mkdir -p "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=doorstep test CA" \
        -keyout "$tls/ca.key" -out "$tls/ca.pem" >/dev/null 2>&1
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$tls/server.key" -out "$tls/server.csr" >/dev/null 2>&1
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >"$tls/ext"
    openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
        -CAcreateserial -days 3650 -extfile "$tls/ext" -out "$tls/server.pem" >/dev/null 2>&1
    chmod 600 "$tls/server.key" "$tls/ca.key"
    [ "$(id -u)" -ne 0 ] || chown -R postgres: "$tls"
}

tls_options() {
    if [ -f "$DIR/tls/server.pem" ]; then
        echo "-c ssl=on -c ssl_cert_file=$DIR/tls/server.pem -c ssl_key_file=$DIR/tls/server.key"
    fi
}

start() {
    install_postgres
    if running; then
        echo "$URL"
        return
    fi
    mkdir -p "$DIR"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$DIR"
    fi
    chmod 700 "$DIR"
    if [ ! -f "$DIR/data/PG_VERSION" ]; then
        rm -rf "$DIR/data"
        run initdb -D "$DIR/data" -U "$USER_NAME" --auth=trust -E UTF8 --no-locale >"$DIR/initdb.log" 2>&1 ||
            { cat "$DIR/initdb.log" >&2; exit 1; }
    fi
    mkdir -p "$DIR/sock"
    [ "$(id -u)" -ne 0 ] || chown postgres: "$DIR/sock"
    make_tls
    # A test cluster: loopback only, no fsync unless asked (it is thrown away).
    local durability="-c fsync=off"
    if [ "${DOORSTEP_PG_DURABLE:-0}" = 1 ]; then durability="-c fsync=on -c synchronous_commit=on"; fi
    run pg_ctl -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR/sock $durability -c max_connections=200 $(tls_options)" \
        start >/dev/null || { cat "$DIR/server.log" >&2; exit 1; }
    if ! run psql -h 127.0.0.1 -p "$PORT" -U "$USER_NAME" -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
        run createdb -h 127.0.0.1 -p "$PORT" -U "$USER_NAME" "$DB"
    fi
    log "running on 127.0.0.1:$PORT (files in $DIR)"
    echo "$URL"
}

stop() {
    if [ -f "$DIR/data/PG_VERSION" ] && [ -n "$(pg_bin)" ]; then
        run pg_ctl -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$DIR"
    log "stopped"
}

case "${1:-start}" in
    start) start ;;
    url) echo "$URL" ;;
    env)
        echo "export DOORSTEP_TEST_POSTGRES_URL=$(start)"
        if [ -f "$DIR/tls/ca.pem" ]; then echo "export DOORSTEP_TEST_POSTGRES_CA=$DIR/tls/ca.pem"; fi
        ;;
    stop) stop ;;
    *) echo "usage: $0 [start|url|env|stop]" >&2; exit 2 ;;
esac
