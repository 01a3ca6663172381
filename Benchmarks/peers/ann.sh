#!/usr/bin/env bash
# Funnel's HNSW against hnswlib on the same vectors and queries, alternating, ROUNDS times: build time,
# and recall@100 with queries/s per ef, so each engine's ef for a recall can be read off.
#   Benchmarks/peers/ann.sh [ITEMS=100000] [ROUNDS=3] [FUNNEL_EFS=100,150,200] [HNSWLIB_EFS=100,150,200,300]
# Needs .venv-peers (Benchmarks/peers/run.sh makes it).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. Scripts/lib.sh
funnel_describe_machine
items=${1:-100000} rounds=${2:-3} funnel_efs=${3:-100,150,200} hnswlib_efs=${4:-100,150,200,300}
work=$(mktemp -d /tmp/funnel-ann.XXXXXX)
[ -x .venv-peers/bin/python ] || { python3 -m venv .venv-peers && .venv-peers/bin/pip install -q -r Benchmarks/peers/requirements.txt; }
swift build -c release --package-path Benchmarks --product funnel-bench-index 2>&1 | tail -n 1
bench=Benchmarks/.build/release/funnel-bench-index
# The demo catalog's vectors (32 dimensions, clustered by category, department and brand).
$bench --items "$items" --users 1000 --queries 10 --dir "$work/gens" --export "$work" > /dev/null
for round in $(seq "$rounds"); do
  echo "round $round"
  .venv-peers/bin/python Benchmarks/peers/hnsw_sweep.py "$work/vectors.f32" 32 "$hnswlib_efs"
  $bench --ann "$work/vectors.f32" --dimension 32 --query-file "$work/queries.f32" --efs "$funnel_efs"
done
rm -rf "$work"
