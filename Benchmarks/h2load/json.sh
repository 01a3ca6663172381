#!/usr/bin/env bash
# JSON Recommend against gRPC Recommend on the same release `funnel serve` (embedded demo shop):
# ROUNDS alternating rounds of REQUESTS calls each, gRPC over HTTP/2 (4 connections x 8 streams,
# Benchmarks/h2load/run.sh's request: U-7, home, 20 items) and the same request as JSON over HTTP/1.1
# (`POST /v1/recommend`, 32 keep-alive connections, h2load --h1); calls/s and the server's CPU per call
# from /proc. Needs h2load (nghttp2-client) and a release build (FUNNEL_BINARY=PATH for another).
#   Benchmarks/h2load/json.sh [ROUNDS=3] [REQUESTS=20000]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. Scripts/lib.sh
funnel_describe_machine
rounds=${1:-3}
requests=${2:-20000}
funnel=${FUNNEL_BINARY:-$root/.build/release/funnel}
[ -x "$funnel" ] || { echo "json: $funnel missing (swift build -c release --product funnel)" >&2; exit 1; }
export FUNNEL_RUN=$(mktemp -d /tmp/funnel-json.XXXXXX)
trap 'kill $(cat "$FUNNEL_RUN/funnel.pid" 2>/dev/null) 2>/dev/null; rm -rf "$FUNNEL_RUN"' EXIT
funnel_start_server "$funnel"
pid=$(cat "$FUNNEL_RUN/funnel.pid")
printf '{"user_id":"U-7","scene":"home","count":20}' > "$FUNNEL_RUN/body.json"
curl -sf -X POST -H 'content-type: application/json' --data-binary @"$FUNNEL_RUN/body.json" "http://$FUNNEL_HTTP/v1/recommend" \
  | grep -q '"items"' || { echo "json: the JSON API did not answer the probe" >&2; exit 1; }
bash Benchmarks/h2load/run.sh "$FUNNEL_TARGET" 2000 4 8 >/dev/null  # warm-up
for round in $(seq 1 "$rounds"); do
  before=$(funnel_cpu_ticks "$pid")
  grpc=$(bash Benchmarks/h2load/run.sh "$FUNNEL_TARGET" "$requests" 4 8 | awk '/finished in/ {print $4}')
  after=$(funnel_cpu_ticks "$pid")
  grpc_cpu=$(funnel_cpu_per_call $((after - before)) "$requests" 0)
  before=$(funnel_cpu_ticks "$pid")
  json=$(h2load --h1 -n "$requests" -c 32 -m 1 -H 'content-type: application/json' -d "$FUNNEL_RUN/body.json" \
           "http://$FUNNEL_HTTP/v1/recommend" | tee "$FUNNEL_RUN/h1.log" | awk '/finished in/ {print $4}')
  grep -q "$requests succeeded" "$FUNNEL_RUN/h1.log" || { cat "$FUNNEL_RUN/h1.log" >&2; exit 1; }
  after=$(funnel_cpu_ticks "$pid")
  json_cpu=$(funnel_cpu_per_call $((after - before)) "$requests" 0)
  echo "round $round: gRPC $grpc calls/s, $grpc_cpu µs CPU per call; JSON $json calls/s, $json_cpu µs CPU per call"
done
