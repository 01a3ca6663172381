#!/usr/bin/env bash
# End-to-end Recommend on a large synthetic catalog, over gRPC, with both real stores: the stores
# issue's benchmark. Steps (each skipped when its output exists under WORKDIR):
#   1. `funnel generate demo` (ITEMS items, 100,000 users) and `funnel index build` -> WORKDIR/index
#   2. make_inputs.py: offline features of every item and of 20,000 users, their recent histories, a 500-tree depth-6 XGBoost
#      model over the pipeline's features (real-time rt.*, offline item.* and user.* included)
# Then: Redis and the MongoDB wire server on free ports, the features bulk-loaded into MongoDB;
# release `funnel serve --index --redis --mongo --model`; the histories POSTed to /v1/events (through
# the Redis event stream); one debug Recommend (candidates, stages); `funnel load` at RATES for
# DURATION each, then `--find-max` for the highest rate with p99 < 10 ms.
#
#   Benchmarks/e2e/run.sh [WORKDIR=/tmp/funnel-e2e]   (env: ITEMS=1000000 RATES="50 100 200" DURATION=20s USER_PROFILES=yes|no
#                                                      FIND_MAX=yes|no HOLD=no|yes PROFILE_TTL_MS=3600000)
# PROFILE_TTL_MS is the server's serving.profileCacheTTLMs: offline profiles come from daily batch
# jobs, and the stand-in costs ~1 ms of Python CPU per profile read (a real mongod's _id lookup is
# ~10x cheaper), so with the 5-minute default every 20 s run re-reads most of its users and
# measures the stand-in.
# HOLD=yes keeps the server and stores up at the end (for perf, `funnel load` by hand) until interrupted.
# Server settings pass through the environment as FUNNEL_<SECTION>_<KEY>, e.g. the ranking cascade:
# FUNNEL_SERVING_FIRST_PHASE_TREES=100 FUNNEL_SERVING_RERANK_COUNT=200 (compare answers with answer_overlap.py).
# Needs a release build: swift build -c release --product funnel
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. Scripts/lib.sh
funnel_describe_machine
work=${1:-/tmp/funnel-e2e}
items=${ITEMS:-1000000}
rates=${RATES-50 100 200}
duration=${DURATION:-20s}
funnel="$root/.build/release/funnel"
[ -x "$funnel" ] || { echo "e2e: $funnel missing (swift build -c release --product funnel)" >&2; exit 1; }
mkdir -p "$work"
if [ ! -d "$work/index" ]; then
  "$funnel" generate demo --out "$work/data" --items "$items" --users 100000 --no-embeddings
  "$funnel" index build --catalog "$work/data/items.jsonl" --events "$work/data/events.jsonl" --out "$work/index"
fi
funnel_training_env "$root"
[ -f "$work/inputs/model.json" ] || .venv-training/bin/python Benchmarks/e2e/make_inputs.py "$work/inputs" "$items" 20000 20000
funnel_python_env "$root"
export FUNNEL_RUN=$(mktemp -d /tmp/funnel-e2e-run.XXXXXX)
trap 'kill $(cat "$FUNNEL_RUN/funnel.pid" 2>/dev/null) 2>/dev/null; funnel_stop_stores' EXIT
# The wire server (a Python stand-in for mongod) slows down on inserts over the wire as a collection
# grows: 1M items are bulk-loaded in process (`funnel features load` is tested on small files).
export FUNNEL_MONGO_ARGS="--db $work/mongo.sqlite"
[ -f "$work/mongo.sqlite.done" ] || FUNNEL_MONGO_ARGS+=" --seed funnel.items=$work/inputs/items.jsonl --seed funnel.users=$work/inputs/users.jsonl"
export FUNNEL_MONGO_WAIT_TENTHS=12000
funnel_start_stores "$root"
grep seeded "$FUNNEL_RUN/mongo.log" && touch "$work/mongo.sqlite.done" || true
if [ "${USER_PROFILES:-yes}" = no ]; then
  # The stand-in scans the collection for each user read (~50 ms at 20,000 users): without profiles
  # the run measures Funnel, Redis and the in-memory item snapshot rather than the stand-in.
  .venv-funnel/bin/python -c "import pymongo, sys; pymongo.MongoClient(sys.argv[1]).funnel.users.drop()" "$MONGO_URI"
  echo "user profiles dropped (USER_PROFILES=no)"
fi
# Reading 1M documents through the Python stand-in's cursor takes minutes at start.
export FUNNEL_SERVE_WAIT_TENTHS=18000
export FUNNEL_SERVING_PROFILE_CACHE_TTL_MS=${PROFILE_TTL_MS:-3600000}
echo "== funnel serve --index --redis --mongo --model (500 trees), profile TTL $FUNNEL_SERVING_PROFILE_CACHE_TTL_MS ms"
funnel_start_server "$funnel" --index "$work/index" --redis "$REDIS_URL" --mongo "$MONGO_URI" --model "$work/inputs/model.json"
grep -E "offline item features|ranking model|funnel serving" "$FUNNEL_RUN/funnel.log" | cut -c1-300
echo "== histories of 20,000 users through POST /v1/events"
python3 - "$work/inputs/history.json" "$FUNNEL_HTTP" <<'PY'
import json, sys, time, urllib.error, urllib.request
batches = json.load(open(sys.argv[1]))
start, accepted, retried = time.time(), 0, 0
for body in batches:
    req = urllib.request.Request(f"http://{sys.argv[2]}/v1/events", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    # A store that is briefly slow under the bulk load answers 503: retry as a client should.
    for attempt in range(20):
        try:
            accepted += json.loads(urllib.request.urlopen(req, timeout=30).read())["accepted"]
            break
        except urllib.error.HTTPError as error:
            if error.code != 503 or attempt == 19:
                raise
            retried += 1
            time.sleep(0.05 * (attempt + 1))
print(f"{accepted} events accepted in {time.time() - start:.1f} s ({retried} batches retried after 503)")
PY
# Let the updater apply the histories before measuring (it would compete for the two cores).
for _ in $(seq 1 600); do
  applied=$(curl -s "http://$FUNNEL_HTTP/metrics" | awk '/^funnel_updater_applied_total/ {print $2}')
  [ "${applied:-0}" -ge 400000 ] && break; sleep 0.5
done
echo "updater applied ${applied:-0} events"
"$funnel" query recommend --target "$FUNNEL_TARGET" --user U-7 --count 20 --debug | grep -E "Recommend|candidates|stage|context|recall|rank|total" | head -12
cat > "$FUNNEL_RUN/scenario.json" <<JSON
{"users": 20000, "itemCount": $items}
JSON
for rate in $rates; do
  echo "== funnel load --rate $rate --duration $duration"
  "$funnel" load --target "$FUNNEL_TARGET" --scenario "$FUNNEL_RUN/scenario.json" --rate "$rate" --duration "$duration" \
    --quiet --slo 'p99<10ms,errors<0.1%' --json "$work/load-$rate.json" || true
done
if [ "${FIND_MAX:-yes}" = yes ]; then
  echo "== funnel load --find-max --slo 'p99<10ms'"
  "$funnel" load --target "$FUNNEL_TARGET" --scenario "$FUNNEL_RUN/scenario.json" --rate "${rates%% *}" --duration 10s \
    --quiet --find-max --slo 'p99<10ms,errors<0.1%' --json "$work/find-max.json" || true
fi
curl -s "http://$FUNNEL_HTTP/metrics" | grep -E '^funnel_(answers|degraded)_.*total|^funnel_updater_applied_total'
if [ "${HOLD:-no}" = yes ]; then
  echo "HOLDING FUNNEL_TARGET=$FUNNEL_TARGET FUNNEL_HTTP=$FUNNEL_HTTP pid $(cat "$FUNNEL_RUN/funnel.pid") scenario $FUNNEL_RUN/scenario.json"
  while kill -0 "$(cat "$FUNNEL_RUN/funnel.pid")" 2>/dev/null; do sleep 1; done
fi
