"""Reads the per-run lines of run.sh (Throughput.java and celery_bench.py) and prints the table and the SUMMARY line.

usage: /usr/bin/python3 benchmarks/summary.py <results.txt>
Each figure is the median over the runs of one side/pool/config, with [min-max] after it.
"""
import re
import statistics
import sys

FIGURES = [("drain", "drain/s"), ("enqueue", "enqueue/s"), ("enqueue8", "enqueue8/s"), ("lat_rate", "lat_rate/s"),
           ("p50", "p50 us"), ("p99", "p99 us")]


def num(v):
    return float(re.match(r"[-0-9.eEna]+", v).group(0))


def fmt(v):
    return "%.0f" % v if abs(v) >= 10 else "%.2g" % v


def pace_cell(rs):
    """ok, or e.g. "batched 12-32%" / "late 0.3-10%, ok x1": how the latency producer kept its pace in each run."""
    kinds = {}
    for r in rs:
        m = re.match(r"(\w+)\(([0-9.]+)%\)", r.get("pace", "?"))
        if m:
            kinds.setdefault(m.group(1), []).append(float(m.group(2)))
        else:
            kinds.setdefault(r.get("pace", "?"), [])
    out = []
    for kind, vals in kinds.items():
        if not vals:
            out.append(kind if len(kinds) == 1 else "%s x%d" % (kind, sum(r.get("pace") == kind for r in rs)))
        else:
            lo, hi = min(vals), max(vals)
            out.append("%s %s%%" % (kind, ("%g" % lo) if lo == hi else "%g-%g" % (lo, hi)))
    return ", ".join(out)


def main():
    rows = []
    for line in open(sys.argv[1]):
        if "drain=" not in line and "enqueue8=" not in line:
            continue
        r = dict(re.findall(r"(\w+)=(\S+)", line))
        r["who"] = line.split()[0]
        r.setdefault("pool", "-")
        r.setdefault("broker", "redis")
        rows.append(r)
    groups = {}
    for r in rows:
        groups.setdefault((r["who"], r["pool"], r["config"], r["broker"]), []).append(r)

    def stats(rs, key):
        vals = [num(r[key]) for r in rs if key in r]
        if not vals:
            return None
        return statistics.median(vals), min(vals), max(vals)

    def cell(s):
        return "-" if s is None else "%s [%s-%s]" % tuple(fmt(v) for v in s)

    header = ["broker", "side", "pool", "config", "runs", "tasks"] + [label for _, label in FIGURES] + ["pace"]
    table = [header]
    for (who, pool, cfg, broker), rs in groups.items():
        tasks = sorted(int(r["tasks"]) for r in rs)
        tasks_cell = str(tasks[0]) if tasks[0] == tasks[-1] else "%d-%d" % (tasks[0], tasks[-1])
        if any("stopped" in r for r in rs):
            tasks_cell += " (time-limited)"
        table.append([broker, who, pool, cfg, str(len(rs)), tasks_cell] + [cell(stats(rs, k)) for k, _ in FIGURES]
                     + [pace_cell(rs)])
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    print()
    print("Median [min-max] over the runs; drain/enqueue in tasks/s; latency publish-to-start at lat_rate (50 % of "
          "that run's drain unless PACE says otherwise)")
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    print()

    def med(who, pool, cfg, key, broker="redis"):
        s = stats(groups.get((who, pool, cfg, broker), []), key)
        return None if s is None else s[0]

    parts = []
    celery_pools = sorted({p for (w, p, _, _) in groups if w == "celery"})
    for cfg in ("prod", "default"):
        ours = med("celeriac", "-", cfg, "drain")
        theirs = [(med("celery", p, cfg, "drain"), p) for p in celery_pools if med("celery", p, cfg, "drain")]
        if ours is None:
            continue
        text = "%s: celeriac drain %.0f/s" % (cfg, ours)
        if theirs:
            best, pool = max(theirs)
            text += " vs celery %s %.0f/s = %.1fx" % (pool, best, ours / best)
        text += ", p50/p99 %.0f/%.0fus at %.0f/s" % (med("celeriac", "-", cfg, "p50"), med("celeriac", "-", cfg, "p99"),
                                                    med("celeriac", "-", cfg, "lat_rate"))
        if theirs:
            text += " vs celery %s %.0f/%.0fus at %.0f/s" % (pool, med("celery", pool, cfg, "p50"),
                                                            med("celery", pool, cfg, "p99"),
                                                            med("celery", pool, cfg, "lat_rate"))
        parts.append(text)
    events = []
    for cfg in ("prod", "default"):
        on, off = med("celeriac", "-", cfg + "-events", "drain"), med("celeriac", "-", cfg, "drain")
        if on and off:
            events.append("%s %.2f (%.0f/s vs %.0f/s)" % (cfg, on / off, on, off))
    if events:
        parts.append("events on/off drain: " + ", ".join(events))
    enq = [(med("celeriac", "-", c, "enqueue"), med("celeriac", "-", c, "enqueue8"))
           for c in ("prod", "default", "prod-events", "default-events") if ("celeriac", "-", c, "redis") in groups]
    if enq:
        batched = statistics.median([e for e, _ in enq])
        eight = [e8 for _, e8 in enq if e8]
        if med("celeriac", "-", "enqueue8", "enqueue8"):
            # measured in a JVM of its own (run.sh)
            eight = [med("celeriac", "-", "enqueue8", "enqueue8")]
        text = "enqueue (median over configurations): celeriac sendAll batches %.0f/s" % batched
        if eight:
            text += ", 8 threads delay() %.0f/s" % statistics.median(eight)
        theirs = [(med("celery", p, "default", "enqueue"), p) for p in celery_pools
                  if med("celery", p, "default", "enqueue")]
        if theirs:
            best, pool = max(theirs)
            text += ", celery apply_async loop %.0f/s (best, %s run) = %.1fx / %.1fx" % (
                best, pool, batched / best, (statistics.median(eight) / best) if eight else float("nan"))
        parts.append(text)
    for broker in sorted({b for (_, _, _, b) in groups if b != "redis"}):
        rabbit = []
        for cfg in ("prod", "default"):
            ours = med("celeriac", "-", cfg, "drain", broker)
            theirs = [(med("celery", p, cfg, "drain", broker), p) for p in celery_pools
                      if med("celery", p, cfg, "drain", broker)]
            if ours is None:
                continue
            text = "%s celeriac drain %.0f/s" % (cfg, ours)
            if theirs:
                best, pool = max(theirs)
                text += " vs celery %s %.0f/s = %.1fx" % (pool, best, ours / best)
            rabbit.append(text)
        ours_enq = [med("celeriac", "-", c, "enqueue", broker) for c in ("prod", "default")]
        ours_enq = [e for e in ours_enq if e]
        theirs_enq = [(med("celery", p, "default", "enqueue", broker), p) for p in celery_pools
                      if med("celery", p, "default", "enqueue", broker)]
        if ours_enq:
            text = "enqueue celeriac %.0f/s" % statistics.median(ours_enq)
            if theirs_enq:
                best, pool = max(theirs_enq)
                text += " vs celery %.0f/s = %.1fx" % (best, statistics.median(ours_enq) / best)
            rabbit.append(text)
        if rabbit:
            parts.append("on %s: %s" % (broker, ", ".join(rabbit)))
    limited = {}
    for r in rows:
        if "stopped" in r:
            limited.setdefault((r["pool"] + ("" if r["broker"] == "redis" else " on " + r["broker"]), r["stopped"]),
                               []).append(int(r["tasks"]))
    if limited:
        parts.append("time-limited drains (rate = tasks done / time): " + ", ".join(
            "celery %s %s, %d run(s), %s tasks done" % (
                pool, re.sub(r"time\((\d+s),of=(\d+)\)", r"at \1 of \2 tasks", stop), len(done),
                str(min(done)) if min(done) == max(done) else "%d-%d" % (min(done), max(done)))
            for (pool, stop), done in limited.items()))
    print("SUMMARY " + "; ".join(parts))


if __name__ == "__main__":
    main()
