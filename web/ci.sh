#!/usr/bin/env bash
# CI for the web app: install, type-check, unit tests, build, then the browser tests in
# Debian's Chromium against `$PEERCODE_BIN serve` serving that build. Screenshots go to
# web/test-artifacts/. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n==> web: %s\n' "$*"; }
fail() { echo "web: FAILED: $*" >&2; exit 1; }

: "${PEERCODE_BIN:?set PEERCODE_BIN to the peercode binary to run the browser tests against}"
[ -x "$PEERCODE_BIN" ] || fail "PEERCODE_BIN=$PEERCODE_BIN is not an executable"
CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$CHROMIUM_PATH" ] || fail "no Chromium at $CHROMIUM_PATH (Debian package: chromium)"
export CHROMIUM_PATH

step "npm ci"
npm ci --no-audit --no-fund --loglevel=error

step "tsc --noEmit"
npx tsc --noEmit

step "unit tests (vitest)"
unit_log=$(mktemp)
npx vitest run --reporter=default 2>&1 | tee "$unit_log"
unit_pass=$(sed 's/\x1b\[[0-9;]*m//g' "$unit_log" | sed -n 's/^ *Tests *\([0-9]*\) passed.*/\1/p' | tail -1)

step "vite build"
npx vite build

step "browser tests (node --test, Chromium, $PEERCODE_BIN)"
rm -rf test-artifacts
e2e_log=$(mktemp)
set +e
node --test --test-concurrency=1 --test-reporter=spec test/e2e/ 2>&1 | tee "$e2e_log"
e2e_status=${PIPESTATUS[0]}
set -e
count() { sed 's/\x1b\[[0-9;]*m//g' "$e2e_log" | sed -n "s/^ℹ $1 \([0-9]*\)$/\1/p" | tail -1; }
e2e_pass=$(count pass); e2e_fail=$(count fail); e2e_skip=$(count skipped)
# A failing before() hook fails the run without counting a failed test: count it.
if [ "$e2e_status" -ne 0 ] && [ "${e2e_fail:-0}" -eq 0 ]; then e2e_fail=1; fi

echo
echo "web: screenshots in $(pwd)/test-artifacts/"
echo "web: unit ${unit_pass:-0} passed; browser ${e2e_pass:-0} passed, ${e2e_fail:-?} failed, ${e2e_skip:-0} skipped"
echo "web: $(( ${unit_pass:-0} + ${e2e_pass:-0} )) passed, ${e2e_fail:-0} failed, ${e2e_skip:-0} skipped"
[ "$e2e_status" -eq 0 ] || fail "browser tests (exit $e2e_status)"
