#!/usr/bin/env bash
# CPU time per answer of each process of a running end-to-end set-up (funnel serve, redis-server,
# the MongoDB wire server) over one `funnel load` at a fixed rate, from /proc/PID/stat.
#
#   Benchmarks/e2e/cpu.sh TARGET SCENARIO [RATE=200] [SECONDS=20]
#   e.g. with `HOLD=yes Benchmarks/e2e/run.sh` serving (it prints TARGET and SCENARIO); one call kind:
#        echo '{"mix": {"search": 1}, "users": 20000, "itemCount": 1000000}' > /tmp/search.json
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
target=$1 scenario=$2 rate=${3:-200} seconds=${4:-20}
snapshot() {
  # Every server (a second one beside the held one, e.g. a copied binary `funnel-old serve`), by pid.
  for pid in $(pgrep -f "funnel[^ /]* serve") $(pgrep redis-server) $(pgrep -f mongo-wire-server); do
    echo "$pid $(cat /proc/$pid/comm) $(awk '{print $14 + $15}' /proc/$pid/stat)"
  done
}
before=$(snapshot)
"$root/.build/release/funnel" load --target "$target" --scenario "$scenario" --rate "$rate" --duration "${seconds}s" --quiet |
  grep -E "latency|calls"
after=$(snapshot)
paste <(echo "$before") <(echo "$after") | awk -v n=$((rate * seconds)) -v hz="$(getconf CLK_TCK)" \
  '{printf "%s (pid %s) %.2f ms CPU per call\n", $2, $1, ($6 - $3) / hz / n * 1000}'
