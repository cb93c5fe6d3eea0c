#!/usr/bin/env python3
"""The live file: with rotate = off, a live file holding lines past the
window is only read (byte-identical, same inode and mtime), once warns
about it, audit reports it.  A glob that also matches rotated names
(access.log*) treats them as rotated, never as live."""

import os

import lethelib as L

t = L.Test("65-live")
L.require_root(t)
root = t.mkdtemp()
rng = L.random.Random(70)
now = L.NOW
cut = now - L.WINDOW

for tag, glob in (("exact", "access.log"), ("glob", "access.log*")):
    base = os.path.join(root, tag)
    logs = os.path.join(base, "logs")
    state = os.path.join(base, "state")
    os.makedirs(logs, 0o755)
    os.makedirs(state, 0o700)
    live = L.FileSpec("access.log", L.gen_lines(rng, "main", now - 10 * L.DAY,
                                                now - 60, 200), live=True,
                      uid=33, gid=4, mode=0o640)
    old1 = L.FileSpec("access.log.1", L.gen_lines(
        rng, "main", now - 12 * L.DAY, now - 10 * L.DAY, 50), uid=33, gid=4)
    old2 = L.FileSpec("access.log.2.gz", L.gen_lines(
        rng, "main", now - 14 * L.DAY, now - 12 * L.DAY, 50), gz=True,
        uid=33, gid=4)
    for s in (live, old1, old2):
        s.write(logs)
    conf = L.write_conf(os.path.join(base, "lethe.conf"), state, [
        ("web", L.set_conf(os.path.join(logs, glob)))])
    lp = os.path.join(logs, "access.log")
    st0 = os.stat(lp)
    data0 = open(lp, "rb").read()

    r = L.run(["-c", conf, "--now", L.NOW_ISO, "audit"])
    want = ["%s: %s" % (lp, x) for x in L.audit_expect(data0, cut)]
    got = [x for x in r.lines() if x.startswith(lp + ": ")]
    t.check(r.rc == 1 and want and got == want, "%s: audit should report "
            "the live file: %r\n%s" % (tag, want, r.show()))

    r = L.run(["-c", conf, "--now", L.NOW_ISO, "once"])
    t.check(r.rc in (0, 1), "%s: once exit %s\n%s" % (tag, r.rc, r.show()))
    if r.rc == 1:
        t.note("%s: once exits 1 when the live file is past the window and "
               "rotate = off" % tag)
    st1 = os.stat(lp)
    t.check(open(lp, "rb").read() == data0, "%s: the live file changed" % tag)
    t.check((st1.st_ino, st1.st_mtime_ns, st1.st_mode, st1.st_uid,
             st1.st_gid) == (st0.st_ino, st0.st_mtime_ns, st0.st_mode,
                             st0.st_uid, st0.st_gid),
            "%s: the live file's inode/mtime/mode/owner changed" % tag)
    t.check(not any(lp + " " in l or l.endswith(lp) for l in r.lines()),
            "%s: once prints an action on the live file: %r" % (
                tag, r.lines()))
    t.check(lp in r.err, "%s: once does not warn about the live file past "
            "the window (rotate = off)\n%s" % (tag, r.show()))
    p1 = os.path.join(logs, "access.log.1")
    p2 = os.path.join(logs, "access.log.2.gz")
    want = sorted(["mask+compress %s -> %s.gz" % (p1, p1), "mask %s" % p2])
    t.check(sorted(r.lines()) == want, "%s: once printed %r, expected %r"
            % (tag, r.lines(), want))
    for spec, final in ((old1, "access.log.1.gz"),
                        (old2, "access.log.2.gz")):
        fp = os.path.join(logs, final)
        if os.path.exists(fp):
            L.check_lines(t, "%s/%s" % (tag, final), L.read_content(fp)[0],
                          spec, now, L.WINDOW, L.MASK_EARLY)
        else:
            t.fail("%s: %s missing after once" % (tag, final))
    extra = set(os.listdir(logs)) - {"access.log", "access.log.1.gz",
                                     "access.log.2.gz"}
    t.check(not extra, "%s: unexpected files: %s" % (tag, sorted(extra)))
t.done()
