#!/usr/bin/env python3
"""What the forwarded stream's transport costs (daemon/sender.c): the
sender-drive next to $LETHE sends N messages to a real rsyslogd on
loopback (tests/e2e/rsysloglib.py: a Direct main queue, every message
written to a file) over relp://, tcp:// and unix:, --runs times each.
Each row is the median run: its seconds, messages/s, and the CPU per
100,000 messages of the sender (user + system) and of rsyslogd.

    LETHE=$PWD/build/lethe python3 tests/bench/forward.py [-n N] [--runs R]

The messages are RFC 5424 with the nginx "main" lines of a fixed seed
(about 260 bytes each); the drive ignores SIGPIPE, as lethe run does.
Only python3's standard library, rsyslog and rsyslog-relp.
"""

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))

import rsysloglib                                       # noqa: E402


def lines(n, seed=1):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        out.append('%d.%d.0.0 - - [01/Dec/2025:12:%02d:%02d +0000] "GET '
                   '/item/%d?q=%x HTTP/1.1" %d %d "https://example.net/" '
                   '"Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0" '
                   '"-"\n' % (rng.randrange(1, 224), rng.randrange(256),
                              i // 60 % 60, i % 60, rng.randrange(10 ** 6),
                              rng.getrandbits(40), rng.choice((200, 304,
                                                               404)),
                              rng.randrange(10 ** 5)))
    return "".join(out).encode()


def one(drive, url, data, rs):
    cpu0 = rs.cpu()
    before = rs.count()
    p = subprocess.run([drive, "-q", "-P", url], input=data,
                       capture_output=True, timeout=600)
    out = p.stdout.decode().strip().splitlines()
    if p.returncode != 0 or not out or not out[-1].startswith("sent "):
        raise SystemExit("forward: %s failed: %s %s" % (
            url, out[-3:], p.stderr.decode()[-300:]))
    n = data.count(b"\n")
    rs.wait_count(before + n, 60)
    cpu1 = rs.cpu()
    f = out[-1].split(", ")
    secs = float(f[3].split()[0])
    cpu = float(f[4].split()[1]) + float(f[5].split()[1])
    return secs, cpu, cpu1 - cpu0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    lethe = os.environ.get("LETHE", "")
    drive = os.path.join(os.path.dirname(lethe), "sender-drive")
    if not os.access(drive, os.X_OK):
        raise SystemExit("forward: %s missing (make %s)" % (drive, drive))
    why = rsysloglib.available()
    if why:
        print("bench: forward rows skipped: " + why)
        return
    data = lines(a.n)
    root = tempfile.mkdtemp(prefix="lethe-bench-fwd-")
    rs = rsysloglib.Rsyslog(root).start()
    try:
        print("bench: forward: %d messages (%d bytes of lines) to rsyslogd "
              "on loopback, %d runs, median" % (a.n, len(data), a.runs))
        print("%-34s %8s %10s %14s %14s" % ("transport", "seconds",
              "msgs/s", "sender CPU/1e5", "rsyslog CPU/1e5"))
        per = 100000.0 / a.n
        for name in ("relp", "tcp", "unix"):
            url = rs.urls()[name]
            runs = sorted(one(drive, url, data, rs) for _ in range(a.runs))
            secs, cpu, rcpu = runs[len(runs) // 2]
            print("%-34s %8.3f %10.0f %14.2f %14.2f" % (
                "sender %s" % url.split(":")[0] + (
                    " (window 128)" if name == "relp" else ""),
                secs, a.n / secs, cpu * per, rcpu * per))
    finally:
        rs.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
