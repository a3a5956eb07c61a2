"""Celery side of the benchmark: the same task, the same Redis, the same measurements as Throughput.java.

Run with Debian's interpreter: /usr/bin/python3 celery_bench.py <redis://host:port> <tasks> <latency_tasks>
<pool> <concurrency> <prod|default> <latency pace, tasks/s>
Prints: celery pool=<p> config=<c> tasks=N enqueue=<r>/s drain=<r>/s p50=<ms> p99=<ms>
"""
import json
import os
import subprocess
import sys
import time

import redis
from celery import Celery

BASE = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")
CONFIG = os.environ.get("BENCH_CONFIG", "default")

app = Celery("celery_bench", broker=BASE + "/0", backend=BASE + "/1")
app.conf.update(
    task_default_queue="bench",
    task_acks_late=(CONFIG == "prod"),
    worker_prefetch_multiplier=(1 if CONFIG == "prod" else 4),
    worker_hijack_root_logger=False,
)


@app.task(name="bench.noop")
def noop(sent_at):
    return time.time() - sent_at


def wait_for(results, n, limit=3600):
    deadline = time.time() + limit
    while results.dbsize() < n:
        if time.time() > deadline:
            raise SystemExit("results did not arrive: %d of %d" % (results.dbsize(), n))
        time.sleep(0.005)


def start_worker(pool, concurrency):
    env = dict(os.environ, BENCH_REDIS=BASE, BENCH_CONFIG=CONFIG)
    here = os.path.dirname(os.path.abspath(__file__))
    return subprocess.Popen(
        ["/usr/bin/python3", "-m", "celery", "-A", "celery_bench", "worker", "-P", pool, "-c", str(concurrency),
         "-Q", "bench", "-l", "warning", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-n", "bench-%s@%%h" % pool],
        cwd=here, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_worker(proc):
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


def pct(values, p):
    if not values:
        return float("nan")
    i = max(0, min(len(values) - 1, int(-(-p * len(values) // 100)) - 1))
    return values[i]


def main():
    global BASE, CONFIG
    BASE, tasks, latency_tasks, pool, concurrency, CONFIG, pace = (
        sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), sys.argv[6],
        float(sys.argv[7]))
    os.environ["BENCH_REDIS"] = BASE
    os.environ["BENCH_CONFIG"] = CONFIG
    app.conf.broker_url = BASE + "/0"
    app.conf.result_backend = BASE + "/1"
    app.conf.task_acks_late = CONFIG == "prod"
    app.conf.worker_prefetch_multiplier = 1 if CONFIG == "prod" else 4
    results = redis.Redis.from_url(BASE + "/1")
    results.flushall()

    t0 = time.time()
    for _ in range(tasks):
        noop.apply_async((time.time(),))
    enqueue = time.time() - t0

    t1 = time.time()
    worker = start_worker(pool, concurrency)
    try:
        wait_for(results, tasks)
        drain = time.time() - t1

        results.flushdb()
        next_at = time.time()
        for _ in range(latency_tasks):
            while time.time() < next_at:
                pass
            noop.apply_async((time.time(),))
            next_at += 1.0 / pace
        wait_for(results, latency_tasks)
        lat = []
        for key in results.scan_iter("celery-task-meta-*", count=1000):
            lat.append(json.loads(results.get(key))["result"])
        lat.sort()
    finally:
        stop_worker(worker)
    print("celery pool=%s config=%s tasks=%d enqueue=%.0f/s drain=%.0f/s p50=%.1fms p99=%.1fms" % (
        pool, CONFIG, tasks, tasks / enqueue, tasks / drain, pct(lat, 50) * 1000, pct(lat, 99) * 1000))


if __name__ == "__main__":
    main()
