#!/usr/bin/env python3
"""Disk full: the logs sit on a small tmpfs that has no room for the temp
file of a rewrite.  once must fail cleanly (exit 1, the file named, every
original byte-identical, no temp file left), and succeed once there is
room again.  Then lethe run on the same tmpfs, filled to the last byte by
a filler file (its state_dir there too): the error is in its log, naming
the file, and counted in lethe_errors_total; nothing changes and no temp
file is left; once the filler is deleted the daemon finishes the work by
itself (its retry).  Needs root and mount: without them the test says so
(skipped) and 78-faults covers ENOSPC through the fault seam."""

import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as D  # noqa: E402
import lethelib as L  # noqa: E402

t = L.Test("76-enospc")
L.require_root(t)
root = t.mkdtemp()
mnt = os.path.join(root, "mnt")
os.mkdir(mnt, 0o755)
p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755",
                    "lethe-e2e", mnt], capture_output=True)
if p.returncode != 0:
    t.skip("cannot mount a tmpfs (%s): disk full NOT tested for real here; "
           "78-faults injects ENOSPC through the fault seam instead" %
           p.stderr.decode().strip())
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

    # ---- lethe run on a full disk, then room again
    logs2 = os.path.join(mnt, "logs2")
    state2 = os.path.join(mnt, "state2")
    os.mkdir(logs2, 0o755)
    os.mkdir(state2, 0o700)
    b0 = now - 11 * L.DAY
    live2 = L.FileSpec("access.log", L.gen_lines(rng, "main", now - L.HOUR,
                                                 now, 10), live=True)
    plain2 = L.FileSpec("access.log.1", L.gen_lines(rng, "main", b0,
                                                    b0 + L.DAY, 4000))
    gz2 = L.FileSpec("access.log.2.gz", L.gen_lines(rng, "main", b0 - L.DAY,
                                                    b0, 4000), gz=True)
    for spec in (live2, plain2, gz2):
        spec.write(logs2)
    metrics = os.path.join(root, "lethe.prom")
    conf2 = L.write_conf(os.path.join(root, "lethe2.conf"), state2, [
        ("web2", L.set_conf(os.path.join(logs2, "access.log")))],
        extra_global="metrics_file = %s\n" % metrics)
    # fill the file system to the last byte
    filler = os.path.join(mnt, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    for chunk in (1 << 20, 1 << 12, 1):
        try:
            while True:
                os.write(fd, b"\0" * chunk)
        except OSError:
            pass
    os.close(fd)
    t.info("tmpfs full: filler %d KiB" % (os.path.getsize(filler) // 1024))
    snap0 = L.snapshot(logs2)
    rate = 60           # backoff 5 s .. 600 s: 0.08 .. 10 s real
    dm = D.Daemon(conf2, now=L.NOW, rate=rate,
                  logfile=os.path.join(root, "lethe2.log"))
    try:
        dm.ready(30)
        err = dm.wait_for(r'^rewrite "[^"]*access\.log\.[12](\.gz)?": '
                          r'.*No space left on device', 30, fail=False)
        t.check(err is not None, "lethe run on a full disk: no rewrite "
                "error naming the file and ENOSPC in its log; last "
                "lines:\n%s" % "\n".join(dm.texts()[-10:]))
        mk = None
        end = time.monotonic() + 15
        while time.monotonic() < end:
            try:
                with open(metrics) as f:
                    mk = re.search(r'^lethe_errors_total\{kind="rewrite"\} '
                                   r'(\d+)', f.read(), re.M)
            except FileNotFoundError:
                mk = None
            if mk and int(mk.group(1)) > 0:
                break
            time.sleep(0.2)
        t.check(mk is not None and int(mk.group(1)) > 0,
                "lethe run on a full disk: lethe_errors_total{kind=\"rewrite\"}"
                " is %s in %s within 15 s of the error" % (
                    mk.group(1) if mk else "missing", metrics))
        t.check(dm.alive(), "lethe run exited on a full disk:\n%s" %
                "\n".join(dm.texts()[-10:]))
        d = L.diff_snapshots(snap0, L.snapshot(logs2))
        t.check(not d, "lethe run on a full disk changed files: %s" % d[:5])
        tmp = D.temp_files(logs2) + D.temp_files(state2)
        t.check(not tmp, "lethe run on a full disk left temp files: %s" %
                tmp)
        # room again: the daemon finishes by itself
        mark = dm.mark()
        os.unlink(filler)
        t.info("filler deleted")
        done = set()
        end = time.monotonic() + 30
        while time.monotonic() < end and len(done) < 2:
            for s in dm.texts(mark):
                m = re.search(r'"[^"]*/(access\.log\.[12](\.gz)?)"'
                              r'.*addresses masked', s)
                if m:
                    done.add(m.group(1))
            time.sleep(0.2)
        t.check(len(done) == 2, "lethe run did not finish the work within "
                "30 s of room again (done: %s); last lines:\n%s" % (
                    sorted(done), "\n".join(dm.texts()[-10:])))
        rc, _ = dm.stop()
        t.check(rc == 0, "lethe run exited %s" % rc)
    finally:
        dm.kill()
    names = sorted(n for n in os.listdir(logs2) if not n.startswith("."))
    t.check(names == ["access.log", "access.log.1.gz", "access.log.2.gz"],
            "after the daemon: files %s" % names)
    for spec, name in ((plain2, "access.log.1.gz"), (gz2, "access.log.2.gz"),
                       (live2, "access.log")):
        fp = os.path.join(logs2, name)
        if os.path.exists(fp):
            L.check_lines(t, name, L.read_content(fp)[0], spec, now,
                          L.WINDOW, L.MASK_EARLY, may_mask=not spec.live)
    tmp = D.temp_files(logs2) + D.temp_files(state2)
    t.check(not tmp, "temp files left after the daemon: %s" % tmp)
    leaks = L.leaked_addresses("\n".join(dm.texts()), set(
        a for s in (plain2, gz2, live2) for l in s.lines for a in l.full))
    t.check(not leaks, "the daemon logged full addresses: %s" % leaks[:5])
finally:
    subprocess.run(["umount", mnt])
t.done()
