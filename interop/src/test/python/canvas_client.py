"""Python Celery client for the canvas interop tests. Each command prints one JSON object with what it saw.

Every signature names its queue: "java" is served by the Java worker only, "py" by the Python worker only,
"shared" by both.

  chain-on <queue>                       chain(add(1, 2), add(3), add(4)): every step's result, last first
  chords-on <queue>                      chord(add(i, i) for i < 5, tsum) and a chord whose parts finish in
                                         reverse order, with collect as body
  links-on <queue> <run>                 add(2, 3) and boom(...) with link= and link_error= callbacks on py and java
  mixed-chord <run> <n> <last> <body>    n acc.part on "shared" plus an acc.gate on queue <last> (so that side
                                         counts the last part), body acc.body on queue <body>
  alternating-chain                      py_append | java_append | py_append | java_append | py_append
  failures <run>                         a chord with a failing part and a chain with a failing step, on java and py
  read <id>...                           state and stored document of results others produced
"""
import json
import sys

from celery import chain, chord

from canvas_tasks import add, app, body, boom, collect, echo, errback, gate, part, py_append, record, tsum

TIMEOUT = 60


def on(sig, queue):
    return sig.set(queue=queue)


def stored(task_id):
    """The result document exactly as stored, plus Celery's reading of it."""
    raw = app.backend.client.get(app.backend.get_key_for_task(task_id))
    r = app.AsyncResult(task_id)
    out = {"id": task_id, "state": r.state, "raw": json.loads(raw) if raw else None}
    if r.state == "FAILURE":
        exc = r.result
        out.update(exc_class=type(exc).__name__, exc_class_module=type(exc).__module__, exc_str=str(exc))
    else:
        out["result"] = r.result
    return out


def chain_on(queue):
    last = chain(on(add.s(1, 2), queue), on(add.s(3), queue), on(add.s(4), queue)).apply_async()
    final = last.get(timeout=TIMEOUT)
    steps, r = [], last
    while r is not None:
        steps.append({"id": r.id, "result": r.get(timeout=TIMEOUT), "parent_id": stored(r.id)["raw"].get("parent_id")})
        r = r.parent
    print(json.dumps({"final": final, "steps": steps}))


def chords_on(queue):
    total = chord([on(add.s(i, i), queue) for i in range(5)], on(tsum.s(), queue)).apply_async()
    # Part i sleeps (4 - i) * 0.15 s: the last part finishes first, yet the body must see header order.
    ordered = chord([on(echo.s(i, (4 - i) * 0.15), queue) for i in range(5)], on(collect.s(), queue)).apply_async()
    print(json.dumps({
        "total": total.get(timeout=TIMEOUT), "total_id": total.id, "group_id": total.parent.id,
        "parts": [p.get(timeout=TIMEOUT) for p in total.parent.results],
        "ordered": ordered.get(timeout=TIMEOUT),
    }))


def links_on(queue, run):
    ok = add.apply_async((2, 3), queue=queue,
                         link=[on(record.s("ok-py-" + run), "py"), on(record.s("ok-java-" + run), "java")],
                         link_error=[on(errback.s(), "py"), on(errback.s(), "java")])
    bad = boom.apply_async(("linked",), queue=queue, link=on(record.s("never-" + run), "py"),
                           link_error=[on(errback.s(), "py"), on(errback.s(), "java")])
    ok_value = ok.get(timeout=TIMEOUT)
    bad.get(timeout=TIMEOUT, propagate=False)
    print(json.dumps({"ok": ok_value, "ok_id": ok.id, "bad_id": bad.id, "bad_state": bad.state}))


def mixed_chord(run, n, last_queue, body_queue):
    header = [on(part.s(run, i), "shared") for i in range(n)] + [on(gate.s(run, n), last_queue)]
    r = chord(header, on(body.s(run), body_queue)).apply_async()
    print(json.dumps({"result": r.get(timeout=TIMEOUT), "body_id": r.id, "group_id": r.parent.id}))


def alternating_chain():
    java = lambda *args: app.signature("acc.java_append", args=args, queue="java")  # noqa: E731
    last = chain(on(py_append.s([], "a"), "py"), java("b"), on(py_append.s("c"), "py"), java("d"),
                 on(py_append.s("e"), "py")).apply_async()
    final = last.get(timeout=TIMEOUT)
    steps, r = [], last
    while r is not None:
        steps.append(r.get(timeout=TIMEOUT))
        r = r.parent
    print(json.dumps({"final": final, "steps": steps}))


def failures(run):
    out = {}
    for queue in ("java", "py"):
        header = [on(add.s(1, 1), queue), on(boom.s("part failed"), queue), on(add.s(2, 2), queue)]
        r = chord(header, on(body.s(run + "-" + queue), queue)).apply_async()
        r.get(timeout=TIMEOUT, propagate=False)
        failed_part = r.parent.results[1].id
        out["chord_" + queue] = {"body": stored(r.id), "failed_part": failed_part,
                                 "parts": [stored(p.id) for p in r.parent.results]}

        last = chain(on(add.s(1, 2), queue), on(boom.s(), queue), on(add.s(1), queue),
                     on(add.s(2), queue)).apply_async()
        last.get(timeout=TIMEOUT, propagate=False)
        steps, s = [], last
        while s is not None:
            steps.insert(0, s.id)
            s = s.parent
        # The steps after the failure are marked by the worker right after the failing step; wait for them too.
        for task_id in steps:
            app.AsyncResult(task_id).get(timeout=TIMEOUT, propagate=False)
        out["chain_" + queue] = [stored(task_id) for task_id in steps]
    print(json.dumps(out))


def read(ids):
    print(json.dumps({task_id: stored(task_id) for task_id in ids}))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "chain-on":
        chain_on(args[0])
    elif cmd == "chords-on":
        chords_on(args[0])
    elif cmd == "links-on":
        links_on(args[0], args[1])
    elif cmd == "mixed-chord":
        mixed_chord(args[0], int(args[1]), args[2], args[3])
    elif cmd == "alternating-chain":
        alternating_chain()
    elif cmd == "failures":
        failures(args[0])
    elif cmd == "read":
        read(args)
    else:
        raise SystemExit("unknown command " + cmd)
