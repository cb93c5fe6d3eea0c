#!/usr/bin/env python3
"""Start-up recovery (issue 9, 5; spec F).

A. crash pairs: X beside X.gz (a gzip with lethe's header comment) is
   what a crash between the rename to X.gz and the unlink of X leaves.
   X is removed only when X.gz's gzip trailer (CRC-32 and size) matches
   X's content, never on a line count alone:
     access.log.1 + .1.gz   .1.gz is exactly .1 compressed: .1 removed
                            (and said), .1.gz kept;
     access.log.2 + .2.gz   the same number of lines and the same size,
                            other lines (the CRC differs): both kept,
                            every line of both still on disk.
   With once, and with the daemon at its start.
B. recovery runs before the first action: the daemon starts on what a
   crash left (a stale temp file ".NAME.lethe-XXXXXX", a crash pair, and
   one of its own segments not yet sealed, the reopen hook perhaps not
   run), beside a live file that is due for rotation at once.  Every
   recovery message (the temp file removed, the pair's X removed, the
   unsealed segment's hook: lines naming them; for the hook, a line with
   "unsealed", "at start", "recover", "crash" or "left" that names the
   segment or speaks of the hook) comes before the first action
   (rotated, sealed, compress, mask, deleted).

Today (d4df44a): A removes access.log.2 on its line count (its lines
lost); B rotates in its first tick, before "unsealed segments at start".

Env: E2E_KEEP=1."""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as D  # noqa: E402
import lethelib as L  # noqa: E402
import seamlib as S  # noqa: E402

t = L.Test("97-recovery")
NOW = L.NOW
NOW_ISO = L.NOW_ISO
root = t.mkdtemp()
ACTION = re.compile(r'^(rotated |sealed |compress|mask|deleted |delete )')


def mkdirs(*ds):
    for d in ds:
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)


def same_size_lines(corpus, t0, n, last_octet0):
    """n lines of one length (fixed-width address and sequence number)."""
    return [corpus.line(t0 + i * 60, addr="198.51.100.%d" % (
        last_octet0 + i % 50)) for i in range(n)]


def pairs(logs, corpus):
    t0 = NOW - 3 * S.DAY
    l1 = corpus.lines(t0, t0 + 3600, 200)
    d1 = corpus.text(l1)
    S.write_file(os.path.join(logs, "access.log.1"), d1, mtime=t0 + 3600)
    S.write_file(os.path.join(logs, "access.log.1.gz"), S.lethe_gzip(d1),
                 mtime=t0 + 3600)
    l2 = same_size_lines(corpus, t0 + 7200, 200, 100)
    l2z = same_size_lines(corpus, t0 + 7200, 200, 150)
    d2, d2z = corpus.text(l2), corpus.text(l2z)
    assert len(d2) == len(d2z) and d2 != d2z
    S.write_file(os.path.join(logs, "access.log.2"), d2, mtime=t0 + 9000)
    S.write_file(os.path.join(logs, "access.log.2.gz"), S.lethe_gzip(d2z),
                 mtime=t0 + 9000)
    return set(corpus.seqs(l1 + l2 + l2z))


def check_pairs(logs, corpus, must, text, what):
    p1 = os.path.join(logs, "access.log.1")
    t.check(not os.path.exists(p1), "%s: access.log.1 beside its exact "
            "compressed copy was not removed" % what)
    t.check(os.path.exists(p1 + ".gz"), "%s: access.log.1.gz is gone" % what)
    t.check(os.path.exists(p1) or re.search(r"access\.log\.1(?![.\d])",
                                            text), "%s: access.log.1 was "
            "removed without a word" % what)
    t.check(os.path.exists(os.path.join(logs, "access.log.2")),
            "%s: access.log.2 was removed beside an access.log.2.gz of the "
            "same line count and size but other content (a CRC-32 that "
            "does not match): its lines are gone" % what)
    c = S.census([logs], corpus)
    lost = c.lost(must)
    t.check(not lost and not c.doubled(), "%s: %d lines lost (seq %s), %d "
            "doubled" % (what, len(lost), S.ranges(lost), len(c.doubled())))
    return len(lost)


def rc_fixture(tag):
    d = os.path.join(root, tag)
    logs = os.path.join(d, "logs")
    state = os.path.join(d, "state")
    mkdirs(logs)
    os.makedirs(state, 0o700)
    cf = S.conf(os.path.join(d, "lethe.conf"), state, [
        ("web", {"logs": os.path.join(logs, "access.log"),
                 "format": "combined", "rotate": "off", "window": "7d",
                 "mask_early": "1h", "compress_after": "1h",
                 "retain": "20d", "settle": "5s"})])
    return d, logs, cf


def part_a():
    corpus = S.Corpus(971)
    d, logs, cf = rc_fixture("a-once")
    must = pairs(logs, corpus)
    r = S.run(S.LETHE, ["-c", cf, "--now", NOW_ISO, "once"])
    lost1 = check_pairs(logs, corpus, must, r.out + r.err, "A once")
    corpus = S.Corpus(972)
    d, logs, cf = rc_fixture("a-run")
    must = pairs(logs, corpus)
    dm = D.Daemon(cf, now=str(NOW), rate=60, env={"TZ": "UTC"},
                  logfile=os.path.join(d, "lethe.log"))
    try:
        dm.ready(60)
        end = time.monotonic() + 5
        while os.path.exists(os.path.join(logs, "access.log.1")) and \
                time.monotonic() < end:
            time.sleep(0.05)
        time.sleep(0.3)
        lost2 = check_pairs(logs, corpus, must, "\n".join(dm.texts()),
                            "A run")
        rc, _ = dm.stop()
        t.check(rc == 0, "A run: the daemon exited %s" % rc)
    except D.Fail as e:
        t.fail("A run: %s" % e)
        lost2 = None
    finally:
        dm.kill()
    t.info("A: crash pairs: lines lost with once %d, with the daemon %s" % (
        lost1, lost2))


def unsealed_line(s, seg):
    words = re.sub(r'"[^"]*"', "", s)
    return re.search(r"unsealed|at start|recover|crash|left", words, re.I) \
        and (re.search(r"hook|reopen", words) or seg in s)


def part_b():
    corpus = S.Corpus(973)
    d = os.path.join(root, "b")
    logs = os.path.join(d, "logs")
    state = os.path.join(d, "state")
    mkdirs(logs)
    os.makedirs(state, 0o700)
    base = S.epoch("2026-06-10T10:30:00Z")
    live = os.path.join(logs, "access.log")
    # due for rotation at start: its first line is before the 10:00 boundary
    S.write_file(live, corpus.text(corpus.lines(base - 3000, base - 5, 100)),
                 mtime=base - 5)
    seg = "access.log-20260610T0900Z"      # ours, rotated, not sealed
    S.write_file(os.path.join(logs, seg), corpus.text(corpus.lines(
        base - 7200, base - 3600, 100)), mtime=base - 3600)
    pair = "access.log-20260610T0800Z"     # a crash after its compress
    data = corpus.text(corpus.lines(base - 10800, base - 7200, 100))
    S.write_file(os.path.join(logs, pair), data, mtime=base - 7200)
    S.write_file(os.path.join(logs, pair + ".gz"), S.lethe_gzip(data),
                 mtime=base - 7200)
    tmp = ".%s.gz.lethe-AbC123" % pair      # a crash during a rewrite
    S.write_file(os.path.join(logs, tmp), b"partial", mtime=base - 7000)
    hooklog = os.path.join(d, "hook.log")
    hook = os.path.join(d, "hook.sh")
    with open(hook, "w") as f:
        f.write("#!/bin/sh\necho ran >> %s\n" % hooklog)
    os.chmod(hook, 0o755)
    cf = S.conf(os.path.join(d, "lethe.conf"), state, [
        ("web", {"logs": live, "format": "combined", "window": "7d",
                 "mask_early": "1h", "rotate": "1h",
                 "reopen": "command %s" % hook, "settle": "5s",
                 "compress_after": "1h", "retain": "20d"})])
    dm = D.Daemon(cf, now=str(base), rate=60, env={"TZ": "UTC"},
                  logfile=os.path.join(d, "lethe.log"))
    try:
        dm.ready(60)
        dm.wait_for(r"^rotated |^sealed ", 15, fail=False)
        time.sleep(0.5)
        lines = dm.texts()
        first_action = next((i for i, s in enumerate(lines)
                             if ACTION.search(s)), None)
        rec = {
            "stale temp file": next((i for i, s in enumerate(lines)
                                     if tmp in s), None),
            "crash pair": next((i for i, s in enumerate(lines)
                                if pair in s and tmp not in s and
                                not ACTION.search(s)), None),
            # the words outside the quoted paths (ROOT says "recovery"),
            # and about the hook or naming the segment
            "unsealed segment": next((i for i, s in enumerate(lines)
                                      if unsealed_line(s, seg)), None),
        }
        for what, i in rec.items():
            t.check(i is not None, "B: no recovery line for the %s; the "
                    "log:\n%s" % (what, "\n".join(lines[:15])))
            t.check(i is None or first_action is None or i < first_action,
                    "B: the recovery of the %s (line %s: %r) comes after "
                    "the first action (line %s: %r)" % (
                        what, i, lines[i] if i is not None else "",
                        first_action, lines[first_action]
                        if first_action is not None else ""))
        t.check(not os.path.exists(os.path.join(logs, tmp)), "B: the stale "
                "temp file is still there")
        t.check(not os.path.exists(os.path.join(logs, pair)), "B: the crash "
                "pair's plain file is still there")
        t.check(os.path.exists(hooklog), "B: the reopen hook never ran")
        t.info("B: first action at log line %s; recovery lines %s" % (
            first_action, ", ".join("%s %s" % kv for kv in rec.items())))
        if t.failures:
            print(L.indent("\n".join(lines[:15]), "    | "))
        rc, _ = dm.stop()
        t.check(rc == 0, "B: the daemon exited %s" % rc)
    except D.Fail as e:
        t.fail("B: %s" % e)
    finally:
        dm.kill()


part_a()
part_b()
t.done()
