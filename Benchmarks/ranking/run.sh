#!/usr/bin/env bash
# Funnel's batch scoring against XGBoost's and LightGBM's own single-threaded predict, and against
# ONNX Runtime for an MLP, and the model compilers treelite/tl2cgen and lleaves; same models, same
# 1000 x 64 batches, one run:   Benchmarks/ranking/run.sh
# Needs Python 3.12+ (Training/requirements.txt pins the libraries; makes .venv-training) and, for the
# MLP, Python 3.11 with torch 2.13.0+cpu (Training/requirements-onnx.txt; makes .venv-onnx, else skips).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. Scripts/lib.sh
funnel_describe_machine
work=$(mktemp -d /tmp/funnel-ranking-bench.XXXXXX)
py=$(ls -d "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -V | tail -1 || command -v python3)
[ -x .venv-training/bin/python ] || { "$py" -m venv .venv-training && .venv-training/bin/pip install -q -r Training/requirements.txt; }
# The model compilers (treelite + tl2cgen, lleaves) are peers of the benchmark only.
.venv-training/bin/pip install -q -r Benchmarks/ranking/requirements-compilers.txt || echo "model compilers not installed"
.venv-training/bin/python Benchmarks/ranking/compare.py prepare "$work"
swift build -c release --package-path Benchmarks --product funnel-bench-ranking 2>&1 | tail -n 1
Benchmarks/.build/release/funnel-bench-ranking "$work/xgb_500_depth6.json" "$work/batch.csv" 100 | tee "$work/funnel_xgb.json"
Benchmarks/.build/release/funnel-bench-ranking "$work/lgb_500_63leaves.txt" "$work/batch.csv" 100 | tee "$work/funnel_lgb.json"
# The flat walk on the same model, for the layout comparison (docs/ranking-models.md).
Benchmarks/.build/release/funnel-bench-ranking "$work/lgb_500_63leaves.txt" "$work/batch.csv" 100 flat
.venv-training/bin/python Benchmarks/ranking/compare.py peers "$work" "$work/funnel_xgb.json" "$work/funnel_lgb.json"
py311=$(ls -d "$HOME"/.pyenv/versions/3.11*/bin/python3 2>/dev/null | sort -V | tail -1 || true)
if [ ! -x .venv-onnx/bin/python ] && [ -n "$py311" ]; then
  "$py311" -m venv .venv-onnx && .venv-onnx/bin/pip install -q -r Training/requirements-onnx.txt || rm -rf .venv-onnx
fi
if [ -x .venv-onnx/bin/python ]; then
  # Debian's OpenBLAS 0.3.21 takes Zen 4 for Haswell; use its AVX-512 kernels where the CPU has them.
  grep -q avx512f /proc/cpuinfo && export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SKYLAKEX}
  .venv-onnx/bin/python Benchmarks/ranking/onnx_compare.py prepare "$work" 2>/dev/null
  Benchmarks/.build/release/funnel-bench-ranking "$work/mlp.onnx" "$work/mlp_batch.csv" 200 | tee "$work/funnel_mlp.json"
  .venv-onnx/bin/python Benchmarks/ranking/onnx_compare.py peers "$work" "$work/funnel_mlp.json"
else
  echo "MLP comparison skipped: no Python 3.11 venv with torch (Training/requirements-onnx.txt)"
fi
rm -rf "$work"
