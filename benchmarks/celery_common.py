"""What the Celery benchmark scripts share: the app's settings for a configuration, and the worker process.

prod = acks-late + prefetch multiplier 1; default = Celery's defaults (acks early, prefetch multiplier 4). Broker in
Redis db 0 (or $BENCH_BROKER), results in db 1. The worker imports the script's own module (-A), which reads BENCH_REDIS and
BENCH_CONFIG from its environment, so it is configured as the script that started it.
"""
import os
import subprocess

from celery import Celery


def make_app(name):
    """The script's app, configured from BENCH_REDIS / BENCH_CONFIG (what the worker process is given)."""
    app = Celery(name)
    app.conf.update(task_default_queue="bench", worker_hijack_root_logger=False)
    configure(app, os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379"), os.environ.get("BENCH_CONFIG", "default"))
    return app


def configure(app, base, config):
    """Points the app at a Redis and a configuration, and passes both on to worker processes started later."""
    os.environ["BENCH_REDIS"] = base
    os.environ["BENCH_CONFIG"] = config
    # BENCH_BROKER: another broker (RabbitMQ, amqp://...); results stay in the Redis (db 1).
    app.conf.broker_url = os.environ.get("BENCH_BROKER") or base + "/0"
    app.conf.result_backend = base + "/1"
    app.conf.task_acks_late = config == "prod"
    app.conf.worker_prefetch_multiplier = 1 if config == "prod" else 4


def start_worker(module, pool, concurrency, name, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
    """A Celery worker for module's app on queue bench, with its best settings for a benchmark."""
    here = os.path.dirname(os.path.abspath(__file__))
    return subprocess.Popen(
        ["/usr/bin/python3", "-m", "celery", "-A", module, "worker", "-P", pool, "-c", str(concurrency),
         "-Q", "bench", "-l", "warning", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-n", "%s-%s@%%h" % (name, pool)],
        cwd=here, env=dict(os.environ), stdout=stdout, stderr=stderr)


def stop_worker(proc):
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
