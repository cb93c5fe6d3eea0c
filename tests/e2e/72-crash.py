#!/usr/bin/env python3
"""kill -9 of `lethe run` at random moments, each followed by a restart,
while a writer appends steadily and lethe rotates, compresses and masks
(fast clock).  At each kill, an independent reader (python's gzip, zlib
and ipaddress, never lethe) reads every file in the log directory, the
claimed originals and temp files of an act in flight included: no line
older than the window (on the clock of the moment of the kill) holds a
full address.  Afterwards: every line exactly once across all files (plain
or gzip), no temp file left, and audit at the final clock exits 0.

Env: CRASH_SEED (default: random, printed), CRASH_CYCLES (default 60;
20 in the sanitizer pass), E2E_KEEP=1 keeps the temp dir."""

import os
import random
import shutil
import signal
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as D  # noqa: E402
import lethelib as L  # noqa: E402
import passlib as P  # noqa: E402

D.need_lethe()
seed = int(os.environ.get("CRASH_SEED", random.randrange(1 << 30)))
cycles = P.count(60, 20, "kill cycles", env="CRASH_CYCLES")
print("72-crash: seed %d (rerun with CRASH_SEED=%d), %d cycles" % (
    seed, seed, cycles))
rng = random.Random(seed)
ck = D.Checks("72-crash")
root, logs, state = D.mkroot("72-crash")
conf = os.path.join(root, "lethe.conf")
live = os.path.join(logs, "access.log")
pidfile = os.path.join(root, "writer.pid")
logfile = os.path.join(root, "lethe.log")
RATE = 300            # rotate 1m = a rotation every 0.2 real seconds
LPS = 2000


def write_conf(hook):
    D.write_conf(conf, D.conf_text(state, [("web", {
        "logs": live, "format": "combined", "window": "2h", "rotate": "1m",
        "reopen": hook, "settle": "5s", "compress_after": "5m",
        "mask_early": "10m", "retain": "90d"})], sweep="10s"))


clock = D.Clock(D.iso_to_epoch("2026-06-01T10:00:00Z"), RATE)
writer = None
dm = None
phases = {}
stats = {"rotated": 0, "hook": 0, "sealed": 0, "rewrite": 0, "masked": 0,
         "truncated": 0, "hookfail": 0, "recover": 0, "removed_pair": 0}


def tally(d):
    for s in d.texts():
        if s.startswith("rotated "):
            stats["rotated"] += 1
        elif "reopen hook done" in s:
            stats["hook"] += 1
        elif s.startswith("sealed "):
            stats["sealed"] += 1
        elif "addresses masked" in s:
            stats["rewrite"] += 1
            if "mask" in s.split('"')[0]:
                stats["masked"] += 1
        elif "was truncated by someone else" in s:
            stats["truncated"] += 1
        elif "reopen hook failed" in s:
            stats["hookfail"] += 1
        elif "unsealed segments at start" in s:
            stats["recover"] += 1
        elif "beside its compressed copy" in s:
            stats["removed_pair"] += 1


WINDOW = 2 * 3600
MASK_EARLY = 600
BACKLOG_S = 3.0       # real seconds a restarted daemon has for its backlog
backlog = [0]


def readable(path):
    """What an independent reader gets out of a file: its bytes, or for
    gzip every byte that decompresses (a temp file may end mid-stream)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] != b"\x1f\x8b":
        return data
    out = []
    while data[:2] == b"\x1f\x8b":
        z = zlib.decompressobj(31)
        try:
            out.append(z.decompress(data))
        except zlib.error:
            break
        if not z.eof:
            break
        data = z.unused_data
    return b"".join(out)


def full_past(cut, since=None):
    """(count, first example) of full addresses on lines older than cut
    in every file of the log directory, dot files included; since: only
    lines not older than that (the older ones: backlog, counted apart)."""
    n, ex = 0, None
    backlog[0] = 0
    for name in sorted(os.listdir(logs)):
        p = os.path.join(logs, name)
        try:
            if not os.path.isfile(p):
                continue
            data = readable(p)
        except FileNotFoundError:
            continue
        for line in data.split(b"\n"):
            t = L.parse_clf_time(line)
            if t is None or t >= cut:
                continue
            r = L.mask_token(line.split(b" ", 1)[0].decode("latin-1"))
            if r is not None and r[1] and since is not None and t < since:
                backlog[0] += 1
            elif r is not None and r[1]:
                n += 1
                if ex is None:
                    ex = "%s: %s (%d s past the window)" % (
                        name, line[:60].decode("latin-1"), cut - t)
    return n, ex


def phase_of(d):
    """What lethe was last seen doing before the kill."""
    t = d.texts()
    if not any(s.startswith("running: ") for s in t):
        return "starting"
    last = t[-1] if t else ""
    if last.startswith("rotated "):
        return "after rotate, before hook"
    if "reopen hook" in last:
        return "after hook"
    if last.startswith("sealed "):
        return "after seal"
    if "addresses masked" in last:
        return "after rewrite"
    return "other"


write_conf("signal USR1 %s" % pidfile)
rc = 1
try:
    writer = D.Writer(root, live, pidfile, LPS, clock)
    t_start = time.monotonic()
    hooks = ["signal USR1 %s" % pidfile,
             "command /bin/kill -USR1 %d" % writer.proc.pid]
    modes = {}
    checked = leaked = backlogged = 0
    for c in range(cycles):
        # The reopen hook: a signal (synchronous) or a command (the
        # rotation waits for the child: a wider window for a kill).
        write_conf(hooks[rng.randrange(2)])
        start = clock.now_arg()
        t_up = time.monotonic()
        dm = D.Daemon(conf, now=start, rate=RATE, logfile=logfile)
        r = rng.random()
        if r < 0.15:
            mode = "random, maybe before ready"
            time.sleep(rng.uniform(0, 0.15))
        elif r < 0.40:
            mode = "right after a rotation"
            dm.ready(60)
            mk = dm.mark()
            time.sleep(rng.uniform(0, 0.5))
            dm.wait_for(r"^rotated ", 5, start=mk, fail=False)
            time.sleep(rng.uniform(0, 0.003))
        elif r < 0.65:
            mode = "after a seal (compress/mask running)"
            dm.ready(60)
            mk = dm.mark()
            time.sleep(rng.uniform(0, 0.5))
            dm.wait_for(r"^sealed ", 5, start=mk, fail=False)
            time.sleep(rng.uniform(0, 0.03))
        else:
            mode = "random after ready"
            dm.ready(60)
            time.sleep(rng.uniform(0.05, 2.0))
        modes[mode] = modes.get(mode, 0) + 1
        if not dm.alive():
            ck.fail("cycle %d: lethe exited by itself (rc %s):\n%s" % (
                c, dm.proc.poll(), "\n".join(dm.texts()[-10:])))
            break
        ph = phase_of(dm)
        t_kill = clock.now()
        dm.kill()
        # The daemon is gone: the files are as it left them.  A line
        # that passed the window while no lethe ran (the time between a
        # kill and the restart: seconds, minutes on this clock) is
        # backlog: the restarted daemon owes it at once, not mask_early
        # ahead.  Backlog counts after BACKLOG_S of uptime, and at the end.
        up = time.monotonic() - t_up
        since = int(start) - WINDOW + MASK_EARLY
        k, ex = full_past(int(t_kill) - WINDOW,
                          since if up < BACKLOG_S else None)
        backlogged += backlog[0]
        checked += 1
        if k:
            ck.fail("cycle %d (%s, %s): %d full addresses past the window "
                    "at the kill, e.g. %s" % (c, mode, ph, k, ex))
            leaked += k
        phases[ph] = phases.get(ph, 0) + 1
        tally(dm)
        dm = None
    t_cycles = time.monotonic() - t_start
    n = writer.pause()
    # Catch up: a clean run until every segment is sealed and processed.
    dm = D.Daemon(conf, now=clock.now_arg(), rate=RATE, logfile=logfile)
    dm.ready(60)
    end = time.monotonic() + 90
    stable = 0
    while time.monotonic() < end:
        names = [x for x in os.listdir(logs) if not x.startswith(".")]
        segs = [x for x in names if x != "access.log"]
        plain = [x for x in segs if not x.endswith(".gz")]
        live_size = os.path.getsize(live) if os.path.exists(live) else -1
        if not plain and live_size == 0 and not D.temp_files(logs):
            stable += 1
            if stable >= 10:
                break
        else:
            stable = 0
        time.sleep(0.1)
    else:
        ck.fail("lethe did not catch up within 90 s: plain segments %s, "
                "live size %d" % (plain[:5], live_size))
    # Wait for masking to reach the window (mask_early before it).
    time.sleep(0.5)
    final = int(clock.now())
    code, took = dm.stop()
    ck.check(code == 0, "the catch-up run exited %s" % code)
    tally(dm)
    dm = None
    writer.stop()
    writer = None
    seen, odd = D.count_seqs(logs)
    lost, dup, extra = D.seq_report(seen, n)
    files = [x for x in os.listdir(logs)]
    print("cycles %d in %.1f s real (clock %s .. %s), lines %d, files %d"
          % (cycles, t_cycles, D.iso(clock.base), D.iso(final), n,
             len(files)))
    print("kill moments: %s" % ", ".join("%s %d" % kv for kv in
                                         sorted(modes.items())))
    print("kills by last log line: %s" % ", ".join("%s %d" % kv for kv in
                                           sorted(phases.items())))
    print("log: %s" % ", ".join("%s %d" % kv for kv in
                                sorted(stats.items())))
    print("privacy at each kill (independent reader): %d kills checked, "
          "%d full addresses past the window; %d more that passed it while "
          "no lethe ran (backlog of a daemon up less than %.0f s)" % (
              checked, leaked, backlogged, BACKLOG_S))
    k, ex = full_past(final - WINDOW)
    ck.check(k == 0, "after the catch-up run: %d full addresses past the "
             "window, e.g. %s" % (k, ex))
    print("lost %d, duplicated %d, extra %d, odd lines %d" % (
        len(lost), len(dup), len(extra), len(odd)))
    ck.check(not lost, "lost %d lines: seq %s" % (len(lost), D.ranges(lost)))
    if dup:
        ks = sorted(dup)
        ck.fail("duplicated %d lines: seq %s; e.g. %d in %s" % (
            len(dup), D.ranges(ks), ks[0], dup[ks[0]]))
    ck.check(not extra, "seqs never written: %s" % D.ranges(extra))
    ck.check(not odd, "odd lines (no seq or torn): %s" % odd[:5])
    tmp = D.temp_files(logs) + D.temp_files(state)
    ck.check(not tmp, "temp files left: %s" % tmp)
    rc_a, out, err = D.run_cmd(["-c", conf, "--now", str(final), "audit"])
    ck.check(rc_a == 0, "audit --now %s exit %d:\n%s%s" % (
        D.iso(final), rc_a, out[-2000:], err[-2000:]))
    ck.check(stats["truncated"] == 0, "lethe thought a file was truncated "
             "%d times (nobody truncates here)" % stats["truncated"])
    rc = ck.finish()
except D.Fail as e:
    ck.fail(str(e))
    rc = 1
finally:
    if dm is not None:
        dm.kill()
    if writer is not None:
        writer.kill()
    if rc != 0 or os.environ.get("E2E_KEEP"):
        print("kept %s (lethe log: %s)" % (root, logfile))
    else:
        shutil.rmtree(root, ignore_errors=True)
sys.exit(rc)
