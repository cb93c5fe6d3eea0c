#!/usr/bin/env python3
"""Bad input: a corrupt and a truncated gzip (left untouched, reported,
exit 1, the other files still processed); an unreadable file (lethe run as
nobody); a file of random bytes, one of NULs, an empty one, one without a
final newline; lines of 1 MiB and 5 MiB that must come out byte-identical
except for their addresses."""

import gzip
import os

import lethelib as L

t = L.Test("40-bad-input")
L.require_root(t)
root = t.mkdtemp()
os.chmod(root, 0o711)           # part C runs lethe as nobody under root
rng = L.random.Random(40)
now = L.NOW
old0, old1 = now - 12 * L.DAY, now - 11 * L.DAY     # past the window
OLD_MTIME = old1


def old_lines(n=40):
    return L.gen_lines(rng, "main", old0, old1, n)


def live(d, uid=0, gid=0):
    L.FileSpec("access.log", L.gen_lines(rng, "main", now - 5 * L.HOUR,
                                         now - 60, 20), live=True, uid=uid,
               gid=gid).write(d)


def setup(tag, owner=0):
    base = os.path.join(root, tag)
    d = os.path.join(base, "logs")
    st = os.path.join(base, "state")
    os.mkdir(base, 0o755)
    os.mkdir(d, 0o755)
    os.mkdir(st, 0o700)
    for p in (base, d, st):
        os.chown(p, owner, owner)
    c = L.write_conf(os.path.join(base, "lethe.conf"), st, [
        ("web", L.set_conf(os.path.join(d, "access.log")))])
    os.chmod(c, 0o644)
    return d, c


def check_processed(d, r, spec, how):
    """spec was due for how ("mask" or "mask+compress"); check the line
    once printed and the content."""
    p = os.path.join(d, spec.name)
    if how == "mask":
        line, final = "mask %s" % p, spec.name
    else:
        line, final = "mask+compress %s -> %s.gz" % (p, p), spec.name + ".gz"
    t.check(line in r.lines(), "%s: once did not print %r\n%s" % (
        spec.name, line, r.show()), kind="not processed")
    fp = os.path.join(d, final)
    if not os.path.exists(fp):
        t.fail("%s: missing after once" % final)
        return
    data, _ = L.read_content(fp)
    L.check_lines(t, final, data, spec, now, L.WINDOW, L.MASK_EARLY)


def preserved(d, name, content, r):
    """A file with no address: its bytes survive, plain or compressed."""
    p = os.path.join(d, name)
    if os.path.exists(p):
        got = open(p, "rb").read()
        t.check(got == content, "%s: content changed: %s" % (
            name, L.describe_diff(got, content)))
    elif os.path.exists(p + ".gz"):
        try:
            got = gzip.decompress(open(p + ".gz", "rb").read())
        except Exception as e:
            t.fail("%s.gz: unreadable gzip: %s" % (name, e))
            return
        t.check(got == content, "%s.gz: decompressed content differs from "
                "the original: %s" % (name, L.describe_diff(got, content)))
    else:
        t.fail("%s: gone (neither %s nor %s.gz exists)\n%s" % (
            name, name, name, r.show()))


# ---- A. corrupt and truncated gzip
d, conf = setup("a")
live(d)
good1 = L.FileSpec("access.log.1", old_lines())
good4 = L.FileSpec("access.log.4.gz", old_lines(), gz=True)
for s in (good1, good4):
    s.write(d)
raw = gzip.compress(L.FileSpec("x", old_lines(200)).content(), 6)
mid = len(raw) // 2
corrupt = bytearray(raw)
for i in range(mid, mid + 16):
    corrupt[i] ^= 0xA5
with open(os.path.join(d, "access.log.2.gz"), "wb") as f:
    f.write(bytes(corrupt))
with open(os.path.join(d, "access.log.3.gz"), "wb") as f:
    f.write(raw[:int(len(raw) * 0.6)])
for n in ("access.log.2.gz", "access.log.3.gz"):
    os.utime(os.path.join(d, n), (OLD_MTIME, OLD_MTIME))
bad = ["access.log.2.gz", "access.log.3.gz"]
snap0 = L.snapshot(d)

r = L.run(["-c", conf, "--now", L.NOW_ISO, "audit"])
t.check(r.rc == 1, "A audit: exit %s, expected 1\n%s" % (r.rc, r.show()))
for n in bad:
    p = os.path.join(d, n)
    t.check(any(l.startswith(p + ":") for l in r.lines() + r.errlines()) or
            p in r.err, "A audit: no line '%s: ERROR' for the bad gzip\n%s"
            % (p, r.show()))

r = L.run(["-c", conf, "--now", L.NOW_ISO, "once"])
t.check(r.rc == 1, "A once: exit %s, expected 1 (bad gzip files)\n%s" % (
    r.rc, r.show()))
after = L.snapshot(d)
for n, what in zip(bad, ("corrupt", "truncated")):
    p = os.path.join(d, n)
    t.check(p in r.err, "A once: stderr does not name the %s gzip %s\n%s" % (
        what, p, r.show()))
    t.check(after.get(n) == snap0.get(n), "A once: the %s gzip %s changed: "
            "%s" % (what, n, L.diff_snapshots({n: snap0.get(n)},
                                              {n: after.get(n)})))
    t.check(not any(p in l for l in r.lines()), "A once: stdout has an "
            "action on the %s gzip: %r" % (what, r.lines()))
check_processed(d, r, good1, "mask+compress")
check_processed(d, r, good4, "mask")

# ---- B. odd contents that are not errors
d, conf = setup("b")
live(d)
rnd = bytes(rng.getrandbits(8) for _ in range(200000))
if rnd[:2] == b"\x1f\x8b":
    rnd = b"x" + rnd
nuls = b"\x00" * 65536
odd = {"access.log.1": rnd, "access.log.2": nuls, "access.log.6": b""}
for n, c in odd.items():
    p = os.path.join(d, n)
    with open(p, "wb") as f:
        f.write(c)
    os.utime(p, (OLD_MTIME, OLD_MTIME))
    # the independent reader sees no full address in it (test sanity)
    assert L.scan_full_past(c, now)[0] == 0
lines3 = old_lines()
lines3.insert(20, L.long_line(rng, "main", lines3[19].time, 1 << 20))
long3 = L.FileSpec("access.log.3", lines3)
lines4 = old_lines()
lines4.insert(10, L.long_line(rng, "main", lines4[9].time, 5 << 20))
lines4.insert(30, L.long_line(rng, "main", lines4[29].time, 1 << 20))
long4 = L.FileSpec("access.log.4.gz", lines4, gz=True)
nonl = L.FileSpec("access.log.5", old_lines(), trailing_nl=False)
for s in (long3, long4, nonl):
    s.write(d)
# names and contents that disagree; a gzip of two members (cat a.gz b.gz)
multi = L.FileSpec("access.log.7.gz", old_lines(60), gz=True)
mp = os.path.join(d, multi.name)
half = len(multi.lines) // 2
with open(mp, "wb") as f:
    f.write(gzip.compress(b"".join(l.orig + b"\n"
                                   for l in multi.lines[:half])))
    f.write(gzip.compress(b"".join(l.orig + b"\n"
                                   for l in multi.lines[half:])))
os.utime(mp, (multi.newest(), multi.newest()))
gz_noext = L.FileSpec("access.log.8", old_lines(), gz=True)  # gzip inside
plain_gzext = L.FileSpec("access.log.9.gz", old_lines())    # plain inside
for s in (gz_noext, plain_gzext):
    s.write(d)
r = L.run(["-c", conf, "--now", L.NOW_ISO, "once"], timeout=240)
t.check(r.rc == 0, "B once: exit %s, expected 0\n%s" % (r.rc, r.show()))
check_processed(d, r, multi, "mask")
check_processed(d, r, gz_noext, "mask")
t.check(L.read_content(os.path.join(d, "access.log.8"))[1],
        "access.log.8 (gzip content, no .gz) is no longer gzip after mask")
# plain content named .gz: whatever lethe does, the file must stay one of
# the set's names, or retention and audit lose it
names = sorted(os.listdir(d))
pg = [n for n in names if n.startswith("access.log.9")]
if pg == ["access.log.9.gz"]:
    L.check_lines(t, "access.log.9.gz", L.read_content(
        os.path.join(d, "access.log.9.gz"))[0], plain_gzext, now, L.WINDOW,
        L.MASK_EARLY)
else:
    t.fail("access.log.9.gz (plain content, named .gz) became %s: a name "
           "outside the set (NAME.N.gz.gz), so audit and retention never see "
           "it again\n%s" % (pg, r.show()))
for n, c in odd.items():
    preserved(d, n, c, r)
check_processed(d, r, long3, "mask+compress")
check_processed(d, r, long4, "mask")
check_processed(d, r, nonl, "mask+compress")
leaks = L.leaked_addresses(r.out + r.err, set(
    a for s in (long3, long4, nonl) for l in s.lines for a in l.full))
t.check(not leaks, "B: full addresses printed: %s" % leaks[:5])

# ---- C. an unreadable file, lethe run as nobody
NOBODY = (65534, 65534)
d, conf = setup("c", owner=NOBODY[0])
live(d, *NOBODY)
good = L.FileSpec("access.log.1", old_lines(), uid=NOBODY[0], gid=NOBODY[1])
good.write(d)
unr = L.FileSpec("access.log.2", old_lines(), uid=NOBODY[0], gid=NOBODY[1],
                 mode=0o000)
unr.write(d)
snap0 = L.snapshot(d)
up = os.path.join(d, "access.log.2")
r = L.run(["-c", conf, "--now", L.NOW_ISO, "audit"], user=NOBODY)
t.check(r.rc == 1, "C audit as nobody: exit %s, expected 1\n%s" % (
    r.rc, r.show()))
t.check(up in r.out + r.err, "C audit: the unreadable %s is not named\n%s"
        % (up, r.show()))
r = L.run(["-c", conf, "--now", L.NOW_ISO, "once"], user=NOBODY)
t.check(r.rc == 1, "C once as nobody: exit %s, expected 1 (unreadable "
        "file)\n%s" % (r.rc, r.show()))
t.check(up in r.err, "C once: stderr does not name the unreadable %s\n%s" % (
    up, r.show()))
after = L.snapshot(d)
n = "access.log.2"
t.check(after.get(n) == snap0.get(n), "C once: the unreadable file changed: "
        "%s" % L.diff_snapshots({n: snap0.get(n)}, {n: after.get(n)}))
check_processed(d, r, good, "mask+compress")
t.done()
