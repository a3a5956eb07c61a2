"""Celery side of the chord benchmark: the same tasks, the same Redis, the same measurements as ChordBench.java.

Run with Debian's interpreter: /usr/bin/python3 celery_chord.py <redis://host:port> <parts> <warm-up parts> <pool>
<concurrency> <prod|default> [limit seconds]
Prints: celery pool=<p> config=<c> parts=N send=<s>s body_done=<s>s total=<s>s rate=<r>/s body=N
(body_done: when the worker wrote the body's result, its date_done; total: when AsyncResult.get returned)
or, if the chord did not complete: celery pool=<p> config=<c> parts=N failed=<what happened>
"""
import datetime
import os
import subprocess
import sys
import tempfile
import time

import redis
from celery import chord
from celery_common import configure, make_app, start_worker, stop_worker

app = make_app("celery_chord")


@app.task(name="chord.noop")
def noop():
    return None


@app.task(name="chord.count")
def count(results):
    return len(results)




def the_chord(parts):
    return chord([noop.s() for _ in range(parts)], count.s())


def check(size, parts, which):
    # A benchmark that can silently be wrong is worse than none: the body counts what it was given.
    if size != parts:
        raise RuntimeError("%s chord body returned %r, expected %d" % (which, size, parts))


def main():
    global BASE, CONFIG
    BASE, parts, warmup, pool, concurrency, CONFIG = (
        sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), sys.argv[6])
    limit = float(sys.argv[7]) if len(sys.argv) > 7 else 1800.0
    configure(app, BASE, CONFIG)
    redis.Redis.from_url(BASE).flushall()

    label = "celery pool=%s config=%s parts=%d" % (pool, CONFIG, parts)
    log = tempfile.NamedTemporaryFile(prefix="celery-chord-", suffix=".log", delete=False)
    worker = start_worker("celery_chord", pool, concurrency, "chord", stdout=log, stderr=subprocess.STDOUT)
    try:
        if warmup:
            check(the_chord(warmup).apply_async().get(timeout=limit), warmup, "warm-up")
        c = the_chord(parts)
        start = time.time()
        t0 = time.perf_counter()
        res = c.apply_async()
        sent = time.perf_counter()
        size = res.get(timeout=limit)
        done = time.perf_counter()
        check(size, parts, "timed")
        body_done = res.date_done.replace(tzinfo=datetime.timezone.utc).timestamp() - start
    except Exception as e:  # report what happened instead of a traceback in the middle of the run
        print("%s failed=%r (worker log: %s)" % (label, e, log.name), flush=True)
        return 1
    finally:
        stop_worker(worker)
    total = done - t0
    print("%s send=%.2fs body_done=%.2fs total=%.2fs rate=%.0f/s body=%d" % (
        label, sent - t0, body_done, total, parts / total, size), flush=True)
    os.unlink(log.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
