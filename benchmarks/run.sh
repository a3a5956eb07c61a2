#!/usr/bin/env bash
# One command for the end-to-end benchmark: Celeriac and Celery 5 (Debian's python3-celery), same Redis, same run.
#   benchmarks/run.sh            full run (100k tasks per Celeriac configuration)
#   QUICK=1 benchmarks/run.sh    a smaller run
# Settings (environment): TASKS, CELERY_TASKS, CELERY_SLOW_TASKS, LATENCY_TASKS, PACE (tasks/s), CONCURRENCY.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${QUICK:-0}" = 1 ]; then
  TASKS=${TASKS:-20000}; CELERY_TASKS=${CELERY_TASKS:-5000}; CELERY_SLOW_TASKS=${CELERY_SLOW_TASKS:-200}
  LATENCY_TASKS=${LATENCY_TASKS:-200}
fi
TASKS=${TASKS:-100000}                 # Celeriac, both configurations
CELERY_TASKS=${CELERY_TASKS:-100000}   # Celery with its defaults
CELERY_SLOW_TASKS=${CELERY_SLOW_TASKS:-500}  # Celery with acks-late + prefetch 1 (~25 tasks/s: fewer tasks, compare rates)
LATENCY_TASKS=${LATENCY_TASKS:-500}
PACE=${PACE:-50}                       # tasks/s during the latency phase (light load, both sides)
CONCURRENCY=${CONCURRENCY:-8}
CORES=$(nproc)

/usr/bin/python3 -c 'import celery, redis' 2>/dev/null || { echo "python3-celery is needed (apt-get install python3-celery)"; exit 2; }
. benchmarks/lib.sh
build_benchmarks
start_redis
out="$dir/results.txt"

echo "Redis $(redis-server --version | grep -o 'v=[^ ]*') on port $port; $CORES cores; Java $(java -version 2>&1 | sed -n 1p)"
echo "prod = acks-late + prefetch multiplier 1; default = acks early + prefetch multiplier 4"
java -jar benchmarks/target/celeriac-benchmarks.jar "$url" "$TASKS" "$LATENCY_TASKS" "$CONCURRENCY" "$PACE" \
  prod default | tee -a "$out"
for pool in prefork threads; do
  conc=$([ "$pool" = prefork ] && echo "$CORES" || echo "$CONCURRENCY")
  (cd benchmarks && /usr/bin/python3 celery_bench.py "$url" "$CELERY_TASKS" "$LATENCY_TASKS" "$pool" "$conc" default "$PACE") | tee -a "$out"
  (cd benchmarks && /usr/bin/python3 celery_bench.py "$url" "$CELERY_SLOW_TASKS" "$((LATENCY_TASKS / 5))" "$pool" "$conc" prod "$PACE") | tee -a "$out"
done

/usr/bin/python3 - "$out" <<'PY'
import re, sys
rows = [dict(re.findall(r"(\w+)=([^ ]+)", l)) | {"who": l.split()[0]} for l in open(sys.argv[1]) if "drain=" in l]
rate = lambda r, k: float(r[k].rstrip("/s"))
parts = []
for cfg in ("prod", "default"):
    ours = [r for r in rows if r["who"] == "celeriac" and r["config"] == cfg]
    theirs = [r for r in rows if r["who"] == "celery" and r["config"] == cfg]
    if not ours or not theirs:
        continue
    best = max(theirs, key=lambda r: rate(r, "drain"))
    parts.append("%s: celeriac drain %.0f/s vs celery %s %.0f/s = %.1fx, enqueue %.0f/s vs %.0f/s = %.1fx" % (
        cfg, rate(ours[0], "drain"), best["pool"], rate(best, "drain"), rate(ours[0], "drain") / rate(best, "drain"),
        rate(ours[0], "enqueue"), rate(best, "enqueue"), rate(ours[0], "enqueue") / rate(best, "enqueue")))
print("SUMMARY " + "; ".join(parts))
PY
