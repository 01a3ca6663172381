#!/usr/bin/env bash
# Event freshness under load: starts Redis (a free port), `funnel serve --redis` on the embedded
# default (events go through the Redis event stream and the updater), runs freshness.py against it,
# and prints the server's own event-accepted -> applied histogram from /metrics beside it.
#
#   Benchmarks/freshness/run.sh [EVENTS_PER_S=1000] [DURATION_S=30]
# Uses .build/release/funnel (FUNNEL_BIN overrides; build with `swift build -c release --product funnel`).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. Scripts/lib.sh
funnel_describe_machine
rate=${1:-1000}
duration=${2:-30}
binary=${FUNNEL_BIN:-$root/.build/release/funnel}
[ -x "$binary" ] || { echo "freshness: $binary missing (swift build -c release --product funnel)" >&2; exit 1; }
funnel_python_env "$root"
export FUNNEL_RUN=$(mktemp -d /tmp/funnel-freshness.XXXXXX)
trap 'kill $(cat "$FUNNEL_RUN/funnel.pid" 2>/dev/null) 2>/dev/null; funnel_stop_stores' EXIT
funnel_start_stores "$root"
funnel_start_server "$binary" --redis "$REDIS_URL"
.venv-funnel/bin/python Benchmarks/freshness/freshness.py --target "$FUNNEL_TARGET" --events-per-s "$rate" \
  --duration "$duration" --json "$FUNNEL_RUN/freshness.json"
echo "server side (funnel_event_freshness_seconds, accepted -> applied by the updater):"
curl -s "http://$FUNNEL_HTTP/metrics" | grep -E '^funnel_event_freshness_seconds_(bucket\{le="(0\.001|0\.005|0\.01|0\.025|0\.05|0\.1|0\.25|1\.0)"\}|count|sum)|^funnel_updater_(applied|errors)'
