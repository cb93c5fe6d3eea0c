#!/usr/bin/env python3
"""What the daemon costs while it follows a live file written at a steady
rate, with the mirror, forwarding over RELP to a real rsyslogd on
loopback, both, or neither: lethe's CPU (user + system, /proc) as a share
of one core, per 100,000 lines/s, over a steady stretch, and the lines
the receiver got.

    LETHE=$PWD/build/lethe python3 tests/bench/daemon_stream.py [--lps N]
        [--secs S] [--only ROW]...

The writer appends combined lines in batches every 10 ms from its own
process; only python3's standard library, rsyslog and rsyslog-relp.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))

import rsysloglib                                       # noqa: E402

WRITER = r'''
import os, sys, time
path, lps, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
t0 = time.monotonic(); n = 0
tpl = ('203.0.%d.%d - - [01/Jun/2026:10:00:00 +0000] "GET /item/%d HTTP/1.1" '
       '200 512 "https://example.net/" "Mozilla/5.0 (X11; Linux x86_64) '
       'Firefox/120.0"\n')
while True:
    el = time.monotonic() - t0
    if el >= secs:
        break
    want = int(el * lps)
    if want > n:
        os.write(fd, "".join(tpl % (i // 250 % 256, i % 250 + 1, i)
                             for i in range(n, want)).encode())
        n = want
    time.sleep(0.01)
print(n)
'''


def cpu_of(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(lethe, root, rs, lps, secs, mirror, forward):
    logs = os.path.join(root, "logs")
    state = os.path.join(root, "state")
    for d in (logs, state):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    live = os.path.join(logs, "access.log")
    open(live, "w").close()
    conf = os.path.join(root, "lethe.conf")
    with open(conf, "w") as f:
        f.write("[global]\nstate_dir = %s\n\n[web]\nlogs = %s\n"
                "format = combined\nrotate = off\n" % (state, live))
        if mirror:
            f.write("mirror = %s/masked/%%n\n" % root)
        if forward:
            f.write("forward = %s\n" % rs.urls()[forward])
    shutil.rmtree(os.path.join(root, "masked"), ignore_errors=True)
    before = rs.count()
    d = subprocess.Popen([lethe, "-c", conf, "run"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    w = subprocess.Popen([sys.executable, "-c", WRITER, live, str(lps),
                          str(secs)], stdout=subprocess.PIPE)
    time.sleep(1.0)                     # past the start
    c0, t0 = cpu_of(d.pid), time.monotonic()
    time.sleep(secs - 2.0)
    c1, t1 = cpu_of(d.pid), time.monotonic()
    n = int(w.communicate(timeout=60)[0].decode().strip())
    if forward:
        try:
            rs.wait_count(before + n, 60)
        except Exception:
            pass
    got = rs.count() - before
    d.send_signal(signal.SIGTERM)
    d.wait(30)
    share = (c1 - c0) / (t1 - t0)
    return share, n, got


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lps", type=int, default=100000)
    ap.add_argument("--secs", type=float, default=8.0)
    ap.add_argument("--only", action="append", default=[],
                    help="run only the row of this name (repeatable)")
    a = ap.parse_args()
    lethe = os.environ.get("LETHE", "")
    why = rsysloglib.available()
    if why:
        print("bench: daemon stream rows skipped: " + why)
        return
    root = tempfile.mkdtemp(prefix="lethe-bench-stream-")
    rs = rsysloglib.Rsyslog(root).start()
    try:
        print("bench: daemon following a live file at %d lines/s for %.0f s "
              "(CPU over the steady %.0f s)" % (a.lps, a.secs, a.secs - 2))
        print("%-34s %10s %14s %10s" % ("daemon", "CPU share",
                                         "per 100k l/s", "received"))
        for name, mirror, forward in (("follow only", 0, None),
                                      ("mirror", 1, None),
                                      ("forward relp", 0, "relp"),
                                      ("forward tcp", 0, "tcp"),
                                      ("forward unix", 0, "unix"),
                                      ("mirror + forward relp", 1, "relp"),
                                      ("mirror + forward tcp", 1, "tcp")):
            if a.only and name not in a.only:
                continue
            share, n, got = run(lethe, root, rs, a.lps, a.secs, mirror,
                                forward)
            print("%-34s %9.1f%% %13.1f%% %10s" % (
                name, share * 100, share * 100 * 100000.0 / a.lps,
                "%d/%d" % (got, n) if forward else "-"))
    finally:
        rs.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
