"""Celery side of the benchmark: the same task, the same Redis, the same measurements as Throughput.java.

Run with Debian's interpreter:
  /usr/bin/python3 celery_bench.py <redis://host:port> <tasks> <latency_tasks> <pool> <concurrency> <prod|default>
      <pace> [runs] [latency_seconds] [max_drain_seconds]
<pace> is tasks/s during the latency phase, or "50%": that share of the drain rate the same run measured. The
latency phase sends max(latency_tasks, pace x latency_seconds) tasks, but lasts at most max(20 s, latency_seconds)
unless that leaves fewer than 10 tasks. With max_drain_seconds > 0 the drain stops
once every task is done or that many seconds have passed, whichever comes first, and the rate is the tasks done over
the time taken (for Celery's slow acks-late + prefetch 1 configuration); the rest of the queue is then purged.
Prints one line per run:
  celery pool=<p> conc=<c> config=<c> run=<i> tasks=<done> enqueue=<r>/s drain=<r>/s drain_secs=<s> [stopped=time]
  lat_rate=<r>/s lat_target=<r>/s lat_n=<n> pace=<ok|late(x%)|behind(x%)> p50=<us>us p99=<us>us
"""
import json
import os
import sys
import time

import redis
from celery_common import configure, make_app, start_worker, stop_worker

app = make_app("celery_bench")


@app.task(name="bench.noop")
def noop(sent_at):
    return time.time() - sent_at


def wait_for(results, n, limit=3600):
    """Waits until n results are stored; returns the count (n, or fewer if the limit in seconds passed)."""
    deadline = time.time() + limit
    while True:
        have = results.dbsize()
        if have >= n:
            return have
        if time.time() > deadline:
            return have
        time.sleep(0.005)




def pct(values, p):
    if not values:
        return float("nan")
    i = max(0, min(len(values) - 1, int(-(-p * len(values) // 100)) - 1))
    return values[i]


def paced(per_second, n):
    """Sends n tasks, task i due at start + i / per_second; sleeps while the next one is far, spins the rest.
    Returns (achieved rate, tasks sent while more than one was due)."""
    interval = 1.0 / per_second
    late = 0
    start = time.time()
    for i in range(n):
        due = start + i * interval
        while True:
            gap = due - time.time()
            if gap <= 0:
                break
            if gap > 0.0003:
                time.sleep(gap - 0.0002)
        if time.time() - due > interval:
            late += 1
        noop.apply_async((time.time(),))
    secs = time.time() - start
    return ((n - 1) / secs if n > 1 else n / secs), late


def latency_count(target, latency_tasks, latency_seconds):
    """max(latency_tasks, target x latency_seconds), but the phase lasts at most max(20 s, latency_seconds) unless
    that leaves fewer than 10 tasks (Celery's prefork pool with acks late + prefetch 1 drains a few tasks/s)."""
    n = max(latency_tasks, int(round(target * latency_seconds)))
    longest = max(20.0, latency_seconds)
    if n > target * longest:
        n = max(10, int(round(target * longest)))
    return n


def fmt_rate(r):
    return "%.0f" % r if r >= 10 else "%.2f" % r


def verdict(rate, target, late, n):
    if rate < 0.95 * target:
        return "behind(%.0f%%)" % (100 * rate / target)
    if late:
        return "late(%.1f%%)" % (100.0 * late / n)
    return "ok"


def one_run(run, tasks, latency_tasks, pool, concurrency, pace, latency_seconds, max_drain_seconds):
    results = redis.Redis.from_url(BASE + "/1")
    results.flushall()

    t0 = time.time()
    for _ in range(tasks):
        noop.apply_async((time.time(),))
    enqueue = time.time() - t0

    started = time.time()
    worker = start_worker("celery_bench", pool, concurrency, "bench")
    try:
        # Timed from the first result on, not from the process start: the interpreter, imports and pool start-up
        # (0.2-0.5 s here) are not draining. Celeriac's side is timed the same way.
        first = wait_for(results, 1, 120)
        t1 = time.time()
        start_secs = t1 - started
        done = wait_for(results, tasks, max_drain_seconds if max_drain_seconds > 0 else 3600)
        drain_secs = time.time() - t1
        stopped = done < tasks
        if done < tasks and max_drain_seconds <= 0:
            raise SystemExit("results did not arrive: %d of %d" % (done, tasks))
        drain = (done - first) / drain_secs if drain_secs > 0 else float("nan")
        if stopped:
            # Purge what is left and let the tasks the worker holds finish before the latency phase.
            with app.connection_for_write() as conn:
                conn.default_channel.queue_purge("bench")
            last, quiet_since = results.dbsize(), time.time()
            while time.time() - quiet_since < 1.0:
                time.sleep(0.05)
                now = results.dbsize()
                if now != last:
                    last, quiet_since = now, time.time()

        results.flushdb()
        target = drain * float(pace[:-1]) / 100 if pace.endswith("%") else float(pace)
        n = latency_count(target, latency_tasks, latency_seconds)
        rate, late = paced(target, n)
        if wait_for(results, n) < n:
            raise SystemExit("latency results did not arrive")
        lat = []
        for key in results.scan_iter("celery-task-meta-*", count=1000):
            lat.append(json.loads(results.get(key))["result"])
        lat.sort()
    finally:
        stop_worker(worker)
    broker = os.environ.get("BENCH_BROKER")
    print("celery pool=%s conc=%d config=%s run=%d tasks=%d%s enqueue=%.0f/s drain=%s/s drain_secs=%.1f start_secs=%.2f%s "
          "lat_rate=%s/s lat_target=%s/s lat_n=%d pace=%s p50=%.0fus p99=%.0fus" % (
              pool, concurrency, CONFIG, run, done, (" broker=" + broker.split(":")[0]) if broker else "",
              tasks / enqueue, fmt_rate(drain), drain_secs, start_secs,
              (" stopped=time(%.0fs,of=%d)" % (max_drain_seconds, tasks)) if stopped else "",
              fmt_rate(rate), fmt_rate(target), n, verdict(rate, target, late, n), pct(lat, 50) * 1e6,
              pct(lat, 99) * 1e6),
          flush=True)


def main():
    global BASE, CONFIG
    BASE, tasks, latency_tasks, pool, concurrency, CONFIG, pace = (
        sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), sys.argv[6], sys.argv[7])
    runs = int(sys.argv[8]) if len(sys.argv) > 8 else 1
    latency_seconds = float(sys.argv[9]) if len(sys.argv) > 9 else 0.0
    max_drain_seconds = float(sys.argv[10]) if len(sys.argv) > 10 else 0.0
    configure(app, BASE, CONFIG)
    for run in range(1, runs + 1):
        one_run(run, tasks, latency_tasks, pool, concurrency, pace, latency_seconds, max_drain_seconds)


if __name__ == "__main__":
    main()
