#!/usr/bin/env bash
# CPU time and context switches per answer of each process of a running end-to-end set-up (funnel
# serve, redis-server, the MongoDB wire server) over one `funnel load` at a fixed rate, from /proc
# (switches: voluntary + involuntary, summed over every thread of the process).
#
#   Benchmarks/e2e/cpu.sh TARGET SCENARIO [RATE=200] [SECONDS=20]
#   e.g. with `HOLD=yes Benchmarks/e2e/run.sh` serving (it prints TARGET and SCENARIO); one call kind:
#        echo '{"mix": {"search": 1}, "users": 20000, "itemCount": 1000000}' > /tmp/search.json
#   THREADS=yes also splits each funnel server's switches by thread name (which pools hand off).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/Scripts/lib.sh"
funnel_describe_machine
target=$1 scenario=$2 rate=${3:-200} seconds=${4:-20}
pids() {
  # Every server (a second one beside the held one, e.g. a copied binary `funnel-old serve`).
  { pgrep -f "funnel[^ /]* serve"; pgrep redis-server; pgrep -f mongo-wire-server; } | sort  # join wants the text order
}
# Voluntary + involuntary context switches summed over the given /proc status files.
# (A thread or process that ended meanwhile counts 0.)
ctxt() { { cat "$@" 2>/dev/null || true; } | awk '/ctxt_switches/ {s += $2} END {print s + 0}'; }
switches() { ctxt /proc/"$1"/task/*/status; }
snapshot() {
  for pid in $(pids); do
    echo "$pid $(cat /proc/$pid/comm) $(awk '{print $14 + $15}' /proc/$pid/stat) $(switches "$pid")"
  done
}
threads() {
  # pid thread-name switches, one line per thread of each funnel server
  for pid in $(pgrep -f "funnel[^ /]* serve"); do
    for task in /proc/"$pid"/task/*; do
      echo "$pid:$(basename "$task") $(tr ' ' '_' < "$task/comm") $(ctxt "$task/status")"
    done
  done 2>/dev/null | sort
}
before=$(snapshot)
[ "${THREADS:-no}" = yes ] && threads_before=$(threads)
"$root/.build/release/funnel" load --target "$target" --scenario "$scenario" --rate "$rate" --duration "${seconds}s" --quiet |
  grep -E "latency|calls"
after=$(snapshot)
[ "${THREADS:-no}" = yes ] && threads_after=$(threads)
n=$((rate * seconds))
join <(echo "$before") <(echo "$after") | awk -v n=$n -v hz="$(getconf CLK_TCK)" \
  '{printf "%s (pid %s) %.2f ms CPU and %.1f context switches per call\n", $2, $1, ($6 - $3) / hz / n * 1000, ($7 - $4) / n}'
if [ "${THREADS:-no}" = yes ]; then
  # Threads that ended during the run are left out; names are cut to 15 characters by the kernel.
  join <(echo "$threads_before") <(echo "$threads_after") |
    awk -v n=$n '{split($1, p, ":"); k = "pid " p[1] ", threads named " $2; s[k] += $5 - $3; c[k]++}
      END {for (k in s) if (s[k] > 0) printf "  %5.1f switches per call: %s (%d)\n", s[k] / n, k, c[k]}' | sort -nr
fi
