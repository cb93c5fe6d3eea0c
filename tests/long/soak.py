#!/usr/bin/env python3
"""Soak: `lethe run` over 2,000 simulated hours with a steady writer.

One daemon runs with a fast test clock (LETHE_TEST_CLOCK_RATE, default
18000: five daemon hours a real second, so 2,000 hours take about 400 s)
on one nginx set: rotate 1h, window 7d, retain 30d, compress_after 1h,
mask_early 1h, settle 5s, sweep 1m, reopen by USR1 to the writer.  The
writer (tests/e2e/daemonlib.py) appends numbered combined lines, each
stamped with the shared fake clock, at LINES_PER_HOUR per simulated hour,
and reopens the live file on USR1.

Every CHECK_HOURS (100) simulated hours, a checkpoint:
  - an independent audit in python: every file of the log directory is
    read (gzip with the gzip module), every line's time parsed; no line
    may hold a full address when it is older than the window plus a
    tolerance (one sweep + settle + the daemon's start lag + 0.15 real
    seconds of the daemon's latency at the clock rate) as of the
    moment the file was opened; no line may be masked while younger than
    window - mask_early - one rotation (masking "at most one rotation
    early");
  - `lethe audit` as of that moment must exit 0 (run again, up to 3
    times, when it only failed on a file the daemon renamed or deleted
    under it, "cannot stat": a known race of audit, counted and shown);
  - the daemon's descriptors (/proc/PID/fd, the least of a few samples)
    and VmRSS.
At the end the writer and the daemon stop, and every sequence number
0..N-1 must be in exactly one file, except the oldest ones, in files that
retention deleted: the lost ones must be a prefix, and the newest of them
older than the end minus retain.  Descriptors must not grow after the
first checkpoint, and VmRSS must stay within RSS_SLACK_KIB of its value at
the first checkpoint after retention's steady state (the catalog grows
with the number of files until then).  Prints the figures.

  LETHE=/abs/build/lethe python3 tests/long/soak.py
  SOAK_HOURS=2000 SOAK_RATE=36000 SOAK_KEEP=1: change the length, the
  clock rate, keep the temp dir.
"""

import calendar
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import daemonlib as D  # noqa: E402

HOUR = 3600
DAY = 86400
HOURS = int(os.environ.get("SOAK_HOURS", "2000"))
RATE = float(os.environ.get("SOAK_RATE", "18000"))
CHECK_HOURS = 100
LINES_PER_HOUR = 100
START = "2026-01-01T00:00:00Z"
WINDOW = 7 * DAY
RETAIN = 30 * DAY
ROTATE = HOUR
MASK_EARLY = HOUR
SWEEP = 60
SETTLE = 5
RSS_SLACK_KIB = 1024
# The fast clock multiplies the daemon's real latency (fsync of each
# rewrite and of its directory; the one worker does rotate, compress, mask
# and delete of an hour one after the other): LATENCY_REAL real seconds
# are allowed on top of the sweep, as daemon time (45 min at rate 18000).
LATENCY_REAL = float(os.environ.get("SOAK_LATENCY", "0.15"))

CLF_RE = re.compile(rb"\[(\d{2})/(\w{3})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) "
                    rb"\+0000\]")
MON = {m.encode(): i + 1 for i, m in enumerate(D.MONTHS)}
ADDR_RE = re.compile(rb"^(\d+)\.(\d+)\.(\d+)\.(\d+) ")
SEQ_RE = re.compile(rb"GET /seq/(\d+) ")


def line_time(line):
    m = CLF_RE.search(line)
    if not m:
        return None
    d, mo, y, hh, mi, ss = m.groups()
    return calendar.timegm((int(y), MON[mo], int(d), int(hh), int(mi),
                            int(ss)))


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def sample(pid, n=8, gap=0.01):
    lo = None
    for _ in range(n):
        k = fds(pid)
        lo = k if lo is None else min(lo, k)
        time.sleep(gap)
    return lo, rss_kib(pid)


class Audit:
    """The independent audit of one checkpoint."""

    def __init__(self):
        self.files = 0
        self.lines = 0
        self.late = []          # (file, line time, age past window)
        self.early = []         # (file, line time, age)
        self.oldest_full_age = None     # the oldest full address's age
        self.youngest_masked_age = None
        self.unparsed = 0


def audit(clock, logs, tol, at=None):
    """at: audit as of that fixed time (the daemon stopped), not now."""
    a = Audit()
    for name in sorted(os.listdir(logs)):
        if name.startswith(".") or ".lethe-" in name:
            continue
        p = os.path.join(logs, name)
        t_open = clock.now() if at is None else at
        try:
            data = D.read_file(p)
        except FileNotFoundError:
            continue        # deleted by retention, or renamed, meanwhile
        t_close = clock.now() if at is None else at
        a.files += 1
        if not data.endswith(b"\n"):
            data = data[:data.rfind(b"\n") + 1]     # a line being written
        for line in data.split(b"\n"):
            if not line:
                continue
            a.lines += 1
            t = line_time(line)
            m = ADDR_RE.match(line)
            if t is None or m is None:
                a.unparsed += 1
                continue
            full = not (m.group(3) == b"0" and m.group(4) == b"0")
            if full:
                age = t_open - t
                if a.oldest_full_age is None or age > a.oldest_full_age:
                    a.oldest_full_age = age
                if age > WINDOW + tol:
                    a.late.append((name, t, age - WINDOW))
            else:
                age = t_close - t
                if a.youngest_masked_age is None or \
                        age < a.youngest_masked_age:
                    a.youngest_masked_age = age
                if age < WINDOW - MASK_EARLY - ROTATE - tol:
                    a.early.append((name, t, age))
    return a


def hm(secs):
    """Seconds as a signed "Hh MMm" figure."""
    if secs is None:
        return "-"
    s = "-" if secs < 0 else ""
    secs = abs(int(secs))
    return "%s%dh%02dm" % (s, secs // 3600, secs % 3600 // 60)


def main():
    D.need_lethe()
    ck = D.Checks("soak")
    root, logs, state = D.mkroot("soak")
    conf = os.path.join(root, "lethe.conf")
    live = os.path.join(logs, "access.log")
    pidfile = os.path.join(root, "writer.pid")
    D.write_conf(conf, D.conf_text(state, [("web", {
        "logs": live, "format": "combined", "window": "7d",
        "rotate": "1h", "reopen": "signal USR1 %s" % pidfile,
        "settle": "%ds" % SETTLE, "compress_after": "1h",
        "mask_early": "1h", "retain": "30d"})], sweep="1m"))
    lps = LINES_PER_HOUR * RATE / HOUR
    clock = D.Clock(D.iso_to_epoch(START), RATE)
    print("soak: %d simulated hours at clock rate %g (%.0f real s), "
          "%d lines an hour (%.0f lines/s real), checkpoint every %d h"
          % (HOURS, RATE, HOURS * HOUR / RATE, LINES_PER_HOUR, lps,
             CHECK_HOURS))
    sys.stdout.flush()
    writer = D.Writer(root, live, pidfile, lps, clock)
    dm = None
    t_real0 = time.monotonic()
    points = []     # (hours, fds, rss, files, audit)
    races = []      # lethe audit runs that met a file gone under it
    try:
        dm = D.Daemon(conf, now=clock.now_arg(), rate=RATE,
                      logfile=os.path.join(root, "lethe.log"))
        m = dm.wait_for(r"^running: .* clock at (\S+)", 30)
        lag = max(0.0, clock.now() - D.iso_to_epoch(m.group(1)))
        tol = SWEEP + SETTLE + lag + 60 + LATENCY_REAL * RATE
        print("soak: daemon pid %d, its clock %s behind the test's; "
              "audit tolerance %s past the window" % (dm.pid, hm(lag),
                                                      hm(tol)))
        sys.stdout.flush()
        for k in range(1, HOURS // CHECK_HOURS + 1):
            target = clock.base + k * CHECK_HOURS * HOUR
            clock.wait_until(target, limit=CHECK_HOURS * HOUR / RATE + 5)
            if not dm.alive():
                raise D.Fail("lethe exited (%s) before hour %d" % (
                    dm.proc.poll(), k * CHECK_HOURS))
            nfd, rss = sample(dm.pid)
            t_cp = clock.now()
            a = audit(clock, logs, tol)
            for _ in range(3):
                rc, out, err = D.run_cmd(["-c", conf, "--now", "%d" % t_cp,
                                          "audit"])
                # Races with the running daemon, seen again on a retry
                # only if real: a file gone under audit ("cannot stat"),
                # and a claim of an act in flight ("did not finish": the
                # daemon renames a file to its claim and back, or on,
                # within milliseconds; one a crash left stays).
                raced = "cannot stat" in err or ("did not finish" in out and
                                                 "full addresses past" not
                                                 in out)
                if rc == 0 or not raced or "full addresses past" in out:
                    break
                races.append((k * CHECK_HOURS, (err + out).strip()))
                time.sleep(0.5)
            behind = (clock.now() - target) / HOUR
            hours = k * CHECK_HOURS
            points.append((hours, nfd, rss, a.files, a))
            print("  %5d h: %3d files, %6d lines, oldest full address %s "
                  "old, youngest masked %s; %2d fds, VmRSS %5d KiB; "
                  "lethe audit %s%s" % (
                      hours, a.files, a.lines, hm(a.oldest_full_age),
                      hm(a.youngest_masked_age), nfd, rss,
                      "clean" if rc == 0 else "exit %d" % rc,
                      "" if behind < 2 * CHECK_HOURS else
                      " (%.0f h late)" % behind))
            sys.stdout.flush()
            ck.check(not a.late, "%d h: %d full addresses past the window "
                     "+ %s, worst %s past it, first in %s" % (
                         hours, len(a.late), hm(tol),
                         hm(max(x[2] for x in a.late)) if a.late else "",
                         a.late[0][0] if a.late else ""))
            ck.check(not a.early, "%d h: %d lines masked earlier than "
                     "window - mask_early - rotate, youngest %s old, first "
                     "in %s" % (hours, len(a.early),
                                hm(min(x[2] for x in a.early))
                                if a.early else "",
                                a.early[0][0] if a.early else ""))
            ck.check(a.unparsed == 0, "%d h: %d lines without a time or "
                     "an address" % (hours, a.unparsed))
            ck.check(rc == 0, "%d h: lethe audit exited %d: %s" % (
                hours, rc, (out + err).strip()[:500]))
        end_run = clock.now()
        n = writer.stop()
        writer = None
        t_stop = clock.now()
        code, took = dm.stop(60)
        ck.check(code == 0, "lethe exited %s on TERM" % code)
        t_end = clock.now()
        texts = dm.texts()
        for s in texts:
            if re.search(r"failed|error|truncated by someone|refus|"
                         r"a crash left|no line has a time", s):
                ck.fail("unexpected log line: %s" % s)
        rotations = dm.count(r'^rotated "')
        deleted = dm.count(r'^deleted "')
        masked = dm.count(r'^\S*mask\S* "')
        compressed = dm.count(r'^\S*compress\S* "')
        sealed = dm.count(r'^sealed "')
        dm = None

        # Every line: once, or (the oldest) deleted by retention.
        seen = {}
        times = {}
        odd = []
        for name in sorted(os.listdir(logs)):
            p = os.path.join(logs, name)
            if name.startswith(".") or not os.path.isfile(p):
                continue
            data = D.read_file(p)
            if data and not data.endswith(b"\n"):
                odd.append((name, "no newline at the end"))
            for line in data.split(b"\n"):
                if not line:
                    continue
                m = SEQ_RE.search(line)
                if not m:
                    odd.append((name, line[:100]))
                    continue
                s = int(m.group(1))
                seen.setdefault(s, []).append(name)
                times[s] = line_time(line)
        lost, dup, extra = D.seq_report(seen, n)
        ck.check(not dup, "duplicated %d lines: %s" % (len(dup),
                                                        D.ranges(dup)))
        ck.check(not extra, "lines never written: %s" % D.ranges(extra))
        ck.check(not odd, "odd lines: %s" % odd[:3])
        ck.check(lost == list(range(len(lost))), "lost lines not only the "
                 "oldest (retention): %s" % D.ranges(lost))
        kept = n - len(lost)
        oldest_kept = times.get(len(lost))
        if lost and oldest_kept is not None:
            # The newest deleted line is older than the oldest kept one
            # (by one line's interval): it must have been past retain.
            gap = HOUR / LINES_PER_HOUR
            ck.check(oldest_kept - gap <= t_end - RETAIN + SWEEP + SETTLE,
                     "a line younger than retain was deleted: the oldest "
                     "kept line is %s old (retain %s)" % (
                         hm(t_end - oldest_kept), hm(RETAIN)))
        final = audit(clock, logs, tol, at=t_stop)
        ck.check(not final.late, "after the stop: %d full addresses past "
                 "the window" % len(final.late))
        ck.check(not D.temp_files(logs), "temp files left: %s" %
                 D.temp_files(logs))

        # Descriptors and memory.
        fd_first = points[0][1]
        fd_all = [p[1] for p in points]
        rss_all = [p[2] for p in points]
        steady = [p for p in points if p[0] * HOUR >= RETAIN + 2 * DAY]
        ck.check(max(fd_all) <= fd_first, "descriptors grew: %s" % fd_all)
        if steady:
            r0 = steady[0][2]
            ck.check(max(p[2] for p in steady) - r0 <= RSS_SLACK_KIB,
                     "VmRSS grew by more than %d KiB after retention's "
                     "steady state (from %d KiB at %d h to %d KiB)" % (
                         RSS_SLACK_KIB, r0, steady[0][0],
                         max(p[2] for p in steady)))
        if races:
            ck.note("lethe audit failed %d times on a file renamed or "
                    "deleted by the daemon while it ran (\"cannot stat\"), "
                    "and passed when run again; first: %s h: %s" % (
                        len(races), races[0][0], races[0][1]))
        real = time.monotonic() - t_real0
        print("soak: figures")
        print("  simulated: %.0f hours (%.1f days) in %.0f real seconds "
              "(the daemon stopped in %.1f s)" % (
                  (end_run - clock.base) / HOUR,
                  (end_run - clock.base) / DAY, real, took))
        print("  lines: %d written, %d kept, %d deleted by retention "
              "(the oldest kept is %s old; retain %s), 0 expected lost "
              "or duplicated: %d lost otherwise, %d duplicated" % (
                  n, kept, len(lost),
                  hm(t_end - oldest_kept) if oldest_kept else "-",
                  hm(RETAIN), 0 if lost == list(range(len(lost)))
                  else len(lost), len(dup)))
        print("  daemon: %d rotations, %d seals, %d compressions, %d "
              "maskings, %d deletions; %d files at the end" % (
                  rotations, sealed, compressed, masked, deleted,
                  final.files))
        print("  audits: %d checkpoints, oldest full address at most %s "
              "old (window %s), youngest masked line at least %s old" % (
                  len(points),
                  hm(max(p[4].oldest_full_age or 0 for p in points)),
                  hm(WINDOW),
                  hm(min(p[4].youngest_masked_age for p in points
                         if p[4].youngest_masked_age is not None))
                  if any(p[4].youngest_masked_age is not None
                         for p in points) else "-"))
        print("  descriptors: min %d, max %d (first checkpoint %d, last %d)"
              % (min(fd_all), max(fd_all), fd_first, fd_all[-1]))
        print("  VmRSS: min %d KiB, max %d KiB (first checkpoint %d, "
              "steady state from %s h: %s KiB, last %d)" % (
                  min(rss_all), max(rss_all), rss_all[0],
                  steady[0][0] if steady else "-",
                  steady[0][2] if steady else "-", rss_all[-1]))
    except D.Fail as e:
        ck.fail(str(e))
    finally:
        if writer is not None:
            writer.kill()
        if dm is not None:
            dm.kill()
    rc = ck.finish()
    if rc == 0 and not os.environ.get("SOAK_KEEP"):
        shutil.rmtree(root, ignore_errors=True)
    else:
        print("kept " + root)
    return rc


if __name__ == "__main__":
    sys.exit(main())
