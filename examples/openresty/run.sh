#!/usr/bin/env bash
# Runs examples/openresty in the foreground (Ctrl-C stops it).
#
#   make deps && make LUA=luajit            # nginx, the Lua module, LuaJIT build of tray.native
#   make emulator                           # in another terminal: the emulator on :8729
#   examples/openresty/run.sh               # nginx on 127.0.0.1:8080
#   curl -d externalUserId=ada-1 -d name=Ada http://127.0.0.1:8080/onboard
#
# Settings (environment): PORT (8080), WORKERS (2), TRAY_EMULATOR_URL
# (http://127.0.0.1:8729), CA_FILE (the CAs TLS is verified against; default the
# system bundle), RESOLVER (nginx's DNS server; default the first nameserver of
# /etc/resolv.conf). Against real Tray, set TRAY_MASTER_TOKEN (and
# TRAY_REGION or TRAY_GRAPHQL_URL, TRAY_PARTNER_ID, TRAY_SOLUTION_ID) instead: the
# emulator's URLs and token are only filled in when TRAY_MASTER_TOKEN is unset.
# Several hosts on one account: TRAY_REDIS_URL (and TRAY_RATE_KEY, TRAY_RATE,
# TRAY_RATE_BURST, TRAY_FLEET_SIZE, TRAY_REDIS_TIMEOUT) put the rate limit in
# Redis (see onboarding.lua).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
port=${PORT:-8080}
workers=${WORKERS:-2}

command -v nginx >/dev/null || { echo "run.sh: nginx is not installed (make deps)" >&2; exit 1; }
[ -f "$root/build/luajit/tray/native.so" ] || { echo "run.sh: build it first: make LUA=luajit" >&2; exit 1; }

if [ -z "${TRAY_MASTER_TOKEN:-}" ]; then
  emu=${TRAY_EMULATOR_URL:-http://127.0.0.1:8729}
  export TRAY_MASTER_TOKEN=${TRAY_EMULATOR_MASTER_TOKEN:-emulator-master-token}
  export TRAY_GRAPHQL_URL=$emu/graphql TRAY_EMBEDDED_URL=$emu
  echo "run.sh: using the emulator at $emu"
fi

prefix=$(mktemp -d "${TMPDIR:-/tmp}/tray-openresty.XXXXXX")
chmod 755 "$prefix"
trap 'rm -rf "$prefix"' EXIT
mkdir -p "$prefix/conf" "$prefix/logs" "$prefix/temp"
ca_file=${CA_FILE:-/etc/ssl/certs/ca-certificates.crt}
resolver=${RESOLVER:-$(sed -n 's/^nameserver[[:space:]]*\([0-9.]*\).*/\1/p' /etc/resolv.conf | head -1)}
sed -e "s|@ROOT@|$root|g" -e "s|@PORT@|$port|g" -e "s|@WORKERS@|$workers|g" \
    -e "s|@CA_FILE@|$ca_file|g" -e "s|@RESOLVER@|${resolver:-127.0.0.1}|g" \
  "$here/nginx.conf" > "$prefix/conf/nginx.conf"
echo "run.sh: curl -d externalUserId=ada-1 -d name=Ada http://127.0.0.1:$port/onboard  (logs: stderr)"
nginx -p "$prefix" -c conf/nginx.conf -e stderr -g 'daemon off; error_log stderr warn;'
