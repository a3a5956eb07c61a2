"""Python tasks for the canvas interop tests; CanvasInteropTasks.java defines the same names in Java.

Load into a worker with `celery -A interop_tasks worker -I canvas_tasks`. Tasks that leave a trace push
"py:<what>" onto a Redis list of the broker's database, as the Java ones push "java:<what>", so the test can tell
which side ran what, and how often.

  acc.add(x, y), acc.tsum(xs), acc.collect(xs)   plain values
  acc.echo(value, delay)                         returns value after delay seconds (parts that finish out of order)
  acc.boom(msg)                                  raises ValueError("boom <msg>")
  acc.record(value, tag)                         callback: pushes the value onto acc:seen:<tag>
  acc.errback(task_id)                           old-style errback (one argument): pushes onto acc:errbacks
  acc.part(run, i)                               chord part: waits until both sides run parts of <run>, pushes
                                                 onto acc:parts:<run>, returns i
  acc.gate(run, n)                               chord part that finishes only after the chord's other n parts
                                                 are counted, so its side completes the chord
  acc.body(values, run)                          chord body: pushes onto acc:bodies:<run>, returns sum(values)
  acc.py_append(trail, tag)                      Python only (acc.java_append is its Java twin): trail + ["py:tag"]
"""
import json
import time

import redis

from interop_tasks import BACKEND, app, ledger

_results = None


def results():
    global _results
    if _results is None:
        _results = redis.Redis.from_url(BACKEND)
    return _results


@app.task(name="acc.add")
def add(x, y):
    return x + y


@app.task(name="acc.tsum")
def tsum(xs):
    return sum(xs)


@app.task(name="acc.collect")
def collect(xs):
    return xs


@app.task(name="acc.echo")
def echo(value, delay):
    time.sleep(delay)
    return value


@app.task(name="acc.boom")
def boom(msg):
    raise ValueError("boom %s" % msg)


@app.task(name="acc.record")
def record(value, tag):
    ledger().rpush("acc:seen:" + tag, json.dumps(["py", value]))
    return tag


@app.task(name="acc.errback")
def errback(task_id):
    # One argument: Celery sends it the failed task's id as a message (an "old-style" errback), as Java does.
    ledger().rpush("acc:errbacks", "py:" + task_id)
    return task_id


@app.task(name="acc.part")
def part(run, i):
    # Held until the other side has started a part too (for at most 10 s), so neither worker can drain the shared
    # queue alone: a worker that took its fill waits for the other to take some.
    sides = "acc:sides:" + run
    ledger().sadd(sides, "py")
    deadline = time.time() + 10
    while ledger().scard(sides) < 2 and time.time() < deadline:
        time.sleep(0.01)
    ledger().rpush("acc:parts:" + run, "py:%d" % i)
    return i


@app.task(name="acc.gate", bind=True)
def gate(self, run, n):
    key = "celery-taskset-meta-%s.j" % self.request.group
    deadline = time.time() + 60
    while results().zcard(key) < n:
        if time.time() > deadline:
            raise TimeoutError("only %d of %d parts were counted" % (results().zcard(key), n))
        time.sleep(0.02)
    ledger().rpush("acc:parts:" + run, "py:gate")
    return -1


@app.task(name="acc.body")
def body(values, run):
    ledger().rpush("acc:bodies:" + run, "py")
    return sum(values)


@app.task(name="acc.py_append")
def py_append(trail, tag):
    return trail + ["py:" + tag]
