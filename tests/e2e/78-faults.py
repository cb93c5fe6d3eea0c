#!/usr/bin/env python3
"""Fault injection: a build with the fault seam of daemon/fsio.c (make
fault: build-fault/lethe, built here when missing; build-fault-san/lethe
in the sanitizer pass) makes the Nth open, read, write, fsync, rename,
unlink or close fail with a chosen errno (LETHE_FAULT=OP:N[+]:ERRNO; N+
fails that call and every later one, a disk that stays broken), and
counts the calls (LETHE_FAULT_COUNT).

A. once over a mixed directory (a live file due for rotation, a plain
   file to mask and compress, a gzip to mask, a plain file to compress,
   a gzip past retain to delete, files lethe does not manage): for every
   call N of every kind (EIO, ENOSPC; EINTR and EAGAIN where the wrapper
   retries; and "N+" ENOSPC), a fresh copy, once with the fault, then
   once without, within a time budget (FAULT_A_SECONDS, default 100,
   counted from the start, the build included, which walks every call
   on a 2-core machine; 40 in the sanitizer pass, which takes its calls
   round-robin over the kinds).
   After the faulty run: every original line on disk exactly once
   (masked or not, compared through the masked form that the ipaddress
   module computes), no line masked before its time, the unmanaged files
   untouched, no full address printed.  After the clean run: no temp
   file, every line exactly once, and the files as a fault-free run
   leaves them (a segment that the faulty run rotated is one run ahead:
   it equals the second fault-free run).

B. lethe run with a writer (fast clock): a rotation (rename, create,
   hook, seal, compress) with the Nth call of a kind failing, then a
   restart without the fault that must finish the work; after each: no
   temp file, every line written so far on disk exactly once.  N walks
   the calls that a fault-free cycle makes, round-robin over the kinds,
   within a time budget (FAULT_B_SECONDS, default 100; 25 in the
   sanitizer pass); the ones not reached are printed.

The normal build must ignore LETHE_FAULT (the seam is not compiled in).
Env: LETHE_FAULT_BIN (a fault build to use), FAULT_A_SECONDS,
FAULT_B_SECONDS, E2E_KEEP=1."""

import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as D  # noqa: E402
import lethelib as L  # noqa: E402
import passlib as P  # noqa: E402
import seamlib as S  # noqa: E402

OPS = ["open", "read", "write", "fsync", "rename", "unlink", "close"]
A_SECONDS = P.count(100.0, 40.0, "A: seconds of the once fault walk",
                    env="FAULT_A_SECONDS")
B_SECONDS = P.count(100.0, 25.0, "B: seconds of the run fault walk",
                    env="FAULT_B_SECONDS")

t = L.Test("78-faults")
T0 = time.monotonic()


FAULT_BIN = S.fault_binary(t)


def run(binary, args, env=None, timeout=60):
    e = dict(os.environ)
    for k in ("LETHE_FAULT", "LETHE_FAULT_COUNT", "JOURNAL_STREAM"):
        e.pop(k, None)
    if env:
        e.update(env)
    argv = [binary] + args
    try:
        p = subprocess.run(argv, capture_output=True, timeout=timeout,
                           env=e)
        return L.Result(argv, p.returncode,
                        p.stdout.decode("utf-8", "backslashreplace"),
                        p.stderr.decode("utf-8", "backslashreplace"))
    except subprocess.TimeoutExpired as x:
        return L.Result(argv, None, (x.stdout or b"").decode(
            "utf-8", "backslashreplace"), (x.stderr or b"").decode(
            "utf-8", "backslashreplace"), timed_out=True)


def temp_files(d):
    return sorted(n for n in os.listdir(d) if ".lethe-" in n)


# ------------------------------------------------------------ A: once

root = t.mkdtemp()
pristine = os.path.join(root, "pristine")
plogs = os.path.join(pristine, "logs")
os.makedirs(plogs, 0o755)
rng = L.random.Random(78)
now = L.NOW
LIVE = "access.log"
specs = [
    # spans the 12:00 rotation boundary (rotate 1h): once rotates it
    L.FileSpec(LIVE, L.gen_lines(rng, "main", now - 2 * L.HOUR, now - 60,
                                 60), live=True, uid=33, gid=4),
    # past the window, plain: mask + compress
    L.FileSpec("access.log.1", L.gen_lines(rng, "main", now - 9 * L.DAY,
                                           now - 8 * L.DAY, 150),
               uid=33, gid=4),
    # past the window, gzip: mask
    L.FileSpec("access.log.2.gz", L.gen_lines(rng, "main", now - 10 * L.DAY,
                                              now - 9 * L.DAY, 150),
               gz=True, uid=33, gid=4, mode=0o604),
    # inside the window, plain: compress only
    L.FileSpec("access.log.3", L.gen_lines(rng, "main", now - 3 * L.DAY,
                                           now - 2 * L.DAY, 100)),
    # past retain: delete
    L.FileSpec("access.log.4.gz", L.gen_lines(rng, "main", now - 30 * L.DAY,
                                              now - 29 * L.DAY, 50),
               gz=True),
]
DELETED = "access.log.4.gz"
for s in specs:
    s.write(plogs)
# Not ours: must never change.
UNMANAGED = {"README.txt": b"not a log\n", "access.log.bak": b"a backup\n",
             "error.log": b"203.0.113.9 unmanaged\n"}
for n, data in UNMANAGED.items():
    with open(os.path.join(plogs, n), "wb") as f:
        f.write(data)
os.symlink("access.log.1", os.path.join(plogs, "link.log"))

# Every line by its original and by its masked form.
BY_FORM = {}
for s in specs:
    for ln in s.lines:
        BY_FORM.setdefault(ln.orig, ln)
        BY_FORM.setdefault(ln.masked, ln)
ALL_FULL = set(a for s in specs for ln in s.lines for a in ln.full)
EARLY = now - L.WINDOW + L.MASK_EARLY


def expected_multiset(deleted):
    c = collections.Counter()
    for s in specs:
        if s.name == DELETED and deleted:
            continue
        for ln in s.lines:
            c[ln.masked] += 1
    return c


def write_a_conf(base):
    logs = os.path.join(base, "logs")
    return L.write_conf(os.path.join(base, "lethe.conf"),
                        os.path.join(base, "state"), [
        ("web", L.set_conf(os.path.join(logs, LIVE), rotate="1h",
                           reopen="command /usr/bin/touch %s" %
                           os.path.join(logs, LIVE)))])


def fresh(name):
    base = os.path.join(root, name)
    if os.path.exists(base):
        shutil.rmtree(base)
    shutil.copytree(pristine, base, symlinks=True)
    os.mkdir(os.path.join(base, "state"), 0o700)
    # copytree keeps modes and times; owners too (we are root)
    for n in os.listdir(plogs):
        st = os.lstat(os.path.join(plogs, n))
        os.lchown(os.path.join(base, "logs", n), st.st_uid, st.st_gid)
    return base, os.path.join(base, "logs"), write_a_conf(base)


def once(binary, conf, env=None):
    return run(binary, ["-c", conf, "--now", L.NOW_ISO, "once"], env=env)


def final_state(logs):
    """Snapshot of the managed files; the live file is compared apart
    (a new one is made at every rotation: its mtime is the real time)."""
    snap = {k: v for k, v in L.snapshot(logs).items()
            if k not in UNMANAGED and k != "link.log"}
    live = snap.pop(LIVE, None)
    return snap, live


CLAIM = re.compile(r"^\.(.+)\.lethe-claim-(\d+)-[A-Za-z0-9]{6}$")


def line_problems(logs, allow_pairs):
    """Account for every line on disk.  Returns (problems, pairs): pairs
    are X beside X.gz (ours, same lines): the state a crash between the
    rename and the unlink of a compression leaves, for the next run."""
    probs = []
    got = collections.Counter()
    per_file = {}
    names = sorted(n for n in os.listdir(logs) if not n.startswith(".") and
                   n not in UNMANAGED and n != "link.log")
    # A fault between lethe's claim of a file (".NAME.lethe-claim-INO-X")
    # and the end of its act leaves the original under that private
    # name: its lines are on disk, and the next run puts it back (no
    # file has INO) or removes it (its replacement, inode INO, is there).
    inodes = {os.lstat(os.path.join(logs, n)).st_ino for n in names}
    for n in sorted(os.listdir(logs)):
        m = CLAIM.match(n)
        if m and int(m.group(2)) not in inodes:
            names.append(n)
    for n in names:
        m = CLAIM.match(n)
        data, _ = L.read_content(os.path.join(logs, n))
        if m:
            n = m.group(1)   # its lines count as the file's it was
        lines, nl = L.split_lines(data)
        if lines and not nl:
            probs.append("%s: no newline at the end" % n)
        canon = []
        for g in lines:
            ln = BY_FORM.get(g)
            if ln is None:
                probs.append("%s: a line that is no original nor its "
                             "masked form: %s" % (n, L.show_bytes(g)))
                continue
            if g == ln.masked and g != ln.orig and ln.time >= EARLY:
                probs.append("%s: line masked before its time (%s)" % (
                    n, L.epoch_to_iso(ln.time)))
            canon.append(ln.masked)
        per_file[n] = canon
        got.update(canon)
    pairs = []
    for n in names:
        if n + ".gz" in per_file and not n.endswith(".gz"):
            with open(os.path.join(logs, n + ".gz"), "rb") as f:
                ours = b"lethe\0" in f.read(64)
            if ours and collections.Counter(per_file[n]) == \
                    collections.Counter(per_file[n + ".gz"]):
                pairs.append(n)
                if allow_pairs:
                    got.subtract(collections.Counter(per_file[n]))
    exp = expected_multiset(DELETED not in per_file)
    lost = exp - got
    extra = got - exp
    if lost:
        probs.append("%d lines lost (e.g. %s)" % (
            sum(lost.values()), L.show_bytes(next(iter(lost)), 100)))
    if extra:
        probs.append("%d lines duplicated (e.g. %s)" % (
            sum(extra.values()), L.show_bytes(next(iter(extra)), 100)))
    return probs, pairs


def unmanaged_changed(logs):
    bad = []
    for n, data in UNMANAGED.items():
        p = os.path.join(logs, n)
        try:
            with open(p, "rb") as f:
                if f.read() != data:
                    bad.append(n)
        except FileNotFoundError:
            bad.append(n + " (removed)")
    if os.readlink(os.path.join(logs, "link.log")) != "access.log.1":
        bad.append("link.log")
    return bad


# The normal build has no seam: LETHE_FAULT must change nothing.
base, logs, conf = fresh("normal")
cnt = os.path.join(root, "normal.count")
r = once(L.LETHE, conf, env={"LETHE_FAULT": "any:1:EIO",
                             "LETHE_FAULT_COUNT": cnt})
t.check(r.rc == 0 and "fault seam" not in r.err and
        not os.path.exists(cnt),
        "the normal build (%s) reacts to LETHE_FAULT: the seam is compiled "
        "in\n%s" % (L.LETHE, r.show()))

# Two fault-free runs: the reference states, and the calls to walk.
base, logs, conf = fresh("ref")
cnt = os.path.join(root, "ref.count")
r1 = once(FAULT_BIN, conf, env={"LETHE_FAULT_COUNT": cnt})
t.check(r1.rc == 0, "fault-free once (fault build) failed\n%s" % r1.show())
counts = S.read_counts(cnt)
if counts is None:
    t.fail("the fault build wrote no LETHE_FAULT_COUNT file: the seam is "
           "missing\n%s" % r1.show())
    t.done()
REF1, REF1_LIVE = final_state(logs)
r2 = once(L.LETHE, conf)
t.check(r2.rc == 0, "second fault-free once failed\n%s" % r2.show())
REF2, REF2_LIVE = final_state(logs)
p, _ = line_problems(logs, False)
t.check(not p, "fault-free runs: %s" % p)
t.info("once, fault-free: calls %s" % ", ".join(
    "%s %d" % (o, counts[o]) for o in OPS + ["any"]))

plan = []
for op in OPS:
    for n in range(1, counts[op] + 1):
        errs = ["EIO", "ENOSPC"]
        if op in ("read", "write", "open", "fsync", "rename", "unlink"):
            errs.append("EINTR")
        if op == "write":
            errs.append("EAGAIN")
        for e in errs:
            plan.append("%s:%d:%s" % (op, n, e))
# A disk that stays full: every call from the Nth on fails.
for n in range(1, counts["any"] + 1):
    plan.append("any:%d+:ENOSPC" % n)
if P.sanitizer_pass():
    # Its budget reaches a part of the plan (the normal pass's, all of
    # it): round-robin over the kinds, each from its first call, as in B.
    queues = collections.OrderedDict()
    for spec in plan:
        queues.setdefault(spec.split(":")[0], []).append(spec)
    plan = []
    while any(queues.values()):
        for q in queues.values():
            if q:
                plan.append(q.pop(0))

stats = collections.Counter()
pair_specs = []
bad_specs = collections.Counter()
a_deadline = T0 + A_SECONDS
done_a = 0
for spec in plan:
    if time.monotonic() > a_deadline:
        break
    done_a += 1
    base, logs, conf = fresh("a")
    cnt = os.path.join(root, "a.count")
    if os.path.exists(cnt):
        os.unlink(cnt)
    rf = once(FAULT_BIN, conf, env={"LETHE_FAULT": spec,
                                    "LETHE_FAULT_COUNT": cnt})
    c = S.read_counts(cnt) or {}
    fired = c.get("fired", 0) > 0
    stats["fired" if fired else "not reached"] += 1
    what = "LETHE_FAULT=%s" % spec
    kind = spec.split(":")[0] + ":" + spec.split(":")[2]
    if rf.timed_out or rf.rc is None or rf.rc < 0 or rf.rc > 1:
        t.fail("%s: once exited %s\n%s" % (what, rf.rc, rf.show()),
               kind="crash " + kind)
        bad_specs[spec] += 1
    if fired and rf.rc == 1:
        stats["faulty run exit 1"] += 1
        t.check(rf.err.strip() != "", "%s: exit 1 without a message" % what,
                kind="silent " + kind)
    leaks = L.leaked_addresses(rf.out + rf.err, ALL_FULL)
    t.check(not leaks, "%s: full addresses printed: %s" % (what, leaks[:3]),
            kind="leak")
    probs, pairs = line_problems(logs, True)
    if pairs:
        stats["left X beside X.gz"] += 1
        pair_specs.append(spec)
    for pb in probs:
        t.fail("%s, after the faulty run: %s\n%s" % (what, pb, rf.show(1500)),
               kind="lines after fault " + kind)
        bad_specs[spec] += 1
    um = unmanaged_changed(logs)
    t.check(not um, "%s: unmanaged files changed: %s" % (what, um),
            kind="unmanaged")
    if temp_files(logs):
        stats["temp file left by the faulty run"] += 1
    # the next run, without the fault
    rc = once(L.LETHE, conf)
    t.check(rc.rc == 0, "%s: the clean run after it exited %s\n%s" % (
        what, rc.rc, rc.show(1500)), kind="clean run fails " + kind)
    tmp = temp_files(logs)
    t.check(not tmp, "%s: temp files survive the next run: %s" % (what, tmp),
            kind="temp " + kind)
    probs, pairs = line_problems(logs, False)
    for pb in probs + ["%s beside %s.gz" % (x, x) for x in pairs]:
        t.fail("%s, after the clean run: %s\n%s" % (what, pb, rc.show(1500)),
               kind="lines after clean " + kind)
        bad_specs[spec] += 1
    snap, live = final_state(logs)
    if snap != REF1 and snap != REF2:
        d1 = L.diff_snapshots(REF1, snap)
        d2 = L.diff_snapshots(REF2, snap)
        t.fail("%s: after the clean run the files differ from a fault-free "
               "run: %s" % (what, d1 if len(d1) <= len(d2) else d2),
               kind="final state " + kind)
        bad_specs[spec] += 1
    elif snap == REF2 and snap != REF1:
        stats["one run ahead (rotated in the faulty run)"] += 1
    if live is None:
        t.fail("%s: no live file after the clean run" % what,
               kind="live missing")
    elif live[1:5] != REF1_LIVE[1:5]:
        stats["live file made by the hook, not lethe (create failed)"] += 1
    # and a third run changes nothing more (the work is finished)
    r3 = once(L.LETHE, conf)
    snap3, _ = final_state(logs)
    t.check(r3.rc == 0 and snap3 == REF2, "%s: a third run still changed "
            "files or failed: %s\n%s" % (what, L.diff_snapshots(REF2, snap3),
                                         r3.show(1500)),
            kind="not finished " + kind)
    shutil.rmtree(base)

t.info("once: %d of %d failure points exercised in %.0f s (the fault "
       "fired in %d)" % (done_a, len(plan), time.monotonic() - T0,
                         stats["fired"]))
for k, v in sorted(stats.items()):
    t.info("  %s: %d" % (k, v))
if pair_specs:
    t.note("X left beside X.gz after the faulty run (the next run removed "
           "X): %s" % ", ".join(pair_specs[:10]))
if done_a < len(plan):
    t.note("once: time budget (%d s) reached: %s ... not run" % (
        A_SECONDS, plan[done_a]))


# ------------------------------------------------------------ B: run

B_RATE = 300         # settle 5s = 17 ms real, compress_after 1m = 0.2 s
B_LPS = 200
broot = os.path.join(root, "b")
blogs = os.path.join(broot, "logs")
bstate = os.path.join(broot, "state")
os.makedirs(blogs, 0o755)
os.makedirs(bstate, 0o700)
bconf = os.path.join(broot, "lethe.conf")
blive = os.path.join(blogs, "access.log")
bpid = os.path.join(broot, "writer.pid")
blog = os.path.join(broot, "lethe.log")
D.write_conf(bconf, D.conf_text(bstate, [("web", {
    "logs": blive, "format": "combined", "window": "7d", "rotate": "1d",
    "reopen": "signal USR1 %s" % bpid, "settle": "5s",
    "compress_after": "1m", "mask_early": "1h", "retain": "90d"})],
    sweep="10m"))     # 2 s real: few catalog flushes between the steps
D.LETHE = L.LETHE
# the next daily rotation is 23.5 h away: 280 s real
clock = D.Clock(D.iso_to_epoch("2026-06-01T00:30:00Z"), B_RATE)
writer = None
dm = None


def plain_segments():
    return [n for n in os.listdir(blogs) if not n.startswith(".") and
            n != "access.log" and not n.endswith(".gz")]


def daemon(binary, env=None):
    D.LETHE = binary
    try:
        return D.Daemon(bconf, now=clock.now_arg(), rate=B_RATE, env=env,
                        logfile=blog)
    finally:
        D.LETHE = L.LETHE


def cycle(dm, timeout=4.0):
    """USR1, then wait for the segment to be compressed (or timeout)."""
    mk = dm.mark()
    dm.signal(signal.SIGUSR1)
    return dm.wait_for(r"compress \"[^\"]*\" to|rewrote ", timeout,
                       start=mk, fail=False)


def catch_up(what, limit=20.0):
    """A clean daemon until no plain segment and no temp file is left."""
    dm = daemon(L.LETHE)
    ok = False
    try:
        if dm.wait_for(r"^running: ", 30, fail=False) is None:
            t.fail("%s: the clean daemon did not start:\n%s" % (
                what, "\n".join(dm.texts()[-10:])), kind="B start")
            return False
        end = time.monotonic() + limit
        stable = 0
        while time.monotonic() < end:
            if not plain_segments() and not temp_files(blogs) and \
                    os.path.exists(blive):
                stable += 1
                if stable >= 3:
                    ok = True
                    break
            else:
                stable = 0
            time.sleep(0.05)
        rc, _ = dm.stop()
        t.check(rc == 0, "%s: the clean daemon exited %s" % (what, rc),
                kind="B clean exit")
    finally:
        dm.kill()
    t.check(ok, "%s: the clean daemon did not finish the work within %ds: "
            "plain segments %s, temp files %s, live file %s" % (
                what, limit, plain_segments(), temp_files(blogs),
                os.path.exists(blive)), kind="B not finished")
    return ok


def seq_check(what):
    """Every line written so far on disk once (the live file's last line
    may be half written right now)."""
    seen, odd = D.count_seqs(blogs)
    odd = [o for o in odd if o[0] != "access.log"]
    dup = {k: v for k, v in seen.items() if len(v) > 1}
    top = max(seen) if seen else -1
    lost = [i for i in range(top + 1) if i not in seen]
    t.check(not dup, "%s: %d lines duplicated: seq %s, e.g. %s" % (
        what, len(dup), D.ranges(sorted(dup)), sorted(dup.items())[:1]),
        kind="B dup")
    t.check(not lost, "%s: %d lines lost: seq %s" % (what, len(lost),
                                                      D.ranges(lost)),
            kind="B lost")
    t.check(not odd, "%s: odd lines: %s" % (what, odd[:3]), kind="B odd")
    return not dup and not lost


b_start = time.monotonic()
try:
    writer = D.Writer(broot, blive, bpid, B_LPS, clock)
    # a fault-free cycle, counted
    cnt = os.path.join(broot, "count")
    dm = daemon(FAULT_BIN, env={"LETHE_FAULT_COUNT": cnt})
    dm.ready(30)
    time.sleep(0.3)
    got = cycle(dm)
    time.sleep(0.3)
    dm.stop()
    dm = None
    t.check(got is not None, "fault-free: the rotated segment was not "
            "compressed within 4 s")
    bcounts = S.read_counts(cnt) or {}
    t.info("run, one fault-free rotation cycle: calls %s" % ", ".join(
        "%s %d" % (o, bcounts.get(o, 0)) for o in OPS + ["any"]))
    catch_up("fault-free")
    seq_check("fault-free")
    # round-robin over the kinds: N = 1, 2, ... of each in turn
    queues = []
    for op in OPS:
        q = ["%s:%d:%s" % (op, n, "EIO" if n % 2 else "ENOSPC")
             for n in range(1, bcounts.get(op, 0) + 1)]
        queues.append(q)
    q = ["any:%d+:ENOSPC" % n for n in range(1, bcounts.get("any", 0) + 1,
                                             max(1, bcounts.get("any", 0)
                                                 // 12))]
    queues.append(q)
    bplan = []
    while any(queues):
        for q in queues:
            if q:
                bplan.append(q.pop(0))
    bdone = []
    stuck = []
    bfired = 0
    b_deadline = time.monotonic() + B_SECONDS
    for spec in bplan:
        if time.monotonic() > b_deadline:
            break
        bdone.append(spec)
        what = "run LETHE_FAULT=%s" % spec
        if os.path.exists(cnt):
            os.unlink(cnt)
        dm = daemon(FAULT_BIN, env={"LETHE_FAULT": spec,
                                    "LETHE_FAULT_COUNT": cnt})
        if dm.wait_for(r"^running: ", 30, fail=False) is not None:
            time.sleep(0.1)
            cycle(dm, timeout=1.0)
            time.sleep(0.1)
            if "+" not in spec and dm.alive():
                # a fault that passes: the daemon itself must recover
                end = time.monotonic() + 4
                while time.monotonic() < end and (
                        plain_segments() or temp_files(blogs)):
                    time.sleep(0.05)
                if not t.check(not plain_segments() and
                               not temp_files(blogs), "%s: the daemon "
                               "did not recover from a passing fault "
                               "within 4 s (20 min on its clock): plain "
                               "segments %s, temp files %s; last lines:"
                               "\n%s" % (what, plain_segments(),
                                         temp_files(blogs), "\n".join(
                                             dm.texts()[-8:])),
                               kind="B no recovery"):
                    stuck.append(spec)
            if dm.alive():
                rc, _ = dm.stop()
            else:
                rc = dm.proc.poll()
        else:
            dm.kill()
            rc = dm.proc.poll()
        leaks = [s for s in dm.texts() if D.SEQ_RE.search(s.encode())]
        t.check(not leaks, "%s: log lines hold raw log lines: %s" % (
            what, leaks[:2]), kind="B leak")
        t.check(rc is not None and rc >= 0, "%s: the daemon died of "
                "signal %s:\n%s" % (what, -rc if rc else rc,
                                   "\n".join(dm.texts()[-10:])),
                kind="B crash")
        dm = None
        c = S.read_counts(cnt) or {}
        bfired += c.get("fired", 0) > 0
        catch_up(what)
        seq_check(what)
        tmp = temp_files(blogs) + temp_files(bstate)
        t.check(not tmp, "%s: temp files survive the restart: %s" % (
            what, tmp), kind="B temp")
    n = writer.pause()
    catch_up("final")
    writer.stop()
    writer = None
    seen, odd = D.count_seqs(blogs)
    lost, dup, extra = D.seq_report(seen, n)
    t.check(not lost and not dup and not extra and not odd,
            "final: %d lines written; lost %s, duplicated %s, extra %s, "
            "odd %s" % (n, D.ranges(lost), D.ranges(sorted(dup)),
                        D.ranges(extra), odd[:3]))
    t.info("run: %d of %d failure points exercised in %.0f s (the fault "
           "fired in %d); %d lines written, each on disk once" % (
               len(bdone), len(bplan), time.monotonic() - b_start, bfired,
               n))
    if stuck:
        t.info("run: the daemon did not recover by itself after: %s" %
               ", ".join(stuck))
    if len(bdone) < len(bplan):
        left = collections.defaultdict(list)
        for spec in bplan[len(bdone):]:
            op, k, _ = spec.split(":")
            left[op].append(k)
        t.note("run: time budget (%d s) reached; not run: %s" % (
            B_SECONDS, "; ".join("%s N=%s" % (op, ",".join(v))
                                 for op, v in left.items())))
except D.Fail as e:
    t.fail(str(e))
finally:
    if dm is not None:
        dm.kill()
    if writer is not None:
        writer.kill()
    if t.failures:
        os.environ["E2E_KEEP"] = "1"
        print("daemon log: %s" % blog)

t.info("total %.0f s" % (time.monotonic() - T0))
t.done()
