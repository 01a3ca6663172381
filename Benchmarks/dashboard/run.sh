#!/usr/bin/env bash
# The dashboard's latency and cost on a release `funnel serve` (embedded stores, or Redis with
# REDIS=yes): an order accepted -> the value in a pushed tick, p50/p99 at 1,000 and 5,000 background
# events per second; server CPU per open dashboard and per push with 100 pages open.
#   Benchmarks/dashboard/run.sh [FUNNEL_BINARY]      (default .build/release/funnel)
# The load client (Python) shares the two cores with the server: the event rates are what it
# reached, printed beside each row.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. Scripts/lib.sh
funnel_describe_machine
binary=${1:-.build/release/funnel}
export FUNNEL_RUN=${FUNNEL_RUN:-$(mktemp -d /tmp/funnel-dashboard-bench.XXXXXX)}
trap funnel_stop_stores EXIT
args=()
if [ "${REDIS:-no}" = yes ]; then funnel_start_stores "$root"; args=(--redis "$REDIS_URL"); fi
funnel_start_server "$binary" "${args[@]}"
pid=$(cat "$FUNNEL_RUN/funnel.pid")
http=${FUNNEL_HTTP##*:}; dashboard=${FUNNEL_DASHBOARD##*:}
py=.venv-funnel/bin/python
for rate in 1000 5000; do
  echo "== order -> pushed tick at $rate background events/s (${args[*]:-embedded stores})"
  $py Benchmarks/dashboard/latency.py latency --http "$http" --dashboard "$dashboard" --rate "$rate" --markers 200
done
echo "== server CPU with 100 open dashboards"
$py Benchmarks/dashboard/latency.py viewers --http "$http" --dashboard "$dashboard" --pid "$pid" --viewers 100 --seconds 20
