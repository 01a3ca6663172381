# Shared shell functions of Scripts/test and Scripts/demo. Source it; it defines functions only.

# Installs the Debian packages Funnel needs, when any is missing.
funnel_install_packages() {
  local packages=(redis-server redis-tools libhiredis-dev libmongoc-dev libbson-dev libroaring-dev libopenblas-dev libstemmer-dev protobuf-compiler pkg-config prometheus curl openssl
                  libjs-chart.js chromium chromium-driver nginx haproxy nghttp2-client)
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Makes ROOT/VENV with the newest Python 3.MINOR+ (pyenv's, else python3.13) and installs REQUIREMENTS,
# unless it exists and imports IMPORTS already:  funnel_venv ROOT VENV MINOR "IMPORTS" REQUIREMENTS WHY
funnel_venv() {
  local root=$1 venv="$1/$2" minor=$3 imports=$4 requirements=$5 why=$6
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import $imports" 2>/dev/null; then
    return 0
  fi
  local py
  py=$(ls -d "$HOME"/.pyenv/versions/3.1["$minor"-9]*/bin/python3 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$py" ] && python3.13 -c 'pass' 2>/dev/null; then py=$(command -v python3.13); fi
  [ -n "$py" ] || { echo "funnel: Python 3.1$minor+ is needed for $why" >&2; return 1; }
  echo "== making $venv with $py"
  "$py" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$root/$requirements"
}

# .venv-funnel (Python 3.13: mongoeco needs it) with the MongoDB wire server and grpcio.
funnel_python_env() {
  funnel_venv "$1" .venv-funnel 3 "mongoeco, grpc, grpc_tools, grpc_health, schemathesis, jwt, cryptography, selenium, kubernetes_validate, yaml" Scripts/requirements.txt \
    "the MongoDB wire server (mongoeco)"
}

# .venv-training (Python 3.12+) with the pinned xgboost and lightgbm of Training/requirements.txt.
funnel_training_env() {
  funnel_venv "$1" .venv-training 2 "lightgbm, xgboost, numpy, implicit, matplotlib" Training/requirements.txt "training (lightgbm, xgboost)"
}

# The machine a benchmark ran on, for its figures: the CPU model and the widest vector extension
# Funnel's kernels take on it (they choose at run time). Printed by every benchmark script, once
# per run (scripts that call other scripts print it once).
funnel_describe_machine() {
  [ -n "${FUNNEL_MACHINE_DESCRIBED:-}" ] && return 0
  export FUNNEL_MACHINE_DESCRIBED=1
  local model vector
  model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
  if grep -qw avx512f /proc/cpuinfo; then vector=AVX-512
  elif grep -qw avx2 /proc/cpuinfo; then vector=AVX2
  else vector=portable; fi
  echo "machine: ${model:-unknown CPU}, $(nproc) cores, vector kernels: $vector"
}

# CPU time process PID has used so far (user + system), in clock ticks: funnel_cpu_ticks PID
funnel_cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Microseconds of CPU per call from a difference of funnel_cpu_ticks: funnel_cpu_per_call TICKS CALLS [DECIMALS=1]
funnel_cpu_per_call() {
  awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v n="$2" -v d="${3:-1}" 'BEGIN {printf("%." d "f", t / hz * 1e6 / n)}'
}

# Prints a free TCP port on 127.0.0.1.
funnel_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Starts Redis and the MongoDB wire server on free loopback ports, exports REDIS_URL and MONGO_URI,
# and records their PIDs in $FUNNEL_RUN/*.pid. Call funnel_stop_stores (in a trap) to stop them.
funnel_start_stores() {
  local root=$1
  export FUNNEL_RUN=${FUNNEL_RUN:-$(mktemp -d /tmp/funnel-run.XXXXXX)}
  local redis_port mongo_port
  redis_port=$(funnel_free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "$FUNNEL_RUN/redis.pid" --logfile "$FUNNEL_RUN/redis.log" --dir "$FUNNEL_RUN"
  for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$redis_port" ping >/dev/null || { echo "funnel: redis did not start" >&2; cat "$FUNNEL_RUN/redis.log" >&2; return 1; }
  export REDIS_URL="redis://127.0.0.1:$redis_port"

  mongo_port=$(funnel_free_port)
  # FUNNEL_MONGO_ARGS adds wire-server options, e.g. "--db F.sqlite --seed funnel.items=items.jsonl".
  # shellcheck disable=SC2086
  "$root/.venv-funnel/bin/python" "$root/Scripts/mongo-wire-server.py" --port "$mongo_port" \
    --pidfile "$FUNNEL_RUN/mongo.pid" ${FUNNEL_MONGO_ARGS:-} >"$FUNNEL_RUN/mongo.log" 2>&1 &
  echo $! >"$FUNNEL_RUN/mongo.pid"
  for _ in $(seq 1 ${FUNNEL_MONGO_WAIT_TENTHS:-100}); do grep -q READY "$FUNNEL_RUN/mongo.log" 2>/dev/null && break; sleep 0.1; done
  grep -q READY "$FUNNEL_RUN/mongo.log" || { echo "funnel: mongo wire server did not start" >&2; cat "$FUNNEL_RUN/mongo.log" >&2; return 1; }
  export MONGO_URI="mongodb://127.0.0.1:$mongo_port/?directConnection=true"
  funnel_start_redis_cluster || return 1
  echo "== stores: REDIS_URL=$REDIS_URL MONGO_URI=$MONGO_URI REDIS_CLUSTER_URL=$REDIS_CLUSTER_URL"
}

# Starts a Redis Cluster of three primaries with a replica each on free loopback ports (data and
# bus), records their PIDs in $FUNNEL_RUN/*.pid and exports REDIS_CLUSTER_URL=redis-cluster://...
funnel_start_redis_cluster() {
  local ports=() port bus dir i
  for i in 1 2 3 4 5 6; do
    port=$(funnel_free_port)
    bus=$(funnel_free_port)
    dir="$FUNNEL_RUN/cluster-$port"
    mkdir -p "$dir"
    redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes --cluster-port "$bus" \
      --cluster-config-file nodes.conf --cluster-node-timeout 2000 --save '' --appendonly no --daemonize yes \
      --pidfile "$FUNNEL_RUN/cluster-$port.pid" --logfile "$dir/redis.log" --dir "$dir"
    ports+=("$port")
  done
  for port in "${ports[@]}"; do
    for _ in $(seq 1 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  done
  redis-cli --cluster create $(printf '127.0.0.1:%s ' "${ports[@]}") --cluster-replicas 1 --cluster-yes >"$FUNNEL_RUN/cluster-create.log" 2>&1 \
    || { echo "funnel: redis cluster create failed" >&2; cat "$FUNNEL_RUN/cluster-create.log" >&2; return 1; }
  for port in "${ports[@]}"; do
    for _ in $(seq 1 300); do redis-cli -p "$port" cluster info 2>/dev/null | grep -q 'cluster_state:ok' && break; sleep 0.1; done
    redis-cli -p "$port" cluster info | grep -q 'cluster_state:ok' || { echo "funnel: redis cluster not ok on $port" >&2; return 1; }
  done
  export REDIS_CLUSTER_URL="redis-cluster://$(printf '127.0.0.1:%s,' "${ports[@]:0:3}" | sed 's/,$//')"
}

# Stops whatever funnel_start_stores (or a funnel serve started by a script) left running, by PID.
funnel_stop_stores() {
  [ -n "${FUNNEL_RUN:-}" ] && [ -d "$FUNNEL_RUN" ] || return 0
  # A server may remove its own pidfile as it exits (redis does), so each read may find it gone.
  local f pid
  for f in "$FUNNEL_RUN"/*.pid; do
    pid=$(cat "$f" 2>/dev/null) || continue
    kill "$pid" 2>/dev/null || true
  done
  # Give each a few seconds to exit cleanly before forcing it.
  for _ in $(seq 1 30); do
    alive=no
    for f in "$FUNNEL_RUN"/*.pid; do
      pid=$(cat "$f" 2>/dev/null) && kill -0 "$pid" 2>/dev/null && alive=yes
    done
    [ "$alive" = no ] && break
    sleep 0.1
  done
  for f in "$FUNNEL_RUN"/*.pid; do
    pid=$(cat "$f" 2>/dev/null) || continue
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$f"
  done
}

# Starts `funnel serve` from BINARY on a free port in the background, waits until it answers, and
# exports FUNNEL_TARGET=127.0.0.1:PORT (and FUNNEL_HTTP, FUNNEL_ADMIN, FUNNEL_DASHBOARD). Its PID goes to $FUNNEL_RUN/funnel.pid.
funnel_start_server() {
  local binary=$1; shift
  local port http admin dashboard
  port=$(funnel_free_port)
  http=$(funnel_free_port)
  # The kernel may hand out the just-released port again: the listeners need different ones.
  while [ "$http" = "$port" ]; do http=$(funnel_free_port); done
  admin=$(funnel_free_port)
  while [ "$admin" = "$port" ] || [ "$admin" = "$http" ]; do admin=$(funnel_free_port); done
  dashboard=$(funnel_free_port)
  while [ "$dashboard" = "$port" ] || [ "$dashboard" = "$http" ] || [ "$dashboard" = "$admin" ]; do dashboard=$(funnel_free_port); done
  "$binary" serve --port "$port" --http-port "$http" --admin-port "$admin" --dashboard-port "$dashboard" "$@" >"$FUNNEL_RUN/funnel.log" 2>&1 &
  echo $! >"$FUNNEL_RUN/funnel.pid"
  for _ in $(seq 1 ${FUNNEL_SERVE_WAIT_TENTHS:-600}); do grep -q "funnel serving" "$FUNNEL_RUN/funnel.log" 2>/dev/null && break; sleep 0.1
    kill -0 "$(cat "$FUNNEL_RUN/funnel.pid")" 2>/dev/null || break; done
  grep -q "funnel serving" "$FUNNEL_RUN/funnel.log" || { echo "funnel: server did not start" >&2; cat "$FUNNEL_RUN/funnel.log" >&2; return 1; }
  export FUNNEL_TARGET="127.0.0.1:$port" FUNNEL_HTTP="127.0.0.1:$http" FUNNEL_ADMIN="127.0.0.1:$admin" FUNNEL_DASHBOARD="127.0.0.1:$dashboard"
}
