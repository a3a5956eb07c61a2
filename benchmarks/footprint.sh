#!/usr/bin/env bash
# Footprint of the real `celeriac worker` (the CLI, its own JVM), on a private redis-server:
#  1. start to first task: one bench.now task is queued, then the worker process is started; the time from the
#     process start (wall clock taken by the shell just before it execs java) to the task's start (the wall-clock time
#     the task returns). $START_RUNS times (default 3), each with a fresh worker.
#  2. RSS after draining: $TASKS (default 1,000,000) bench.noop tasks are queued first, then one worker drains them
#     all (every result stored); VmRSS (and the peak, VmHWM) of the worker process is read from /proc right after the
#     drain, while it is still running.
# Prints one line: footprint: rss_after_1M=<MB>MB heap=-Xmx<HEAP> start_to_first_task=<ms>ms ...
# Settings (environment): TASKS, HEAP (default 256m), CONFIG (default: acks early + prefetch 4; prod: acks late +
# prefetch 1), CONCURRENCY (default 8), START_RUNS, EVENTS=1 (worker with -E).
set -euo pipefail
cd "$(dirname "$0")/.."

TASKS=${TASKS:-1000000}
HEAP=${HEAP:-256m}
CONFIG=${CONFIG:-default}
CONCURRENCY=${CONCURRENCY:-8}
START_RUNS=${START_RUNS:-3}

. benchmarks/lib.sh
build_benchmarks celeriac-cli
start_redis
cp_jars="celeriac-cli/target/celeriac.jar:benchmarks/target/celeriac-benchmarks.jar"
worker_args=(worker -A io.celeriac.benchmarks.BenchTasks -b "$url/0" --result-backend "$url/1" -Q bench
             -c "$CONCURRENCY" -l WARNING -n "footprint@%h")
worker_env=()
if [ "$CONFIG" = prod ]; then
  worker_args+=(--prefetch-multiplier 1); worker_env=(CELERIAC_TASK_ACKS_LATE=true)
else
  worker_args+=(--prefetch-multiplier 4)
fi
[ "${EVENTS:-0}" = 1 ] && worker_args+=(-E)
cleanup_worker() { [ -n "${wpid:-}" ] && kill "$wpid" 2>/dev/null && wait "$wpid" 2>/dev/null; wpid=; }
trap 'cleanup_worker; kill $redis_pid 2>/dev/null; rm -rf "$dir"' EXIT

# Starts the worker in the background; $wpid is the java process (the shell execs it), $dir/t0 its start time.
start_worker() {
  env "${worker_env[@]}" bash -c 'date +%s.%N >"$0"; exec java -Xmx'"$HEAP"' -cp "$1" io.celeriac.cli.CeleriacCommand "${@:2}"' \
    "$dir/t0" "$cp_jars" "${worker_args[@]}" >"$dir/worker.log" 2>&1 &
  wpid=$!
}
stop_worker() {
  kill -TERM "$wpid"; wait "$wpid" 2>/dev/null || true; wpid=
}
results() { redis-cli -p "$port" -n 1 dbsize; }
enqueue() { java -cp benchmarks/target/celeriac-benchmarks.jar io.celeriac.benchmarks.Enqueue "$url" "$1" "$2"; }

echo "Redis on port $port; $(nproc) cores; Java $(java -version 2>&1 | sed -n 1p); worker: celeriac worker -c $CONCURRENCY, -Xmx$HEAP, config $CONFIG${EVENTS:+, events $EVENTS}"

# 1. Start to first task.
starts=()
for i in $(seq "$START_RUNS"); do
  redis-cli -p "$port" flushall >/dev/null
  enqueue 1 bench.now >/dev/null
  start_worker
  until [ "$(results)" -ge 1 ]; do
    kill -0 "$wpid" 2>/dev/null || { cat "$dir/worker.log"; echo "worker exited"; exit 1; }
    sleep 0.01
  done
  key=$(redis-cli -p "$port" -n 1 --scan --pattern 'celery-task-meta-*' | head -1)
  started=$(redis-cli -p "$port" -n 1 get "$key" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["result"])')
  ms=$(/usr/bin/python3 -c "print('%.0f' % ((float('$started') - float(open('$dir/t0').read())) * 1000))")
  echo "start to first task, run $i: ${ms} ms"
  starts+=("$ms")
  stop_worker
done
start_median=$(printf '%s\n' "${starts[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')

# 2. RSS after draining $TASKS tasks.
redis-cli -p "$port" flushall >/dev/null
echo "queueing $TASKS tasks: $(enqueue "$TASKS" bench.noop)"
echo "redis used_memory with the queue: $(redis-cli -p "$port" info memory | grep '^used_memory_human:' | cut -d: -f2 | tr -d '\r')"
t0=$(date +%s.%N)
start_worker
next=0
while :; do
  n=$(results)
  [ "$n" -ge "$TASKS" ] && break
  kill -0 "$wpid" 2>/dev/null || { tail -20 "$dir/worker.log"; echo "worker exited"; exit 1; }
  now=$(date +%s)
  if [ "$now" -ge "$next" ]; then
    echo "  $(date +%T) results=$n rss=$(awk '/^VmRSS/ {printf "%.0fMB", $2/1024}' /proc/$wpid/status)"
    next=$((now + 15))
  fi
  sleep 0.2
done
t1=$(date +%s.%N)
rss=$(awk '/^VmRSS/ {printf "%.0f", $2/1024}' /proc/$wpid/status)
hwm=$(awk '/^VmHWM/ {printf "%.0f", $2/1024}' /proc/$wpid/status)
drain=$(/usr/bin/python3 -c "print('%.0f' % ($TASKS / ($t1 - $t0)))")
errors=$(grep -c ERROR "$dir/worker.log" || true)
stop_worker
echo "drain of $TASKS tasks by the CLI worker: ${drain}/s (from process start); worker log ERROR lines: $errors"
label=$([ $((TASKS % 1000000)) = 0 ] && echo "$((TASKS / 1000000))M" || echo "$TASKS")
echo "footprint: rss_after_$label=${rss}MB heap=-Xmx$HEAP start_to_first_task=${start_median}ms" \
  "(runs: ${starts[*]} ms; rss_peak=${hwm}MB; tasks=$TASKS config=$CONFIG concurrency=$CONCURRENCY)"
