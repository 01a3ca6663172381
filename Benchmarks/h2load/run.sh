#!/usr/bin/env bash
# An independent throughput check of a running Funnel server with nghttp2's h2load (Debian's
# nghttp2-client): gRPC-framed RecommendRequest bodies POSTed over HTTP/2 (prior knowledge, as gRPC
# clients do), closed loop, N requests over C connections with M streams each.
#
#   Benchmarks/h2load/run.sh HOST:PORT [REQUESTS=20000] [CONNECTIONS=4] [STREAMS=8] [--health]
#
# --health calls grpc.health.v1.Health/Check instead (empty request): the transport floor, a call
# that does no work; `-c 1 -m 1` (CONNECTIONS=1 STREAMS=1) gives the latency at concurrency 1.
# SCHEME=https (env) speaks TLS (ALPN h2; h2load does not verify the certificate); AUTHORIZATION
# (env) adds that header to every call.
# h2load measures closed-loop throughput and per-request time; compare its req/s with the rate at
# which `funnel load` still meets its SLO (Benchmarks/RESULTS.md). It does not check gRPC status
# trailers: the script first makes sure one call answers with grpc-status 0.
set -euo pipefail
. "$(cd "$(dirname "$0")/../.." && pwd)/Scripts/lib.sh"
funnel_describe_machine
health=no
args=()
for a in "$@"; do [ "$a" = --health ] && health=yes || args+=("$a"); done
set -- "${args[@]}"
target=${1:?usage: run.sh HOST:PORT [REQUESTS] [CONNECTIONS] [STREAMS]}
requests=${2:-20000}
connections=${3:-4}
streams=${4:-8}
if ! command -v h2load >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nghttp2-client >/dev/null
fi
work=$(mktemp -d /tmp/funnel-h2load.XXXXXX)
trap 'rm -rf "$work"' EXIT
# RecommendRequest{user_id: "U-7", scene: SCENE_HOME (1), count: 20} as protobuf, with the 5-byte gRPC
# message prefix (not compressed, big-endian length).
python3 - "$work/body.bin" <<'PY'
import struct, sys
user = b"U-7"
message = bytes([0x0A, len(user)]) + user + bytes([0x18, 0x01, 0x20, 20])
open(sys.argv[1], "wb").write(b"\x00" + struct.pack(">I", len(message)) + message)
PY
scheme=${SCHEME:-http}
url="$scheme://$target/funnel.v1.Recommender/Recommend"
if [ "$health" = yes ]; then
  printf '\x00\x00\x00\x00\x00' > "$work/body.bin"
  url="$scheme://$target/grpc.health.v1.Health/Check"
fi
headers=(-H 'content-type: application/grpc' -H 'te: trailers')
# AUTHORIZATION (env): sent as the authorization header of every call (an API key or JWT: "Bearer ...").
[ -z "${AUTHORIZATION:-}" ] || headers+=(-H "authorization: $AUTHORIZATION")
# One call first: the answer must carry grpc-status 0.
nghttp -v "${headers[@]}" -d "$work/body.bin" "$url" 2>&1 | grep -q 'grpc-status: 0' \
  || { echo "h2load: the server did not answer the probe call with grpc-status 0" >&2; exit 1; }
# H2LOAD_LOG=FILE: h2load's per-request log (start, status, microseconds), for percentiles.
h2load -n "$requests" -c "$connections" -m "$streams" "${headers[@]}" -d "$work/body.bin" ${H2LOAD_LOG:+--log-file="$H2LOAD_LOG"} "$url" \
  | grep -E "finished in|requests:|status codes|time for request|req/s"
