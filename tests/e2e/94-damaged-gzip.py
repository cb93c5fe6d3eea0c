#!/usr/bin/env python3
"""gzip files at the edges (issue 9, 5; spec F), with once and with the
daemon; the independent reader is python's gzip module (which, as zcat,
reads a gzip file followed by NUL padding).

A. padded: gzip files followed by 4 KiB of NULs (gzip -t and zcat accept
   them; a file system or a copy tool can leave them so) are managed like
   any other: access.log.1.gz (past the window) is masked, its lines all
   there (each its original or its masked form), none full past the
   window; access.log.2.gz (past retain) is deleted; once exits 0 and
   calls neither corrupt.
B. damaged: truncated (cut at 60%: a readable beginning) and corrupt (a
   gzip header, then bytes that do not inflate: nothing readable).
   While in retention they are left alone, byte for byte, and reported
   (stderr names them; once exits 1); past retain they are deleted, by the
   newest time that can be read (a truncated file whose readable lines
   are past retain goes although its mtime is new; one whose readable
   lines are in retention stays although its mtime is old), else by the
   mtime, and the output says so (a line naming the file and the
   deletion).  Files:
     access.log.3.gz  truncated, readable lines 9-8 days old (past the
                      window, within retain), mtime 30 days: kept
     access.log.4.gz  truncated, readable lines 25-24 days old, mtime now:
                      deleted
     access.log.5.gz  corrupt, mtime 30 days: deleted
     access.log.6.gz  corrupt, mtime 2 days: kept
   A second once changes nothing more; once --now NOW+30d deletes 3 and 6.
C. B's files under `lethe run` (fast clock): the same deletions and the
   same files kept, said in its log.

Today (d4df44a): the padded files are called corrupt and never masked or
deleted; damaged files are never deleted past retain.

Env: E2E_KEEP=1."""

import gzip
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as D  # noqa: E402
import lethelib as L  # noqa: E402
import seamlib as S  # noqa: E402

t = L.Test("94-damaged-gzip")
NOW = L.NOW
NOW_ISO = L.NOW_ISO
LATER_ISO = S.iso(NOW + 30 * S.DAY)
WINDOW = 7 * S.DAY
root = t.mkdtemp()
corpus = S.Corpus(94)


def setup(tag):
    d = os.path.join(root, tag)
    logs = os.path.join(d, "logs")
    state = os.path.join(d, "state")
    os.makedirs(logs)
    os.chmod(logs, 0o755)
    os.makedirs(state, 0o700)
    cf = S.conf(os.path.join(d, "lethe.conf"), state, [
        ("web", {"logs": os.path.join(logs, "access.log"),
                 "format": "combined", "rotate": "off", "window": "7d",
                 "mask_early": "1h", "compress_after": "1h",
                 "retain": "20d", "settle": "5s"})])
    return d, logs, cf


def gzip_data(data):
    return gzip.compress(data, 6, mtime=0)


def put(logs, name, raw, mtime):
    p = os.path.join(logs, name)
    with open(p, "wb") as f:
        f.write(raw)
    os.chmod(p, 0o640)
    os.utime(p, (mtime, mtime))
    return p


def sha(p):
    return L.sha(p) if os.path.exists(p) else None


def said_deleted(text, path):
    """A line that names path and its deletion."""
    b = os.path.basename(path)
    return any(b in ln and re.search(r"delet", ln, re.I)
               for ln in text.split("\n"))


# ------------------------------------------------------------------ A
def part_a():
    d, logs, cf = setup("padded")
    l1 = corpus.lines(NOW - 9 * S.DAY, NOW - 8 * S.DAY, 400)
    l2 = corpus.lines(NOW - 25 * S.DAY, NOW - 24 * S.DAY, 400)
    pad = b"\0" * 4096
    p1 = put(logs, "access.log.1.gz", gzip_data(corpus.text(l1)) + pad,
             NOW - 8 * S.DAY)
    p2 = put(logs, "access.log.2.gz", gzip_data(corpus.text(l2)) + pad,
             NOW - 24 * S.DAY)
    if shutil.which("zcat"):
        zc = subprocess.run(["zcat", p1], capture_output=True)
        t.check(zc.returncode == 0 and zc.stdout == corpus.text(l1),
                "A: zcat does not read the padded file (test set-up)")
    r = S.run(S.LETHE, ["-c", cf, "--now", NOW_ISO, "once"])
    t.check(r.rc == 0, "A: once over NUL-padded gzip files exited %s\n%s" % (
        r.rc, r.show()))
    t.check("corrupt" not in r.err.lower(), "A: once calls a NUL-padded "
            "gzip corrupt:\n%s" % r.show())
    t.check(not os.path.exists(p2), "A: access.log.2.gz (NUL-padded, past "
            "retain) was not deleted")
    c = S.census([logs], corpus, cut=NOW - WINDOW,
                 early=NOW - WINDOW + S.HOUR)
    lost = c.lost(corpus.seqs(l1))
    t.check(not lost and not c.doubled() and not c.changed,
            "A: access.log.1.gz: lost %s, doubled %s, changed %s" % (
                S.ranges(lost), list(c.doubled())[:3], c.changed[:2]))
    t.check(not c.full_past, "A: access.log.1.gz (NUL-padded, past the "
            "window) still holds %d full addresses past the window" %
            len(c.full_past))
    t.check(not c.unreadable, "A: unreadable after once: %s" % c.unreadable)
    ra = S.run(S.LETHE, ["-c", cf, "--now", NOW_ISO, "audit"])
    t.check(ra.rc == 0, "A: audit after once exited %s\n%s" % (ra.rc,
                                                               ra.show()))
    t.info("A: padded: once exit %s; .1.gz full past the window %d, lost "
           "%d; .2.gz %s" % (r.rc, len(c.full_past), len(lost),
                             "deleted" if not os.path.exists(p2) else
                             "KEPT"))


# ------------------------------------------------------------------ B
def damaged(logs):
    l3 = corpus.lines(NOW - 9 * S.DAY, NOW - 8 * S.DAY, 2000)
    l4 = corpus.lines(NOW - 25 * S.DAY, NOW - 24 * S.DAY, 2000)
    g3 = gzip_data(corpus.text(l3))
    g4 = gzip_data(corpus.text(l4))
    junk = bytes(L.random.Random(94).randrange(256) for _ in range(3000))
    hdr = gzip_data(b"")[:10]
    files = {
        "access.log.3.gz": (put(logs, "access.log.3.gz",
                                g3[:len(g3) * 6 // 10], NOW - 30 * S.DAY),
                            "keep"),
        "access.log.4.gz": (put(logs, "access.log.4.gz",
                                g4[:len(g4) * 6 // 10], NOW), "delete"),
        "access.log.5.gz": (put(logs, "access.log.5.gz", hdr + junk,
                                NOW - 30 * S.DAY), "delete"),
        "access.log.6.gz": (put(logs, "access.log.6.gz", hdr + junk[::-1],
                                NOW - 2 * S.DAY), "keep"),
    }
    # the set-up is what it says: readable beginnings, and nothing
    for n, want in (("access.log.3.gz", l3), ("access.log.4.gz", l4)):
        data, _, err = S.read_any(files[n][0])
        t.check(err and data and corpus.text(want).startswith(data),
                "B: set-up: %s is not a truncated gzip with a readable "
                "beginning" % n)
    return files


def part_b():
    d, logs, cf = setup("damaged")
    files = damaged(logs)
    before = {n: sha(p) for n, (p, _) in files.items()}
    r = S.run(S.LETHE, ["-c", cf, "--now", NOW_ISO, "once"])
    text = r.out + r.err
    t.check(r.rc == 1, "B: once with damaged files in retention exited %s, "
            "expected 1\n%s" % (r.rc, r.show()))
    for n, (p, want) in files.items():
        if want == "keep":
            t.check(sha(p) == before[n], "B: %s (damaged, in retention) was "
                    "%s" % (n, "removed" if sha(p) is None else "changed"))
            t.check(n in r.err, "B: once did not report %s (damaged, kept) "
                    "on stderr\n%s" % (n, r.show()))
        else:
            t.check(sha(p) is None, "B: %s (damaged, past retain by %s) was "
                    "not deleted\n%s" % (n, "its readable lines" if n.endswith(
                        "4.gz") else "its mtime", r.show()))
            t.check(said_deleted(text, p), "B: once deleted %s but no line "
                    "says so\n%s" % (n, r.show()))
    snap = {n: sha(p) for n, (p, _) in files.items()}
    r2 = S.run(S.LETHE, ["-c", cf, "--now", NOW_ISO, "once"])
    t.check({n: sha(p) for n, (p, _) in files.items()} == snap,
            "B: a second once changed the damaged files\n%s" % r2.show())
    r3 = S.run(S.LETHE, ["-c", cf, "--now", LATER_ISO, "once"])
    for n in ("access.log.3.gz", "access.log.6.gz"):
        t.check(not os.path.exists(files[n][0]), "B: once --now %s: %s "
                "(damaged, now past retain) was not deleted\n%s" % (
                    LATER_ISO, n, r3.show()))
    t.info("B: once: exit %s; %s" % (r.rc, ", ".join(
        "%s %s" % (n, "kept" if os.path.exists(p) or snap[n] else "deleted")
        for n, (p, _) in sorted(files.items()))))


# ------------------------------------------------------------------ C
def part_c():
    d, logs, cf = setup("daemon")
    files = damaged(logs)
    before = {n: sha(p) for n, (p, _) in files.items()}
    dm = D.Daemon(cf, now=str(NOW), rate=60, env={"TZ": "UTC"},
                  logfile=os.path.join(d, "lethe.log"))
    try:
        dm.ready(60)
        end = time.monotonic() + 15
        while time.monotonic() < end and any(
                os.path.exists(p) for p, w in files.values() if w ==
                "delete"):
            time.sleep(0.1)
        time.sleep(0.5)     # (a kept file must stay: a little longer)
        log = "\n".join(dm.texts())
        for n, (p, want) in files.items():
            if want == "keep":
                t.check(sha(p) == before[n], "C: the daemon %s %s (damaged, "
                        "in retention)" % ("removed" if sha(p) is None else
                                           "changed", n))
            else:
                t.check(sha(p) is None, "C: the daemon did not delete %s "
                        "(damaged, past retain) in 15 s" % n)
                t.check(sha(p) is not None or said_deleted(log, p),
                        "C: the daemon deleted %s without saying so" % n)
        rc, _ = dm.stop()
        t.check(rc == 0, "C: the daemon exited %s" % rc)
        t.info("C: daemon: %s" % ", ".join(
            "%s %s" % (n, "kept" if os.path.exists(p) else "deleted")
            for n, (p, _) in sorted(files.items())))
        if t.failures:
            print(L.indent("\n".join(dm.texts()[-12:]), "    | "))
    except D.Fail as e:
        t.fail("C: %s" % e)
    finally:
        dm.kill()


part_a()
part_b()
part_c()
t.done()
