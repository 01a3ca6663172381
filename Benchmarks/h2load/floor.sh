#!/usr/bin/env bash
# The transport floor of a release `funnel serve` on the embedded demo shop: a call that does no work
# (grpc.health.v1.Health/Check) with h2load at concurrency 1 (latency) and at saturation (4
# connections x 32 streams; the server's CPU time per call from /proc/PID/stat before and after).
#
#   Benchmarks/h2load/floor.sh [ROUNDS=3] [-- SERVE ARGS...]
#   e.g. Benchmarks/h2load/floor.sh 3 -- --event-loop-threads 1
#        SERVER_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 Benchmarks/h2load/floor.sh 3
# (SERVER_PRELOAD: LD_PRELOAD for the server only, e.g. Debian's libjemalloc2).
# Needs a release build (swift build -c release --product funnel; FUNNEL_BINARY=PATH for another) and
# h2load (nghttp2-client).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. Scripts/lib.sh
funnel_describe_machine
rounds=${1:-3}
shift || true
[ "${1:-}" = -- ] && shift
funnel=${FUNNEL_BINARY:-$root/.build/release/funnel}
[ -x "$funnel" ] || { echo "floor: $funnel missing (swift build -c release --product funnel)" >&2; exit 1; }
export FUNNEL_RUN=$(mktemp -d /tmp/funnel-floor.XXXXXX)
trap 'kill $(cat "$FUNNEL_RUN/funnel.pid" 2>/dev/null) 2>/dev/null; rm -rf "$FUNNEL_RUN"' EXIT
server=$funnel
if [ -n "${SERVER_PRELOAD:-}" ]; then
  server=$FUNNEL_RUN/funnel-preloaded
  printf '#!/bin/sh\nLD_PRELOAD=%s exec %s "$@"\n' "$SERVER_PRELOAD" "$funnel" > "$server"
  chmod +x "$server"
fi
funnel_start_server "$server" "$@"
pid=$(cat "$FUNNEL_RUN/funnel.pid")
for round in $(seq 1 "$rounds"); do
  c1=$(H2LOAD_LOG=$FUNNEL_RUN/c1.log bash Benchmarks/h2load/run.sh "$FUNNEL_TARGET" 5000 1 1 --health | awk '/time for request/ {print $4, $6}')
  # p50 and p99 of the 5,000 calls (third column: microseconds).
  pct=$(awk '{print $3}' "$FUNNEL_RUN/c1.log" | sort -n | awk '{v[NR] = $1} END {printf "p50 %dus p99 %dus", v[int(NR * 0.5)], v[int(NR * 0.99)]}')
  before=$(funnel_cpu_ticks "$pid")
  sat=$(bash Benchmarks/h2load/run.sh "$FUNNEL_TARGET" 60000 4 32 --health | awk '/finished in/ {print $4}')
  after=$(funnel_cpu_ticks "$pid")
  per_call=$(funnel_cpu_per_call $((after - before)) 60000)
  read -r min mean <<<"$c1"
  echo "round $round: concurrency 1 $pct mean $mean (min $min); saturation $sat req/s, server CPU $per_call µs per call"
done
