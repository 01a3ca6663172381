#!/usr/bin/env bash
# Funnel's index benchmark and its peers in one run, on the same synthetic catalog:
#   Benchmarks/peers/run.sh [ITEMS=1000000] [USERS=100000] [--no-vectors]
# Needs Python 3.11+ with pip; makes .venv-peers beside the package.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. Scripts/lib.sh
funnel_describe_machine
items=${1:-1000000}
users=${2:-100000}
work=$(mktemp -d /tmp/funnel-peers.XXXXXX)
[ -x .venv-peers/bin/python ] || { python3 -m venv .venv-peers && .venv-peers/bin/pip install -q -r Benchmarks/peers/requirements.txt; }
swift build -c release --package-path Benchmarks --product funnel-bench-index 2>&1 | tail -n 1
Benchmarks/.build/release/funnel-bench-index --items "$items" --users "$users" --queries 1000 --dir "$work/gens" --export "$work" "${@:3}" | tee "$work/funnel.json"
# BM25 per query, top 10 and top 100, in a fresh process that opens the generation as a server does.
zipf=()
args=("${@:3}")
for ((i = 0; i < ${#args[@]}; i++)); do [ "${args[$i]}" = --zipf-text ] && zipf=(--zipf-text "${args[$((i + 1))]}"); done
for k in 10 100; do
  Benchmarks/.build/release/funnel-bench-index --text-on "$work/gens" --k "$k" --rounds 1000 "${zipf[@]}" | tee -a "$work/funnel.json"
done
.venv-peers/bin/python Benchmarks/peers/compare.py "$work" "$work/funnel.json"
rm -rf "$work"
