#!/usr/bin/env bash
# The fleet on one machine, release build:
# 1. aggregate throughput of 1, 2 and 3 replicas (demo shop, Redis for real-time features): the
#    highest rate `funnel load` (spread over the replicas) holds at p99 < 50 ms, no errors. All
#    replicas, the stores and the load client share this machine's two cores, so more replicas
#    cannot add capacity here: the figures show what sharing costs, not what a fleet gains.
# 2. one replica on a single Redis against the same on a Redis Cluster (three primaries with a
#    replica each): latency at a fixed rate, Redis commands per answer and the primaries they went
#    to (INFO commandstats and INFO stats on every primary, before and after).
#   Benchmarks/fleet/run.sh [FUNNEL_BINARY]      (default .build/release/funnel)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. Scripts/lib.sh
funnel_describe_machine
binary=${1:-.build/release/funnel}
export FUNNEL_RUN=${FUNNEL_RUN:-$(mktemp -d /tmp/funnel-fleet-bench.XXXXXX)}
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; funnel_stop_stores; }
trap cleanup EXIT
funnel_start_stores "$root" >/dev/null
duration=${DURATION:-15s}

start_replicas() {  # start_replicas N REDIS_URL: starts N replicas, sets targets and pids
  local n=$1 url=$2 i port http
  targets=""; https=""
  for i in $(seq 1 "$n"); do
    port=$(funnel_free_port); http=$(funnel_free_port)
    "$binary" serve --port "$port" --http-port "$http" --admin-port=-1 --dashboard-port=-1 --redis "$url" \
      --demo-items 5000 --demo-users 3000 --set "server.replicaName=bench$i" >"$FUNNEL_RUN/replica$i.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$http/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
    targets="${targets:+$targets,}127.0.0.1:$port"; https="$https $http"
  done
}
stop_replicas() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done; pids=(); }

echo "== aggregate throughput at p99 < 50 ms (one Redis; load spread over the replicas)"
for n in 1 2 3; do
  start_replicas "$n" "$REDIS_URL"
  "$binary" load --target "$targets" --find-max --slo 'p99<50ms,errors<0.1%' --duration "$duration" --connections 6 --quiet \
    | grep -E 'highest rate|calls|latency' | sed "s/^/  $n replica(s): /"
  stop_replicas
done

# Sums INFO fields over the primaries of a deployment: commands by name, and commands processed.
redis_totals() {  # redis_totals PORT...
  for port in "$@"; do redis-cli -p "$port" info commandstats; redis-cli -p "$port" info stats | grep total_commands_processed; done \
    | awk -F'[:=,]' '/^cmdstat_/ {sub("cmdstat_", "", $1); c[$1] += $3} /^total_commands_processed/ {t += $2}
                     END {for (k in c) printf "%s=%d ", k, c[k]; printf "total=%d\n", t}'
}
cluster_ports=$(echo "${REDIS_CLUSTER_URL#redis-cluster://}" | tr ',' '\n' | sed 's/.*://' | tr '\n' ' ')
primaries=$(redis-cli -p "${cluster_ports%% *}" cluster nodes | awk '$3 ~ /master/ {split($2, a, "[:@]"); print a[2]}' | tr '\n' ' ')
single_port=${REDIS_URL##*:}
rate=${RATE:-300}
for deployment in single cluster; do
  if [ "$deployment" = single ]; then url=$REDIS_URL; ports=$single_port; else url=$REDIS_CLUSTER_URL; ports=$primaries; fi
  start_replicas 1 "$url"
  # shellcheck disable=SC2086
  before=$(redis_totals $ports)
  trips_before=$(curl -s "http://127.0.0.1:${https# }/metrics" | awk '/^funnel_redis_round_trips_total/ {print $2}')
  "$binary" load --target "$targets" --rate "$rate" --duration "$duration" --json "$FUNNEL_RUN/$deployment.json" --quiet >/dev/null
  # shellcheck disable=SC2086
  after=$(redis_totals $ports)
  trips_after=$(curl -s "http://127.0.0.1:${https# }/metrics" | awk '/^funnel_redis_round_trips_total/ {print $2}')
  python3 - "$deployment" "$FUNNEL_RUN/$deployment.json" "$before" "$after" "$(echo $ports | wc -w)" "$trips_before" "$trips_after" <<'PY'
import json, sys
name, report, before, after, nodes = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3], sys.argv[4], sys.argv[5]
trips = float(sys.argv[7]) - float(sys.argv[6])
parse = lambda s: {k: int(v) for k, v in (kv.split("=") for kv in s.split())}
b, a = parse(before), parse(after)
calls = report["calls"]
per = {k: (a[k] - b.get(k, 0)) / calls for k in a if k != "total" and a[k] - b.get(k, 0) > 0}
print(f"  {name} ({nodes} primaries): {calls} answers at {report['achieved_rate']:.0f}/s, p50 {report['latency_ms']['p50']:.2f} ms, "
      f"p99 {report['latency_ms']['p99']:.2f} ms; Redis round trips per answer {trips / calls:.2f}, commands {(a['total'] - b['total']) / calls:.1f} "
      f"({', '.join(f'{k} {v:.2f}' for k, v in sorted(per.items(), key=lambda kv: -kv[1])[:6])})")
PY
  stop_replicas
done

echo "== capacity: Redis bytes per user, per event and per item; store reads per answer (one replica, one Redis)"
port=$(funnel_free_port); http=$(funnel_free_port)
"$binary" serve --port "$port" --http-port "$http" --admin-port=-1 --dashboard-port=-1 --redis "$REDIS_URL" --mongo "$MONGO_URI" \
  --demo-items 5000 --demo-users 3000 >"$FUNNEL_RUN/capacity.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$http/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
.venv-funnel/bin/python Benchmarks/fleet/capacity.py "$http" "$port" "$REDIS_URL" "$binary" "${CAPACITY_USERS:-2000}" 200
stop_replicas

echo "== index bytes per item (a generation of the demo shop at 100,000 items)"
"$binary" generate demo --out "$FUNNEL_RUN/shop" --items 100000 --users 20000 >/dev/null
"$binary" index build --catalog "$FUNNEL_RUN/shop/items.jsonl" --events "$FUNNEL_RUN/shop/events.jsonl" --out "$FUNNEL_RUN/index" >/dev/null
generation=$(ls -d "$FUNNEL_RUN"/index/gen-* | tail -1)
python3 - "$generation/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
total = sum(f["bytes"] for f in m["files"])
print(f"  {m['itemCount']} items, {m['eventCount']} events: {total / 1e6:.1f} MB, {total / m['itemCount']:.0f} B per item "
      + "(" + ", ".join(f"{f['name']} {f['bytes'] / m['itemCount']:.0f}" for f in sorted(m["files"], key=lambda f: -f["bytes"])) + ")")
PY
