#!/usr/bin/env bash
# Install the real peers wicct can test against (see docs: Kamailio as an eP-CSCF, JsSIP in
# Chromium as a WIC; tshark, which reads a bundle's traffic.pcapng). Idempotent: each step is skipped when its result is already there.
# Run as root on Debian 12. Exits non-zero on the first failure.
#
#   scripts/install-real-peers.sh            # everything
#   scripts/install-real-peers.sh --check    # only report what is missing (exit 1 if any)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JS_DIR="$ROOT/harness/suts/browser/js"
BUNDLE="$ROOT/harness/suts/browser/web/jssip.bundle.js"
JSSIP_VERSION="3.13.8"

APT_PACKAGES=(
  kamailio kamailio-websocket-modules kamailio-tls-modules kamailio-ims-modules
  kamailio-utils-modules kamailio-extra-modules
  rtpengine-daemon
  chromium libnss3-tools
  tshark  # reads the bundle's traffic.pcapng back (tests/cli/test_bundle.py)
)

CHECK_ONLY=0
[[ "${1:-}" == "--check" ]] && CHECK_ONLY=1

say() { printf 'install-real-peers: %s\n' "$*"; }
die() { printf 'install-real-peers: error: %s\n' "$*" >&2; exit 1; }

missing_apt() {
  local pkg out=()
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      out+=("$pkg")
    fi
  done
  printf '%s\n' "${out[@]}"
}

# --- 1. Debian packages -------------------------------------------------------------------
NEED_APT=("${APT_PACKAGES[@]}")
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  NEED_APT+=(nodejs npm)
fi
mapfile -t MISSING < <(missing_apt "${NEED_APT[@]}" | sed '/^$/d')
if ((${#MISSING[@]} == 0)); then
  say "apt: all present (${APT_PACKAGES[*]})"
elif ((CHECK_ONLY)); then
  say "apt: missing ${MISSING[*]}"
  MISSING_ANY=1
else
  [[ $(id -u) -eq 0 ]] || die "apt packages missing (${MISSING[*]}): run as root"
  say "apt: installing ${MISSING[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q || die "apt-get update failed"
  apt-get install -y -q "${MISSING[@]}" || die "apt-get install failed"
  say "apt: installed ${MISSING[*]}"
fi

# --- 2. JsSIP and esbuild from npm into the project-local folder --------------------------
jssip_ok() {
  [[ -f "$JS_DIR/node_modules/jssip/package.json" ]] &&
    node -e "process.exit(require('$JS_DIR/node_modules/jssip/package.json').version === '$JSSIP_VERSION' ? 0 : 1)" 2>/dev/null &&
    [[ -x "$JS_DIR/node_modules/.bin/esbuild" ]] &&
    "$JS_DIR/node_modules/.bin/esbuild" --version >/dev/null 2>&1
}
if jssip_ok; then
  say "npm: jssip@$JSSIP_VERSION and esbuild present in ${JS_DIR#"$ROOT"/}/node_modules"
elif ((CHECK_ONLY)); then
  say "npm: jssip@$JSSIP_VERSION or esbuild missing"
  MISSING_ANY=1
else
  command -v npm >/dev/null 2>&1 || die "npm not found"
  say "npm: installing from ${JS_DIR#"$ROOT"/}/package-lock.json"
  if [[ -f "$JS_DIR/package-lock.json" ]]; then
    (cd "$JS_DIR" && npm ci --no-audit --no-fund) || die "npm ci failed"
  else
    (cd "$JS_DIR" && npm install --no-audit --no-fund) || die "npm install failed"
  fi
  jssip_ok || die "jssip@$JSSIP_VERSION or esbuild still missing after npm"
  say "npm: installed jssip@$JSSIP_VERSION and esbuild $("$JS_DIR/node_modules/.bin/esbuild" --version)"
fi

# --- 3. Browser bundle of JsSIP -----------------------------------------------------------
if [[ -s "$BUNDLE" && "$BUNDLE" -nt "$JS_DIR/node_modules/jssip/package.json" ]] &&
  grep -q "var JsSIP" "$BUNDLE"; then
  say "bundle: ${BUNDLE#"$ROOT"/} up to date"
elif ((CHECK_ONLY)); then
  say "bundle: ${BUNDLE#"$ROOT"/} missing or stale"
  MISSING_ANY=1
else
  (cd "$JS_DIR" && ./node_modules/.bin/esbuild node_modules/jssip/lib/JsSIP.js \
    --bundle --format=iife --global-name=JsSIP --platform=browser \
    --log-level=warning --outfile="$BUNDLE") || die "esbuild failed"
  say "bundle: wrote ${BUNDLE#"$ROOT"/} ($(stat -c %s "$BUNDLE") bytes)"
fi

if ((CHECK_ONLY)); then
  [[ -z "${MISSING_ANY:-}" ]] || exit 1
  say "everything present"
  exit 0
fi

# --- 4. Smoke checks ----------------------------------------------------------------------
kamailio -v >/dev/null 2>&1 || die "kamailio does not run"
[[ -x /usr/lib/chromium/chromium ]] || die "/usr/lib/chromium/chromium missing"
command -v certutil >/dev/null 2>&1 || die "certutil missing"
# rtpengine runs as wicct's child in user space (--table=-1, --config-file=none); the
# package's own service is not needed
rtpengine --version >/dev/null 2>&1 || die "rtpengine does not run"
say "ok: $(kamailio -v | head -1 | sed 's/^version: //; s/ *$//'), rtpengine $(rtpengine --version 2>&1 | sed -n 's/^Version: //p'), $(/usr/lib/chromium/chromium --version 2>/dev/null | head -1 | sed 's/ *$//'), jssip $JSSIP_VERSION"
