#!/usr/bin/env bash
# One command for the chord benchmark: a chord of N no-op parts whose body returns the number of results it got,
# timed from the start of the send to the body's result, Celeriac and Celery 5 (Debian's python3-celery) on the
# same private Redis (broker and result backend), in the same run. Each line gives send (applyAsync alone),
# body_done (when the worker wrote the body's result) and total (when AsyncResult.get returned; rate = N / total).
#   benchmarks/chord.sh            full run: 10,000 parts, then 1,000 parts, on both sides
#   QUICK=1 benchmarks/chord.sh    a smaller run (2,000 and 200 parts)
# Settings (environment): PARTS, SMALL_PARTS, WARMUP (parts of an untimed chord first), CONCURRENCY,
# CELERY_LIMIT (seconds a Celery chord may take), CELERY_SLOW_FULL=1 (also run Celery's prefork pool with acks-late
# + prefetch 1 at PARTS; it takes ~150 ms a part on a 2-core machine, so by default it runs SMALL_PARTS only).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${QUICK:-0}" = 1 ]; then
  PARTS=${PARTS:-2000}; SMALL_PARTS=${SMALL_PARTS:-200}; WARMUP=${WARMUP:-50}
fi
PARTS=${PARTS:-10000}
SMALL_PARTS=${SMALL_PARTS:-1000}
WARMUP=${WARMUP:-200}
CONCURRENCY=${CONCURRENCY:-8}
CELERY_LIMIT=${CELERY_LIMIT:-1800}
CELERY_SLOW_FULL=${CELERY_SLOW_FULL:-0}
CORES=$(nproc)

/usr/bin/python3 -c 'import celery, redis' 2>/dev/null || { echo "python3-celery is needed (apt-get install python3-celery)"; exit 2; }
. benchmarks/lib.sh
build_benchmarks
start_redis
out="$dir/results.txt"
javalog="$dir/celeriac-worker.log"

echo "Redis $(redis-server --version | grep -o 'v=[^ ]*') on port $port; $CORES cores; Java $(java -version 2>&1 | sed -n 1p); Celery $(/usr/bin/python3 -c 'import celery; print(celery.__version__)')"
echo "prod = acks-late + prefetch multiplier 1; default = acks early + prefetch multiplier 4; an untimed chord of $WARMUP parts first"
sizes=$PARTS
[ "$SMALL_PARTS" != "$PARTS" ] && sizes="$sizes $SMALL_PARTS"
for n in $sizes; do
  if ! java -cp benchmarks/target/celeriac-benchmarks.jar io.celeriac.benchmarks.ChordBench "$url" "$n" "$WARMUP" \
      "$CONCURRENCY" prod default 2>>"$javalog" | tee -a "$out"; then
    echo "The Celeriac side failed; the end of its log:"; tail -30 "$javalog"; exit 1
  fi
  for pool in prefork threads; do
    conc=$([ "$pool" = prefork ] && echo "$CORES" || echo "$CONCURRENCY")
    for cfg in default prod; do
      if [ "$pool/$cfg" = prefork/prod ] && [ "$n" = "$PARTS" ] && [ "$SMALL_PARTS" != "$PARTS" ] \
          && [ "$CELERY_SLOW_FULL" != 1 ]; then
        echo "celery pool=$pool config=$cfg parts=$n skipped=too-slow(CELERY_SLOW_FULL=1-runs-it)" | tee -a "$out"
        continue
      fi
      (cd benchmarks && /usr/bin/python3 celery_chord.py "$url" "$n" "$WARMUP" "$pool" "$conc" "$cfg" \
        "$CELERY_LIMIT") | tee -a "$out" || true
    done
  done
done

# The Java worker logs to stderr; say how many errors it logged rather than burying the run under them.
errors=$(grep -c 'ERROR' "$javalog" || true)
if [ "$errors" -gt 0 ]; then
  echo "celeriac worker logged $errors ERROR line(s); by kind:"
  grep 'ERROR' "$javalog" | sed -E 's/^\[[^]]*\] //; s/[0-9a-f]{8}-[0-9a-f-]{27}/<id>/g' | sort | uniq -c | sort -rn | head -5
fi

/usr/bin/python3 - "$out" <<'PY'
import re, sys
rows = [dict(re.findall(r"(\w+)=([^ ]+)", l)) | {"who": l.split()[0]} for l in open(sys.argv[1]) if " parts=" in l]
secs = lambda r, k: float(r[k].rstrip("s"))
parts = []
for n in dict.fromkeys(r["parts"] for r in rows):
    cfgs = []
    for cfg in ("prod", "default"):
        ours = [r for r in rows if r["who"] == "celeriac" and r["config"] == cfg and r["parts"] == n and "total" in r]
        theirs = [r for r in rows if r["who"] == "celery" and r["config"] == cfg and r["parts"] == n]
        done = [r for r in theirs if "total" in r]
        if not ours or not done:
            cfgs.append("%s: %s" % (cfg, "no comparison" if ours else "celeriac did not complete"))
            continue
        # Celery's best pool for each measure: the first returns from get() soonest, the second stores the body first.
        got, stored = min(done, key=lambda r: secs(r, "total")), min(done, key=lambda r: secs(r, "body_done"))
        note = "".join(", celery %s %s" % (r["pool"], "skipped" if "skipped" in r else "failed")
                       for r in theirs if "total" not in r)
        cfgs.append("%s: get() celeriac %.2fs vs celery %s %.2fs = %.1fx, body done %.2fs vs celery %s %.2fs = %.1fx,"
                    " send %.2fs vs %.2fs%s" % (
            cfg, secs(ours[0], "total"), got["pool"], secs(got, "total"), secs(got, "total") / secs(ours[0], "total"),
            secs(ours[0], "body_done"), stored["pool"], secs(stored, "body_done"),
            secs(stored, "body_done") / secs(ours[0], "body_done"), secs(ours[0], "send"), secs(got, "send"), note))
    parts.append("%s parts, %s" % (n, "; ".join(cfgs)))
print("SUMMARY chord " + " | ".join(parts))
PY
