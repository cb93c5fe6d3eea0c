#!/usr/bin/env python3
"""A fast writer under rotation: no line lost, none duplicated.

tests/e2e/writer.py appends numbered lines (format main) with os.write on
an O_APPEND descriptor and reopens its path on SIGUSR1; lethe runs on a
test clock 60 times faster than real time and signals it through its
pidfile (reopen = signal USR1 PIDFILE).

  A: >= 50,000 lines/s for ~15 s, rotate = 1m (a rotation every real
     second), the writer reopens at once, settle = 2s, compress_after = 1m
     (every segment is compressed soon after it is sealed).
  B: the same, but the writer reopens 2 s after the signal (like a server
     whose workers finish their requests on the old file) and rotations
     come every ~5 s (rotate = 5m).
  C: as B, but lethe runs without CAP_SYS_PTRACE and CAP_LEASE (setpriv;
     as systemd/lethe.service runs it) on a live file owned by nobody, so
     that it cannot see the writer (no read lease on another's file, no
     /proc/PID/fd of a more privileged process) and seals a segment
     only after 60 s without growth (it fails closed); the real clock (settle = 2s is 2 real seconds), a SIGUSR1 to
     lethe every 5 s (rotate = off), compress_after = 5s.  The writer
     writes all the time, so settle must not seal a segment before it
     reopened.

In the sanitizer pass the writer writes half as long in each part.

After each part (writer idle, every segment sealed and compressed, lethe
stopped with SIGTERM) every file of the set is read back with python's
gzip, not lethe: every sequence number appears exactly once, every line is
whole and as written.

    LETHE=/abs/path/to/lethe python3 tests/e2e/71-writer.py
"""

import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

NAME = "71-writer"
HERE = os.path.dirname(os.path.abspath(__file__))
WRITER = os.path.join(HERE, "writer.py")
sys.path.insert(0, HERE)
import proclib  # noqa: E402
from proclib import Fail, LetheLog, read_file, start, stop, wait_until  # noqa
import passlib as P  # noqa: E402
import writer as W  # noqa: E402  (addr_of: the address of line N)

RATE = 60000            # lines per second asked of the writer
MIN_RATE = 50000        # lines per second it must achieve
CLOCK_RATE = 60         # lethe's test clock: a minute per real second

ROTATED = re.compile(r'^lethe: rotated "(.*)" to "([^"/]*)"$')
SEALED = re.compile(r'^lethe: sealed "(.*)"$')
# (the new name is quoted in the contract, bare in lethe's output today)
COMPRESSED = re.compile(r'^lethe: ([a-z+]*compress[a-z+]*) "(.*)" to '
                        r'"?([^"/]*?)"?: (\d+) addresses masked$')
KNOWN = re.compile(r'^lethe: (rotated |sealed |\[\w+\]: reopen hook done|'
                   r'[a-z+]*compress|running: |no catalog yet|catalog: |'
                   r'rotating every live file now|stopping \(signal|'
                   r'stopped$|"[^"]*": a writer still holds it$)')
DEBUG = re.compile(r'^lethe: (tick at |"[^"]*" is gone while a job runs)')
STILL = re.compile(r'^lethe: "[^"]*": a writer still holds it$')
SEGMENT = re.compile(r'^access\.log-\d{8}T\d{4}Z(\.gz)?$')
LINE = re.compile(rb'^(\S+) - - \[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d '
                  rb'\+0000)\] "GET /seq/(\d+) HTTP/1\.1" 200 2 "-" '
                  rb'"lethe-writer" "([^"]*)"$')


def say(msg):
    print("%s: %s" % (NAME, msg), flush=True)


def run_part(root, lethe, tag, rotate, reopen_delay, duration,
             clock_rate=CLOCK_RATE, usr1_every=None, wrap=(), owner=None,
             blind=False, compress_after="1m"):
    """One part; returns a list of failure messages (empty: passed).
    rotate: lethe's rotate; usr1_every: also send SIGUSR1 to lethe every
    so many seconds while the writer writes, and once after; wrap: argv
    to run lethe under; owner: (uid, gid) of the live file; blind: lethe
    is expected not to see the writer (no "still holds it" line)."""
    fails = []
    base = os.path.join(root, tag)
    logs = os.path.join(base, "logs")
    state = os.path.join(base, "state")
    os.makedirs(logs, 0o755)
    os.chmod(logs, 0o755)
    live = os.path.join(logs, "access.log")
    pidfile = os.path.join(base, "writer.pid")
    stats = os.path.join(base, "writer.stats")
    conf = os.path.join(base, "lethe.conf")
    with open(live, "wb"):
        pass
    os.chmod(live, 0o640)
    if owner:
        os.chown(live, *owner)
    with open(conf, "w") as f:
        f.write("[global]\nstate_dir = %s\nsweep = 10s\n\n"
                "[web]\nlogs = %s\nformat = main\nwindow = 7d\n"
                "rotate = %s\nreopen = signal USR1 %s\nsettle = 2s\n"
                "compress_after = %s\nmask_early = 1m\nretain = 90d\n" % (
                    state, live, rotate, pidfile, compress_after))
    log = LetheLog(os.path.join(base, "lethe.err"))
    now0 = int(time.time())
    lp = wp = None
    try:
        lp, t0 = proclib.start_lethe(
            list(wrap) + [lethe, "-c", conf, "--now", str(now0), "-v", "run"],
            log, env={"LETHE_TEST_CLOCK_RATE": str(clock_rate)})
        # The writer's time stamps follow lethe's clock.
        wnow = now0 + (time.monotonic() - t0) * clock_rate
        with open(os.path.join(base, "writer.out"), "wb") as wout:
            wp = start([sys.executable, WRITER, "--path", live, "--pidfile",
                        pidfile, "--rate", str(RATE), "--batch", "1000",
                        "--duration", str(duration), "--reopen-delay",
                        str(reopen_delay), "--now", "%.3f" % wnow,
                        "--clock-rate", str(clock_rate), "--stats", stats,
                        "--linger"], stdin=subprocess.DEVNULL, stdout=wout,
                       stderr=subprocess.STDOUT)
        if usr1_every:
            def written():
                if time.monotonic() >= written.next:
                    lp.send_signal(signal.SIGUSR1)
                    written.next += usr1_every
                return os.path.exists(stats) or wp.poll() is not None
            written.next = time.monotonic() + usr1_every
        else:
            def written():
                return os.path.exists(stats) or wp.poll() is not None
        wait_until(written, duration + 30, "the writer to finish writing")
        if not os.path.exists(stats):
            raise Fail("the writer exited with %s:\n%s" % (
                wp.returncode, open(os.path.join(base, "writer.out"),
                                    errors="replace").read()[-2000:]))
        with open(stats) as f:
            ws = json.load(f)
        if lp.poll() is not None:
            raise Fail("lethe exited with %s during the run:\n%s" % (
                lp.returncode, log.tail()))

        if usr1_every:
            lp.send_signal(signal.SIGUSR1)      # the last lines
        # Drain: the live file empty (its last lines rotated away), every
        # segment sealed and compressed.
        def drained():
            lines = log.lines()
            rot = set()
            sealed = set()
            comp = set()
            for l in lines:
                m = ROTATED.match(l)
                if m:
                    rot.add(m.group(2))
                m = SEALED.match(l)
                if m:
                    sealed.add(os.path.basename(m.group(1)))
                m = COMPRESSED.match(l)
                if m:
                    comp.add(os.path.basename(m.group(2)))
            try:
                size = os.stat(live).st_size
            except FileNotFoundError:
                size = -1
            drained.state = (size, sorted(rot - sealed), sorted(rot - comp))
            return size == 0 and rot and rot <= sealed and rot <= comp
        drained.state = None
        try:
            # blind, lethe seals a segment after 60 s without growth
            wait_until(drained, 150 if blind else 60,
                       "every segment sealed and compressed",
                       interval=0.2)
        except Fail as e:
            size, unsealed, uncomp = drained.state
            raise Fail("%s: live file %d bytes; not sealed: %s; not "
                       "compressed: %s\n%s" % (e, size, unsealed, uncomp,
                                               log.tail()))
        rc = stop(lp)
        if rc != 0:
            fails.append("%s: lethe exit status %s after SIGTERM, expected "
                         "0" % (tag, rc))
        if not any(l == "lethe: stopped" for l in log.lines()):
            fails.append("%s: lethe did not log \"stopped\"" % tag)
    finally:
        if wp is not None:
            stop(wp, timeout=10)
        if lp is not None:
            stop(lp)

    lines = log.lines()
    nrot = sum(1 for l in lines if ROTATED.match(l))
    nstill = sum(1 for l in lines if STILL.match(l))
    if blind and nstill:
        fails.append("%s: lethe saw the writer (%d \"still holds it\" "
                     "lines) although it should be blind" % (tag, nstill))
    if not blind and reopen_delay and not nstill:
        fails.append("%s: lethe never logged that the writer still holds "
                     "a segment, although it reopens %s s after the signal"
                     % (tag, reopen_delay))
    other = [l for l in lines if not KNOWN.match(l) and not DEBUG.match(l)]
    for l in other[:10]:
        say("%s: lethe said: %s" % (tag, l))
    if len(other) > 10:
        say("%s: ... and %d more lines from lethe" % (tag, len(other) - 10))

    # ---- the independent reader
    total = ws["lines"]
    counts = bytearray(total)
    over = 0            # counts past 255 would wrap: count them apart
    bad = []
    names = sorted(os.listdir(logs))
    nseg = ngz = 0
    for name in names:
        if name != "access.log" and not SEGMENT.match(name):
            fails.append("%s: unexpected file in the log directory: %s" % (
                tag, name))
            continue
        data, gz = read_file(os.path.join(logs, name))
        if name != "access.log":
            nseg += 1
            ngz += gz
            if name.endswith(".gz") != gz:
                fails.append("%s: %s: gzip content %s, name says %s" % (
                    tag, name, gz, name.endswith(".gz")))
        if data and not data.endswith(b"\n"):
            bad.append("%s: ends in a partial line %r" % (name, data[-80:]))
        for ln in data.split(b"\n")[:-1] if data else []:
            m = LINE.match(ln)
            if not m:
                bad.append("%s: malformed line %r" % (name, ln[:200]))
                continue
            seq = int(m.group(3))
            want = W.addr_of(seq).encode()
            if m.group(1) != want or m.group(4) != want:
                bad.append("%s: line %d has addresses %s/%s, wrote %s" % (
                    name, seq, m.group(1), m.group(4), want))
            if seq >= total:
                bad.append("%s: line %d was never written (the writer "
                           "wrote 0..%d)" % (name, seq, total - 1))
                continue
            if counts[seq] == 255:
                over += 1
            else:
                counts[seq] += 1
    found = sum(counts) + over
    lost = [i for i in range(total) if counts[i] == 0]
    dup = [i for i in range(total) if counts[i] > 1]
    say("%s: writer %d lines in %.1f s (%d lines/s), %d reopens; lethe %d "
        "rotations, %d waits for the writer; %d segments (%d gzip); found %d "
        "lines, lost %d, duplicated %d, malformed %d" % (
            tag, total, ws["elapsed"], ws["rate"], ws["reopens"], nrot,
            nstill, nseg,
            ngz, found, len(lost), len(dup), len(bad)))
    if ws["rate"] < MIN_RATE:
        fails.append("%s: the writer achieved %d lines/s, the test needs "
                     ">= %d" % (tag, ws["rate"], MIN_RATE))
    every = usr1_every or {"1m": 60, "5m": 300}[rotate] / clock_rate
    if nrot < max(2, int(duration / every) // 2):
        fails.append("%s: only %d rotations in %.0f s" % (tag, nrot,
                                                          duration))
    if lost:
        fails.append("%s: %d lines lost, e.g. %s" % (tag, len(lost),
                                                     ranges(lost)))
    if dup:
        fails.append("%s: %d lines duplicated, e.g. %s" % (tag, len(dup),
                                                           ranges(dup)))
    for b in bad[:10]:
        fails.append("%s: %s" % (tag, b))
    if len(bad) > 10:
        fails.append("%s: ... %d more bad lines" % (tag, len(bad) - 10))
    if fails:
        say("%s: lethe's log:\n%s" % (tag, log.tail(60)))
    return fails


def ranges(seqs, n=8):
    """'3-7, 1000-1999, ...' for the first n runs of sorted seqs."""
    out = []
    start = prev = seqs[0]
    for s in seqs[1:] + [None]:
        if s is not None and s == prev + 1:
            prev = s
            continue
        out.append("%d" % start if start == prev else "%d-%d" % (start, prev))
        if len(out) == n or s is None:
            break
        start = prev = s
    return ", ".join(out)


def run_parts(root, lethe):
    fails = []
    div = P.count(1, 2, "each part's writing time divided by")
    parts = [("A", dict(rotate="1m", reopen_delay=0, duration=15 / div)),
             ("B", dict(rotate="5m", reopen_delay=2, duration=20 / div))]
    setpriv = shutil.which("setpriv")
    if setpriv:
        parts.append(("C", dict(
            rotate="off", reopen_delay=2, duration=20 / div, clock_rate=1,
            usr1_every=5, compress_after="5s", owner=(65534, 65534),
            blind=True,
            wrap=(setpriv, "--bounding-set=-sys_ptrace,-lease",
                  "--inh-caps=-sys_ptrace,-lease", "--"))))
    else:
        say("note: no setpriv: part C (lethe blind) not run")
    for tag, kw in parts:
        try:
            fails += run_part(root, lethe, tag, **kw)
        except Fail as e:
            fails.append("%s: %s" % (tag, e))
    return fails


def main():
    return proclib.main(NAME, "lethe reads /proc/*/fd of the writer",
                        run_parts)


if __name__ == "__main__":
    sys.exit(main())
