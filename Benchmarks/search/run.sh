#!/usr/bin/env bash
# Known-item search on real catalogs (Online Retail, Amazon Magazine Subscriptions), Funnel against
# tantivy's default, stemming and fuzzy setups on the same seeded queries (exact, plural, typo).
#   Benchmarks/search/run.sh [FUNNEL_BINARY] [ITEMS_PER_CATALOG]     (needs ../shared/data; release build by default)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. Scripts/lib.sh
funnel_describe_machine
binary=${1:-.build/release/funnel}
[ -x .venv-peers/bin/python ] || { python3 -m venv .venv-peers && .venv-peers/bin/pip install -q -r Benchmarks/peers/requirements.txt; }
work=$(mktemp -d /tmp/funnel-known-item.XXXXXX)
"$binary" ingest online-retail --input ../shared/data/online_retail/online_retail.csv.gz --out "$work/or" --no-train >/dev/null
.venv-peers/bin/python Benchmarks/search/known_item.py "$binary" "$work" "$work/or/catalog.jsonl" \
  ../shared/data/amazon_magazine_subscriptions/meta.json.gz "${2:-500}"
