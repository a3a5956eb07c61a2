#!/usr/bin/env bash
# One command for the end-to-end benchmark: Celeriac and Celery 5 (Debian's python3-celery), same Redis, same run;
# then both again on one private RabbitMQ node when Debian's rabbitmq-server is installed.
#   benchmarks/run.sh            full run (100k tasks per Celeriac configuration and run)
#   QUICK=1 benchmarks/run.sh    a smaller run (a few minutes), for checking
# Every configuration runs $RUNS times (default 3); the table gives the median and min-max of each figure.
# Settings (environment): TASKS, ENQUEUE8_TASKS, CELERY_TASKS, CELERY_SLOW_TASKS, CELERY_SLOW_SECONDS, LATENCY_TASKS,
# LATENCY_SECONDS, PACE (tasks/s, or a share of each run's drain such as 50%), RUNS, CONCURRENCY, GEVENT_CONCURRENCY,
# CONFIGS (Celeriac: prod default prod-events default-events), POOLS (Celery: prefork threads gevent),
# RABBITMQ (1/0), RABBIT_TASKS, RABBIT_CELERY_TASKS, RABBIT_CELERY_SECONDS, RABBIT_POOLS.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${QUICK:-0}" = 1 ]; then
  TASKS=${TASKS:-20000}; ENQUEUE8_TASKS=${ENQUEUE8_TASKS:-10000}; CELERY_TASKS=${CELERY_TASKS:-3000}
  CELERY_SLOW_TASKS=${CELERY_SLOW_TASKS:-1000}; CELERY_SLOW_SECONDS=${CELERY_SLOW_SECONDS:-5}
  LATENCY_TASKS=${LATENCY_TASKS:-50}; LATENCY_SECONDS=${LATENCY_SECONDS:-1}
  RABBIT_TASKS=${RABBIT_TASKS:-10000}; RABBIT_CELERY_TASKS=${RABBIT_CELERY_TASKS:-2000}
  RABBIT_CELERY_SECONDS=${RABBIT_CELERY_SECONDS:-10}
fi
TASKS=${TASKS:-100000}                 # Celeriac, every configuration, batched enqueue then drain
ENQUEUE8_TASKS=${ENQUEUE8_TASKS:-50000} # Celeriac, single delay() calls from 8 threads (then deleted, not drained)
CELERY_TASKS=${CELERY_TASKS:-30000}    # Celery with its defaults (>= 20 s of drain for every pool here)
CELERY_SLOW_TASKS=${CELERY_SLOW_TASKS:-5000}  # Celery with acks-late + prefetch 1: until all done or ...
CELERY_SLOW_SECONDS=${CELERY_SLOW_SECONDS:-20} # ... this many seconds, whichever comes first
LATENCY_TASKS=${LATENCY_TASKS:-200}    # the fewest latency tasks per run
LATENCY_SECONDS=${LATENCY_SECONDS:-5}  # latency phase: max(LATENCY_TASKS, pace x LATENCY_SECONDS) tasks
PACE=${PACE:-50%}                      # latency pace: 50 % of the drain rate the same run measured
RUNS=${RUNS:-3}
WARMUP=${WARMUP:-30000}                # Celeriac: unmeasured drains of this many tasks per JVM first, until two agree within 5 % (JIT warm, as in a running worker)
CONCURRENCY=${CONCURRENCY:-8}
GEVENT_CONCURRENCY=${GEVENT_CONCURRENCY:-100}  # Celery's usual gevent setting; drained ~10 % faster than 8 here
CONFIGS=${CONFIGS:-prod default prod-events default-events}
POOLS=${POOLS:-prefork threads gevent}
# RabbitMQ: on when Debian's rabbitmq-server is installed (RABBITMQ=0 skips it)
RABBITMQ=${RABBITMQ:-$([ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] && echo 1 || echo 0)}
RABBIT_TASKS=${RABBIT_TASKS:-30000}            # Celeriac on RabbitMQ, every configuration
RABBIT_CELERY_TASKS=${RABBIT_CELERY_TASKS:-10000} # Celery on RabbitMQ: until all done or ...
RABBIT_CELERY_SECONDS=${RABBIT_CELERY_SECONDS:-30} # ... this many seconds
RABBIT_POOLS=${RABBIT_POOLS:-prefork threads gevent}
CORES=$(nproc)

/usr/bin/python3 -c 'import celery, redis' 2>/dev/null || { echo "python3-celery is needed (apt-get install python3-celery)"; exit 2; }
case " $POOLS " in *" gevent "*)
  /usr/bin/python3 -c 'import gevent' 2>/dev/null || { echo "python3-gevent is needed (apt-get install python3-gevent)"; exit 2; } ;;
esac
. benchmarks/lib.sh
build_benchmarks
start_redis
out="$dir/results.txt"
: >"$out"

echo "Redis $(redis-server --version | grep -o 'v=[^ ]*') on port $port; $CORES cores; Java $(java -version 2>&1 | sed -n 1p); $(/usr/bin/python3 -c 'import celery; print("Celery", celery.__version__)')"
echo "prod = acks-late + prefetch multiplier 1; default = acks early + prefetch multiplier 4; -events = task events on (-E)"
echo "Celeriac: $TASKS tasks per run, $CONCURRENCY pool threads, one worker in the benchmark JVM, one JVM per configuration ($RUNS runs in it, after the warm-up drains); drains timed from the first result stored, on both sides"
echo "Celery: pools $POOLS (prefork -c $CORES, threads -c $CONCURRENCY, gevent -c $GEVENT_CONCURRENCY), --without-gossip --without-mingle --without-heartbeat; $CELERY_TASKS tasks per run with its defaults; with acks-late + prefetch 1 until $CELERY_SLOW_TASKS tasks are done or ${CELERY_SLOW_SECONDS}s have passed, whichever comes first (rate = tasks done / time); a fresh worker per run"
echo "Latency: paced at $PACE of each run's drain, max($LATENCY_TASKS, pace x ${LATENCY_SECONDS}s) tasks (at most 20 s unless fewer than 10 tasks), publish-to-start in microseconds"
for cfg in $CONFIGS; do
  java -Dbench.warmup="$WARMUP" -Dbench.runs="$RUNS" -Dbench.latencySeconds="$LATENCY_SECONDS" \
    -jar benchmarks/target/celeriac-benchmarks.jar "$url" "$TASKS" "$LATENCY_TASKS" "$CONCURRENCY" "$PACE" "$cfg" \
    | tee -a "$out"
done
# Single delay() calls from 8 threads in a JVM of their own (in a worker's JVM they slowed the drain after them).
java -Dbench.warmup="$WARMUP" -Dbench.runs="$RUNS" -Dbench.enqueue8="$ENQUEUE8_TASKS" \
  -jar benchmarks/target/celeriac-benchmarks.jar "$url" 0 0 "$CONCURRENCY" "$PACE" enqueue8 | tee -a "$out"
for pool in $POOLS; do
  case $pool in prefork) conc=$CORES ;; gevent) conc=$GEVENT_CONCURRENCY ;; *) conc=$CONCURRENCY ;; esac
  (cd benchmarks && /usr/bin/python3 celery_bench.py "$url" "$CELERY_TASKS" "$LATENCY_TASKS" "$pool" "$conc" default \
    "$PACE" "$RUNS" "$LATENCY_SECONDS" 0) | tee -a "$out"
  (cd benchmarks && /usr/bin/python3 celery_bench.py "$url" "$CELERY_SLOW_TASKS" "$LATENCY_TASKS" "$pool" "$conc" prod \
    "$PACE" "$RUNS" "$LATENCY_SECONDS" "$CELERY_SLOW_SECONDS") | tee -a "$out"
done

# The same on RabbitMQ (a private node), results still in the Redis: Celeriac's configurations, then Celery's pools,
# each with a time limit (some of Celery's pools crawl on RabbitMQ).
if [ "$RABBITMQ" = 1 ]; then
  start_rabbitmq
  echo "RabbitMQ $(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null) on port $amqp_port: Celeriac $RABBIT_TASKS tasks per run; Celery $RABBIT_CELERY_TASKS per run, at most ${RABBIT_CELERY_SECONDS}s each, pools $RABBIT_POOLS"
  for cfg in prod default; do
    java -Dbench.broker="$amqp_url" -Dbench.warmup="$WARMUP" -Dbench.runs="$RUNS" -Dbench.latencySeconds="$LATENCY_SECONDS" \
      -jar benchmarks/target/celeriac-benchmarks.jar "$url" "$RABBIT_TASKS" "$LATENCY_TASKS" "$CONCURRENCY" "$PACE" \
      "$cfg" | tee -a "$out"
  done
  for pool in $RABBIT_POOLS; do
    case $pool in prefork) conc=$CORES ;; gevent) conc=$GEVENT_CONCURRENCY ;; *) conc=$CONCURRENCY ;; esac
    for cfg in default prod; do
      (cd benchmarks && BENCH_BROKER="$amqp_url" /usr/bin/python3 celery_bench.py "$url" "$RABBIT_CELERY_TASKS" \
        "$LATENCY_TASKS" "$pool" "$conc" "$cfg" "$PACE" "$RUNS" "$LATENCY_SECONDS" "$RABBIT_CELERY_SECONDS") \
        | tee -a "$out"
    done
  done
fi

/usr/bin/python3 benchmarks/summary.py "$out"
