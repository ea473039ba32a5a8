#!/usr/bin/env bash
# Installs the real authorization servers of conformance/tests/real_servers.rs from their
# registries into target/real-servers/ (never into the repository): oidc-provider with
# `npm ci` from package-lock.json, Authlib and Flask with `pip install --target` from the
# pinned requirements.txt (a folder of its own under target/, so Debian's PEP 668 guard has
# nothing to protect). Offline-safe once installed: a folder whose lock file has not
# changed since its last install is left alone, so a second run costs nothing.
# Usage: conformance/tests/real_servers/install.sh [TARGET_DIR]   (default: target/)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
dest="${1:-$root/target}/real-servers"
mkdir -p "$dest"

# Runs "$@" in folder $1 unless $1/.installed equals the lock file $2.
install_once() {
  local dir="$1" lock="$2"; shift 2
  if [ -f "$dir/.installed" ] && cmp -s "$lock" "$dir/.installed"; then
    echo "real servers: $(basename "$dir") already installed"
    return
  fi
  rm -rf "$dir" && mkdir -p "$dir"
  "$@"
  cp "$lock" "$dir/.installed"
}

if command -v npm >/dev/null 2>&1; then
  op="$dest/oidc-provider"
  install_once "$op" "$here/oidc_provider/package-lock.json" sh -c \
    "cp '$here/oidc_provider/package.json' '$here/oidc_provider/package-lock.json' '$op/' && cd '$op' && npm ci --no-audit --no-fund --loglevel=error"
else
  echo "real servers: npm is missing, oidc-provider not installed (apt-get install -y nodejs npm)" >&2
fi

if command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1; then
  al="$dest/authlib"
  install_once "$al" "$here/authlib/requirements.txt" \
    env PIP_ROOT_USER_ACTION=ignore PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
      --target "$al/site" -r "$here/authlib/requirements.txt"
else
  echo "real servers: python3 with pip is missing, Authlib not installed (apt-get install -y python3-pip)" >&2
fi
