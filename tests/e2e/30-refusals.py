#!/usr/bin/env python3
"""What lethe must refuse: a symlink in place of a rotated file (pointing
at a stand-in for /etc/shadow), a hard-linked rotated file, a FIFO, a socket
and a directory with rotated names, and a log directory writable by others
or by a non-root group.  Each is refused with a message naming it, nothing
outside is touched, the other files are still processed."""

import os
import socket
import stat

import lethelib as L

t = L.Test("30-refusals")
L.require_root(t)
root = t.mkdtemp()
rng = L.random.Random(30)
now = L.NOW
old0, old1 = now - 12 * L.DAY, now - 11 * L.DAY     # past the window


def old_spec(name, **kw):
    return L.FileSpec(name, L.gen_lines(rng, "main", old0, old1, 30,
                                        weird=False), **kw)


def live_spec():
    return L.FileSpec("access.log", L.gen_lines(rng, "main", now - 5 * L.HOUR,
                                                now - 60, 20), live=True)


# ---- 1. refused files in a safe directory
outside = os.path.join(root, "outside")
logs = os.path.join(root, "logs")
state = os.path.join(root, "state")
for d in (outside, logs, state):
    os.mkdir(d, 0o755)
shadow = old_spec("shadow", mode=0o640, gid=42)
shadow.write(outside, mtime=old1 - 5)
hard = old_spec("hard", mode=0o644)
hard.write(outside, mtime=old1 - 7)
live_spec().write(logs)
good = old_spec("access.log.1")
good.write(logs)
os.symlink(os.path.join(outside, "shadow"), os.path.join(logs, "access.log.2"))
os.symlink("../outside/shadow", os.path.join(logs, "access.log.7.gz"))
os.mkfifo(os.path.join(logs, "access.log.3"), 0o644)
os.mkdir(os.path.join(logs, "access.log.4"))
with open(os.path.join(logs, "access.log.4", "inside"), "wb") as f:
    f.write(old_spec("x").content())
os.link(os.path.join(outside, "hard"), os.path.join(logs, "access.log.5"))
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(os.path.join(logs, "access.log.6"))
s.close()
conf = L.write_conf(os.path.join(root, "lethe.conf"), state, [
    ("web", L.set_conf(os.path.join(logs, "access.log")))])
refused = ["access.log.2", "access.log.7.gz", "access.log.3", "access.log.4",
           "access.log.5", "access.log.6"]
why = {"access.log.2": "symlink", "access.log.7.gz": "relative symlink",
       "access.log.3": "FIFO", "access.log.4": "directory",
       "access.log.5": "hard link", "access.log.6": "socket"}

out_before = L.snapshot(outside)
logs_before = L.snapshot(logs)
allout = ""
for cmd in (["once", "--dry-run"], ["audit"], ["once"]):
    r = L.run(["-c", conf, "--now", L.NOW_ISO] + cmd, timeout=60)
    allout += r.out + r.err
    name = " ".join(cmd)
    if r.timed_out:
        t.fail("%s hung (FIFO?), killed after 60 s\n%s" % (name, r.show()))
        continue
    for n in refused:
        p = os.path.join(logs, n)
        if cmd == ["audit"]:
            # audit reports problem files as "PATH: ERROR-TEXT"
            t.check(p in r.out + r.err, "audit: no message naming the "
                    "refused %s %s" % (why[n], p), kind="not named audit")
            continue
        t.check(p in r.err, "%s: no message on stderr naming the refused "
                "%s %s" % (name, why[n], p), kind="not named " + name)
        t.check(p not in r.out, "%s: stdout names refused %s %s: %r" % (
            name, why[n], p, [l for l in r.lines() if p in l]))
    if cmd == ["once"]:
        if r.rc == 1:
            t.note("once exits 1 over refused files (contract: refusals are "
                   "warnings, exit 0 unless an error)\n" + r.show())
        else:
            t.check(r.rc == 0, "once: exit %s\n%s" % (r.rc, r.show()))
        gp = os.path.join(logs, "access.log.1")
        t.check("mask+compress %s -> %s.gz" % (gp, gp) in r.lines(),
                "once: the good file was not processed\n" + r.show())
    if cmd == ["audit"]:
        t.check(r.rc == 1, "audit: exit %s, expected 1 (access.log.1 has "
                "full addresses)\n%s" % (r.rc, r.show()))
    if cmd == ["once", "--dry-run"]:
        d = L.diff_snapshots(logs_before, L.snapshot(logs))
        t.check(not d, "--dry-run changed the log dir: %s" % d[:5])
d = L.diff_snapshots(out_before, L.snapshot(outside))
for x in d:
    if x.startswith("hard:") and "nlink" in x and "content" not in x:
        continue
    t.fail("a file outside the log dir changed: " + x)
after = L.snapshot(logs)
for n in refused:
    t.check(after.get(n) == logs_before.get(n), "refused %s %s changed: %s"
            % (why[n], n, L.diff_snapshots({n: logs_before.get(n)},
                                           {n: after.get(n)})))
t.check("access.log.4/inside" in after and
        after["access.log.4/inside"] == logs_before["access.log.4/inside"],
        "the file inside directory access.log.4 changed")
p = os.path.join(logs, "access.log.2")
t.check(os.path.islink(p) and os.readlink(p) ==
        os.path.join(outside, "shadow"), "symlink access.log.2 changed")
p = os.path.join(logs, "access.log.3")
t.check(os.path.lexists(p) and stat.S_ISFIFO(os.lstat(p).st_mode),
        "FIFO access.log.3 is gone")
t.check(os.stat(os.path.join(outside, "hard")).st_nlink == 2,
        "hard link access.log.5 was broken (outside/hard nlink != 2)")
extra = set(after) - set(logs_before) - {"access.log.1.gz"}
extra.discard("access.log.1")
t.check(not extra, "unexpected new files in the log dir: %s" % sorted(extra))
leaks = L.leaked_addresses(allout, set(a for sp in (shadow, hard, good)
                                       for l in sp.lines for a in l.full))
t.check(not leaks, "full addresses printed: %s" % leaks[:5])


# ---- 2. unsafe directories: the whole set is refused, exit 1
def unsafe(tag, mode, gid):
    base = os.path.join(root, tag)
    os.mkdir(base, 0o700)
    bad = os.path.join(base, "bad")
    ok = os.path.join(base, "ok")
    st = os.path.join(base, "state")
    for d in (bad, ok, st):
        os.mkdir(d, 0o755)
    for d in (bad, ok):
        live_spec().write(d)
        old_spec("access.log.1").write(d)
    os.chown(bad, 0, gid)
    os.chmod(bad, mode)
    c = L.write_conf(os.path.join(base, "lethe.conf"), st, [
        ("ok", L.set_conf(os.path.join(ok, "access.log"))),
        ("bad", L.set_conf(os.path.join(bad, "access.log")))])
    b0 = L.snapshot(bad)
    r = L.run(["-c", c, "--now", L.NOW_ISO, "once"], timeout=60)
    desc = "log dir mode %o gid %d" % (mode, gid)
    t.check(r.rc == 1, "%s: once exit %s, expected 1\n%s" % (desc, r.rc,
                                                             r.show()))
    t.check(bad in r.err, "%s: no message on stderr naming %s\n%s" % (
        desc, bad, r.show()))
    d = L.diff_snapshots(b0, L.snapshot(bad))
    t.check(not d, "%s: files in it changed: %s" % (desc, d[:5]))
    gp = os.path.join(ok, "access.log.1")
    t.check("mask+compress %s -> %s.gz" % (gp, gp) in r.lines(),
            "%s: the other (safe) set was not processed\n%s" % (desc,
                                                               r.show()))
    t.check(bad not in r.out, "%s: stdout names the refused dir: %r" % (
        desc, r.out[:500]))
    r = L.run(["-c", c, "check"], timeout=60)
    if r.rc == 0:
        t.note("%s: check says the config is fine (STYLE.md 6: check "
               "checks directories are safe)" % desc)


unsafe("world", 0o777, 0)
unsafe("group", 0o775, 4)
t.done()
