#!/usr/bin/env python3
"""A synthetic web server for the e2e tests: it appends numbered access
log lines (nginx log_format main) to a file, in batches, with os.write on
an O_APPEND descriptor, like nginx does, and reopens the path on SIGUSR1
(at once, or --reopen-delay seconds after the signal, like a server whose
workers finish their requests on the old file first).

    writer.py --path LOG --pidfile PID [--rate LINES_PER_S] [--batch N]
              [--duration S] [--reopen-delay S] [--now EPOCH --clock-rate R]
              [--stats FILE] [--linger]

Line N (counting from 0) is

    ADDR - - [TIME] "GET /seq/N HTTP/1.1" 200 2 "-" "lethe-writer" "ADDR"

where ADDR is an IPv4 address for even N and an IPv6 address for odd N,
and TIME follows the real clock, or --now advancing --clock-rate times
faster (to match lethe's test clock).  Every batch is one write() of whole
lines, so a line is never split between two files.  It stops writing after
--duration seconds or on SIGTERM/SIGINT, and prints (and writes to
--stats) one JSON object: lines, batches, reopens, elapsed, rate.  With
--linger it then stays (idle, still reopening on SIGUSR1, like a server
without traffic) until SIGTERM, so that a last rotation finds its
writer.
"""

import argparse
import json
import os
import signal
import sys
import time

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
          "Oct", "Nov", "Dec")

stop = False
reopen_requests = []    # monotonic times of the SIGUSR1s not yet acted on


def on_term(signum, frame):
    global stop
    stop = True


def on_usr1(signum, frame):
    reopen_requests.append(time.monotonic())


def addr_of(n):
    """The client address of line n: unique per line, host bits nonzero
    (so that a masked address never looks like the original)."""
    if n % 2 == 0:
        k = n // 2
        return "%d.%d.%d.%d" % (11 + (k >> 24) % 200, 1 + (k >> 16) % 250,
                                1 + (k >> 8) % 250, 1 + k % 250)
    k = n // 2
    return "2001:db8:%x:%x::%x" % ((k >> 16) & 0xffff, k & 0xffff, 1 + k % 7)


def time_local(t):
    tm = time.gmtime(t)
    return "%02d/%s/%04d:%02d:%02d:%02d +0000" % (
        tm.tm_mday, MONTHS[tm.tm_mon - 1], tm.tm_year, tm.tm_hour,
        tm.tm_min, tm.tm_sec)


def open_log(path):
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT |
                   os.O_CLOEXEC, 0o644)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--path", required=True)
    ap.add_argument("--pidfile", required=True)
    ap.add_argument("--rate", type=float, default=60000.0,
                    help="target lines per second (0: as fast as it can)")
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--duration", type=float, default=0.0,
                    help="seconds to run (0: until SIGTERM)")
    ap.add_argument("--reopen-delay", type=float, default=0.0)
    ap.add_argument("--now", type=float, default=None,
                    help="the clock of the time stamps starts here")
    ap.add_argument("--clock-rate", type=float, default=1.0)
    ap.add_argument("--stats", default=None)
    ap.add_argument("--linger", action="store_true")
    a = ap.parse_args()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGUSR1, on_usr1)

    fd = open_log(a.path)
    tmp = a.pidfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(tmp, a.pidfile)

    mono0 = time.monotonic()
    wall0 = a.now if a.now is not None else time.time()
    rate_clock = a.clock_rate if a.now is not None else 1.0
    n = 0
    batches = 0
    reopens = 0
    pending = None          # monotonic deadline of a delayed reopen
    tl_sec = None
    tl = ""

    def reopen():
        nonlocal fd, reopens
        del reopen_requests[:]
        nfd = open_log(a.path)
        os.close(fd)
        fd = nfd
        reopens += 1

    while not stop:
        now_m = time.monotonic()
        el = now_m - mono0
        if a.duration and el >= a.duration:
            break
        # Reopen: at once, or --reopen-delay after the (first pending)
        # signal; signals that arrive while a reopen is pending are
        # covered by it.
        if reopen_requests and pending is None:
            pending = reopen_requests[0] + a.reopen_delay
        if pending is not None and now_m >= pending:
            reopen()
            pending = None
        t = int(wall0 + el * rate_clock)
        if t != tl_sec:
            tl_sec = t
            tl = time_local(t)
        lines = []
        for i in range(n, n + a.batch):
            ad = addr_of(i)
            lines.append('%s - - [%s] "GET /seq/%d HTTP/1.1" 200 2 "-" '
                         '"lethe-writer" "%s"\n' % (ad, tl, i, ad))
        write_all(fd, "".join(lines).encode())
        n += a.batch
        batches += 1
        if a.rate > 0:
            ahead = n / a.rate - (time.monotonic() - mono0)
            if ahead > 0:
                time.sleep(ahead)
    el = time.monotonic() - mono0
    st = {"lines": n, "batches": batches, "reopens": reopens,
          "elapsed": round(el, 3), "rate": round(n / el if el else 0.0)}
    out = json.dumps(st)
    if a.stats:
        with open(a.stats + ".tmp", "w") as f:
            f.write(out + "\n")
        os.rename(a.stats + ".tmp", a.stats)
    print(out)
    sys.stdout.flush()
    while a.linger and not stop:
        now_m = time.monotonic()
        if reopen_requests and pending is None:
            pending = reopen_requests[0] + a.reopen_delay
        if pending is not None and now_m >= pending:
            reopen()
            pending = None
        time.sleep(0.02)
    os.close(fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
