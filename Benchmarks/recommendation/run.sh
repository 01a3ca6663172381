#!/usr/bin/env bash
# Recommendation quality on the four real data sets of ../shared/data, one command: ingest each,
# then `funnel eval --train` (ALS and BPR tuned on a validation slice inside the history, a ranker
# trained on a replay of that slice, the engine serving the better factors with it) against
# popularity, ItemCF, repeat purchases (where repeats exist), ALS and BPR. Writes OUT/NAME/report.md
# with plots and eval.json, and prints the NDCG@20 table of docs/recommendation-quality.md.
#   Benchmarks/recommendation/run.sh [OUT]        (about 35 minutes on two cores)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. Scripts/lib.sh
funnel_describe_machine
out=${1:-data/recommendation}
data=../shared/data
funnel_training_env "$root"
swift build -c release --product funnel 2>&1 | grep -E "error:|Build" | grep -vE "^\[" | tail -n 1
f=.build/release/funnel
mkdir -p "$out"
"$f" ingest online-retail --input $data/online_retail/online_retail.csv.gz --out "$out/online-retail-data" --until 2011-11-01 --no-train > "$out/online-retail-ingest.log"
"$f" ingest movielens --input $data/movielens_latest_small --out "$out/movielens-data" > "$out/movielens-ingest.log"
"$f" ingest instacart --input $data/instacart_sample --out "$out/instacart-data" > "$out/instacart-ingest.log"
"$f" ingest amazon --input $data/amazon_magazine_subscriptions --out "$out/amazon-data" > "$out/amazon-ingest.log"
run() {  # NAME LABEL SPLIT-ARGS... : one evaluation, its log beside the report
  local name=$1 label=$2; shift 2
  echo "== $label"
  "$f" eval --data "$out/$name-data" --k 5,10,20,50 --train --report "$out/$name" --name "$label" "$@" > "$out/$name.log" 2>&1 \
    || { tail -n 20 "$out/$name.log" >&2; exit 1; }
}
run online-retail "Online Retail" --split 2011-11-01 --scene email
run movielens "MovieLens small" --holdout 0.2 --scene home
run instacart "Instacart sample" --holdout 0.5 --scene cart
run amazon "Amazon Magazine Subscriptions" --holdout 0.2 --scene home
.venv-training/bin/python - "$out" <<'PY'
import json, sys
out = sys.argv[1]
for name in ("online-retail", "movielens", "instacart", "amazon"):
    d = json.load(open(f"{out}/{name}/eval.json"))
    r = d["report"]; i = r["cutoffs"].index(20)
    rows = {row["name"]: row["metrics"]["ndcg"][i] for row in r["rows"]}
    engine = next(v for k, v in rows.items() if k.startswith("engine: recall + ranking"))
    best = max((v, k) for k, v in rows.items() if not k.startswith("engine"))
    print(f"{d['dataSet']}: engine {engine:.4f}, best baseline {best[1]} {best[0]:.4f}, {engine / best[0]:.2f}x")
PY
