#!/usr/bin/env bash
# Runs a command with an OS keyring reachable, as the app's store key needs:
# inside a private session bus with gnome-keyring's Secret Service unlocked.
# Its keyrings live under $DOORSTEP_KEYRING_HOME (a fresh temporary folder,
# removed afterwards, when unset), never in the user's own keyring.
#   bash scripts/keyring-session.sh COMMAND [ARGS...]
set -euo pipefail
if [ -z "${DOORSTEP_KEYRING_SESSION:-}" ]; then
  home="${DOORSTEP_KEYRING_HOME:-}"
  temporary=""
  if [ -z "$home" ]; then
    home=$(mktemp -d)
    temporary="$home"
  fi
  mkdir -p "$home"
  status=0
  XDG_DATA_HOME="$home" DOORSTEP_KEYRING_SESSION=1 \
    dbus-run-session -- bash "$0" "$@" || status=$?
  [ -z "$temporary" ] || rm -rf "$temporary"
  exit "$status"
fi
# An empty keyring folder: this password creates and unlocks the login
# keyring. An existing one (DOORSTEP_KEYRING_HOME) must have been made with it.
eval "$(printf %s "${DOORSTEP_KEYRING_PASSWORD:-doorstep}" \
  | gnome-keyring-daemon --daemonize --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
exec "$@"
