#!/usr/bin/env bash
# Live catalog changes on a fleet, release build: two replicas of the demo shop (5,000 items) on
# one Redis, `funnel load` at RATE answers/s over both, and Benchmarks/catalog/feed_latency.py
# posting CHANGES price changes and stock-outs (UpsertItems on the first replica) and timing until
# both replicas serve each one (GET /v1/items/{id} from outside).
#   Benchmarks/catalog/run.sh [FUNNEL_BINARY]      (default .build/release/funnel)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. Scripts/lib.sh
funnel_describe_machine
binary=${1:-.build/release/funnel}
export FUNNEL_RUN=${FUNNEL_RUN:-$(mktemp -d /tmp/funnel-catalog-bench.XXXXXX)}
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; funnel_stop_stores; }
trap cleanup EXIT
funnel_start_stores "$root" >/dev/null
funnel_python_env "$root" >&2
python=$root/.venv-funnel/bin/python
targets=""; https=""; admin=""
for i in 1 2; do
  port=$(funnel_free_port); http=$(funnel_free_port); adminPort=$(funnel_free_port)
  "$binary" serve --port "$port" --http-port "$http" --admin-port "$adminPort" --dashboard-port=-1 --redis "$REDIS_URL" \
    --demo-items 5000 --demo-users 3000 --set "server.replicaName=catalog$i" >"$FUNNEL_RUN/replica$i.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$http/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  targets="${targets:+$targets,}127.0.0.1:$port"; https="${https:+$https,}$http"; admin=${admin:-127.0.0.1:$adminPort}
done
"$binary" load --target "$targets" --rate "${RATE:-300}" --duration "${DURATION:-90s}" --quiet >"$FUNNEL_RUN/load.log" 2>&1 &
load=$!
pids+=($load)
"$python" Benchmarks/catalog/feed_latency.py --admin "$admin" --http "$https" --changes "${CHANGES:-1000}"
# The load outlasts the changes (DURATION): its figures show the answers kept flowing meanwhile.
wait "$load" || true
grep -E 'calls|latency|errors' "$FUNNEL_RUN/load.log" | sed 's/^/load during the changes: /'
