#!/usr/bin/env python3
# usage: benchmarks/cpu_profile.py <redis port> <benchmark jar> [java opts...]
# Runs the drain benchmark once (100k tasks, configurations from $CONFIGS, default "prod default") against the redis-server on 127.0.0.1:<port> and prints,
# per configuration: the drain line, the JVM's CPU time by thread (sampled from /proc every 50 ms, so threads that
# exit are still counted), Redis's CPU time (INFO cpu) and the INFO commandstats deltas per task.
import subprocess, sys, time, os, re, collections
port = sys.argv[1]
jar = sys.argv[2]; opts = sys.argv[3:]
def r(*a): return subprocess.run(['redis-cli', '-p', port, *a], capture_output=True, text=True).stdout
def rcpu():
    s = 0.0
    for l in r('info', 'cpu').splitlines():
        if l.startswith('used_cpu_user:') or l.startswith('used_cpu_sys:'): s += float(l.split(':')[1])
    return s
def cstats():
    out = {}
    for l in r('info', 'commandstats').splitlines():
        m = re.match(r'cmdstat_([^:]+):calls=(\d+),usec=(\d+)', l)
        if m: out[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return out
def sample(pid, seen):
    try: tids = os.listdir(f'/proc/{pid}/task')
    except FileNotFoundError: return False
    for t in tids:
        try:
            comm = open(f'/proc/{pid}/task/{t}/comm').read().strip()
            st = open(f'/proc/{pid}/task/{t}/stat').read().rsplit(')', 1)[1].split()
        except OSError: continue
        seen[t] = (comm, int(st[11]) + int(st[12]))
    return True
def norm(c):
    c = re.sub(r'-\d+-\d+$', '-N', c); c = re.sub(r'-\d+$', '-N', c); c = re.sub(r'#\d+$', '#N', c)
    return c
r('config', 'resetstat')
configs = os.environ.get('CONFIGS', 'prod default').split()
p = subprocess.Popen(['java', *opts, '-jar', jar, f'redis://127.0.0.1:{port}', '100000', '20', '8', '50', *configs],
                     stdout=subprocess.PIPE, stderr=open('/dev/null', 'w'), text=True)
os.set_blocking(p.stdout.fileno(), False)
seen = {}; marks = [(dict(), rcpu(), cstats())]; lines = []
buf = ''
while True:
    sample(p.pid, seen)
    try: chunk = p.stdout.read()
    except TypeError: chunk = None
    if chunk: buf += chunk
    while '\n' in buf:
        l, buf = buf.split('\n', 1)
        if 'config=' in l:
            lines.append(l); marks.append((dict(seen), rcpu(), cstats()))
    if p.poll() is not None: break
    time.sleep(0.05)
def phase(i, name):
    (s0, c0, k0), (s1, c1, k1) = marks[i], marks[i + 1]
    by = collections.Counter(); tot = 0
    for t, (comm, ticks) in s1.items():
        d = ticks - s0.get(t, (comm, 0))[1]
        by[norm(comm)] += d; tot += d
    print(f"== {lines[i]}")
    print(f"   jvm cpu {tot/100:.2f} s, redis cpu {c1-c0:.2f} s")
    print("   " + ", ".join(f"{k} {v/100:.2f}" for k, v in by.most_common() if v >= 10))
    rows = []
    for k, (c, u) in k1.items():
        c -= k0.get(k, (0, 0))[0]; u -= k0.get(k, (0, 0))[1]
        if c > 50: rows.append((c, k, u))
    rows.sort(reverse=True)
    print("   redis cmds/task: " + ", ".join(f"{k} {c/100000:.3f} ({u/1e6:.2f}s)" for c, k, u in rows) +
          f"; total {sum(c for c,_,_ in rows)/100000:.2f}")
for i in range(len(lines)): phase(i, None)
