#!/usr/bin/env python3
"""Never late (issue 9, 3; spec D): with mask_early = M, at every instant
no managed file (live, rotated, .gz) holds a full address on a line older
than now - window, provided once runs at least every M (or the daemon
runs).  window 1d, mask_early 10m.

1. once every 10 minutes over 36 hours of fake time (216 runs, --now
   2026-06-01T18:00Z ... 2026-06-03T05:50Z), across the window boundary
   of every file:
   - [rot] a rotating set: reopen = command /bin/true, rotate = 100M (a
     size never reached: every rotation is the early one, M before the
     live file's oldest full address reaches the window), settle 1s, and
     a writer that appends three lines between runs, by name, with times
     between the two runs (and sets the file's mtime to the last one: the
     files look as they would had the clocks been real); at the start a
     live file of 20 hours and a day's segment (lethe's name), gzip;
   - [off] rotate = off, segments only (access.log.1 plain, .2.gz, .3.gz,
     .4.gz, 12 hours each), retain 2d: compressed, masked, deleted.
   The fixture is as lethe keeps it: lines up to the first run's
   now - window + M masked.  The independent reader checks at T + 9m59s
   before each next run: no full address on a line older than that
   instant - window (zero slack); no line masked although newer than the
   run's now - window + M; no line lost (none younger than retain may be
   gone), none doubled, none changed.
2. the same through the daemon (LETHE_TEST_CLOCK_RATE=180, an hour of
   fake time in 20 s, half of it in the sanitizer pass; a writer
   appending 20 lines/s that reopens on USR1, a larger segment of 60,000
   lines), checked by the reader at random
   instants, and 3 s of fake time after the instant each file's oldest
   full address reaches the window (that file alone, read at once: a
   daemon that masks only when the window has passed is caught while
   its rewrite runs).  The daemon's clock is known within bounds (it
   cannot be read): it is at least the time its "running: ... clock at"
   line gives plus the real time since that line arrived, times the
   rate; a line older than that bound - window must be masked (lenient
   by the line's delivery and the second it was rounded to: about 2 s of
   fake time).

Figures: checks, full addresses past the window at each check (total,
worst), lines masked early, lost, doubled; rotations and the daemon's
clock bounds.

Today (d4df44a): masking starts only once a file's oldest full address
has passed the window, so the reader finds full addresses past the
window at most checks of part 1 (and part 2 depending on timing).

Env: NEVER_LATE_RUNS (216), NEVER_LATE_SECONDS (20; 10 in the sanitizer
pass), E2E_KEEP=1."""

import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as D  # noqa: E402
import lethelib as L  # noqa: E402
import passlib as P  # noqa: E402
import seamlib as S  # noqa: E402

t = L.Test("92-never-late")
T0R = time.monotonic()
WINDOW = S.DAY
M = 10 * S.MINUTE
RETAIN = 2 * S.DAY
RUNS = int(os.environ.get("NEVER_LATE_RUNS", "216"))
root = t.mkdtemp()


def show_full(fp, n=3):
    return "; ".join("%s seq %d at %s (%s)" % (f, s, S.iso(tm), "v6" if ":"
                                                in a else "v4")
                     for f, s, tm, a in fp[:n])


# ================================================================= part 1
def part1():
    rng = random.Random(92)
    corpus = S.Corpus(921, first_seq=0)
    start = S.epoch("2026-06-01T18:00:00Z")
    base = os.path.join(root, "once")
    rot = os.path.join(base, "rot")
    off = os.path.join(base, "off")
    state = os.path.join(base, "state")
    for d in (rot, off):
        os.makedirs(d)
        os.chmod(d, 0o755)
    os.makedirs(state, 0o700)
    pre = start - WINDOW + M          # masked at the start, as lethe would
    live = os.path.join(rot, "access.log")
    written = {}                      # seq -> time

    def put(path, t0, t1, n, gz):
        ls = corpus.lines(t0, t1, n)
        S.write_file(path, corpus.text(ls, masked_before=pre), gz=gz,
                     mtime=t1)
        for s in corpus.seqs(ls):
            written[s] = corpus.recs[s].time

    put(live, start - 20 * S.HOUR + 37, start - 41, 800, False)
    put(os.path.join(rot, "access.log-20260531T2200Z.gz"),
        start - 44 * S.HOUR + 11, start - 20 * S.HOUR - 13, 900, True)
    for k in range(1, 5):
        t1 = start - (k - 1) * 12 * S.HOUR - 17 * k
        put(os.path.join(off, "access.log.%d%s" % (k, ".gz" if k > 1 else
                                                    "")),
            t1 - 12 * S.HOUR + 29 * k, t1, 700, k > 1)
    cf = S.conf(os.path.join(base, "lethe.conf"), state, [
        ("rot", {"logs": live, "format": "combined", "window": "1d",
                 "mask_early": "10m", "rotate": "100M",
                 "reopen": "command /bin/true", "settle": "1s",
                 "compress_after": "1h", "retain": "2d"}),
        ("off", {"logs": os.path.join(off, "access.log"),
                 "format": "combined", "window": "1d", "mask_early": "10m",
                 "rotate": "off", "compress_after": "1h",
                 "retain": "2d"})])
    r = S.run(S.LETHE, ["-c", cf, "check"])
    t.check(r.rc == 0, "1: check of the config exited %s\n%s" % (
        r.rc, r.show()))
    checks = viol_checks = total_full = worst = 0
    early_total = lost_total = dbl_total = 0
    first_viol = None
    slow = []
    segs_seen = set()
    rc_bad = 0
    for k in range(RUNS):
        T = start + k * 600
        t0 = time.monotonic()
        r = S.run(S.LETHE, ["-c", cf, "--now", str(T), "once"], timeout=120)
        took = time.monotonic() - t0
        if took > 5:
            slow.append((S.iso(T), round(took, 1)))
        if r.rc != 0:
            rc_bad += 1
            t.check(False, "1: once --now %s exited %s\n%s" % (
                S.iso(T), r.rc, r.show(1200)), kind="once failed")
        # the writer: three lines between this run and the next
        times = sorted(rng.randrange(T + 1, T + 600) for _ in range(3))
        ls = [corpus.line(x) for x in times]
        with open(live, "ab") as f:
            f.write(corpus.text(ls))
        os.utime(live, (times[-1], times[-1]))
        for s in corpus.seqs(ls):
            written[s] = corpus.recs[s].time
        # the reader, one second before the next run
        C = T + 599
        c = S.census([rot, off], corpus, cut=C - WINDOW,
                     early=T - WINDOW + M)
        checks += 1
        n = len(c.full_past)
        total_full += n
        worst = max(worst, n)
        if n:
            viol_checks += 1
            if first_viol is None:
                first_viol = C
            t.check(False, "1: at %s (9m59s after once --now %s): %d full "
                    "addresses on lines past the window: %s" % (
                        S.iso(C), S.iso(T), n, show_full(c.full_past)),
                    kind="full past the window")
        early_total += len(c.masked_early)
        t.check(not c.masked_early, "1: at %s: %d lines masked although "
                "newer than once's now - window + mask_early (%s): e.g. "
                "seq %d at %s" % (S.iso(C), len(c.masked_early),
                                  S.iso(T - WINDOW + M),
                                  c.masked_early[0][1] if c.masked_early
                                  else 0, S.iso(c.masked_early[0][2])
                                  if c.masked_early else ""),
                kind="masked early")
        must = [s for s, tm in written.items() if tm >= T - RETAIN]
        lost = c.lost(must)
        dbl = c.doubled()
        lost_total = max(lost_total, len(lost))
        dbl_total = max(dbl_total, len(dbl))
        t.check(not lost, "1: at %s: %d lines lost (seq %s)" % (
            S.iso(C), len(lost), S.ranges(lost)), kind="lost")
        t.check(not dbl, "1: at %s: %d lines doubled (e.g. %s)" % (
            S.iso(C), len(dbl), list(dbl.items())[:1]), kind="doubled")
        t.check(not c.changed and not c.foreign and not c.unreadable,
                "1: at %s: lines changed %s, foreign %s, unreadable %s" % (
                    S.iso(C), c.changed[:1], c.foreign[:1], c.unreadable),
                kind="changed")
        hid = S.hidden_lethe([rot, off])
        t.check(not hid, "1: at %s: hidden lethe files between runs: %s" % (
            S.iso(C), hid), kind="hidden")
        segs_seen.update(n for n in os.listdir(rot) if n != "access.log")
    rotations = len(set((n[:-3] if n.endswith(".gz") else n)
                        for n in segs_seen) - {"access.log-20260531T2200Z"})
    t.info("1: %d runs of once every 10 min (%s .. %s), a check 9m59s "
           "after each: full addresses past the window at %d checks, %d in "
           "all, at most %d at one check%s; lines masked early %d; lost at "
           "most %d, doubled at most %d; %d segments made by rotation; "
           "once failed %d times" % (
               RUNS, S.iso(start), S.iso(start + (RUNS - 1) * 600),
               viol_checks, total_full, worst, ", first at %s" %
               S.iso(first_viol) if first_viol else "", early_total,
               lost_total, dbl_total, rotations, rc_bad))
    t.check(rotations >= 1, "1: the rotating set was never rotated early "
            "(its live file's oldest line reached the window - M at about "
            "%s)" % S.iso(start - 20 * S.HOUR + 37 + WINDOW - M))
    if slow:
        t.note("1: runs of once that took over 5 s: %s" % slow[:5])


# ================================================================= part 2
def part2():
    R = 180
    span = P.count(20.0, 10.0, "2: seconds of the daemon's run",
                   env="NEVER_LATE_SECONDS")
    rng = random.Random(922)
    corpus = S.Corpus(923, first_seq=10000000)    # the writer: 0, 1, ...
    base_t = S.epoch("2026-06-10T10:00:00Z")
    base = os.path.join(root, "run")
    rot = os.path.join(base, "rot")
    off = os.path.join(base, "off")
    state = os.path.join(base, "state")
    for d in (rot, off):
        os.makedirs(d)
        os.chmod(d, 0o755)
    os.makedirs(state, 0o700)
    pre = base_t - WINDOW + M
    static = set()

    def put(path, t0, t1, n, gz):
        ls = corpus.lines(t0, t1, n)
        S.write_file(path, corpus.text(ls, masked_before=pre), gz=gz,
                     mtime=t1)
        static.update(corpus.seqs(ls))

    live = os.path.join(rot, "access.log")
    put(live, base_t - WINDOW + 15 * 60, base_t - 30, 1425, False)
    put(os.path.join(off, "access.log.1"), base_t - WINDOW + 12 * 60 + 7,
        base_t - WINDOW + 100 * 60, 60000, False)
    put(os.path.join(off, "access.log.2.gz"), base_t - WINDOW - 50 * 60,
        base_t - WINDOW + 40 * 60, 540, True)
    pidfile = os.path.join(base, "writer.pid")
    cf = S.conf(os.path.join(base, "lethe.conf"), state, [
        ("rot", {"logs": live, "format": "combined", "window": "1d",
                 "mask_early": "10m", "rotate": "daily",
                 "reopen": "signal USR1 %s" % pidfile, "settle": "5s",
                 "compress_after": "30m", "retain": "3d"}),
        ("off", {"logs": os.path.join(off, "access.log"),
                 "format": "combined", "window": "1d", "mask_early": "10m",
                 "rotate": "off", "compress_after": "30m",
                 "retain": "3d"})], extra_global="sweep = 1m")
    clock = D.Clock(base_t, R)
    writer = dm = None
    try:
        writer = D.Writer(base, live, pidfile, 20, clock)
        popen_at = time.monotonic()
        dm = D.Daemon(cf, now=str(base_t), rate=R, env={"TZ": "UTC"},
                      logfile=os.path.join(base, "lethe.log"))
        dm.ready(60)
        dc = S.DaemonClock(base_t, R, popen_at, dm)
        checks = viol = total = worst = early = targeted = 0
        first = None
        target = None       # (daemon time, file): a full address's crossing
        end = time.monotonic() + span
        while time.monotonic() < end and dm.alive():
            # a random instant, or just after the next full address of a
            # file reaches the window (then that file alone, read first)
            wake = time.monotonic() + rng.uniform(0.1, 0.5)
            only = None
            if target is not None:
                r_t = dc.arrival + (target[0] - dc.anchor) / R
                if r_t < wake:
                    wake, only = r_t, {target[1]}
                    targeted += 1
            time.sleep(max(0.0, wake - time.monotonic()))
            r0 = time.monotonic()
            cut = dc.low(r0) - WINDOW
            c = S.census([rot, off], corpus, cut=cut, only=only)
            r1 = time.monotonic()
            hi = dc.high(r1) - WINDOW + M
            me = [x for x in c.masked_early if x[2] > hi]
            checks += 1
            n = len(c.full_past)
            total += n
            worst = max(worst, n)
            early += len(me)
            if n:
                viol += 1
                first = first or dc.low(r0)
                t.check(False, "2: at daemon time >= %s%s: %d full "
                        "addresses on lines past the window: %s" % (
                            S.iso(dc.low(r0)), " (just after the crossing "
                            "of %s)" % target[1] if only else "", n,
                            show_full(c.full_past)),
                        kind="daemon: full past the window")
            t.check(not me, "2: at daemon time <= %s: %d lines masked "
                    "although newer than now - window + mask_early: e.g. "
                    "seq %d at %s" % (S.iso(dc.high(r1)), len(me),
                                      me[0][1] if me else 0,
                                      S.iso(me[0][2]) if me else ""),
                    kind="daemon: masked early")
            t.check(not c.changed, "2: lines changed: %s" % c.changed[:2],
                    kind="daemon: changed")
            if only is None:
                # the next crossing, 3 s of fake time after it: by then the
                # line must long be masked (M = 10 min before)
                nxt = [(tm + WINDOW + 3, f) for f, tm in
                       c.oldest_full.items() if tm + WINDOW + 3 > cut +
                       WINDOW]
                target = min(nxt) if nxt else None
            else:
                target = None
        t.check(dm.alive(), "2: the daemon exited: %s" % dm.texts()[-5:])
        n_written = writer.pause()
        final = dc.low()
        rc, _ = dm.stop()
        t.check(rc == 0, "2: the daemon exited %s" % rc)
        dm = None
        writer.stop()
        writer = None
        c = S.census([rot, off], corpus, cut=None)
        must = static | set(range(n_written))
        lost = c.lost(must)
        dbl = c.doubled()
        t.check(not lost, "2: %d lines lost (seq %s)" % (len(lost),
                                                         S.ranges(lost)))
        t.check(not dbl, "2: %d lines doubled (e.g. %s)" % (
            len(dbl), list(dbl.items())[:1]))
        t.check(not S.hidden_lethe([rot, off]), "2: hidden lethe files "
                "left: %s" % S.hidden_lethe([rot, off]))
        nrot = sum(1 for n in os.listdir(rot) if n != "access.log")
        t.info("2: the daemon at rate %d from %s to about %s (its clock "
               "known to %.1f s of fake time): %d checks at random "
               "instants (%d just after a crossing), full addresses past the "
               "window at %d of them, %d "
               "in all, at most %d%s; lines masked early %d; %d lines "
               "written by the writer, lost %d, doubled %d; %d segments" % (
                   R, S.iso(base_t), S.iso(final), dc.slack(), checks,
                   targeted, viol,
                   total, worst, ", first at %s" % S.iso(first) if first
                   else "", early, n_written, len(lost), len(dbl), nrot))
        t.check(nrot >= 1, "2: the live file was never rotated (its oldest "
                "full address reached the window - M at %s)" %
                S.iso(base_t - WINDOW + 15 * 60 + WINDOW - M))
    except D.Fail as e:
        t.fail("2: %s" % e)
    finally:
        if dm is not None:
            dm.kill()
        if writer is not None:
            writer.kill()


part1()
t.info("part 1: %.0f s" % (time.monotonic() - T0R))
part2()
t.info("total %.0f s" % (time.monotonic() - T0R))
t.done()
