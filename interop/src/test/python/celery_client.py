"""Python Celery client for the interop tests. Prints one JSON object with what it saw.

  /usr/bin/python3 celery_client.py send-to-java          send tasks a Java worker runs, wait for their results
  /usr/bin/python3 celery_client.py get <task-id>         read a result a Java producer's task left
  /usr/bin/python3 celery_client.py send-records-from <a> <b> <q>  send interop.record(i), a <= i < b, to queue q
  /usr/bin/python3 celery_client.py send-add <q>          send interop.add(1, 2) to queue q, do not wait
"""
import json
import sys
import time
from datetime import datetime, timezone

from interop_tasks import app

TIMEOUT = 30


def send_to_java():
    out = {}
    out["add"] = app.send_task("interop.add", args=(2, 3), queue="java").get(timeout=TIMEOUT)
    out["kwargs"] = app.send_task("interop.add", kwargs={"x": 40, "y": 2}, queue="java").get(timeout=TIMEOUT)
    # kw(1, c=9): b is left out and takes the Java task's default, 2.
    out["default"] = app.send_task("interop.kw", args=(1,), kwargs={"c": 9}, queue="java").get(timeout=TIMEOUT)
    t0 = time.time()
    r = app.send_task("interop.add", args=(1, 1), countdown=2, queue="java")
    out["countdown"] = r.get(timeout=TIMEOUT)
    out["countdown_waited"] = time.time() - t0
    out["priority"] = app.send_task("interop.add", args=(5, 5), priority=5, queue="java").get(timeout=TIMEOUT)
    r = app.send_task("interop.add", args=(7, 8), task_id="order-42-add", queue="java")
    out["custom_id"] = [r.id, r.get(timeout=TIMEOUT)]
    r = app.send_task("interop.boom", args=("no such order",), queue="java")
    try:
        r.get(timeout=TIMEOUT)
        out["boom"] = "no exception"
    except Exception as e:  # the remote Java exception, re-created by Celery
        out["boom"] = {"type": type(e).__name__, "message": str(e), "state": r.state,
                       "traceback": (r.traceback or "")[:200]}
    print(json.dumps(out))


def get(task_id):
    r = app.AsyncResult(task_id)
    print(json.dumps({"state": r.state, "result": r.get(timeout=TIMEOUT)}))


def send_records(start, end, queue):
    for i in range(start, end):
        app.send_task("interop.record", args=(i,), queue=queue)
    print(json.dumps({"sent": end - start, "at": datetime.now(timezone.utc).isoformat()}))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "send-to-java":
        send_to_java()
    elif cmd == "get":
        get(sys.argv[2])
    elif cmd == "send-add":
        print(json.dumps({"id": app.send_task("interop.add", args=(1, 2), queue=sys.argv[2]).id}))
    elif cmd == "send-records-from":
        send_records(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    else:
        raise SystemExit("unknown command " + cmd)
