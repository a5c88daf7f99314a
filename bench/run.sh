#!/usr/bin/env bash
# Collaboration-server benchmark: PeerCode, the floor (a no-document relay on PeerCode's
# WebSocket stack, served by `peercode-bench floor-server`) and the reference server (the Node
# server bundled in y-websocket 2.x) under the same loads, side by side, in one run. Prints a
# Markdown table with a PeerCode / floor column; --no-floor leaves the floor out.
#
#   bench/run.sh                         # everything, default sizes (a few minutes)
#   bench/run.sh --load-secs 5 --scenarios load,trace   # any peercode-bench flag passes through
#   bench/run.sh --scenarios load --servers peercode,peercode-pg,peercode-cluster,floor,reference
#       # issue 14: one instance on SQLite, one on PostgreSQL, two sharing rooms through Redis
#       # (PostgreSQL at postgres://root@127.0.0.1:5432/test, --database-url to change it;
#       # the bench starts its own redis-server)
#
# PEERCODE_BIN: the peercode binary to measure (default: build target/release/peercode).
# Results: the table on stdout and in bench/out/table.md, raw figures in bench/out/results.json,
# server logs in bench/out/*.log.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"

echo "== building peercode-bench (release)" >&2
cargo build --release --quiet -p peercode-bench
if [[ -z "${PEERCODE_BIN:-}" ]]; then
  echo "== building peercode (release)" >&2
  cargo build --release --quiet --bin peercode
  PEERCODE_BIN="$target/release/peercode"
fi

echo "== installing the reference server (y-websocket 2.x) into bench/node" >&2
(cd bench/node && npm ci --omit=optional --no-audit --no-fund --loglevel=error) >&2

mkdir -p bench/out
cmd=("$target/release/peercode-bench"
  --peercode-bin "$PEERCODE_BIN"
  --reference-server "$root/bench/node/node_modules/y-websocket/bin/server.cjs"
  --traces-dir "$root/../shared/traces"
  --out-dir "$root/bench/out"
  "$@")
echo "== running: ${cmd[*]}" >&2
echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"${cmd[@]}" | tee bench/out/table.md
echo "== table also in bench/out/table.md; reproduce with: bench/run.sh $*" >&2
