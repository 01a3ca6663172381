#!/usr/bin/env bash
# A/B of Funnel's two gRPC transports on the embedded demo shop (release `funnel serve`), each
# variant in turn, so alternate them across rounds (`ab.sh servers nio-http2 grpc-swift nio-http2 ...`):
#
#   Benchmarks/h2load/ab.sh servers T...   # per server transport T: `funnel load --rate 500 --duration
#                                          # 15s` (p50/p99), then h2load Recommend 20,000 calls over 4 x 8
#                                          # streams: calls/s and the server's CPU per call (/proc)
#   Benchmarks/h2load/ab.sh clients C...   # per load client C against one server: `funnel load --client C`
#                                          # at RATE/s for SECONDS_PER_RUN (env; default 2000 and 10) with SCENARIO
#                                          # (env; default the health check): latency and the client's
#                                          # CPU per call (/usr/bin/time, start-up included)
# SERVE_ARGS (env) adds `funnel serve` flags to the servers of `ab.sh servers`.
# Needs a release build (swift build -c release --product funnel; FUNNEL_BINARY=PATH for another) and
# h2load (nghttp2-client) for `servers`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. Scripts/lib.sh
funnel_describe_machine
mode=${1:?servers or clients}; shift
funnel=${FUNNEL_BINARY:-$root/.build/release/funnel}
[ -x "$funnel" ] || { echo "ab: $funnel missing (swift build -c release --product funnel)" >&2; exit 1; }
export FUNNEL_RUN=$(mktemp -d /tmp/funnel-ab.XXXXXX)
trap 'kill $(cat "$FUNNEL_RUN/funnel.pid" 2>/dev/null) 2>/dev/null; rm -rf "$FUNNEL_RUN"' EXIT
stop_server() { local pid; pid=$(cat "$FUNNEL_RUN/funnel.pid"); kill "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done; }
case $mode in
servers)
  for transport in "$@"; do
    funnel_start_server "$funnel" --transport "$transport" ${SERVE_ARGS:-}
    pid=$(cat "$FUNNEL_RUN/funnel.pid")
    load=$("$funnel" load --target "$FUNNEL_TARGET" --rate 500 --duration 15s --quiet | awk '/latency/ {print $3, $4, $7, $8}')
    before=$(funnel_cpu_ticks "$pid")
    rate=$(bash Benchmarks/h2load/run.sh "$FUNNEL_TARGET" 20000 4 8 | awk '/finished in/ {print $4}')
    after=$(funnel_cpu_ticks "$pid")
    echo "$transport: funnel load 500/s $load ms; h2load $rate calls/s, server CPU" \
      "$(funnel_cpu_per_call $((after - before)) 20000 0) µs per Recommend"
    stop_server
  done ;;
clients)
  scenario=${SCENARIO:-}
  if [ -z "$scenario" ]; then scenario=$FUNNEL_RUN/health.json; echo '{"mix": {"health": 1}}' > "$scenario"; fi
  rate=${RATE:-2000} seconds=${SECONDS_PER_RUN:-10}
  funnel_start_server "$funnel"
  for client in "$@"; do
    out=$( { /usr/bin/time -f "TIME %U %S" "$funnel" load --target "$FUNNEL_TARGET" --scenario "$scenario" --rate "$rate" \
      --duration "${seconds}s" --quiet --client "$client"; } 2>&1 )
    calls=$(echo "$out" | awk '/^calls/ {print $2}' | tr -d ,)
    echo "$client: $(echo "$out" | awk '/latency/ {print $3, $4, $7, $8}') ms;" \
      "client $(echo "$out" | awk -v n="$calls" '/^TIME/ {printf "%.0f", ($2 + $3) * 1e6 / n}') µs CPU per call"
  done ;;
*) echo "ab: mode is servers or clients" >&2; exit 2 ;;
esac
