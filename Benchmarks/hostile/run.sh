#!/usr/bin/env bash
# Hostile clients against a release `funnel serve` on the embedded default (loopback only):
#   Benchmarks/hostile/run.sh [BINARY] [CASE...]     (default: .build/release/funnel, every case)
# Starts a fresh server on free ports for each case (so one case's memory does not hide the next's),
# runs Benchmarks/hostile/hostile.py (one JSON line per case: peak RSS, the bystander's failures and
# p99, Health's recovery after the attacker leaves), and stops it. SECONDS_PER_CASE (default 10)
# sets each attack's length; SERVE_ARGS adds flags.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. Scripts/lib.sh
funnel_describe_machine
binary=${1:-$root/.build/release/funnel}
shift || true
[ -x "$binary" ] || { echo "hostile: no binary at $binary (swift build -c release --product funnel)" >&2; exit 1; }
funnel_venv "$root" .venv-hostile 1 "grpc, grpc_tools, grpc_health, h2" Benchmarks/hostile/requirements.txt "the hostile-client benchmark"
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(parked zero-window flood rapid-reset)
export FUNNEL_RUN=$(mktemp -d /tmp/funnel-hostile.XXXXXX)
trap funnel_stop_stores EXIT
echo "== $binary ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(grep -o -m1 'avx512f' /proc/cpuinfo || echo 'no AVX-512'))"
for case in "${cases[@]}"; do
  # shellcheck disable=SC2086
  funnel_start_server "$binary" ${SERVE_ARGS:-}
  pid=$(cat "$FUNNEL_RUN/funnel.pid")
  .venv-hostile/bin/python Benchmarks/hostile/hostile.py --target "$FUNNEL_TARGET" --pid "$pid" \
    --seconds "${SECONDS_PER_CASE:-10}" "$case"
  kill -0 "$pid" 2>/dev/null || echo "== the server died in case $case: see $FUNNEL_RUN/funnel.log"
  funnel_stop_stores
done
