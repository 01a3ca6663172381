#!/usr/bin/env bash
# What TLS and authentication cost a release `funnel serve` (embedded demo shop), variants in
# alternating rounds: plaintext, TLS 1.3, TLS + an API key, TLS + an ES256 JWT. Per variant and round:
# Health at concurrency 1 (p50), then server CPU per call at saturation (4 connections x 32 streams,
# /proc/PID/stat) for Health (the floor) and Recommend; and, for the TLS variants, new TLS handshakes per
# second from `openssl s_time -new` (one client process) with the server's CPU per handshake.
#
#   Benchmarks/h2load/security.sh [ROUNDS=3]
# Needs a release build (FUNNEL_BINARY=PATH for another), h2load, openssl, and .venv-funnel (PyJWT).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. Scripts/lib.sh
funnel_describe_machine
rounds=${1:-3}
funnel=${FUNNEL_BINARY:-$root/.build/release/funnel}
[ -x "$funnel" ] || { echo "security: $funnel missing (swift build -c release --product funnel)" >&2; exit 1; }
export FUNNEL_RUN=$(mktemp -d /tmp/funnel-security.XXXXXX)
trap 'kill $(cat "$FUNNEL_RUN/funnel.pid" 2>/dev/null) 2>/dev/null; rm -rf "$FUNNEL_RUN"' EXIT
pki=$FUNNEL_RUN/pki
mkdir -p "$pki"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$pki/key.pem" -out "$pki/cert.pem" 2>/dev/null
key="fk_$(openssl rand -hex 24)"
entry="bench:$(printf %s "$key" | sha256sum | cut -d' ' -f1):recommend"
token=$(.venv-funnel/bin/python - "$pki" <<'PY'
import json, sys, time, jwt
from cryptography.hazmat.primitives.asymmetric import ec
key = ec.generate_private_key(ec.SECP256R1())
jwk = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
jwk.update({"kid": "bench", "alg": "ES256"})
json.dump({"keys": [jwk]}, open(sys.argv[1] + "/jwks.json", "w"))
print(jwt.encode({"sub": "bench", "exp": int(time.time()) + 86400, "scope": "recommend"}, key, algorithm="ES256",
                 headers={"kid": "bench"}))
PY
)
tls=(--tls-cert "$pki/cert.pem" --tls-key "$pki/key.pem")
auth=(--set "auth.apiKeys=$entry" --set "auth.jwksFile=$pki/jwks.json")
for round in $(seq 1 "$rounds"); do
  for variant in plaintext tls tls+key tls+jwt; do
    case $variant in
      plaintext) args=(); scheme=http; authorization="" ;;
      tls) args=("${tls[@]}"); scheme=https; authorization="" ;;
      tls+key) args=("${tls[@]}" "${auth[@]}"); scheme=https; authorization="Bearer $key" ;;
      tls+jwt) args=("${tls[@]}" "${auth[@]}"); scheme=https; authorization="Bearer $token" ;;
    esac
    funnel_start_server "$funnel" "${args[@]}"
    pid=$(cat "$FUNNEL_RUN/funnel.pid")
    export SCHEME=$scheme AUTHORIZATION=$authorization
    H2LOAD_LOG=$FUNNEL_RUN/c1.log bash Benchmarks/h2load/run.sh "$FUNNEL_TARGET" 5000 1 1 --health >/dev/null
    p50=$(awk '{print $3}' "$FUNNEL_RUN/c1.log" | sort -n | awk '{v[NR] = $1} END {print v[int(NR * 0.5)]}')
    H2LOAD_LOG=$FUNNEL_RUN/r1.log bash Benchmarks/h2load/run.sh "$FUNNEL_TARGET" 3000 1 1 >/dev/null
    rp50=$(awk '{print $3}' "$FUNNEL_RUN/r1.log" | sort -n | awk '{v[NR] = $1} END {print v[int(NR * 0.5)]}')
    before=$(funnel_cpu_ticks "$pid"); bash Benchmarks/h2load/run.sh "$FUNNEL_TARGET" 60000 4 32 --health >/dev/null; after=$(funnel_cpu_ticks "$pid")
    floor=$(funnel_cpu_per_call $((after - before)) 60000)
    before=$(funnel_cpu_ticks "$pid"); bash Benchmarks/h2load/run.sh "$FUNNEL_TARGET" 20000 4 8 >/dev/null; after=$(funnel_cpu_ticks "$pid")
    recommend=$(funnel_cpu_per_call $((after - before)) 20000)
    line="round $round $variant: health p50 ${p50} µs, recommend p50 ${rp50} µs (concurrency 1); CPU per call health $floor µs, recommend $recommend µs"
    if [ "$variant" = tls ]; then
      before=$(funnel_cpu_ticks "$pid")
      rate=$(openssl s_time -connect "$FUNNEL_TARGET" -new -time 5 2>/dev/null | awk '/connections in .* real seconds/ {print $1, $4}')
      after=$(funnel_cpu_ticks "$pid")
      read -r made seconds <<<"$rate"
      line+="; handshakes $(awk -v n="$made" -v s="$seconds" 'BEGIN {printf "%.0f", n / s}')/s, server CPU $(funnel_cpu_per_call $((after - before)) "$made") µs each"
    fi
    echo "$line"
    kill "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  done
done
