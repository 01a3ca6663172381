#!/usr/bin/env bash
# Instructions per request of the in-process serving pipeline (demo shop), counted by callgrind:
# repeatable whatever else the machine is doing, unlike wall-clock time on a shared two-core VM.
#   Benchmarks/pipeline/callgrind.sh [N] [SCENES]     (default: 100 requests; home item_page search)
# Each scene runs N and 3N requests under valgrind; the difference over 2N is the cost of one
# request without the set-up (demo store, generation build). Hashing is made deterministic
# (SWIFT_DETERMINISTIC_HASHING) so that the set-up counts the same in both runs. Debug info is
# stripped from a copy of the binary: valgrind 3.19 cannot read the DWARF 5 Swift 6 writes.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. Scripts/lib.sh
funnel_describe_machine
n=${1:-100}
scenes=${2:-home item_page search}
command -v valgrind > /dev/null || { echo "callgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
swift build -c release --package-path Benchmarks --product funnel-bench-pipeline 2>&1 | tail -n 1
work=$(mktemp -d /tmp/funnel-callgrind.XXXXXX)
cp Benchmarks/.build/release/funnel-bench-pipeline "$work/bench"
strip --strip-debug "$work/bench"
count() {  # requests scene -> instructions of the whole run
  SWIFT_DETERMINISTIC_HASHING=1 valgrind --tool=callgrind --callgrind-out-file="$work/$2.$1.out" \
    "$work/bench" --requests "$1" --scene "$2" > "$work/$2.$1.log" 2>&1
  grep -o 'Collected : [0-9]*' "$work/$2.$1.log" | grep -o '[0-9]*$'
}
for scene in $scenes; do
  small=$(count "$n" "$scene")
  large=$(count $((3 * n)) "$scene")
  echo "{\"scene\":\"$scene\",\"instructions_per_request\":$(( (large - small) / (2 * n) ))}"
done
echo "profiles: $work (callgrind_annotate $work/SCENE.$((3 * n)).out)"
