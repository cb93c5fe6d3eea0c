#!/usr/bin/env python3
"""A minimal config is a valid one (issue 9, 6; spec G): a set without
`reopen` defaults to rotate = off (lethe follows what others rotate).

A. [web] with logs, format, window and retain only: `lethe check` exits
   0, prints "configuration OK", and says in exactly one line that the
   set will not rotate (a line naming the set and rotation: "rotat" with
   "web"), and no error.
B. with that config, once works: the live file is left as it is (never
   rotated: no reopen), a segment past the window is masked (the
   independent reader: no full address past the window, no line lost),
   exit 0.
C. with that config, `lethe run` starts ("running:"), does not complain
   that it cannot rotate, and stops on SIGTERM with exit 0.

Today (d4df44a): check exits 1, "rotate = 1h (the default) needs reopen,
or set rotate = off"; once and run refuse the config too.

Env: E2E_KEEP=1."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as D  # noqa: E402
import lethelib as L  # noqa: E402
import seamlib as S  # noqa: E402

t = L.Test("99-defaults")
NOW = L.NOW
NOW_ISO = L.NOW_ISO
root = t.mkdtemp()
corpus = S.Corpus(99)
logs = os.path.join(root, "logs")
state = os.path.join(root, "state")
os.makedirs(logs)
os.chmod(logs, 0o755)
os.makedirs(state, 0o700)
live = os.path.join(logs, "access.log")
cf = os.path.join(root, "lethe.conf")
with open(cf, "w") as f:
    f.write("[global]\nstate_dir = %s\n\n[web]\nlogs = %s\nformat = combined"
            "\nwindow = 7d\nretain = 20d\n" % (state, live))
ll = corpus.lines(NOW - 3600, NOW - 60, 100)
S.write_file(live, corpus.text(ll), mtime=NOW - 60)
ls = corpus.lines(NOW - 9 * S.DAY, NOW - 8 * S.DAY, 200)
S.write_file(os.path.join(logs, "access.log.1"), corpus.text(ls),
             mtime=NOW - 8 * S.DAY)

# A
r = S.run(S.LETHE, ["-c", cf, "check"])
t.check(r.rc == 0, "A: check of a minimal config (logs, format, window, "
        "retain) exited %s\n%s" % (r.rc, r.show()))
t.check("configuration OK" in r.out, "A: check did not say "
        "\"configuration OK\"\n%s" % r.show())
said = [ln for ln in (r.out + r.err).split("\n")
        if re.search(r"rotat", ln, re.I) and "web" in ln]
t.check(len(said) == 1, "A: check must say in one line that [web] will not "
        "rotate (no reopen: rotate = off); lines about it: %s\n%s" % (
            said, r.show()))
t.check(not re.search(r"error|needs reopen", r.out + r.err, re.I),
        "A: check reports an error:\n%s" % r.show())
t.info("A: check exit %s; its line: %s" % (r.rc, said[:1]))

# B
st0 = os.stat(live)
r = S.run(S.LETHE, ["-c", cf, "--now", NOW_ISO, "once"])
t.check(r.rc == 0, "B: once with the minimal config exited %s\n%s" % (
    r.rc, r.show()))
st1 = os.stat(live)
t.check((st0.st_ino, st0.st_size) == (st1.st_ino, st1.st_size),
        "B: once touched the live file (rotate = off): %s" % sorted(
            os.listdir(logs)))
c = S.census([logs], corpus, cut=NOW - 7 * S.DAY)
lost = c.lost(corpus.seqs(ll + ls))
t.check(not c.full_past and not lost and not c.doubled(),
        "B: after once: %d full addresses past the window, %d lines lost, "
        "%d doubled\n%s" % (len(c.full_past), len(lost), len(c.doubled()),
                            r.show()))
t.info("B: once exit %s; full past the window %d, lost %d" % (
    r.rc, len(c.full_past), len(lost)))

# C
dm = D.Daemon(cf, now=NOW_ISO, env={"TZ": "UTC"},
              logfile=os.path.join(root, "lethe.log"))
try:
    got = dm.wait_for(r"^running: ", 30, fail=False)
    t.check(got is not None, "C: lethe run with the minimal config did not "
            "start:\n%s" % "\n".join(dm.texts()[-6:]))
    if got is not None:
        bad = [s for s in dm.texts() if re.search(
            r"cannot rotate|needs reopen", s)]
        t.check(not bad, "C: the daemon complains: %s" % bad)
        rc, _ = dm.stop()
        t.check(rc == 0, "C: the daemon exited %s" % rc)
    t.info("C: run %s" % ("started and stopped" if got else "did not "
                          "start: %s" % dm.texts()[-2:]))
except D.Fail as e:
    t.fail("C: %s" % e)
finally:
    dm.kill()
t.done()
