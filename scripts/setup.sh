#!/usr/bin/env bash
# Installs what building, running and testing Doorstep needs, on Debian or
# Ubuntu. Safe to run again: anything already there is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

packages=(
  libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libayatana-appindicator3-dev
  libssl-dev openssl build-essential pkg-config file curl
  xvfb xauth webkit2gtk-driver imagemagick fonts-noto-cjk chromium tzdata
  nodejs npm
  dbus libdbus-1-dev gnome-keyring libsecret-tools sqlite3
  python3 python3-venv
)
missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    # node, npm and Python (scripts/fuzz-hq.sh makes a virtualenv with it)
    # may come from elsewhere than Debian's packages.
    case "$package" in
      nodejs) command -v node >/dev/null && continue ;;
      npm) command -v npm >/dev/null && continue ;;
      python3) command -v python3 >/dev/null && continue ;;
      python3-venv) python3 -c 'import ensurepip, venv' 2>/dev/null && continue ;;
    esac
    missing+=("$package")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null; then
  echo "setup: Rust is missing: install it with rustup first" >&2
  exit 1
fi

# The web UI's modules, at the lock file's versions. (Not `npm ci`: npm
# leaves other platforms' optional packages out of a lock written without
# resolved URLs, and `npm ci` then refuses the lock as out of sync.)
if [ ! -f ui/node_modules/.package-lock.json ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  echo "setup: installing the UI's npm modules"
  (cd ui && npm install --no-audit --no-fund --loglevel=error)
fi

# The WebDriver bridge for end-to-end tests of the real window.
if ! command -v tauri-driver >/dev/null && [ ! -x "$HOME/.cargo/bin/tauri-driver" ]; then
  echo "setup: installing tauri-driver"
  cargo install tauri-driver --locked --quiet
fi
