#!/usr/bin/env python3
"""Descriptors and memory of `lethe run` over 1,000 rotations.

The daemon runs with a fast test clock (LETHE_TEST_CLOCK_RATE=600: ten
daemon minutes a real second) and rotate = 1m, so it rotates about ten
times a second, while a writer appends numbered lines and reopens the live
file on USR1.  window 1h, retain 2h, compress_after 1m, mask_early 10m:
every segment is compressed, masked and deleted in turn, so the directory
stays bounded (about 120 segments).

The number of open descriptors (/proc/PID/fd) and VmRSS are sampled after
10 rotations (counted from the daemon's "rotated" lines), after 200 (the
retention steady state) and after 1,000 (400 in the sanitizer pass).
Descriptors are the minimum over a few samples (a rewrite holds its temp
file open for a moment): after 1,000 rotations they must equal the figure
after 10; VmRSS may grow by at most RSS_SLACK_KIB (1 MiB; 16 MiB under
AddressSanitizer, run there with no quarantine, which would keep freed
memory).  At the end: no line duplicated, no line lost but those in
segments deleted by retention, no temp file left.  Prints the figures.
"""

import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as D  # noqa: E402
import passlib as P  # noqa: E402

D.need_lethe()
ck = D.Checks("88-fds")
RATE = 600
START = "2026-06-01T10:00:00Z"
LPS = 100
ROTATIONS = P.count(1000, 400, "rotations", env="FDS_ROTATIONS")
ROT_RE = r'^rotated "'


def is_asan(path):
    try:
        out = subprocess.run(["nm", "-D", path], capture_output=True,
                             timeout=30).stdout
        if b"__asan_init" in out:
            return True
    except (OSError, subprocess.TimeoutExpired):
        pass
    with open(path, "rb") as f:
        return b"AddressSanitizer" in f.read()


ASAN = is_asan(D.LETHE)
RSS_SLACK_KIB = 16384 if ASAN else 1024
# ASan's quarantine keeps freed memory (256 MB by default): without it,
# VmRSS follows what the daemon holds; LeakSanitizer still runs at exit.
ENV = {"ASAN_OPTIONS": "quarantine_size_mb=0:thread_local_quarantine_size_kb"
       "=0:" + os.environ.get("ASAN_OPTIONS", "")} if ASAN else None


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def sample(pid, n=15, gap=0.03):
    """(min fds, max fds, fd targets at the min, VmRSS KiB at the end)."""
    best = None
    hi = 0
    targets = []
    for _ in range(n):
        k = fds(pid)
        hi = max(hi, k)
        if best is None or k < best:
            best = k
            targets = []
            for fd in os.listdir("/proc/%d/fd" % pid):
                try:
                    targets.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
                except OSError:
                    pass
        time.sleep(gap)
    return best, hi, sorted(targets), rss_kib(pid)


def main():
    root, logs, state = D.mkroot("88")
    conf = os.path.join(root, "lethe.conf")
    live = os.path.join(logs, "access.log")
    pidfile = os.path.join(root, "writer.pid")
    D.write_conf(conf, D.conf_text(state, [("web", {
        "logs": live, "format": "combined", "window": "1h",
        "rotate": "1m", "reopen": "signal USR1 %s" % pidfile,
        "settle": "5s", "compress_after": "1m", "mask_early": "10m",
        "retain": "2h"})], sweep="10s"))
    clock = D.Clock(D.iso_to_epoch(START), RATE)
    writer = D.Writer(root, live, pidfile, LPS, clock)
    dm = None
    try:
        dm = D.Daemon(conf, now=clock.now_arg(), rate=RATE, env=ENV,
                      logfile=os.path.join(root, "lethe.log"))
        dm.ready(30)
        marks = {}
        for n in (10, 200, ROTATIONS):
            t0 = time.monotonic()
            while dm.count(ROT_RE) < n:
                if not dm.alive():
                    raise D.Fail("lethe exited (%s)" % dm.proc.poll())
                if time.monotonic() - t0 > 240:
                    raise D.Fail("only %d rotations within 240 s (want %d)"
                                 % (dm.count(ROT_RE), n))
                time.sleep(0.05)
            marks[n] = sample(dm.pid) + (len(os.listdir(logs)),
                                         dm.count(ROT_RE))
            ck.info("after %4d rotations (%d counted): %d descriptors "
                    "(max %d in %d samples), VmRSS %d KiB, %d files in "
                    "the log dir" % (n, marks[n][5], marks[n][0],
                                     marks[n][1], 15, marks[n][3],
                                     marks[n][4]))
        f10, f1k = marks[10][0], marks[ROTATIONS][0]
        r10, r1k = marks[10][3], marks[ROTATIONS][3]
        if not ck.check(f1k <= f10, "descriptors grew from %d after 10 "
                        "rotations to %d after %d" % (f10, f1k, ROTATIONS)):
            ck.info("after 10: %s" % marks[10][2])
            ck.info("after %d: %s" % (ROTATIONS, marks[ROTATIONS][2]))
        ck.check(r1k - r10 <= RSS_SLACK_KIB, "VmRSS grew from %d KiB after "
                 "10 rotations to %d KiB after %d (more than %d KiB)" % (
                     r10, r1k, ROTATIONS, RSS_SLACK_KIB))
        ck.check(marks[ROTATIONS][4] <= 200, "%d files in the log dir after "
                 "%d rotations (retain 2h: about 120 expected)" % (
                     marks[ROTATIONS][4], ROTATIONS))
        end_fake = clock.now()
        # lethe first: a rotation after the writer's end would signal a
        # pid that is gone (the hook fails, rightly).
        code, took = dm.stop()
        n = writer.stop()
        writer = None
        ck.check(code == 0, "lethe exited %s on TERM" % code)
        for s in dm.texts():
            if re.search(r"failed|error|truncated by someone|refus", s):
                ck.fail("unexpected log line: %s" % s)
        ck.info("%d rotations, %d lines written over %.1f daemon hours, "
                "%d segments deleted" % (
                    dm.count(ROT_RE), n, (end_fake - clock.base) / 3600,
                    dm.count(r'^deleted "')))
        seen, odd = D.count_seqs(logs)
        lost, dup, extra = D.seq_report(seen, n)
        ck.check(not dup, "duplicated %d lines: %s" % (len(dup),
                                                        D.ranges(dup)))
        ck.check(not extra, "lines never written: %s" % D.ranges(extra))
        ck.check(not odd, "odd lines: %s" % odd[:3])
        # Retention may delete old lines; a younger line must be there.
        # Lines are about LPS a real second; keep every line of the last
        # retain (2 h = 12 real s) minus one rotation and settle.
        young = max(0, n - int((2 * 3600 - 120) / RATE * LPS))
        young_lost = [i for i in lost if i >= young]
        ck.check(not young_lost, "lost %d lines younger than retain: %s" % (
            len(young_lost), D.ranges(young_lost)))
        lost_old = [i for i in lost if i < young]
        ck.check(not lost_old or lost_old == list(range(len(lost_old))),
                 "lines lost in the middle: %s" % D.ranges(lost_old))
        ck.check(not D.temp_files(logs), "temp files left: %s" %
                 D.temp_files(logs))
    except D.Fail as e:
        ck.fail(str(e))
    finally:
        if writer is not None:
            writer.kill()
        if dm is not None:
            dm.kill()
    rc = ck.finish()
    if rc == 0 and not os.environ.get("E2E_KEEP"):
        subprocess.run(["rm", "-rf", root])
    else:
        print("kept " + root)
    return rc


if __name__ == "__main__":
    sys.exit(main())
