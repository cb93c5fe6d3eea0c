#!/usr/bin/env python3
"""Following files someone else rotates (rotate = off, logs = DIR/*.log),
while a writer appends to access.log:

1. logrotate-style rename (access.log -> access.log.1, new access.log, then
   the writer reopens): "was rotated to", sealed after settle, compressed.
2. copytruncate (copy to access.log.2, truncate access.log): lethe logs
   the truncation and keeps following.
3. deletion and re-creation of the live file.
4. a new file matching the glob (new.log) is managed without a reload.
5. inode reuse across a restart (reuse.log deleted, another created at
   the same name): read from the start (the catalog's first time is the
   new file's).
6. a restart with an unchanged catalog: "catalog: N files known", and no
   rotated file is read again (inotify IN_ACCESS).
7. a corrupt catalog (one byte flipped): "rebuilding it from the files",
   and lethe still works.
At the end every line is found once, except those copytruncate and the
deletion lost by their nature (counted and printed).
"""

import os
import re
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as D  # noqa: E402

D.need_lethe()
ck = D.Checks("75-tail")
RATE = 20       # settle 5s = 0.25 s real; compress_after 1m = 3 s real
root, logs, state = D.mkroot("75-tail")
conf = os.path.join(root, "lethe.conf")
pidfile = os.path.join(root, "writer.pid")
logfile = os.path.join(root, "lethe.log")
live = os.path.join(logs, "access.log")
catalog = os.path.join(state, "catalog")
D.write_conf(conf, D.conf_text(state, [("web", {
    "logs": os.path.join(logs, "*.log"), "format": "combined",
    "window": "7d", "rotate": "off", "reopen": "signal USR1 %s" % pidfile,
    "settle": "5s", "compress_after": "1m", "mask_early": "1h",
    "retain": "90d"})]))
clock = D.Clock(D.iso_to_epoch("2026-06-01T10:00:00Z"), RATE)
P = lambda n: os.path.join(logs, n)  # noqa: E731
Q = re.escape


def start():
    d = D.Daemon(conf, now=clock.now_arg(), rate=RATE, logfile=logfile)
    d.ready(30)
    return d


def static_lines(path, tag, n, t0):
    with open(path, "a") as f:
        for i in range(n):
            g = time.gmtime(t0 + i)
            f.write('198.51.100.%d - - [%02d/%s/%04d:%02d:%02d:%02d +0000] '
                    '"GET /%s/%d HTTP/1.1" 200 5 "-" "ua"\n' % (
                        i % 250 + 1, g.tm_mday, D.MONTHS[g.tm_mon - 1],
                        g.tm_year, g.tm_hour, g.tm_min, g.tm_sec, tag, i))


def seqs_of(data):
    return [int(m.group(1)) for m in D.SEQ_RE.finditer(data)]


writer = dm = None
ok = False
lost_ct = []
lost_del = []
try:
    writer = D.Writer(root, live, pidfile, 500, clock)
    dm = start()

    # 1. logrotate-style rename, then the writer reopens
    time.sleep(0.5)
    mk = dm.mark()
    os.rename(live, P("access.log.1"))
    os.close(os.open(live, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    time.sleep(0.2)         # the writer still writes to access.log.1
    os.kill(writer.proc.pid, signal.SIGUSR1)
    dm.wait_for(r'^"%s" was rotated to "%s"' % (Q(live), Q(P("access.log.1"))),
                10, start=mk)
    dm.wait_for(r'^sealed "%s"' % Q(P("access.log.1")), 15, start=mk)
    dm.wait_for(r'^compress "%s"' % Q(P("access.log.1")), 30, start=mk)
    ck.check(os.path.exists(P("access.log.1.gz")) and
             not os.path.exists(P("access.log.1")),
             "1: access.log.1 not compressed: %s" % os.listdir(logs))
    print("1: logrotate rename: rotated, sealed, compressed")

    # 2. copytruncate by someone else
    time.sleep(0.5)
    mk = dm.mark()
    shutil.copyfile(live, P("access.log.2"))
    os.truncate(live, 0)
    with open(P("access.log.2"), "rb") as f:
        copied = seqs_of(f.read())
    m = dm.wait_for(r'^"%s" was truncated by someone else' % Q(live), 10,
                    start=mk, fail=False)
    ck.check(m is not None, "2: no 'truncated by someone else' line:\n%s" %
             "\n".join(dm.texts(mk)))
    dm.wait_for(r'^compress "%s"' % Q(P("access.log.2")), 30, start=mk)
    time.sleep(0.3)
    with open(live, "rb") as f:
        after = seqs_of(f.read())
    if copied and after:
        lost_ct = list(range(max(copied) + 1, min(after)))
    print("2: copytruncate: copy holds %d lines, %d lines written between "
          "the copy and the truncate (lost by copytruncate's nature)" % (
              len(copied), len(lost_ct)))

    # 3. the live file deleted and created again, then the writer reopens
    time.sleep(0.3)
    mk = dm.mark()
    fd = os.open(live, os.O_RDONLY)
    os.unlink(live)
    time.sleep(0.2)
    os.close(os.open(live, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    os.kill(writer.proc.pid, signal.SIGUSR1)
    time.sleep(0.3)
    gone = b""
    while True:
        b = os.read(fd, 1 << 20)
        if not b:
            break
        gone += b
    os.close(fd)
    lost_del = seqs_of(gone)
    time.sleep(0.5)
    ck.check(dm.alive(), "3: lethe died after the live file was deleted")
    print("3: delete + re-create: %d lines went with the deleted file; "
          "lethe said: %s" % (len(lost_del), [s for s in dm.texts(mk)][:4]))

    # 4. a new file matching the glob, managed without a reload
    mk = dm.mark()
    static_lines(P("new.log"), "new", 100, int(clock.now()))
    time.sleep(0.5)
    os.rename(P("new.log"), P("new.log.1"))
    m = dm.wait_for(r'^"%s" was rotated to "%s"' % (Q(P("new.log")),
                                                     Q(P("new.log.1"))),
                    10, start=mk, fail=False)
    ck.check(m is not None, "4: a new file matching the glob was not "
             "followed (no 'was rotated to' after renaming it):\n%s" %
             "\n".join(dm.texts(mk)))
    dm.wait_for(r'^compress "%s"' % Q(P("new.log.1")), 30, start=mk)
    print("4: new.log picked up without reload, rotated, compressed")

    # 5. inode reuse across a restart
    t_old = D.iso_to_epoch("2026-05-30T00:00:00Z")     # within the window
    t_new = D.iso_to_epoch("2026-05-31T00:00:00Z")
    static_lines(P("reuse.log"), "old", 50, t_old)
    time.sleep(0.5)
    code, _ = dm.stop()
    dm = None
    cat = D.read_catalog(catalog)
    r_old = cat.get(P("reuse.log"))
    ck.check(r_old is not None and r_old["offset"] == r_old["size"] and
             r_old["first"] == t_old, "5: catalog record of reuse.log "
             "before the reuse: %r" % r_old)
    ino_old = os.stat(P("reuse.log")).st_ino
    for attempt in range(20):
        os.unlink(P("reuse.log"))
        static_lines(P("reuse.log"), "new", 80, t_new)
        if os.stat(P("reuse.log")).st_ino == ino_old:
            break
    reused = os.stat(P("reuse.log")).st_ino == ino_old
    st_new = os.stat(P("reuse.log"))
    dm = start()
    time.sleep(0.5)
    code, _ = dm.stop()
    dm = None
    cat = D.read_catalog(catalog)
    r_new = cat.get(P("reuse.log"))
    ck.check(r_new is not None and r_new["first"] == t_new and
             r_new["offset"] == st_new.st_size,
             "5: after the inode %s reuse, reuse.log was not read from the "
             "start: catalog %r (new file: first line at %d, %d bytes)" % (
                 "was" if reused else "(not reused)", r_new, t_new,
                 st_new.st_size))
    print("5: inode %s; catalog first time %s -> %s" % (
        "reused (%d)" % ino_old if reused else "not reused",
        D.iso(r_old["first"]) if r_old and r_old["first"] else None,
        D.iso(r_new["first"]) if r_new and r_new["first"] else None))

    # 6. restart with an unchanged catalog: nothing rotated is read again
    cat = D.read_catalog(catalog)
    ino = D.Inotify(logs, D.Inotify.IN_ACCESS | D.Inotify.IN_OPEN)
    dm = start()
    m = dm.wait_for(r"^catalog: (\d+) files known", 1, fail=False)
    ck.check(m is not None and int(m.group(1)) == len(cat),
             "6: expected 'catalog: %d files known', got %r" % (
                 len(cat), m and m.group(0)))
    time.sleep(1.0)
    rotated = [n for n in os.listdir(logs) if not n.endswith(".log")]
    read = [n for n in ino.names(D.Inotify.IN_ACCESS) if n in rotated]
    opened = [n for n in ino.names(D.Inotify.IN_OPEN) if n in rotated]
    ck.check(not read, "6: rotated files read again at a restart with an "
             "unchanged catalog: %s" % read)
    print("6: %s; rotated files opened %s, read %s" % (
        m and m.group(0), opened, read))
    ino.close()

    # 7. a corrupt catalog: a warning, rebuilt, and lethe still works
    code, _ = dm.stop()
    dm = None
    with open(catalog, "r+b") as f:
        data = bytearray(f.read())
        i = len(data) // 2
        data[i] ^= 0x01
        f.seek(0)
        f.write(data)
    ino = D.Inotify(logs, D.Inotify.IN_ACCESS)
    dm = start()
    m = dm.wait_for(r'^catalog in "[^"]*" is .*: rebuilding it from the '
                    r'files', 1, fail=False)
    ck.check(m is not None, "7: no 'rebuilding it from the files' warning "
             "for a corrupt catalog:\n%s" % "\n".join(dm.texts()))
    print("7: %s" % (m and m.group(0)))
    mk = dm.mark()
    time.sleep(0.3)
    os.rename(live, P("access.log.3"))
    os.close(os.open(live, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    os.kill(writer.proc.pid, signal.SIGUSR1)
    dm.wait_for(r'^"%s" was rotated to "%s"' % (Q(live), Q(P("access.log.3"))),
                10, start=mk)
    dm.wait_for(r'^compress "%s"' % Q(P("access.log.3")), 30, start=mk)
    print("7: rebuilt; rotated files read again: %s" % [
        n for n in ino.names(D.Inotify.IN_ACCESS)
        if n and not n.endswith(".log")])
    ino.close()
    made = [x for x in dm.texts() if x.startswith("created ")]
    if made:
        ck.note("7: with the catalog lost, lethe created live files that "
                "someone else had renamed away (rotate = off): %s" % made)
    time.sleep(0.3)
    code, _ = dm.stop()
    dm = None
    ck.check(code == 0, "exit %s" % code)
    dm = start()
    m = dm.wait_for(r"^catalog: (\d+) files known", 1, fail=False)
    ck.check(m is not None, "7: the catalog was not saved valid again:\n%s"
             % "\n".join(dm.texts()))
    code, _ = dm.stop()
    dm = None

    # 8. rotate = off: a live file with lines past the window is never
    # rotated (DESIGN: "otherwise (rotate = off) it warns"; check says
    # "reopen is not used with rotate = off")
    static_lines(P("stale.log"), "stale", 20,
                 int(clock.now()) - 8 * 86400)
    st8 = os.stat(P("stale.log"))
    dm = start()
    time.sleep(1.0)
    rot = [x for x in dm.texts() if x.startswith("rotated ")]
    ck.check(not rot, "8: rotate = off, yet lethe rotated: %s" % rot)
    ck.check(os.path.exists(P("stale.log")) and
             os.stat(P("stale.log")).st_ino == st8.st_ino,
             "8: stale.log (a live file, rotate = off) was moved: %s" %
             sorted(os.listdir(logs)))
    print("8: rotate = off with a live file past the window: lethe said %s"
          % [x for x in dm.texts() if "stale" in x][:3])
    code, _ = dm.stop()
    dm = None
    rotated_total = sum(x.split(" ")[1].startswith("rotated") for x in
                        open(logfile).read().split("\n") if x.strip())
    ck.check(rotated_total == 0, "rotate = off, yet lethe logged %d "
             "rotations of its own" % rotated_total)

    # every line once, except what copytruncate and the deletion lost
    n = writer.stop()
    writer = None
    seen, odd = D.count_seqs(logs, [x for x in os.listdir(logs)
                                    if x.startswith("access.log")])
    lost, dup, extra = D.seq_report(seen, n)
    expected_lost = set(lost_ct) | set(lost_del)
    unexpected = sorted(set(lost) - expected_lost)
    print("lines %d, lost %d (copytruncate %d, deleted file %d, other %d), "
          "duplicated %d" % (n, len(lost), len(lost_ct), len(lost_del),
                             len(unexpected), len(dup)))
    ck.check(not unexpected, "lost lines: %s" % D.ranges(unexpected))
    ck.check(not dup, "duplicated lines: %s" % D.ranges(dup))
    ck.check(not odd, "odd lines: %s" % odd[:3])
    ck.check(not D.temp_files(logs) and not D.temp_files(state),
             "temp files left: %s" % (D.temp_files(logs) +
                                      D.temp_files(state)))
    trunc = sum("truncated by someone else" in s for s in
                open(logfile).read().split("\n"))
    ck.check(trunc == 1, "'truncated by someone else' logged %d times "
             "(once expected)" % trunc)
    ok = not ck.failures
except D.Fail as e:
    ck.fail(str(e))
finally:
    if dm is not None:
        dm.kill()
    if writer is not None:
        writer.kill()
    if not ok or os.environ.get("E2E_KEEP"):
        print("kept %s (lethe log: %s)" % (root, logfile))
    else:
        shutil.rmtree(root, ignore_errors=True)
sys.exit(ck.finish())
