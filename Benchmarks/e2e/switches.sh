#!/usr/bin/env bash
# Latency, CPU time and context switches (voluntary + involuntary, summed over every thread) per
# call of one running `funnel serve`, over one `funnel load` at a fixed rate (from /proc).
#
#   Benchmarks/e2e/switches.sh HOST:PORT SCENARIO [RATE=200] [SECONDS=15]
#   e.g. with `HOLD=yes Benchmarks/e2e/run.sh` serving (it prints TARGET and SCENARIO), or a second
#        server beside it on the same stores, alternating runs to compare builds or settings.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
target=$1 scenario=$2 rate=${3:-200} seconds=${4:-15}
port=${target##*:}
pid=$(ss -ltnp | grep ":$port " | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
[ -n "$pid" ] || { echo "switches: nothing listens on $target" >&2; exit 1; }
switches() { cat /proc/"$pid"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {s += $2} END {print s}'; }
cpu() { awk '{print $14 + $15}' /proc/"$pid"/stat; }
s0=$(switches) c0=$(cpu)
latency=$("$root/.build/release/funnel" load --target "$target" --scenario "$scenario" --rate "$rate" \
  --duration "${seconds}s" --quiet | grep latency | sed 's/latency ms *//')
s1=$(switches) c1=$(cpu)
awk -v s="$((s1 - s0))" -v c="$((c1 - c0))" -v n="$((rate * seconds))" -v hz="$(getconf CLK_TCK)" \
  -v l="$latency" -v t="$target" -v r="$rate" \
  'BEGIN {printf "%s at %d/s: %s ms | %.2f ms CPU and %.1f context switches per call\n", t, r, l, c / hz / n * 1000, s / n}'
