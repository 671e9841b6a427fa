#!/usr/bin/env bash
# `make demo`: onboards examples/users.csv against the emulator twice and shows that the
# second pass creates nothing. Run by `emulator/with-emulator`, which exports TRAY_EMULATOR_URL,
# TRAY_GRAPHQL_URL, TRAY_EMBEDDED_URL, TRAY_MASTER_TOKEN ... The few bad rows of users.csv
# fail on purpose; the demo fails only if something else goes wrong.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export LUA_PATH="$root/lua/?.lua;$root/lua/?/init.lua;;"
export LUA_CPATH="$root/build/lua5.4/?.so;;"
export PATH="$root/bin:$PATH"
: "${TRAY_EMULATOR_URL:?run me with emulator/with-emulator (or make demo)}"

work=$(mktemp -d "${TMPDIR:-/tmp}/tray-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
results="$work/results.csv"

fail() { echo "demo: $*" >&2; exit 1; }

# onboard PASS: runs examples/onboard.lua; status 1 (some rows failed) is expected here
onboard() {
  echo
  echo "== pass $1: lua5.4 examples/onboard.lua examples/users.csv --solution sales,onboarding --partner-id acme"
  lua5.4 examples/onboard.lua examples/users.csv --solution sales,onboarding --partner-id acme \
    --out "$results" | tee "$work/pass$1.txt"
  local rc=${PIPESTATUS[0]}
  [ "$rc" -le 1 ] || fail "pass $1 ended with status $rc"
}

echo "tray demo: onboarding examples/users.csv against the emulator at $TRAY_EMULATOR_URL"
echo "(a few rows of it are bad on purpose: they fail; a repeated row finds what the first one made)"

onboard 1
echo
echo "a few config wizard URLs (fresh single-use codes):"
lua5.4 - "$results" <<'LUA' || fail "cannot read the results"
local csv = require "tray.csv"
local r = assert(csv.open(arg[1]))
local shown = 0
for row in r:rows() do
  if row.wizardUrl ~= "" and shown < 3 then
    shown = shown + 1
    print(string.format("  %-9s %s", row.externalUserId, row.wizardUrl))
  end
end
r:close()
LUA

onboard 2
created=$(sed -n 's/^  created: *\([0-9]*\).*/\1/p' "$work/pass2.txt")
[ "$created" = "0" ] || fail "the second pass created ${created:-?} users/instances"

users=$(tray embedded users --all --compact | grep -c '"externalUserId"') || fail "tray embedded users --all failed"
echo
echo "tray embedded users --all: $users end users; second pass: 0 created (nothing was created twice)"
