#!/usr/bin/env python3
"""Rotation with the clock faked across DST and TZ changes.

1. TZ=Europe/Berlin, rotate = 1h, from just before the fall-back change
   (2026-10-25T00:30Z) for about 6 daemon hours at rate 3600, with a writer:
   one rotation per UTC hour, segment names distinct (HH00Z), each
   segment's lines within its hour, no line lost or duplicated.
2. The same across spring-forward (2026-03-29T00:30Z).
3. TZ=UTC for 3 hours, stop, restart with TZ=Asia/Kolkata (+05:30)
   continuing the clock: no name collision, no two rotations closer than
   half an hour; the gaps are printed.
4. rotate = daily across both DST changes: one rotation per local day,
   at local midnight.
"""

import calendar
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as D  # noqa: E402

D.need_lethe()
ck = D.Checks("73-clock")
HOUR = 3600
ROT_RE = re.compile(r'^rotated "([^"]+)" to "([^"]+)"')
STAMP_RE = re.compile(r"-(\d{8}T\d{4}Z)(?:\.gz)?$")
CLF_RE = re.compile(rb"\[(\d{2})/(\w{3})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) "
                    rb"\+0000\]")
MON = {m.encode(): i + 1 for i, m in enumerate(D.MONTHS)}


def stamp_epoch(s):
    return calendar.timegm(time.strptime(s, "%Y%m%dT%H%MZ"))


def line_time(line):
    m = CLF_RE.search(line)
    if not m:
        return None
    d, mo, y, hh, mi, ss = m.groups()
    return calendar.timegm((int(y), MON[mo], int(d), int(hh), int(mi),
                            int(ss)))


class Scenario:
    def __init__(self, tag, rotate, rate, sweep="10s"):
        self.tag = tag
        self.root, self.logs, self.state = D.mkroot("73-" + tag)
        self.conf = os.path.join(self.root, "lethe.conf")
        self.live = os.path.join(self.logs, "access.log")
        self.pidfile = os.path.join(self.root, "writer.pid")
        self.logfile = os.path.join(self.root, "lethe.log")
        self.rate = rate
        D.write_conf(self.conf, D.conf_text(self.state, [("web", {
            "logs": self.live, "format": "combined", "window": "7d",
            "rotate": rotate, "reopen": "signal USR1 %s" % self.pidfile,
            "settle": "5s", "compress_after": "1h", "mask_early": "1h",
            "retain": "90d"})], sweep=sweep))
        self.rotations = []     # (segment name, tz, daemon pid)
        self.writer = None
        self.dm = None
        self.clock = None

    def start(self, start_iso, lps):
        self.clock = D.Clock(D.iso_to_epoch(start_iso), self.rate)
        self.writer = D.Writer(self.root, self.live, self.pidfile, lps,
                               self.clock)

    def run(self, tz, until):
        """Run lethe with TZ=tz from the clock's now until fake time
        `until`; returns the clock at its start."""
        t0 = int(self.clock.now())
        self.dm = D.Daemon(self.conf, now=t0, rate=self.rate, tz=tz,
                           logfile=self.logfile)
        self.dm.ready(30)
        self.clock.wait_until(until, limit=120)
        code, took = self.dm.stop()
        ck.check(code == 0, "%s: lethe exited %s" % (self.tag, code))
        for s in self.dm.texts():
            m = ROT_RE.match(s)
            if m:
                self.rotations.append((m.group(2), tz, self.dm.pid))
            if "reopen hook failed" in s or "truncated by someone" in s:
                ck.fail("%s: unexpected log line: %s" % (self.tag, s))
        self.dm = None
        return t0

    def finish_lines(self):
        n = self.writer.stop()
        self.writer = None
        seen, odd = D.count_seqs(self.logs)
        lost, dup, extra = D.seq_report(seen, n)
        ck.check(not lost, "%s: lost %d lines: %s" % (self.tag, len(lost),
                                                       D.ranges(lost)))
        ck.check(not dup, "%s: duplicated %d lines: %s" % (
            self.tag, len(dup), D.ranges(dup)))
        ck.check(not odd, "%s: odd lines: %s" % (self.tag, odd[:3]))
        return n, len(lost), len(dup)

    def segment_times(self):
        """{stamp: (min, max) line time} of each segment file."""
        out = {}
        for name in os.listdir(self.logs):
            m = STAMP_RE.search(name)
            if not m:
                continue
            ts = [line_time(l) for l in
                  D.read_file(os.path.join(self.logs, name)).split(b"\n")
                  if l]
            ts = [t for t in ts if t is not None]
            out[m.group(1)] = (min(ts), max(ts)) if ts else (None, None)
        return out

    def cleanup(self, keep):
        if self.dm is not None:
            self.dm.kill()
        if self.writer is not None:
            self.writer.kill()
        if keep or os.environ.get("E2E_KEEP"):
            print("kept %s" % self.root)
        else:
            shutil.rmtree(self.root, ignore_errors=True)


def check_hourly(sc, start, end):
    names = [r[0] for r in sc.rotations]
    stamps = [STAMP_RE.search(n).group(1) for n in names]
    want = [t for t in range((start // HOUR + 1) * HOUR, end + 1, HOUR)]
    want_s = [time.strftime("%Y%m%dT%H%MZ", time.gmtime(t)) for t in want]
    print("%s: rotations %s" % (sc.tag, " ".join(stamps)))
    ck.check(len(set(names)) == len(names),
             "%s: a segment name was used twice: %s" % (sc.tag, names))
    ck.check(stamps == want_s, "%s: expected one rotation per UTC hour "
             "%s, got %s" % (sc.tag, want_s, stamps))
    per_hour = {}
    for s in stamps:
        per_hour[s[:11]] = per_hour.get(s[:11], 0) + 1
    ck.check(all(v == 1 for v in per_hour.values()),
             "%s: more than one rotation in an hour: %s" % (sc.tag, per_hour))
    # The writer reopens when the hook's signal reaches it: at rate 3600
    # a quarter of a real second on a loaded machine is 15 minutes of
    # the clock, past the boundary in the old segment.
    slack = 5 * 60 + int(sc.rate * 0.25)
    for s, (lo, hi) in sorted(sc.segment_times().items()):
        b = stamp_epoch(s)
        if lo is None:
            ck.fail("%s: segment %s holds no timed line" % (sc.tag, s))
            continue
        ck.check(lo >= b - HOUR - slack and hi <= b + slack,
                 "%s: segment %s holds lines from %s to %s, not within "
                 "the hour before it" % (sc.tag, s, D.iso(lo), D.iso(hi)))


def hourly_dst(tag, start_iso):
    sc = Scenario(tag, "1h", 3600)
    ok = False
    try:
        sc.start(start_iso, 200)
        start = D.iso_to_epoch(start_iso)
        end = start + 6 * HOUR
        sc.run("Europe/Berlin", end)
        check_hourly(sc, start, end)
        n, lost, dup = sc.finish_lines()
        print("%s: %d lines, %d lost, %d duplicated" % (tag, n, lost, dup))
        ok = True
    except D.Fail as e:
        ck.fail("%s: %s" % (tag, e))
    finally:
        sc.cleanup(not ok)


def tz_change():
    tag = "tz-change"
    sc = Scenario(tag, "1h", 3600)
    ok = False
    try:
        start_iso = "2026-11-02T00:10:00Z"
        sc.start(start_iso, 200)
        start = D.iso_to_epoch(start_iso)
        sc.run("UTC", start + 3 * HOUR)
        n_utc = len(sc.rotations)
        # lethe is down for a moment; the writer goes on
        sc.run("Asia/Kolkata", start + 6 * HOUR + 40 * 60)
        stamps = [STAMP_RE.search(r[0]).group(1) for r in sc.rotations]
        ts = [stamp_epoch(s) for s in stamps]
        gaps = [(b - a) // 60 for a, b in zip(ts, ts[1:])]
        print("%s: rotations (UTC) %s | (Asia/Kolkata) %s" % (
            tag, " ".join(stamps[:n_utc]), " ".join(stamps[n_utc:])))
        print("%s: gaps between rotations in minutes: %s" % (tag, gaps))
        names = [r[0] for r in sc.rotations]
        ck.check(len(set(names)) == len(names),
                 "%s: a segment name was used twice: %s" % (tag, names))
        ck.check(all(g >= 30 for g in gaps), "%s: two rotations closer "
                 "than half an hour: gaps %s" % (tag, gaps))
        ck.check(stamps[:n_utc] == ["20261102T0100Z", "20261102T0200Z",
                                    "20261102T0300Z"],
                 "%s: TZ=UTC rotations %s" % (tag, stamps[:n_utc]))
        ck.check(all(s.endswith("30Z") for s in stamps[n_utc:]),
                 "%s: TZ=Asia/Kolkata rotations not at :30 UTC (:00 "
                 "local): %s" % (tag, stamps[n_utc:]))
        ck.check(len(stamps) - n_utc in (3, 4), "%s: %d rotations in 3.5 "
                 "hours of TZ=Asia/Kolkata" % (tag, len(stamps) - n_utc))
        per_hour = {}
        for s in stamps:
            per_hour[s[:11]] = per_hour.get(s[:11], 0) + 1
        twice = sorted(h for h, v in per_hour.items() if v > 1)
        ck.note("%s: UTC hours with two rotations (the alignment moved by "
                "the zone's half hour): %s" % (tag, twice or "none"))
        n, lost, dup = sc.finish_lines()
        print("%s: %d lines, %d lost, %d duplicated" % (tag, n, lost, dup))
        ok = True
    except D.Fail as e:
        ck.fail("%s: %s" % (tag, e))
    finally:
        sc.cleanup(not ok)


def daily_dst(tag, start_iso, end_iso, want):
    sc = Scenario(tag, "daily", 14400, sweep="1m")
    ok = False
    try:
        sc.start(start_iso, 150)
        sc.run("Europe/Berlin", D.iso_to_epoch(end_iso))
        stamps = [STAMP_RE.search(r[0]).group(1) for r in sc.rotations]
        print("%s: rotations %s" % (tag, " ".join(stamps)))
        ck.check(stamps == want, "%s: expected one rotation per local day "
                 "at local midnight %s, got %s" % (tag, want, stamps))
        for s, (lo, hi) in sorted(sc.segment_times().items()):
            b = stamp_epoch(s)
            ck.check(lo is not None and hi <= b + 600,
                     "%s: segment %s holds lines up to %s" % (
                         tag, s, D.iso(hi) if hi else None))
        n, lost, dup = sc.finish_lines()
        print("%s: %d lines, %d lost, %d duplicated" % (tag, n, lost, dup))
        ok = True
    except D.Fail as e:
        ck.fail("%s: %s" % (tag, e))
    finally:
        sc.cleanup(not ok)


which = sys.argv[1:] or ["fall", "spring", "tz", "daily"]
if "fall" in which:
    hourly_dst("fall-back", "2026-10-25T00:30:00Z")
if "spring" in which:
    hourly_dst("spring-forward", "2026-03-29T00:30:00Z")
if "tz" in which:
    tz_change()
if "daily" in which:
    daily_dst("daily-fall", "2026-10-24T20:00:00Z", "2026-10-27T01:00:00Z",
              ["20261024T2200Z", "20261025T2300Z", "20261026T2300Z"])
    daily_dst("daily-spring", "2026-03-28T20:00:00Z", "2026-03-31T01:00:00Z",
              ["20260328T2300Z", "20260329T2200Z", "20260330T2200Z"])
sys.exit(ck.finish())
