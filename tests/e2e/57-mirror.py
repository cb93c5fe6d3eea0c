#!/usr/bin/env python3
"""The masked mirror (mirror = DIR/%n): every line of the live file, in
order, once, with no full address, through rotations, kill -9 and
restarts; checked by an independent reader (python's gzip and ipaddress,
never lethe).

A. A writer appends steadily while lethe rotates every minute of a fast
   clock (a rotation every half real second) and compresses; lethe is
   killed with -9 twice at random moments and restarted.  Then the
   mirror directory (live mirror and every segment, plain or gzip) must
   hold each line the writer wrote exactly once, in the writer's order
   across files taken in name order, each byte-identical to the source
   line with its address truncated at /16, and no token in it a full
   address.  Mirror files keep the source's mode; segments are compressed.
B. Deterministic restart: no save after the first (sweep 1h), so a kill
   -9 leaves the mirror ahead of the catalog; a half line is appended to
   the mirror as a kill mid-write would leave it.  After the restart lethe
   says it went on after the unsaved lines and cut the half line, and the
   mirror again holds each line once.
C. Latency: a line appended to the live file is in the mirror within a
   second (measured; the test allows 10 s on a loaded machine).
D. mirror_retain: mirror segments older than it are deleted while the
   source segments (retain 90d) stay.
F. Rotations by someone else (rotate = off): logrotate's rename and
   create, then its copytruncate: the mirror follows the renamed file
   under a segment name, starts again for the new live file, goes on
   after the truncation, and holds every line once.
G. A reload (SIGHUP) with mirrors open; the live file moved out of the
   directory (its mirror is put aside, the next one starts empty); lines
   written while lethe is stopped and the file rotated before it starts
   again (they reach the renamed mirror): every line once.
H. A kill between lethe's rename of a rotated file's mirror and the save
   that names it (made by hand: a kill with unsaved lines, then the
   renames): the mirror is found by its inode, its unsaved lines are
   skipped, every line once (H1 without, H2 with an empty next live
   mirror made before the kill).
E. GoAccess parses 100% of the mirror of A (truncate) and of a mirror
   with transform = pseudonym (IPv4 and IPv6 clients), in both modes
   (ipcrypt-deterministic, and ipcrypt-pfx that keeps IPv4 as IPv4): no
   writer address in it, every pseudonym an address, one address one
   pseudonym within a day.

Env: MIRROR_SEED (default random, printed), E2E_KEEP=1 keeps the dir."""

import gzip
import ipaddress
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as D  # noqa: E402
import passlib as P  # noqa: E402

D.need_lethe()
seed = int(os.environ.get("MIRROR_SEED", random.randrange(1 << 30)))
print("57-mirror: seed %d (rerun with MIRROR_SEED=%d)" % (seed, seed))
rng = random.Random(seed)
ck = D.Checks("57-mirror")
root, logs, state = D.mkroot("57-mirror")
conf = os.path.join(root, "lethe.conf")
live = os.path.join(logs, "access.log")
mdir = os.path.join(root, "masked")
pidfile = os.path.join(root, "writer.pid")
logfile = os.path.join(root, "lethe.log")
SEQ = re.compile(rb"GET /seq/(\d+) ")
V4 = re.compile(rb"(?<![0-9.])(\d{1,3}(?:\.\d{1,3}){3})(?![0-9.])")


def write_conf(extra=None, sweep="10s"):
    kv = {"logs": live, "format": "combined", "window": "2h",
          "rotate": "1m", "reopen": "signal USR1 %s" % pidfile,
          "settle": "5s", "compress_after": "5m", "mask_early": "10m",
          "retain": "90d", "mirror": os.path.join(mdir, "%n")}
    kv.update(extra or {})
    D.write_conf(conf, D.conf_text(state, [("web", kv)], sweep=sweep))


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data


def lines_of(d):
    """[(name, line)] of every file of d, in name order (the live mirror,
    which has no date in its name, last)."""
    out = []
    names = [n for n in os.listdir(d) if not n.startswith(".")]
    names.sort(key=lambda n: (n == "access.log", n))
    for n in names:
        p = os.path.join(d, n)
        if not os.path.isfile(p):
            continue
        data = read(p)
        if data and not data.endswith(b"\n"):
            ck.fail("%s does not end with a newline: %r" % (n, data[-60:]))
        for ln in data.split(b"\n"):
            if ln:
                out.append((n, ln))
    return out


def source_lines():
    src = {}
    for n, ln in lines_of(logs):
        m = SEQ.search(ln)
        if m:
            src[int(m.group(1))] = ln
    return src


def masked(line):
    a, rest = line.split(b" ", 1)
    net = ipaddress.ip_network(a.decode() + "/16", strict=False)
    return str(net.network_address).encode() + b" " + rest


def check_mirror(n, what):
    """The mirror holds seq 0..n-1 once each, in order, masked."""
    src = source_lines()
    got = lines_of(mdir)
    seqs = []
    bad_addr = 0
    differs = 0
    for name, ln in got:
        m = SEQ.search(ln)
        if not m:
            ck.fail("%s: %s: a line with no seq: %r" % (what, name, ln[:100]))
            continue
        s = int(m.group(1))
        seqs.append(s)
        for tok in V4.findall(ln):
            ip = ipaddress.ip_address(tok.decode())
            if int(ip) & 0xffff:
                bad_addr += 1
        if s in src and ln != masked(src[s]):
            differs += 1
            if differs <= 3:
                ck.fail("%s: %s: seq %d is not its source line masked:\n"
                        "    %r\n    %r" % (what, name, s, ln,
                                            masked(src[s])))
    seen = set(seqs)
    lost = [i for i in range(n) if i not in seen]
    dups = len(seqs) - len(seen)
    order = sum(1 for a, b in zip(seqs, seqs[1:]) if b <= a)
    ck.check(not lost, "%s: %d lines lost in the mirror: %s" % (
        what, len(lost), D.ranges(lost)))
    ck.check(dups == 0, "%s: %d lines doubled in the mirror" % (what, dups))
    ck.check(order == 0, "%s: %d lines out of order in the mirror" % (
        what, order))
    ck.check(bad_addr == 0, "%s: %d full addresses in the mirror" % (
        what, bad_addr))
    ck.check(len(src) >= n, "%s: the source has %d of %d lines" % (
        what, len(src), n))
    return len(got)


def clean():
    """A fresh start: no mirror, no log, no catalog."""
    shutil.rmtree(mdir)
    for d_ in (logs, state):
        for x in os.listdir(d_):
            p_ = os.path.join(d_, x)
            if os.path.isfile(p_):
                os.unlink(p_)


def mirror_count():
    try:
        return len(lines_of(mdir))
    except (FileNotFoundError, EOFError, OSError):
        return -1


def wait_mirror(n, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if mirror_count() >= n:
            return True
        time.sleep(0.1)
    return False


def goaccess(what, n):
    """GoAccess (COMBINED) over every mirror file: n requests, all valid."""
    ga = shutil.which("goaccess")
    if ga is None:
        ck.fail("%s: goaccess is not installed (make test installs it)" %
                what)
        return
    data = b"".join(ln + b"\n" for _, ln in lines_of(mdir))
    src = os.path.join(root, "mirror-all.log")
    with open(src, "wb") as f:
        f.write(data)
    out = os.path.join(root, "goaccess.json")
    p = subprocess.run([ga, src, "--log-format=COMBINED", "-o", out,
                        "--no-progress"], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=180)
    if p.returncode != 0:
        ck.fail("%s: goaccess exited %d: %s" % (what, p.returncode,
                                                 p.stderr[-400:]))
        return
    with open(out) as f:
        g = json.load(f).get("general", {})
    ck.check(g.get("total_requests") == n and g.get("valid_requests") == n
             and g.get("failed_requests") == 0, "%s: goaccess: %r of %d "
             "lines" % (what, {k: g.get(k) for k in ("total_requests",
                        "valid_requests", "failed_requests")}, n))
    ck.note("%s: goaccess parsed %s of %d mirror lines, %s failed, %s "
            "unique visitors" % (what, g.get("valid_requests"), n,
                                 g.get("failed_requests"),
                                 g.get("unique_visitors")))


# ---- A: rotations and kill -9 ---------------------------------------------
RATE = 120
LPS = 1500
clock = D.Clock(D.iso_to_epoch("2026-06-01T10:00:00Z"), RATE)
write_conf()
with open(live, "w"):
    pass
os.chmod(live, 0o640)
writer = D.Writer(root, live, pidfile, LPS, clock)
dm = None
kills = P.count(2, 2, "kills")
try:
    dm = D.Daemon(conf, now=clock.now_arg(), rate=RATE, logfile=logfile)
    dm.ready()
    for k in range(kills):
        time.sleep(2.0 + rng.random() * 2.0)
        dm.kill()
        time.sleep(rng.random() * 0.5)
        dm = D.Daemon(conf, now=clock.now_arg(), rate=RATE, logfile=logfile)
        dm.ready()
    time.sleep(2.0 + rng.random())
    n = writer.pause()
    ok = wait_mirror(n, 60)
    ck.check(ok, "A: the mirror did not reach %d lines within 60 s (has %d)"
             % (n, mirror_count()))
    rotations = dm.count(r"^mirror .* rotated to ")
    rc, _ = dm.stop()
    ck.check(rc == 0, "A: lethe exited %d" % rc)
    dm = None
    total = check_mirror(n, "A")
    names = os.listdir(mdir)
    gz = [x for x in names if x.endswith(".gz")]
    ck.check(len(gz) >= 2, "A: %d compressed mirror segments (%s)" % (
        len(gz), sorted(names)[:8]))
    st = os.stat(os.path.join(mdir, "access.log"))
    ck.check(st.st_mode & 0o777 == 0o640, "A: the live mirror's mode is %o, "
             "not the source's 640" % (st.st_mode & 0o777))
    with open(logfile) as f:
        text = f.read()
    rot = len(re.findall(r"mirror \S+ rotated to", text))
    ck.note("A: %d lines written, %d in the mirror over %d files (%d gzip), "
            "%d mirror rotations logged, %d kills" % (
                n, total, len(names), len(gz), rot, kills))
    goaccess("A (truncate)", total)
finally:
    if dm is not None:
        dm.kill()
    writer.stop()

# ---- B: a restart that must reconcile ------------------------------------
shutil.rmtree(mdir)
for x in os.listdir(logs):
    os.unlink(os.path.join(logs, x))
for x in os.listdir(state):
    p = os.path.join(state, x)
    if os.path.isfile(p):
        os.unlink(p)
clock = D.Clock(D.iso_to_epoch("2026-06-02T10:00:00Z"), 1)
write_conf({"rotate": "off"}, sweep="1h")
with open(live, "w"):
    pass
dm = D.Daemon(conf, now=clock.now_arg(), rate=1, logfile=logfile)
try:
    dm.ready()
    dm.wait_for(r"^mirroring ", 30)
    time.sleep(0.5)                 # the first (urgent) save is done
    writer = D.Writer(root, live, pidfile, 2000, clock)
    time.sleep(1.0)
    n1 = writer.pause()
    ck.check(wait_mirror(n1, 30), "B: the mirror did not reach %d lines" % n1)
    dm.kill()
    with open(os.path.join(mdir, "access.log"), "ab") as f:
        f.write(b"203.0.0.0 - - [02/Jun/2026:10:00:01 +0000] \"GET /half")
    writer.stop()
    n2 = n1 + 500
    with open(live, "a") as f:      # lines written while lethe is down
        for i in range(n1, n2):
            f.write('203.0.%d.%d - - [02/Jun/2026:10:00:02 +0000] "GET '
                    '/seq/%d HTTP/1.1" 200 5 "-" "ua"\n' % (
                        113 + i // 250 % 100, i % 250 + 1, i))
    dm = D.Daemon(conf, now=clock.now_arg(), rate=1, logfile=logfile)
    dm.ready()
    got = dm.wait_for(r"(\d+) lines written before a restart were not "
                      r"saved", 30, fail=False)
    ck.check(got is not None and int(got.group(1)) > 0,
             "B: lethe did not say it went on after the unsaved lines")
    ck.check(dm.wait_for(r"cut a half line of \d+ bytes", 5, fail=False)
             is not None, "B: lethe did not cut the half line")
    ck.check(wait_mirror(n2, 30), "B: the mirror did not reach %d lines" %
             n2)
    check_mirror(n2, "B")
    ck.note("B: %d lines before the kill, %s unsaved ones skipped, %d in "
            "all" % (n1, got.group(1) if got else "?", n2))

    # ---- C: latency ------------------------------------------------------
    lat = []
    for i in range(5):
        with open(live, "a") as f:
            f.write('203.0.113.9 - - [02/Jun/2026:10:00:05 +0000] "GET '
                    '/seq/%d HTTP/1.1" 200 5 "-" "ua"\n' % (n2 + i))
        t = time.monotonic()
        ok = wait_mirror(n2 + i + 1, 10)
        lat.append(time.monotonic() - t)
        ck.check(ok, "C: line %d not in the mirror within 10 s" % i)
        time.sleep(0.2)
    check_mirror(n2 + 5, "C")
    ck.note("C: a line reached the mirror in %.3f s at most (%s)" % (
        max(lat), ", ".join("%.3f" % x for x in lat)))
    rc, _ = dm.stop()
    ck.check(rc == 0, "B: lethe exited %d" % rc)
    dm = None
finally:
    if dm is not None:
        dm.kill()
    writer.kill()

# ---- D: mirror_retain ------------------------------------------------------
shutil.rmtree(mdir)
for x in os.listdir(logs):
    os.unlink(os.path.join(logs, x))
RATE = 600
clock = D.Clock(D.iso_to_epoch("2026-06-03T10:00:00Z"), RATE)
write_conf({"mirror_retain": "30m", "compress_after": "off"})
with open(live, "w"):
    pass
writer = D.Writer(root, live, pidfile, 200, clock)
dm = D.Daemon(conf, now=clock.now_arg(), rate=RATE, logfile=logfile)
try:
    dm.ready()
    got = dm.wait_for(r'^deleted "%s/access\.log-' % re.escape(mdir), 60,
                      fail=False)
    ck.check(got is not None, "D: no mirror segment was deleted after "
             "mirror_retain")
    src_segs = [x for x in os.listdir(logs) if x.startswith("access.log-")]
    ck.check(len(src_segs) >= 30, "D: %d source segments (retain 90d keeps "
             "them)" % len(src_segs))
    msegs = [x for x in os.listdir(mdir) if x.startswith("access.log-")]
    ck.check(len(msegs) < len(src_segs), "D: %d mirror segments beside %d "
             "source segments" % (len(msegs), len(src_segs)))
    ck.note("D: %d source segments, %d mirror segments left" % (
        len(src_segs), len(msegs)))
    dm.stop()
    dm = None
finally:
    if dm is not None:
        dm.kill()
    writer.stop()

# ---- F: rotations by someone else ------------------------------------------
clean()
clock = D.Clock(D.iso_to_epoch("2026-06-05T10:00:00Z"), 1)
write_conf({"rotate": "off", "reopen": None})
with open(conf) as f:
    text = f.read().replace("reopen = None\n", "")
with open(conf, "w") as f:
    f.write(text)


def append(a, b):
    with open(live, "a") as f:
        for i in range(a, b):
            f.write('203.0.%d.%d - - [05/Jun/2026:10:00:01 +0000] "GET '
                    '/seq/%d HTTP/1.1" 200 5 "-" "ua"\n' % (
                        113 + i // 250 % 100, i % 250 + 1, i))


append(0, 500)
dm = D.Daemon(conf, now=clock.now_arg(), rate=1, logfile=logfile)
try:
    dm.ready()
    ck.check(wait_mirror(500, 30), "F: the mirror did not reach 500 lines")
    os.rename(live, live + ".1")            # logrotate: rename, create
    append(500, 800)                        # a new access.log
    dm.wait_for(r'^mirror .* rotated to ', 30, fail=False)
    append(800, 1000)                       # the new live file
    ck.check(wait_mirror(1000, 30), "F: the mirror did not reach 1000 lines "
             "after the rename (%d)" % mirror_count())
    shutil.copy(live, live + ".2")          # logrotate: copytruncate
    os.truncate(live, 0)
    append(1000, 1300)
    ck.check(wait_mirror(1300, 30), "F: the mirror did not reach 1300 lines "
             "after copytruncate (%d)" % mirror_count())
    dm.stop()
    dm = None
finally:
    if dm is not None:
        dm.kill()
check_mirror(1300, "F")
ck.note("F: mirror files after a rename and a copytruncate: %s" % sorted(
    os.listdir(mdir)))

# ---- G: reload, a live file moved away, a rotation while stopped ---------
clean()
elsewhere = os.path.join(root, "elsewhere.log")
clock = D.Clock(D.iso_to_epoch("2026-06-06T10:00:00Z"), 1)
with open(conf) as f:
    text = f.read()
append(0, 100)
dm = D.Daemon(conf, now=clock.now_arg(), rate=1, logfile=logfile)
try:
    dm.ready()
    ck.check(wait_mirror(100, 30), "G: the mirror did not reach 100 lines")
    m = dm.mark()
    dm.signal(signal.SIGHUP)
    dm.wait_for(r"^reloaded", 30, start=m)
    append(100, 200)
    ck.check(wait_mirror(200, 30), "G: after a reload the mirror did not "
             "reach 200 lines (%d)" % mirror_count())
    ck.check(dm.alive(), "G: lethe died after a reload with a mirror")
    os.rename(live, elsewhere)             # out of the set's directory
    append(200, 250)                       # a new live file
    ck.check(wait_mirror(250, 30), "G: after the live file left, the "
             "mirror did not reach 250 lines (%d)" % mirror_count())
    dm.stop()
    dm = None
    append(250, 300)                       # while lethe is stopped
    os.rename(live, live + ".1")           # and rotated before it starts
    append(300, 320)
    dm = D.Daemon(conf, now=clock.now_arg(), rate=1, logfile=logfile)
    dm.ready()
    ck.check(wait_mirror(320, 30), "G: lines written while lethe was "
             "stopped did not all reach the mirror (%d of 320)" %
             mirror_count())
    dm.stop()
    dm = None
finally:
    if dm is not None:
        dm.kill()
# The lines that left the directory are gone from the source: the mirror
# holds them (0..199), and everything after.
got = lines_of(mdir)
seqs = [int(SEQ.search(ln).group(1)) for _, ln in got]
ck.check(sorted(seqs) == list(range(320)), "G: the mirror holds %d lines, "
         "%d distinct, not 0..319 once each" % (len(seqs), len(set(seqs))))
ck.note("G: mirror files after a reload, a move and a rotation while "
        "stopped: %s" % sorted(os.listdir(mdir)))

# ---- H: a crash between a mirror's rename and the save ---------------------
# lethe renames a rotated file's mirror to a segment name and creates the
# live one before the catalog that says so is saved: a kill -9 then leaves
# a catalog naming the mirror by its old name, and a mirror with lines
# past what the catalog says.  The state is made as B makes it (sweep 1h:
# no save after the first), then the renames lethe would have made before
# it died: the restarted lethe must find the mirror where it is now (by
# its inode) and go on after its unsaved lines, not start it again, and
# take the new live mirror as it finds it (H1 none yet, H2 created empty).
catalog = os.path.join(state, "catalog")


def saved_mirror():
    """(name, m_size) of the mirror the saved catalog names, or None."""
    try:
        with open(catalog, "rb") as f:
            text = f.read().decode("ascii", "replace")
    except FileNotFoundError:
        return None
    m = re.search(r" m ([0-9a-f]+) (\d+) (\d+)", text)
    if m is None:
        return None
    return bytes.fromhex(m.group(1)).decode(), int(m.group(3))


write_conf({"rotate": "off", "reopen": None}, sweep="1h")
with open(conf) as f:
    text = f.read().replace("reopen = None\n", "")
with open(conf, "w") as f:
    f.write(text)
for case in ("H1", "H2"):
    clean()
    clock = D.Clock(D.iso_to_epoch("2026-06-07T10:00:00Z"), 1)
    append(0, 100)
    dm = D.Daemon(conf, now=clock.now_arg(), rate=1, logfile=logfile)
    try:
        dm.ready()
        ck.check(wait_mirror(100, 30), "%s: the mirror did not reach 100 "
                 "lines" % case)
        end = time.monotonic() + 30
        while saved_mirror() is None and time.monotonic() < end:
            time.sleep(0.05)
        append(100, 300)
        ck.check(wait_mirror(300, 30), "%s: the mirror did not reach 300 "
                 "lines" % case)
        dm.kill()
        dm = None
        sm = saved_mirror()
        size = os.path.getsize(os.path.join(mdir, "access.log"))
        ck.check(sm is not None and sm[0] == "access.log" and sm[1] < size,
                 "%s: the saved catalog does not name the live mirror short "
                 "of its %d bytes: %r" % (case, size, sm))
        os.rename(live, live + ".1")    # rotated, and lethe renamed the
        os.rename(os.path.join(mdir, "access.log"),   # mirror, then died
                  os.path.join(mdir, "access.log-20260607T1000Z"))
        if case == "H2":
            open(os.path.join(mdir, "access.log"), "wb").close()
        with open(live + ".1", "a") as f:   # a late writer
            f.write('203.0.113.7 - - [07/Jun/2026:10:00:01 +0000] "GET '
                    '/seq/300 HTTP/1.1" 200 5 "-" "ua"\n')
        with open(live, "a") as f:
            for i in range(301, 400):
                f.write('203.0.%d.%d - - [07/Jun/2026:10:00:02 +0000] "GET '
                        '/seq/%d HTTP/1.1" 200 5 "-" "ua"\n' % (
                            113 + i // 250 % 100, i % 250 + 1, i))
        dm = D.Daemon(conf, now=clock.now_arg(), rate=1, logfile=logfile)
        dm.ready()
        ck.check(wait_mirror(400, 30), "%s: the mirror did not reach 400 "
                 "lines (%d)" % (case, mirror_count()))
        got = dm.wait_for(r"(\d+) lines written before a restart were not "
                          r"saved", 10, fail=False)
        ck.check(got is not None and int(got.group(1)) > 0,
                 "%s: lethe did not say it went on after the unsaved lines"
                 % case)
        dm.stop()
        dm = None
    finally:
        if dm is not None:
            dm.kill()
    check_mirror(400, case)
    ck.note("%s: mirror files after a crash between the rename and the "
            "save: %s" % (case, sorted(os.listdir(mdir))))

# ---- E: pseudonyms, read by GoAccess --------------------------------------
for prefix in ("no", "yes"):
    clean()
    clock = D.Clock(D.iso_to_epoch("2026-06-04T10:00:00Z"), 1)
    write_conf({"rotate": "off", "transform": "pseudonym",
                "pseudonym_prefix": prefix})
    addrs = ["198.51.100.%d" % (i + 1) for i in range(50)] + \
        ["2001:db8:%x::%x" % (i, i + 1) for i in range(30)]
    n = 2000
    with open(live, "w") as f:
        for i in range(n):
            f.write('%s - - [04/Jun/2026:10:00:%02d +0000] "GET /seq/%d '
                    'HTTP/1.1" 200 5 "-" "ua"\n' % (addrs[i % len(addrs)],
                                                   i % 60, i))
    dm = D.Daemon(conf, now=clock.now_arg(), rate=1, logfile=logfile)
    what = "E (pseudonym_prefix = %s)" % prefix
    try:
        dm.ready()
        ck.check(wait_mirror(n, 30), "%s: the mirror did not reach %d "
                 "lines" % (what, n))
        dm.stop()
        dm = None
    finally:
        if dm is not None:
            dm.kill()
    got = lines_of(mdir)
    mapping = {}
    bad = 0
    for _, ln in got:
        s_ = int(SEQ.search(ln).group(1))
        a = ln.split(b" ", 1)[0].decode()
        try:
            ip = ipaddress.ip_address(a)
        except ValueError:
            bad += 1
            continue
        if a in addrs:
            bad += 1
        orig = addrs[s_ % len(addrs)]
        mapping.setdefault(orig, set()).add(a)
        if prefix == "yes" and ip.version != \
                ipaddress.ip_address(orig).version:
            bad += 1
    ck.check(len(got) == n, "%s: %d mirror lines, not %d" % (what, len(got),
                                                          n))
    ck.check(bad == 0, "%s: %d lines whose address is a writer's, not an "
             "address, or (pfx) of another family" % (what, bad))
    ck.check(all(len(v) == 1 for v in mapping.values()) and
             len(set().union(*mapping.values())) == len(addrs),
             "%s: not one pseudonym per address" % what)
    goaccess(what, n)
    # Pseudonyms are no full addresses: audit, long after, names no
    # mirror file (the live file, never rotated here, it names).
    rc, out, err = D.run_cmd(["-c", conf, "--now", "2026-07-04T10:00:00Z",
                              "audit"])
    ck.check(mdir not in out + err, "%s: audit names the mirror: %s" % (
        what, (out + err)[-300:]))

if os.environ.get("E2E_KEEP"):
    print("kept %s" % root)
else:
    shutil.rmtree(root, ignore_errors=True)
sys.exit(ck.finish())
