#!/usr/bin/env bash
# The wheel on Online Retail, day by day on a simulated clock (release build): ingest the UCI log,
# then `funnel pipeline replay` from START for DAYS days: the engine rebuilt every day and retrained
# every 7 days through the offline gate, against the same engine frozen at day one, NDCG@20 of both
# engines' answers each day (customers who buy that day, against what they bought).
#   Benchmarks/flywheel/run.sh [FUNNEL_BINARY]     (default .build/release/funnel; needs ../shared/data)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. Scripts/lib.sh
funnel_describe_machine
binary=${1:-.build/release/funnel}
funnel_training_env "$root" >&2
data=${DATA:-$(mktemp -d /tmp/funnel-flywheel.XXXXXX)}
[ -f "$data/events.jsonl" ] || "$binary" ingest online-retail --input ../shared/data/online_retail/online_retail.csv.gz \
  --out "$data" --until 2011-11-01 --no-train >&2
"$binary" pipeline replay --data "$data" --start "${START:-2011-11-09}" --days "${DAYS:-31}" --retrain-every "${RETRAIN_EVERY:-7}" \
  --out "$data/replay.json"
