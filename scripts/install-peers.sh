#!/usr/bin/env bash
# Installs the real peers the integration tests drive (see docs in test/peers/index.ts):
# Pebble (ACME test CA), nsd, unbound, Chromium, certutil, dig, kdig, openssl.
# Idempotent: exits 0 at once when everything is present. Without root it only reports what is
# missing and how to install it (the tests then skip with that reason). It never starts, stops
# or reconfigures a system service; a running nsd/unbound service is only reported.
set -euo pipefail

PACKAGES=(pebble nsd unbound chromium libnss3-tools bind9-dnsutils knot-dnsutils openssl ca-certificates curl)

# Binaries the tests need; pebble-challtestsrv is optional (reported, never required).
REQUIRED=(pebble nsd unbound chromium certutil dig kdig openssl curl)
OPTIONAL=(pebble-challtestsrv)

have() {
  case "$1" in
    chromium) [ -x /usr/lib/chromium/chromium ] || [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1 ;;
    *) command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ] ;;
  esac
}

missing_of() {
  local out=()
  for bin in "$@"; do have "$bin" || out+=("$bin"); done
  echo "${out[*]:-}"
}

report_system_services() {
  # Only report: the tests bind their own addresses, and a system service is not ours to stop.
  local name pid
  for name in nsd unbound; do
    for pid in $(pgrep -x "$name" 2>/dev/null || true); do
      echo "note: a system '$name' process is running (pid $pid); it is left alone." \
        "If it holds 127.0.0.x:53, tests binding :53 on that address will fail." >&2
    done
  done
}

missing="$(missing_of "${REQUIRED[@]}")"
if [ -z "$missing" ]; then
  optional_missing="$(missing_of "${OPTIONAL[@]}")"
  [ -z "$optional_missing" ] || echo "optional, not installed: $optional_missing"
  echo "all peers present"
  report_system_services
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "missing: $missing"
  echo "install as root (Debian 12):"
  echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${PACKAGES[*]}"
  echo "tests needing these binaries will be skipped with this reason."
  exit 0
fi

echo "installing: ${PACKAGES[*]} (missing: $missing)"
# policy-rc.d exit 101 keeps the packages' maintainer scripts from starting nsd/unbound on :53;
# an existing policy file is left as it is.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  made_policy=1
fi
cleanup() { [ "$made_policy" -eq 0 ] || rm -f "$policy"; }
trap cleanup EXIT

apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${PACKAGES[@]}"

still_missing="$(missing_of "${REQUIRED[@]}")"
if [ -n "$still_missing" ]; then
  echo "still missing after install: $still_missing" >&2
  exit 1
fi
echo "all peers present"
report_system_services
