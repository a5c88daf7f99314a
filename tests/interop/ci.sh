#!/usr/bin/env bash
# Interop tests: stock yjs + y-websocket 3.x clients (Node) against `peercode serve`.
# Needs PEERCODE_BIN (a built `peercode` binary) and Node.js >= 20 with npm.
set -euo pipefail
cd "$(dirname "$0")"
if [[ -z "${PEERCODE_BIN:-}" ]]; then
  echo "tests/interop/ci.sh: set PEERCODE_BIN to a built peercode binary (e.g. target/release/peercode)" >&2
  exit 2
fi
PEERCODE_BIN="$(cd "$(dirname "$PEERCODE_BIN")" && pwd)/$(basename "$PEERCODE_BIN")"
if [[ ! -x "$PEERCODE_BIN" ]]; then
  echo "tests/interop/ci.sh: PEERCODE_BIN=$PEERCODE_BIN is not an executable file" >&2
  exit 2
fi
export PEERCODE_BIN
npm ci --no-audit --no-fund --loglevel=error
exec node --test --test-concurrency=1 test/*.test.js
