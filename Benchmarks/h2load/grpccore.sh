#!/usr/bin/env bash
# What grpc-swift-2's server machinery (GRPCCore) would cost on Funnel's lean transport: runs
# `funnel-bench-grpccore` in each MODE given (alternate them: `grpccore.sh direct grpccore direct
# grpccore`) and measures with h2load the health check at concurrency 1 (p50) and at saturation, and
# Recommend at 4 x 8 streams, with the server's CPU per call from /proc.
#   direct    the generated wire routes calling the services (how `funnel serve` serves)
#   grpccore  GRPCWire as a grpc-swift ServerTransport, the services behind GRPCServer
# Needs h2load (nghttp2-client). Builds the binary in release (Benchmarks package) first.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. Scripts/lib.sh
funnel_describe_machine
swift build -c release --package-path Benchmarks --product funnel-bench-grpccore 2>&1 | tail -n 1
binary=$root/Benchmarks/.build/release/funnel-bench-grpccore
log=$(mktemp /tmp/funnel-grpccore.XXXXXX)
trap 'kill $pid 2>/dev/null; rm -f "$log"' EXIT
for mode in "$@"; do
  port=$(funnel_free_port)
  "$binary" --mode "$mode" --port "$port" > "$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do grep -q listening "$log" && break; sleep 0.1; done
  grep -q listening "$log" || { cat "$log" >&2; exit 1; }
  bash Benchmarks/h2load/run.sh "127.0.0.1:$port" 2000 4 8 >/dev/null  # warm-up
  c1=$(H2LOAD_LOG=$log.c1 bash Benchmarks/h2load/run.sh "127.0.0.1:$port" 5000 1 1 --health >/dev/null;
       awk '{print $3}' "$log.c1" | sort -n | awk '{v[NR] = $1} END {printf "p50 %dus", v[int(NR * 0.5)]}')
  rm -f "$log.c1"
  before=$(funnel_cpu_ticks "$pid"); bash Benchmarks/h2load/run.sh "127.0.0.1:$port" 60000 4 32 --health >/dev/null; after=$(funnel_cpu_ticks "$pid")
  health=$(funnel_cpu_per_call $((after - before)) 60000)
  before=$(funnel_cpu_ticks "$pid"); rate=$(bash Benchmarks/h2load/run.sh "127.0.0.1:$port" 20000 4 8 | awk '/finished in/ {print $4}'); after=$(funnel_cpu_ticks "$pid")
  recommend=$(funnel_cpu_per_call $((after - before)) 20000 0)
  echo "$mode: health concurrency 1 $c1, $health µs CPU per health call at saturation; Recommend $rate calls/s, $recommend µs CPU per call"
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
