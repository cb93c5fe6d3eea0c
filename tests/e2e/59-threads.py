#!/usr/bin/env python3
"""lethe mask --threads N: a regular file cut into chunks masked on N
workers gives the bytes one thread gives, and the bytes an independent
masker (this test's, python's ipaddress) expects: on a large generated
log with odd lines, on lines longer than a chunk (4 MiB) at and around
its size, on a last line without a newline, on a single line that is
the whole file, on empty input, from an offset of stdin, and on w3c
whose #Fields: lines change the layout between chunks.  The
count of lines not understood, and the first one's number, are the
same on every thread count."""

import os
import re
import subprocess

import lethelib as L
import passlib

t = L.Test("59-threads")
root = t.mkdtemp()
rng = L.random.Random(59)
MIB = 1 << 20
NLINES = passlib.count(120000, 30000, "generated lines")
THREADS = [1, 2, 3, 7]


def mask(path, threads, fmt="main", offset=0, timeout=300):
    with open(path, "rb") as f:
        if offset:
            f.seek(offset)
        p = subprocess.run([L.LETHE, "mask", "--format", fmt, "--threads",
                            str(threads)], stdin=f, capture_output=True,
                           timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def bad_report(err):
    m = re.search(r"(\d+) of (\d+) lines not understood \(first at line "
                  r"(\d+)\)", err)
    return m.groups() if m else None


def check_file(what, path, expect=None, fmt="main", offset=0):
    """Every thread count gives the same bytes and report; expect: the
    bytes the test's own masker wants."""
    first = None
    for n in THREADS:
        rc, out, err = mask(path, n, fmt, offset)
        if not t.check(rc == 0, "%s, --threads %d: exit %s, stderr %r" % (
                what, n, rc, err[:300])):
            continue
        if expect is not None and out != expect:
            gl, el = out.split(b"\n"), expect.split(b"\n")
            i = next((i for i, (g, e) in enumerate(zip(gl, el)) if g != e),
                     min(len(gl), len(el)))
            t.fail("%s, --threads %d: %d bytes out, %d expected; first "
                   "difference at line %d: %s" % (
                       what, n, len(out), len(expect), i + 1,
                       L.describe_diff(gl[i] if i < len(gl) else b"",
                                       el[i] if i < len(el) else b"")))
        if first is None:
            first = (n, out, bad_report(err))
            continue
        t.check(out == first[1], "%s: --threads %d gives %d bytes, "
                "--threads %d %d bytes, not the same" % (
                    what, n, len(out), first[0], len(first[1])))
        t.check(bad_report(err) == first[2], "%s: --threads %d reports %r, "
                "--threads %d %r" % (what, n, bad_report(err), first[0],
                                     first[2]))
    return first


# ---- 1. a large log: odd lines (no time, garbage, NULs, bad UTF-8) and
# long lines around the chunk size at random places
T0 = L.iso_to_epoch("2026-11-01T00:00:00Z")
lines = L.gen_lines(rng, "main", T0, T0 + 86400, NLINES)
LONG = [MIB + 1, 4 * MIB - 200, 4 * MIB - 1, 4 * MIB, 4 * MIB + 1,
        9 * MIB + 7]
for size in LONG:
    at = rng.randrange(len(lines))
    lines.insert(at, L.long_line(rng, "main", lines[at].time or T0, size))
src = os.path.join(root, "big.log")
data = b"".join(l.orig + b"\n" for l in lines)
with open(src, "wb") as f:
    f.write(data)
expect = b"".join(l.masked + b"\n" for l in lines)
r = check_file("generated log (%d lines, %d bytes)" % (len(lines), len(data)),
               src, expect)
if r is not None:
    rep = r[2]
    t.check(rep is not None and int(rep[1]) == len(lines),
            "generated log: reported %r, the test made %d lines" % (
                rep, len(lines)))
    # the one-threaded path that a pipe takes: the same bytes and report
    with open(src, "rb") as f:
        cat = subprocess.Popen(["cat"], stdin=f, stdout=subprocess.PIPE)
        p = subprocess.run([L.LETHE, "mask", "--format", "main"],
                           stdin=cat.stdout, capture_output=True, timeout=300)
        cat.stdout.close()
        cat.wait()
    t.check(p.stdout == r[1] and bad_report(p.stderr.decode()) == rep,
            "generated log through a pipe: %d bytes, report %r; from the "
            "file %d bytes, %r" % (len(p.stdout),
                                   bad_report(p.stderr.decode()),
                                   len(r[1]), rep))
    # independent: no full address left in remote_addr or the XFF list
    left = 0
    for ln in r[1].split(b"\n"):
        if ln and L.full_addresses_main(ln):
            left += 1
    t.check(left == 0, "generated log: %d lines out keep a full address" %
            left)

# ---- 2. from an offset inside a line (stdin was read from before)
off = len(data) // 3 + 5
check_file("from offset %d" % off, src, None, offset=off)

# ---- 3. the last line without a newline, long and short
for size in (4 * MIB + 3, 100):
    ls = L.gen_lines(rng, "main", T0, T0 + 3600, 5000, weird=False)
    ll = L.long_line(rng, "main", T0 + 3600, size)
    p = os.path.join(root, "nonl-%d.log" % size)
    with open(p, "wb") as f:
        f.write(b"".join(l.orig + b"\n" for l in ls) + ll.orig)
    check_file("last line of %d bytes without a newline" % size, p,
               b"".join(l.masked + b"\n" for l in ls) + ll.masked)

# ---- 4. the whole file one line, with and without its newline; empty
for size, nl in ((10 * MIB, True), (10 * MIB, False), (4 * MIB - 1, True)):
    ll = L.long_line(rng, "main", T0, size)
    p = os.path.join(root, "one-%d-%d.log" % (size, nl))
    with open(p, "wb") as f:
        f.write(ll.orig + (b"\n" if nl else b""))
    check_file("one line of %d bytes%s" % (size, "" if nl else
                                             ", no newline"), p,
               ll.masked + (b"\n" if nl else b""))
p = os.path.join(root, "empty.log")
open(p, "wb").close()
check_file("empty input", p, b"")

# ---- 5. combined (another format) and a log_format string
ls = L.gen_lines(rng, "combined", T0, T0 + 86400, NLINES // 4)
p = os.path.join(root, "combined.log")
with open(p, "wb") as f:
    f.write(b"".join(l.orig + b"\n" for l in ls))
check_file("combined", p, b"".join(l.masked + b"\n" for l in ls),
           fmt="combined")

# ---- 6. once --threads N: a rewrite that compresses, plain and gzip in;
# the gzip out is one member that gzip -t and python's gzip read, the
# lines masked as one thread masks them, the same bytes for 2 and 3
NOW = "2026-12-30T00:00:00Z"
plain = b"".join(l.orig + b"\n" for l in lines[:NLINES // 2])
outs = {}
for n in (1, 2, 3):
    d = os.path.join(root, "once-%d" % n)
    logs = os.path.join(d, "logs")
    os.makedirs(logs)
    os.makedirs(os.path.join(d, "state"), mode=0o700)
    open(os.path.join(logs, "access.log"), "wb").close()
    with open(os.path.join(logs, "access.log.1"), "wb") as f:
        f.write(plain)
    with open(os.path.join(logs, "access.log.2.gz"), "wb") as f:
        f.write(L.gzip.compress(plain, 6, mtime=0))
    conf = os.path.join(d, "lethe.conf")
    with open(conf, "w") as f:
        f.write("[global]\nstate_dir = %s/state\n\n[b]\nlogs = %s/"
                "access.log\nformat = main\nrotate = off\ncompress_after ="
                " 1h\nmask_early = 1h\nretain = 365d\n" % (d, logs))
    res = L.run(["-c", conf, "--now", NOW, "once", "--threads", str(n)],
                timeout=300)
    t.check(res.rc == 0, "once --threads %d: exit %s, stderr %r" % (
        n, res.rc, res.err[:300]))
    for name in ("access.log.1.gz", "access.log.2.gz"):
        p = os.path.join(logs, name)
        if not t.check(os.path.exists(p), "once --threads %d: no %s" % (
                n, name)):
            continue
        raw = open(p, "rb").read()
        gt = subprocess.run(["gzip", "-t", p], capture_output=True)
        t.check(gt.returncode == 0, "once --threads %d: gzip -t %s: %r" % (
            n, name, gt.stderr))
        t.check(raw[3] & 0x10 and raw[10:16] == b"lethe\0",
                "once --threads %d: %s has no \"lethe\" comment" % (n, name))
        body = L.gzip.decompress(raw)
        exp = b"".join(lines[i].masked + b"\n" for i in range(NLINES // 2))
        t.check(body == exp, "once --threads %d: %s: %d bytes inflated, "
                "%d expected, not the masked lines" % (
                    n, name, len(body), len(exp)))
        outs[(n, name)] = raw
for name in ("access.log.1.gz", "access.log.2.gz"):
    if (2, name) in outs and (3, name) in outs:
        t.check(outs[(2, name)] == outs[(3, name)], "once: %s differs "
                "between --threads 2 and 3" % name)
    if (1, name) in outs and (2, name) in outs:
        t.check(len(outs[(2, name)]) <= len(outs[(1, name)]) * 1.02,
                "once: %s is %d bytes on 2 threads, %d on one: more than "
                "2%% larger" % (name, len(outs[(2, name)]),
                                len(outs[(1, name)])))

# ---- 7. w3c, whose #Fields: lines change how the lines after them read:
# the layout in force where a chunk starts goes with it.  The client's
# address moves between layouts that switch every few thousand lines;
# other directives, and '#' inside a line, change nothing.
LAYOUTS = [["date", "time", "c-ip", "cs-method", "cs-uri-stem", "sc-status"],
           ["date", "time", "cs-method", "cs-uri-stem", "c-ip", "sc-status",
            "time-taken"],
           ["date", "time", "cs-method", "c-ip", "cs-uri-stem", "sc-status"]]


def w3c_value(name, k):
    if name == "date":
        return "2026-11-01"
    if name == "time":
        return "%02d:%02d:%02d" % (k // 3600 % 24, k // 60 % 60, k % 60)
    if name == "c-ip":
        if rng.random() < 0.2:
            return "2001:db8:%x:%x::%x" % (rng.randrange(65536),
                                           rng.randrange(65536),
                                           rng.randrange(1, 65536))
        return "%d.%d.%d.%d" % (rng.randrange(1, 224), rng.randrange(256),
                                rng.randrange(256), rng.randrange(1, 255))
    if name == "cs-method":
        return rng.choice(["GET", "POST"])
    if name == "cs-uri-stem":
        return rng.choice(["/", "/a#b", "/#", "/x/%d" % k])
    if name == "sc-status":
        return rng.choice(["200", "404"])
    return str(rng.randrange(1000))


w3c_in, w3c_out, lay, k = [], [], None, 0
W3C_LINES = passlib.count(150000, 40000, "w3c lines")
while k < W3C_LINES:
    if lay is None or rng.random() < 1 / 3000:
        lay = rng.choice(LAYOUTS)
        d = ("#Fields: " + " ".join(lay)).encode()
        w3c_in.append(d)
        w3c_out.append(d)
        if rng.random() < 0.5:
            d = b"#Software: Microsoft Internet Information Services 10.0"
            w3c_in.append(d)
            w3c_out.append(d)
    vals = [w3c_value(n, k) for n in lay]
    w3c_in.append(" ".join(vals).encode())
    ci = lay.index("c-ip")
    vals[ci] = L.mask_field(vals[ci], 16, 32)[0]
    w3c_out.append(" ".join(vals).encode())
    k += 1
p = os.path.join(root, "w3c.log")
with open(p, "wb") as f:
    f.write(b"\n".join(w3c_in) + b"\n")
r = check_file("w3c, %d lines, #Fields: changing" % len(w3c_in), p,
               b"\n".join(w3c_out) + b"\n", fmt="w3c")
if r is not None:
    t.check(r[2] is None, "w3c: lines not understood: %r" % (r[2],))
# a #Fields: line longer than a chunk, read on this thread, then another
ls = [w3c_in[0]] + w3c_in[1:2000]
big = b"#Fields: date time c-ip x-" + b"a" * (4 * MIB + 5) + b"\n"
p = os.path.join(root, "w3c-long.log")
with open(p, "wb") as f:
    f.write(b"\n".join(ls) + b"\n" + big + b"\n".join(ls) + b"\n")
check_file("w3c with a #Fields: line of 4 MiB", p, None, fmt="w3c")

# ---- 8. a reader that goes away: the error is the pipe's, said once
with open(src, "rb") as f:
    p = subprocess.Popen([L.LETHE, "mask", "--format", "main", "--threads",
                          "2"], stdin=f, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdout.read(1000)
    p.stdout.close()
    err = p.stderr.read().decode("utf-8", "replace")
    p.wait(timeout=120)
t.check(p.returncode == 1 and "Broken pipe" in err and
        "Bad file descriptor" not in err, "mask --threads 2 into a closed "
        "pipe: exit %s, stderr %r" % (p.returncode, err[:300]))

# ---- 9. --threads out of range is refused, naming the range
for bad in ("0", "65", "two"):
    res = L.run(["mask", "--threads", bad], stdin=b"")
    t.check(res.rc == 1 and "--threads" in res.err and "1..64" in res.err,
            "--threads %s: exit %s, stderr %r" % (bad, res.rc, res.err))
t.done()
