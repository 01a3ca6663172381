#!/usr/bin/env bash
# Runs the kernel micro-benchmarks (release) and compares them with the committed baseline.
#   Benchmarks/Micro/run.sh [--update] [--filter REGEX] [--fail-over PERCENT]
# --update writes baselines/current.json (commit it with the change that moved the figures);
# otherwise the run goes to .results/latest.json and compare.py prints the change per benchmark and
# exits 1 when one is slower than --fail-over percent (default 30: these shared machines are noisy).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
. ../../Scripts/lib.sh
funnel_describe_machine
update=no
filter=.
fail=30
while [ $# -gt 0 ]; do
  case "$1" in
    --update) update=yes ;;
    --filter) filter=$2; shift ;;
    --fail-over) fail=$2; shift ;;
    *) echo "usage: Benchmarks/Micro/run.sh [--update] [--filter REGEX] [--fail-over PERCENT]" >&2; exit 64 ;;
  esac
  shift
done
swift build -c release 2>&1 | grep -E "error:|warning: .*FunnelMicro|Build" | tail -n 3
mkdir -p .results
out=.results/latest.json
.build/release/FunnelMicroBenchmarks --format json --filter "$filter" --min-time 1 --warmup-iterations 20 --columns name,median,min,std,iterations --quiet > "$out"
if [ "$update" = yes ]; then
  cp "$out" baselines/current.json
  echo "baseline written: $here/baselines/current.json"
fi
python3 compare.py baselines/current.json "$out" --fail-over "$fail"
