"""The Python side of the Celeriac <-> Celery interop tests (run with Debian's /usr/bin/python3).

Broker and backend come from INTEROP_BROKER / INTEROP_BACKEND. Task names match the Java test tasks, so either
side can run what the other sends. interop.record writes to the Redis at INTEROP_LEDGER (default: the broker, which
must then be Redis). INTEROP_QUEUE_MAX_PRIORITY, when set, is task_queue_max_priority (RabbitMQ queues);
INTEROP_CONTROL_EXCHANGE and INTEROP_EVENT_EXCHANGE, when set, are control_exchange and event_exchange;
INTEROP_MASTER_NAME, when set, is Sentinel's master name (sentinel:// broker and backend); INTEROP_KEYPREFIX, when
set, is kombu's global_keyprefix for the broker.
"""
import os

import redis
from celery import Celery

BROKER = os.environ.get("INTEROP_BROKER", "redis://127.0.0.1:6379/0")
BACKEND = os.environ.get("INTEROP_BACKEND", "redis://127.0.0.1:6379/1")
LEDGER = os.environ.get("INTEROP_LEDGER", BROKER)

app = Celery("interop_tasks", broker=BROKER, backend=BACKEND)
app.conf.update(task_default_queue="celery", worker_hijack_root_logger=False, task_acks_late=True,
                worker_prefetch_multiplier=1, broker_connection_retry_on_startup=True)
if os.environ.get("INTEROP_MASTER_NAME"):
    # Celery's Sentinel settings: sentinel:// URLs, the master's name in the transport options.
    app.conf.broker_transport_options = {"master_name": os.environ["INTEROP_MASTER_NAME"]}
    app.conf.result_backend_transport_options = {"master_name": os.environ["INTEROP_MASTER_NAME"]}
if os.environ.get("INTEROP_KEYPREFIX"):
    # kombu's prefix for every broker key and channel (Celery 5.2's result backend does not use it).
    app.conf.broker_transport_options = dict(app.conf.broker_transport_options or {},
                                             global_keyprefix=os.environ["INTEROP_KEYPREFIX"])
if os.environ.get("INTEROP_QUEUE_MAX_PRIORITY"):
    app.conf.task_queue_max_priority = int(os.environ["INTEROP_QUEUE_MAX_PRIORITY"])
if os.environ.get("INTEROP_CONTROL_EXCHANGE"):
    app.conf.control_exchange = os.environ["INTEROP_CONTROL_EXCHANGE"]
if os.environ.get("INTEROP_EVENT_EXCHANGE"):
    app.conf.event_exchange = os.environ["INTEROP_EVENT_EXCHANGE"]

_ledger = None


def ledger():
    global _ledger
    if _ledger is None:
        _ledger = redis.Redis.from_url(LEDGER)
    return _ledger


@app.task(name="interop.py_mul")
def py_mul(x, y):
    return x * y


@app.task(name="interop.py_fail")
def py_fail(msg):
    raise KeyError(msg)


@app.task(name="interop.record")
def record(i):
    # Every run leaves a line, so the test can count executions per task.
    ledger().rpush("interop:ran", "py:%s" % i)
    return "py"
