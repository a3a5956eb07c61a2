#!/usr/bin/env bash
# Redis Cluster drain benchmark: the same N acks-late no-op tasks over Q queues (each queue in its own slot), drained
# by one worker in one JVM, on a private cluster of 1 master and then of 3 masters (no replicas, so no WAIT), with
# each master's share of a core (from INFO cpu before and after the drain).
#   benchmarks/cluster.sh            full run (100k tasks, 6 queues)
#   QUICK=1 benchmarks/cluster.sh    a smaller run (20k tasks)
# Settings (environment): TASKS, QUEUES, CONCURRENCY, RUNS.
# On a 2-core machine the worker JVM and every redis-server share the same two cores: this shows what sharding costs
# (more connections, a script call per queue's slot) and how the Redis work spreads, not how throughput scales. The
# last lines project, per added master, the Redis-bound ceiling from the measured Redis CPU per task; that is a
# projection, not a measurement.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "${QUICK:-0}" = 1 ] && TASKS=${TASKS:-20000}
TASKS=${TASKS:-100000}
QUEUES=${QUEUES:-6}
CONCURRENCY=${CONCURRENCY:-8}
RUNS=${RUNS:-1}
CORES=$(nproc)

. benchmarks/lib.sh
build_benchmarks
command -v redis-server >/dev/null || { echo "redis-server is needed (apt-get install redis-server)"; exit 2; }
dir=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null; done; rm -rf "$dir"' EXIT

free_port() {  # a port whose cluster bus port (+10000) is free too
  /usr/bin/python3 -c '
import socket
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]
    if p + 10000 > 65535: continue
    b = socket.socket()
    try:
        b.bind(("127.0.0.1", p + 10000)); print(p); break
    except OSError:
        pass'
}

# start_cluster <masters>: sets $ports and $url
start_cluster() {
  local n=$1 port
  ports=()
  for _ in $(seq 1 "$n"); do
    port=$(free_port)
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
      --cluster-enabled yes --cluster-config-file "nodes-$port.conf" --cluster-node-timeout 2000 \
      >"$dir/redis-$port.log" 2>&1 &
    pids+=($!)
    until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.05; done
    ports+=("$port")
  done
  if [ "$n" = 1 ]; then
    # redis-cli --cluster create wants three masters: one node takes every slot by hand.
    redis-cli -p "${ports[0]}" cluster addslotsrange 0 16383 >/dev/null
  else
    local nodes=()
    for p in "${ports[@]}"; do nodes+=("127.0.0.1:$p"); done
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$dir/create-$n.log" 2>&1
  fi
  for p in "${ports[@]}"; do
    until redis-cli -p "$p" cluster info 2>/dev/null | grep -q 'cluster_state:ok'; do sleep 0.1; done
  done
  url="redis+cluster://$(printf '127.0.0.1:%s,' "${ports[@]}" | sed 's/,$//')"
}

cpu_seconds() {  # used_cpu_sys + used_cpu_user of one node
  redis-cli -p "$1" info cpu | tr -d '\r' | awk -F: '/^used_cpu_(sys|user):/ {s += $2} END {printf "%.3f", s}'
}

stop_cluster() {
  for p in "${ports[@]}"; do redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true; done
  sleep 0.2
}

echo "Redis $(redis-server --version | grep -o 'v=[^ ]*'); $CORES cores (worker JVM and every redis-server share them: this shows overhead and spread, not scaling); Java $(java -version 2>&1 | sed -n 1p)"
echo "$TASKS acks-late no-op tasks over $QUEUES queues, sent in batches of 1,000, then drained by one worker (concurrency $CONCURRENCY, prefetch multiplier 4, results ignored); no replicas (no WAIT)"
summary=()
for masters in 1 3; do
  for run in $(seq 1 "$RUNS"); do
    start_cluster "$masters"
    declare -A before=()
    for p in "${ports[@]}"; do before[$p]=$(cpu_seconds "$p"); done
    t0=$(date +%s.%N)
    line=$(java -cp benchmarks/target/celeriac-benchmarks.jar io.celeriac.benchmarks.ClusterDrain "$url" "$masters" \
      "$TASKS" "$QUEUES" "$CONCURRENCY" 2>>"$dir/java.log" | grep '^cluster ')
    t1=$(date +%s.%N)
    shares=""; total=0
    for p in "${ports[@]}"; do
      used=$(awk -v a="${before[$p]}" -v b="$(cpu_seconds "$p")" 'BEGIN {printf "%.3f", b - a}')
      share=$(awk -v u="$used" -v s="$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" 'BEGIN {printf "%.0f", 100 * u / s}')
      shares="$shares ${p}:${share}%"
      total=$(awk -v t="$total" -v u="$used" 'BEGIN {printf "%.3f", t + u}')
    done
    # Queue placement: which master serves each queue's slot.
    placement=$(for i in $(seq 0 $((QUEUES - 1))); do
      slot=$(redis-cli -p "${ports[0]}" cluster keyslot "{bench.q$i}" | tr -d '\r')
      redis-cli -p "${ports[0]}" cluster nodes | tr -d '\r' | awk -v s="$slot" -v q="bench.q$i" '
        $3 ~ /master/ { for (f = 9; f <= NF; f++) { n = split($f, r, "-"); lo = r[1]; hi = (n > 1 ? r[2] : r[1])
          if (s >= lo + 0 && s <= hi + 0) { split($2, a, "@"); sub(/.*:/, "", a[1]); print q "@" a[1]; exit } } }'
    done | tr '\n' ' ')
    echo "$line run=$run redis_cpu_share(process, of one core over the whole run):$shares redis_cpu_s=$total queues_on:$placement"
    rate=$(echo "$line" | grep -o 'drain=[0-9]*' | cut -d= -f2)
    summary+=("$masters:$rate:$total")
    stop_cluster
  done
done

# Median-free summary (RUNS=1 by default): the last run of each size.
r1=""; r3=""; c1=""; c3=""
for s in "${summary[@]}"; do
  IFS=: read -r m r c <<<"$s"
  if [ "$m" = 1 ]; then r1=$r; c1=$c; else r3=$r; c3=$c; fi
done
per_task_1=$(awk -v c="$c1" -v n="$TASKS" 'BEGIN {printf "%.1f", 1e6 * c / n}')
per_task_3=$(awk -v c="$c3" -v n="$TASKS" 'BEGIN {printf "%.1f", 1e6 * c / n}')
ceiling=$(awk -v c="$c3" -v n="$TASKS" 'BEGIN {printf "%.0f", n / c}')
echo "projection (not measured): Redis CPU per task ${per_task_3} us over 3 masters (${per_task_1} us on 1); with queues spread evenly and clients that keep up, each added master adds about ${ceiling} tasks/s of Redis-bound capacity (one core per master at 100 %)"
echo "summary: drain 1 master ${r1}/s, 3 masters ${r3}/s ($(awk -v a="$r1" -v b="$r3" 'BEGIN {printf "%+.0f%%", 100 * (b - a) / a}') on $CORES cores: sharding overhead, not scaling); Redis CPU/task 1 master ${per_task_1} us, 3 masters ${per_task_3} us"
