#!/usr/bin/env bash
# Search with facets, fuzzy search and Suggest at scale, Funnel against tantivy in the same run:
#   Benchmarks/search/latency.sh [ITEMS=1000000] [QUERIES=200] [FUNNEL_BINARY=.build/release/funnel]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. Scripts/lib.sh
funnel_describe_machine
items=${1:-1000000}
binary=${3:-.build/release/funnel}
[ -x .venv-peers/bin/python ] || { python3 -m venv .venv-peers && .venv-peers/bin/pip install -q -r Benchmarks/peers/requirements.txt; }
work=$(mktemp -d /tmp/funnel-search-latency.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$binary" generate demo --out "$work/demo" --items "$items" --users $((items / 50 + 1000)) --no-embeddings >/dev/null
"$binary" index build --catalog "$work/demo/items.jsonl" --events "$work/demo/events.jsonl" --out "$work/gens" >/dev/null
.venv-peers/bin/python Benchmarks/search/latency.py "$binary" "$work/gens" "$work/demo/items.jsonl" "${2:-200}"
