#!/usr/bin/env python3
"""Disk full: the logs sit on a small tmpfs that has no room for the temp
file of a rewrite.  once must fail cleanly (exit 1, the file named, every
original byte-identical, no temp file left), and succeed once there is
room again.  Needs root and mount (skipped otherwise)."""

import os
import subprocess

import lethelib as L

t = L.Test("76-enospc")
L.require_root(t)
root = t.mkdtemp()
mnt = os.path.join(root, "mnt")
os.mkdir(mnt, 0o755)
p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755",
                    "lethe-e2e", mnt], capture_output=True)
if p.returncode != 0:
    t.skip("cannot mount a tmpfs: %s" % p.stderr.decode().strip())
try:
    rng = L.random.Random(80)
    now = L.NOW
    logs = os.path.join(mnt, "logs")
    state = os.path.join(root, "state")
    os.mkdir(logs, 0o755)
    os.mkdir(state, 0o700)
    L.FileSpec("access.log", L.gen_lines(rng, "main", now - L.HOUR, now,
                                         10), live=True).write(logs)
    a0 = now - 12 * L.DAY
    plain = L.FileSpec("access.log.1", L.gen_lines(rng, "main", a0,
                                                   a0 + L.DAY, 8000))
    gz = L.FileSpec("access.log.2.gz", L.gen_lines(rng, "main", a0 - L.DAY,
                                                   a0, 40000), gz=True)
    plain.write(logs)
    gz.write(logs)
    used = sum(os.path.getsize(os.path.join(logs, n))
               for n in os.listdir(logs))
    small = max(used, os.path.getsize(os.path.join(logs, "access.log.1")),
                os.path.getsize(os.path.join(logs, "access.log.2.gz")))
    # room for the files and a third of the biggest temp file
    size_k = (used + small // 3) // 1024 + 8
    subprocess.run(["mount", "-o", "remount,size=%dk" % size_k, mnt],
                   check=True)
    t.info("tmpfs %d KiB, files %d KiB" % (size_k, used // 1024))
    conf = L.write_conf(os.path.join(root, "lethe.conf"), state, [
        ("web", L.set_conf(os.path.join(logs, "access.log"),
                           compress_after="off"))])
    snap0 = L.snapshot(logs)
    r = L.run(["-c", conf, "--now", L.NOW_ISO, "once"], timeout=120)
    snap1 = L.snapshot(logs)
    failed = 0
    for spec in (plain, gz):
        fp = os.path.join(logs, spec.name)
        if snap1.get(spec.name) != snap0.get(spec.name):
            # it found room (after the other's temp file was removed):
            # then it must be right
            t.info("%s was rewritten despite the full disk" % spec.name)
            L.check_lines(t, spec.name, L.read_content(fp)[0], spec, now,
                          L.WINDOW, L.MASK_EARLY)
            continue
        failed += 1
        t.check(fp in r.err, "once on a full disk: %s left as it was but "
                "not named on stderr\n%s" % (spec.name, r.show()))
    t.check(failed > 0, "test setup: no rewrite ran out of space "
            "(tmpfs too big?)\n%s" % r.show())
    t.check(r.rc == 1, "once on a full disk: exit %s, expected 1\n%s" % (
        r.rc, r.show()))
    left = [n for n in os.listdir(logs) if n.startswith(".")]
    t.check(not left, "temp files left after ENOSPC: %s" % left)
    leaks = L.leaked_addresses(r.out + r.err, set(
        a for s in (plain, gz) for l in s.lines for a in l.full))
    t.check(not leaks, "full addresses printed: %s" % leaks[:5])

    # room again: the same once succeeds
    subprocess.run(["mount", "-o", "remount,size=64m", mnt], check=True)
    r = L.run(["-c", conf, "--now", L.NOW_ISO, "once"], timeout=120)
    t.check(r.rc == 0, "once with room again: exit %s\n%s" % (r.rc,
                                                              r.show()))
    for spec in (plain, gz):
        fp = os.path.join(logs, spec.name)
        data, _ = L.read_content(fp)
        L.check_lines(t, spec.name, data, spec, now, L.WINDOW, L.MASK_EARLY)
    left = [n for n in os.listdir(logs) if n.startswith(".")]
    t.check(not left, "temp files left: %s" % left)
finally:
    subprocess.run(["umount", mnt])
t.done()
