#!/usr/bin/env bash
# Funnel's batch scoring against XGBoost's and LightGBM's own single-threaded predict, same models,
# same 1000 x 64 batch, one run:   Benchmarks/ranking/run.sh
# Needs Python 3.12+ (Training/requirements.txt pins the libraries); makes .venv-training.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
work=$(mktemp -d /tmp/funnel-ranking-bench.XXXXXX)
py=$(ls -d "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -V | tail -1 || command -v python3)
[ -x .venv-training/bin/python ] || { "$py" -m venv .venv-training && .venv-training/bin/pip install -q -r Training/requirements.txt; }
.venv-training/bin/python Benchmarks/ranking/compare.py prepare "$work"
swift build -c release --product funnel-bench-ranking 2>&1 | tail -n 1
.build/release/funnel-bench-ranking "$work/xgb_500_depth6.json" "$work/batch.csv" 100 | tee "$work/funnel_xgb.json"
.build/release/funnel-bench-ranking "$work/lgb_500_63leaves.txt" "$work/batch.csv" 100 | tee "$work/funnel_lgb.json"
.venv-training/bin/python Benchmarks/ranking/compare.py peers "$work" "$work/funnel_xgb.json" "$work/funnel_lgb.json"
rm -rf "$work"
