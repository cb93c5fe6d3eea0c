"""Shared helpers of lethe's end-to-end tests (python3 stdlib only).

Nothing here calls lethe to decide what is right: the expected masked form
of every line is computed with the ipaddress module, and files are read back
with the gzip module.  Each test creates its own temp dir (0700), runs the
binary named by $LETHE, and exits 0 (pass), 1 (fail) or 77 (skipped).
"""

import calendar
import gzip
import hashlib
import ipaddress
import os
import random
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time

LETHE = os.environ.get("LETHE", "")

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
          "Oct", "Nov", "Dec"]
MONTH_NO = {m: i + 1 for i, m in enumerate(MONTHS)}

HOUR = 3600
DAY = 86400


def iso_to_epoch(s):
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


def epoch_to_iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


# ---------------------------------------------------------------- test state

class Test:
    """Collects failures and notes; prints a bounded number of each kind."""

    MAX_PER_KIND = 12

    def __init__(self, name):
        self.name = name
        self.failures = 0
        self.kinds = {}
        self.tmp = None
        if not LETHE or not os.path.isabs(LETHE):
            print("LETHE must be the absolute path of the binary (got %r)"
                  % LETHE)
            sys.exit(1)
        if not os.access(LETHE, os.X_OK):
            print("LETHE=%s is not executable" % LETHE)
            sys.exit(1)
        sys.excepthook = self._crash

    def _crash(self, typ, val, tb):
        import traceback
        if self.tmp and not os.environ.get("E2E_KEEP"):
            rmtree(self.tmp)
        try:
            print("FAIL: the test stopped on an exception (an unexpected "
                  "state left by lethe, or a test bug):")
            traceback.print_exception(typ, val, tb, file=sys.stdout)
            if self.failures:
                print("(after %d failures above)" % self.failures)
            sys.stdout.flush()
        except OSError:         # stdout gone (a closed pipe)
            pass
        os._exit(1)

    def mkdtemp(self):
        self.tmp = tempfile.mkdtemp(prefix="lethe-e2e-%s-" % self.name)
        os.chmod(self.tmp, 0o700)
        return self.tmp

    def fail(self, msg, kind=None):
        self.failures += 1
        k = kind or msg
        n = self.kinds.get(k, 0) + 1
        self.kinds[k] = n
        if n <= self.MAX_PER_KIND:
            print("FAIL: " + msg)
        elif n == self.MAX_PER_KIND + 1:
            print("FAIL: ... more failures of this kind (%s) not shown" % k)

    def check(self, cond, msg, kind=None):
        if not cond:
            self.fail(msg, kind)
        return cond

    def note(self, msg):
        print("NOTE: " + msg)

    def info(self, msg):
        print("  " + msg)

    def done(self):
        if self.tmp and not os.environ.get("E2E_KEEP"):
            rmtree(self.tmp)
        elif self.tmp:
            print("kept " + self.tmp)
        for k, n in self.kinds.items():
            if n > self.MAX_PER_KIND:
                print("FAIL: %d failures in all of kind: %s" % (n, k))
        if self.failures:
            print("%s: %d failures" % (self.name, self.failures))
            sys.exit(1)
        print("%s: all checks passed" % self.name)
        sys.exit(0)

    def skip(self, why):
        print("SKIP: " + why)
        if self.tmp and not os.environ.get("E2E_KEEP"):
            rmtree(self.tmp)
        sys.exit(77)


def rmtree(path):
    # Directories may have been made unreadable by a test: fix that first.
    for dp, dns, fns in os.walk(path):
        for d in dns:
            try:
                p = os.path.join(dp, d)
                if not os.path.islink(p):
                    os.chmod(p, 0o700)
            except OSError:
                pass
    shutil.rmtree(path, ignore_errors=True)


class Result:
    def __init__(self, argv, rc, out, err, timed_out=False):
        self.argv = argv
        self.rc = rc
        self.out = out
        self.err = err
        self.timed_out = timed_out

    def lines(self):
        return [l for l in self.out.split("\n") if l != ""]

    def errlines(self):
        return [l for l in self.err.split("\n") if l != ""]

    def show(self, limit=3000):
        def cut(s):
            return s if len(s) <= limit else s[:limit] + "...[cut]"
        return ("$ %s\n  exit %s%s\n  stdout:\n%s\n  stderr:\n%s" % (
            " ".join(self.argv), self.rc,
            " (TIMED OUT)" if self.timed_out else "",
            indent(cut(self.out)), indent(cut(self.err))))


def indent(s, pre="    | "):
    return "\n".join(pre + l for l in s.split("\n"))


def run(args, timeout=120, stdin=None, preexec=None, user=None):
    """Run lethe with args; user=(uid, gid) runs it through setpriv."""
    argv = [LETHE] + list(args)
    if user is not None:
        argv = ["setpriv", "--reuid=%d" % user[0], "--regid=%d" % user[1],
                "--clear-groups"] + argv
    try:
        p = subprocess.run(argv, input=stdin, capture_output=True,
                           timeout=timeout, preexec_fn=preexec)
        return Result(argv, p.returncode,
                      p.stdout.decode("utf-8", "backslashreplace"),
                      p.stderr.decode("utf-8", "backslashreplace"))
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "backslashreplace")
        err = (e.stderr or b"").decode("utf-8", "backslashreplace")
        return Result(argv, None, out, err, timed_out=True)


# ---------------------------------------------------------------- addresses

def mask_token(tok, v4p=16, v6p=32):
    """The masked form of one address token (str), or None if it is not an
    address.  Accepts IPv4, IPv4:port, IPv6 (any form, zone), [IPv6],
    [IPv6]:port.  Returns (masked, full) where full is True when the
    address had host bits set past the prefix."""
    port = None
    br = False
    s = tok
    m = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", s)
    if m:
        br = True
        s, port = m.group(1), m.group(2)
        if ":" not in s:
            return None
    else:
        m = re.fullmatch(r"(\d+\.\d+\.\d+\.\d+):(\d+)", s)
        if m:
            s, port = m.group(1), m.group(2)
    zone = None
    if "%" in s:
        s, zone = s.split("%", 1)
        if ":" not in s or not zone:
            return None
    try:
        a = ipaddress.ip_address(s)
    except ValueError:
        return None
    if a.version == 4:
        if br or zone:
            return None
        n = ipaddress.ip_network("%s/%d" % (a, v4p), strict=False)
        out = str(n.network_address)
        full = int(a) != int(n.network_address)
    elif a.ipv4_mapped is not None:
        v4 = a.ipv4_mapped
        n = ipaddress.ip_network("%s/%d" % (v4, v4p), strict=False)
        out = "::ffff:" + str(n.network_address)
        full = int(v4) != int(n.network_address)
    else:
        n = ipaddress.ip_network("%s/%d" % (a, v6p), strict=False)
        out = n.network_address.compressed
        full = int(a) != int(n.network_address)
    if zone:
        out += "%" + zone
    if br:
        out = "[" + out + "]"
    if port is not None:
        out += ":" + port
    return out, full


def rand_v4(rng):
    while True:
        a = rng.randrange(1, 224)
        if a in (10, 127):
            continue
        b, c, d = rng.randrange(256), rng.randrange(256), rng.randrange(256)
        if c == 0 and d == 0:
            continue
        return "%d.%d.%d.%d" % (a, b, c, d)


V6_FORMS = ["compressed", "exploded", "upper", "leading0", "mapped",
            "nat64", "sparse"]


def rand_v6(rng, form=None):
    form = form or rng.choice(V6_FORMS)
    if form == "mapped":
        return "::ffff:" + rand_v4(rng)
    if form == "nat64":
        return "64:ff9b::" + rand_v4(rng)
    top = rng.choice([0x20010db8, 0x2a0104f8, 0x2a001450, 0x26001f18,
                      0x24068400 | rng.randrange(256)])
    if form == "sparse":
        # one group set in the host part: "2001:db8::5", "2a00:1450:4001::1"
        low = rng.randrange(1, 65536) << (16 * rng.randrange(0, 6))
        v = (top << 96) | low
    else:
        v = (top << 96) | rng.getrandbits(96)
        if v & ((1 << 96) - 1) == 0:
            v |= 1
    a = ipaddress.IPv6Address(v)
    if form == "exploded":
        return a.exploded
    if form == "upper":
        return a.compressed.upper()
    if form == "leading0":
        # full form, leading zeros dropped: 2001:db8:0:0:1:0:0:5
        return ":".join("%x" % int(g, 16) for g in a.exploded.split(":"))
    return a.compressed


HOSTNAMES = ["proxy.example.net", "203-0-113-7.dyn.example.net",
             "192.0.2.1.in-addr.example.org", "cache-fra1.example.com",
             "localhost", "host-2001-db8--1.example.com"]

UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "curl/8.4.0",
    "Wget/1.21.3",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) "
    "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 "
    "Mobile/15E148 Safari/604.1",
    "Googlebot/2.1 (+http://www.google.com/bot.html)",
    "Scanner 1.2.3.4 (compatible; probe/10.0.0.1)",
    "-",
]

PATHS = ["/", "/index.html", "/wp-login.php", "/api/v1/items?id=42",
         "/lookup?ip=203.0.113.9", "/static/app-1.2.3.4.js",
         "/cgi-bin/../../etc/passwd", "/search?q=%E2%9C%93",
         "/ip/2001:db8::1/info", "/favicon.ico"]

REFERERS = ["-", "https://example.com/", "http://198.51.100.3/admin",
            "https://www.google.com/search?q=lethe"]


def time_local(t, tzmin=0):
    """nginx $time_local: 29/Nov/2026:12:00:00 +0000 (tzmin: offset)."""
    lt = time.gmtime(t + tzmin * 60)
    sign = "+" if tzmin >= 0 else "-"
    off = abs(tzmin)
    return "%02d/%s/%04d:%02d:%02d:%02d %s%02d%02d" % (
        lt.tm_mday, MONTHS[lt.tm_mon - 1], lt.tm_year, lt.tm_hour,
        lt.tm_min, lt.tm_sec, sign, off // 60, off % 60)


class Line:
    """One generated line: original and masked bytes (no newline), its
    time (after time-less lines inherit the previous one's), whether it
    had a time of its own, and the number of full addresses in it."""
    __slots__ = ("orig", "masked", "time", "own_time", "nfull", "full",
                 "kind", "field_full")

    def __init__(self, orig, masked, t, own_time, full, kind):
        self.orig = orig
        self.masked = masked
        self.time = t
        self.own_time = own_time
        self.full = full        # list of the full address texts
        self.nfull = len(full)
        self.kind = kind
        self.field_full = full  # ... of them in the format's address fields


def mask_field(tok, v4p, v6p):
    r = mask_token(tok, v4p, v6p)
    if r is None:
        return tok, []
    return r[0], ([tok] if r[1] else [])


def mask_xff(xff, v4p, v6p):
    if xff == "-":
        return xff, []
    parts = xff.split(", ")
    out, full = [], []
    for p in parts:
        m, f = mask_field(p, v4p, v6p)
        out.append(m)
        full += f
    return ", ".join(out), full


def free_scan(line, v4p=16, v6p=32):
    """Independent free scan of a line lethe cannot understand (bytes):
    (masked bytes, [full address texts]).  Every address-like token the
    boundary rule admits (corpuslib's reference scan, python's ipaddress)
    is masked; the rest stays as written."""
    import corpuslib            # it imports this module: not at the top
    s = line.decode("latin-1")
    out, full, pos = [], [], 0
    for st, en, tok in corpuslib.scan_address_tokens(s):
        if st < pos:
            continue            # inside a token already taken (::ffff:v4)
        r = mask_token(tok, v4p, v6p)
        if r is None:
            continue
        out.append(s[pos:st])
        out.append(r[0])
        if r[1]:
            full.append(tok)
        pos = en
    out.append(s[pos:])
    return "".join(out).encode("latin-1"), full


def make_line(fmt, ra, tstr, request, ua, xff="-", referer="-", status=200,
              size=512, user="-", v4p=16, v6p=32, vhost="www.example.com:443"):
    """Build (orig, masked, full) bytes for one line of format fmt
    (combined, main, common, vhost_combined).  Pieces may be bytes or
    str (str encoded as latin-1 so any byte value is possible)."""
    def b(x):
        return x if isinstance(x, bytes) else x.encode("latin-1")
    ra_m, full = mask_field(ra, v4p, v6p)
    head_o = b(ra)
    head_m = b(ra_m)
    rest = b(" - %s [" % user) + b(tstr) + b('] "') + b(request) + \
        b('" %d %d' % (status, size))
    if fmt in ("combined", "main", "vhost_combined"):
        rest += b(' "') + b(referer) + b('" "') + b(ua) + b('"')
    tail_o = tail_m = b""
    if fmt == "main":
        xm, xfull = mask_xff(xff, v4p, v6p)
        full = full + xfull
        tail_o = b(' "') + b(xff) + b('"')
        tail_m = b(' "') + b(xm) + b('"')
    if fmt == "vhost_combined":
        return (b(vhost) + b" " + head_o + rest, b(vhost) + b" " + head_m +
                rest, full)
    return head_o + rest + tail_o, head_m + rest + tail_m, full


def rand_xff(rng):
    r = rng.random()
    if r < 0.35:
        return "-"
    n = rng.randrange(1, 5)
    parts = []
    for _ in range(n):
        k = rng.random()
        if k < 0.4:
            parts.append(rand_v4(rng))
        elif k < 0.65:
            parts.append(rand_v6(rng))
        elif k < 0.75:
            parts.append("unknown")
        elif k < 0.8:
            parts.append("-")
        elif k < 0.88:
            parts.append(rng.choice(HOSTNAMES))
        elif k < 0.94:
            parts.append("%s:%d" % (rand_v4(rng), rng.randrange(1024, 65536)))
        else:
            parts.append("[%s]:%d" % (rand_v6(rng, "compressed"),
                                      rng.randrange(1024, 65536)))
    return ", ".join(parts)


def rand_ra(rng):
    r = rng.random()
    if r < 0.6:
        return rand_v4(rng)
    if r < 0.97:
        return rand_v6(rng)
    return rng.choice(HOSTNAMES)


WEIRD_BYTES = [b"\xff\xfe", b"\xc3\x28", b"\x00", b"\xe2\x82", b"\x00\x00x",
               b"\x80abc\xbf"]


def gen_lines(rng, fmt, t0, t1, n, tzmin=0, weird=True, masked_only=False,
              v4p=16, v6p=32):
    """n lines with times spread over [t0, t1) in increasing order.
    Some lines have no parseable time (well-formed but a broken time field,
    with an address), a few are garbage, some carry invalid UTF-8 or NULs.
    masked_only: every address is already masked (no full address)."""
    times = sorted(rng.uniform(t0, t1) for _ in range(n))
    out = []
    prev = None
    for i, tf in enumerate(times):
        t = int(tf)
        ra = rand_ra(rng)
        xff = rand_xff(rng)
        ua = rng.choice(UAS)
        req = "%s %s HTTP/1.1" % (rng.choice(["GET", "POST", "HEAD"]),
                                  rng.choice(PATHS))
        if weird and rng.random() < 0.03:
            req = req.encode() + rng.choice(WEIRD_BYTES)
        if weird and rng.random() < 0.03:
            ua = ua.encode() + b" " + rng.choice(WEIRD_BYTES)
        if masked_only:
            ra = mask_token(ra, v4p, v6p)[0] if mask_token(ra, v4p, v6p) \
                else ra
            xff = mask_xff(xff, v4p, v6p)[0]
        kind = "normal"
        own = True
        tstr = time_local(t, tzmin)
        if weird and prev is not None and rng.random() < 0.02:
            kind = "no-time"
            own = False
            tstr = rng.choice(["-", "99/Foo/2026:99:99:99 +0000", "",
                               "garbage"])
        if weird and prev is not None and rng.random() < 0.01:
            o = rng.choice([b"garbage line without time or address",
                            b"\x00\x00\x00", b"", b"- - - -",
                            b"\xff\xfe broken \x00 bytes"])
            out.append(Line(o, o, prev, False, [], "garbage"))
            continue
        o, m, full = make_line(fmt, ra, tstr, req, ua, xff=xff,
                               referer=rng.choice(REFERERS),
                               status=rng.choice([200, 200, 304, 404, 500]),
                               size=rng.randrange(0, 100000), v4p=v4p,
                               v6p=v6p)
        lt = t if own else prev
        ffull = full
        if kind == "no-time":
            # Not understood (no time): the free scan masks every
            # address-like token, in the referer and the request too.
            m, full = free_scan(o, v4p, v6p)
        out.append(Line(o, m, lt, own, full, kind))
        out[-1].field_full = ffull
        prev = lt
    return out


def long_line(rng, fmt, t, size, tzmin=0, v4p=16, v6p=32, xff=None):
    """One line of about size bytes (a long query string), with addresses
    in remote_addr and (main) in the XFF field at its very end (unless
    xff is given)."""
    ra = rand_v4(rng)
    pad = "".join(rng.choice("abcdefghijklmnop0123456789&=") for _ in
                  range(4096))
    q = (pad * (size // 4096 + 1))[:size]
    req = "GET /?q=%s HTTP/1.1" % q
    if xff is None:
        xff = "%s, %s" % (rand_v4(rng), rand_v6(rng, "compressed"))
    o, m, full = make_line(fmt, ra, time_local(t, tzmin), req, UAS[0],
                           xff=xff, v4p=v4p, v6p=v6p)
    return Line(o, m, t, True, full, "long-%d" % size)


# ---------------------------------------------------------------- files

class FileSpec:
    def __init__(self, name, lines, gz=False, live=False, uid=0, gid=0,
                 mode=0o640, trailing_nl=True, raw=None):
        self.name = name
        self.lines = lines
        self.gz = gz
        self.live = live
        self.uid = uid
        self.gid = gid
        self.mode = mode
        self.trailing_nl = trailing_nl
        self.raw = raw          # bytes: content not made of Lines

    def content(self):
        if self.raw is not None:
            return self.raw
        data = b"\n".join(l.orig for l in self.lines)
        if self.trailing_nl and self.lines:
            data += b"\n"
        return data

    def newest(self):
        ts = [l.time for l in self.lines if l.time is not None]
        return max(ts) if ts else None

    def oldest_full(self):
        ts = [l.time for l in self.lines if l.nfull]
        return min(ts) if ts else None

    def write(self, d, mtime=None):
        p = os.path.join(d, self.name)
        data = self.content()
        if self.gz:
            data = gzip.compress(data, 6, mtime=0)
        with open(p, "wb") as f:
            f.write(data)
        os.chown(p, self.uid, self.gid)
        os.chmod(p, self.mode)
        mt = mtime if mtime is not None else self.newest()
        if mt is not None:
            os.utime(p, (mt, mt))
        return p


def read_content(path):
    """Content of a file, decompressed when it starts with gzip's magic."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data), True
    return data, False


def split_lines(data):
    """Lines without their newline, and whether the last one had one."""
    if not data:
        return [], True
    parts = data.split(b"\n")
    if parts[-1] == b"":
        return parts[:-1], True
    return parts, False


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def snapshot(root):
    """{relative path: (kind, sha or link target, uid, gid, mode, mtime_ns,
    nlink)} of everything under root, without following links."""
    snap = {}
    for dp, dns, fns in os.walk(root):
        for n in dns + fns:
            p = os.path.join(dp, n)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            if stat.S_ISREG(st.st_mode):
                k, v = "file", sha(p)
            elif stat.S_ISLNK(st.st_mode):
                k, v = "link", os.readlink(p)
            elif stat.S_ISDIR(st.st_mode):
                k, v = "dir", None
            else:
                k, v = "special", stat.S_IFMT(st.st_mode)
            mt = st.st_mtime_ns if k != "dir" else None
            snap[rel] = (k, v, st.st_uid, st.st_gid,
                         stat.S_IMODE(st.st_mode), mt, st.st_nlink)
    return snap


def diff_snapshots(before, after):
    """List of human-readable differences."""
    out = []
    before = {k: v for k, v in before.items() if v is not None}
    after = {k: v for k, v in after.items() if v is not None}
    for k in sorted(set(before) | set(after)):
        if k not in after:
            out.append("%s: removed" % k)
        elif k not in before:
            out.append("%s: appeared (%s)" % (k, after[k][0]))
        elif before[k] != after[k]:
            names = ["kind", "content", "uid", "gid", "mode", "mtime_ns",
                     "nlink"]
            d = ["%s %r -> %r" % (names[i], before[k][i], after[k][i])
                 for i in range(len(names)) if before[k][i] != after[k][i]]
            out.append("%s: %s" % (k, ", ".join(d)))
    return out


def show_bytes(b, limit=160):
    if len(b) > limit:
        return repr(b[:limit]) + "...(%d bytes)" % len(b)
    return repr(b)


def first_diff(a, b):
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n if len(a) != len(b) else -1


def describe_diff(got, exp):
    i = first_diff(got, exp)
    lo = max(0, i - 40)
    return ("first difference at byte %d: got %s, expected %s" % (
        i, show_bytes(got[lo:i + 60]), show_bytes(exp[lo:i + 60])))


# ------------------------------------------------------- checking the result

def check_lines(t, path, got_data, spec, now, window, mask_early,
                must_mask_all=False, may_mask=True):
    """Check the surviving content of one file against its generated lines:
    same number of lines, in order; each line equal to the original (only
    when its time >= now - window) or to the masked form (only when its
    time < now - window + mask_early).  may_mask False: the file must be
    byte-identical."""
    lines, nl = split_lines(got_data)
    exp = spec.lines
    cut = now - window
    early = now - window + mask_early
    if len(lines) != len(exp):
        t.fail("%s: %d lines, expected %d (lines lost or duplicated)" % (
            path, len(lines), len(exp)), kind="line count")
        # Say which: map each line read back to the generated line it is
        # (original or masked), then list the lost, repeated and unknown.
        idx = {}
        for i, e in enumerate(exp):
            idx.setdefault(e.orig, []).append(i)
            if e.masked != e.orig:
                idx.setdefault(e.masked, []).append(i)
        used = {}
        unknown = []
        for j, g in enumerate(lines):
            cands = idx.get(g)
            if not cands:
                unknown.append(j + 1)
                continue
            k = next((c for c in cands if c not in used), cands[0])
            used[k] = used.get(k, 0) + 1
        lost = [i + 1 for i in range(len(exp)) if i not in used]
        dup = [i + 1 for i, n in used.items() if n > 1]
        t.fail("%s: original lines lost: %s; repeated: %s; lines read back "
               "that match no original (changed): %s" % (
                   path, lost[:20], sorted(dup)[:20], unknown[:20]),
               kind="lost/dup detail")
        return
    if nl != spec.trailing_nl:
        t.fail("%s: trailing newline %s, expected %s" % (
            path, nl, spec.trailing_nl))
    for i, (g, e) in enumerate(zip(lines, exp)):
        if g == e.orig and g == e.masked:
            continue
        tstr = epoch_to_iso(e.time)
        if g == e.orig:
            if may_mask and e.time < cut and e.nfull:
                t.fail("%s: line %d (%s, time %s, %d bytes) still holds "
                       "full address(es) %s past the window" % (
                           path, i + 1, e.kind, tstr, len(g),
                           ", ".join(e.full)),
                       kind="unmasked past window (%s)" % e.kind)
            continue
        if g == e.masked:
            if not may_mask:
                t.fail("%s: line %d (time %s) was masked but this file "
                       "must not change" % (path, i + 1, tstr),
                       kind="masked in unchanged file")
            elif e.time >= early:
                t.fail("%s: line %d (time %s) masked although newer than "
                       "now - window + mask_early (%s)" % (
                           path, i + 1, tstr, epoch_to_iso(early)),
                       kind="masked too early")
            continue
        # neither: what went wrong?
        tgt = e.masked if (may_mask and e.time < early) else e.orig
        left = full_addresses_main(g)
        t.fail("%s: line %d (%s, time %s) is neither the original nor its "
               "masked form: %s%s" % (
                   path, i + 1, e.kind, tstr, describe_diff(g, tgt),
                   "; full addresses left in it: %s" % left if left else ""),
               kind="changed line")


# a line's timestamp, CLF style
CLF_RE = re.compile(rb"\[(\d{2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):"
                    rb"(\d{2}) ([+-])(\d{2})(\d{2})\]")


def parse_clf_time(line):
    m = CLF_RE.search(line)
    if not m:
        return None
    d, mon, y, hh, mm, ss, sg, oh, om = m.groups()
    if mon.decode() not in MONTH_NO:
        return None
    try:
        t = calendar.timegm((int(y), MONTH_NO[mon.decode()], int(d),
                             int(hh), int(mm), int(ss)))
    except (ValueError, OverflowError):
        return None
    off = (int(oh) * 60 + int(om)) * 60
    return t - off if sg == b"+" else t + off


def full_addresses_main(line, v4p=16, v6p=32, fmt="main"):
    """Independent reader: the full addresses in remote_addr and (main)
    every element of the last quoted field of a line."""
    found = []
    sp = line.find(b" ")
    if sp > 0:
        tok = line[:sp].decode("latin-1")
        r = mask_token(tok, v4p, v6p)
        if r and r[1]:
            found.append(tok)
    if fmt == "main" and line.endswith(b'"'):
        q = line.rfind(b'"', 0, len(line) - 1)
        if q >= 0:
            for p in line[q + 1:-1].decode("latin-1").split(","):
                p = p.strip()
                r = mask_token(p, v4p, v6p)
                if r and r[1]:
                    found.append(p)
    return found


def scan_full_past(data, cut, v4p=16, v6p=32, fmt="main"):
    """(count, first line no) of full addresses on lines older than cut;
    a line without a time takes the previous line's."""
    lines, _ = split_lines(data)
    prev = None
    n = 0
    first = None
    for i, l in enumerate(lines):
        tt = parse_clf_time(l)
        if tt is None:
            tt = prev
        prev = tt
        if tt is None or tt >= cut:
            continue
        f = full_addresses_main(l, v4p, v6p, fmt)
        if f:
            n += len(f)
            if first is None:
                first = i + 1
    return n, first


LINE_HEAD = 1 << 20        # lethe reads longer lines as not understood
# the layout of a CLF line whose time has the form of one but is no time
# ("99/Foo/2026:99:99:99 +0000"); other broken times are no match at all
CLF_SHAPE = re.compile(rb'^\S+ \S+ \S+ \[\d\d/[A-Za-z]{3}/\d{4}:\d\d:\d\d:'
                       rb'\d\d [+-]\d{4}\] "')


def audit_expect(data, cut, v4p=16, v6p=32, fmt="main"):
    """What lethe audit must say of content data, as the lines of its
    report without the "PATH: " before them: full addresses in the address
    fields of the lines it understands past cut, the lines it does not
    understand (no time of the format's) past cut, and the address-like
    tokens of those (free_scan), at any time.  A line without a time takes
    the line before's; an empty line is understood."""
    lines, _ = split_lines(data)
    prev = None
    nf = nb = ns = 0
    ff = fb = fs = None
    for i, l in enumerate(lines):
        tt = parse_clf_time(l)
        long = len(l) >= LINE_HEAD
        nu = (tt is None and l not in (b"", b"\r")) or long
        # a line whose layout is the format's but for its time: lethe
        # knows its address fields (their addresses count as such)
        shaped = not long and CLF_SHAPE.match(l) is not None
        if tt is None:
            tt = prev
        prev = tt
        past = tt is not None and tt < cut
        f = full_addresses_main(l, v4p, v6p, fmt) if shaped else []
        if nu:
            k = len(free_scan(l, v4p, v6p)[1]) - len(f)
            if k > 0:
                ns += k
                fs = fs or i + 1
            if past:
                nb += 1
                fb = fb or i + 1
        if past and f:
            nf += len(f)
            ff = ff or i + 1
    out = []
    if nf:
        out.append("%d full addresses past the window, first at line %d" % (
            nf, ff))
    if nb:
        out.append("%d lines not understood past the window, first at "
                   "line %d" % (nb, fb))
    if ns:
        out.append("warning: %d address-like tokens outside the address "
                   "fields of lines not understood, first at line %d" % (
                       ns, fs))
    return out


ADDR_CHARS = set("0123456789abcdefABCDEF:.")


def leaked_addresses(text, addrs):
    """Full addresses of addrs (strings) that appear in text as whole
    tokens."""
    out = []
    for a in addrs:
        start = 0
        while True:
            i = text.find(a, start)
            if i < 0:
                break
            before = text[i - 1] if i > 0 else " "
            after = text[i + len(a)] if i + len(a) < len(text) else " "
            if before not in ADDR_CHARS and after not in ADDR_CHARS:
                out.append(a)
                break
            start = i + 1
    return out


def write_conf(path, state_dir, sets, extra_global=""):
    """sets: list of (name, {key: value}) in order."""
    s = "[global]\nstate_dir = %s\n%s\n" % (state_dir, extra_global)
    for name, kv in sets:
        s += "[%s]\n" % name
        for k, v in kv.items():
            s += "%s = %s\n" % (k, v)
        s += "\n"
    with open(path, "w") as f:
        f.write(s)
    return path


def set_conf(logs, fmt="main", window="7d", compress_after="1h",
             mask_early="1h", retain="20d", **kw):
    d = {"logs": logs, "format": fmt, "window": window, "ipv4_prefix": "16",
         "ipv6_prefix": "32", "rotate": "off",
         "compress_after": compress_after, "mask_early": mask_early,
         "retain": retain}
    d.update(kw)
    return d


def expected_action(spec, path, now, window, compress_after, retain):
    """The line once should print for a rotated file (or None)."""
    if spec.live:
        return None
    newest = spec.newest()
    if newest is not None and newest < now - retain:
        return "delete %s" % path
    of = spec.oldest_full()
    mask = of is not None and of < now - window
    comp = (not spec.gz and compress_after is not None and
            newest is not None and newest < now - compress_after)
    if mask and comp:
        return "mask+compress %s -> %s.gz" % (path, path)
    if mask:
        return "mask %s" % path
    if comp:
        return "compress %s -> %s.gz" % (path, path)
    return None


def require_root(t):
    if os.geteuid() != 0:
        t.skip("needs root (chown, setpriv)")


# ------------------------------------------------------ the month of logs

NOW_ISO = "2026-11-29T12:00:00Z"
NOW = iso_to_epoch(NOW_ISO)
WINDOW = 7 * DAY
MASK_EARLY = HOUR
COMPRESS_AFTER = HOUR
RETAIN = 20 * DAY


class Month:
    """About 30 days of logs in three sets, laid out for --now NOW_ISO."""

    def __init__(self, root, seed=1, per_file=120, long_lines=True):
        rng = random.Random(seed)
        self.root = root
        self.logs = os.path.join(root, "logs")
        self.state = os.path.join(root, "state")
        os.mkdir(self.logs, 0o755)
        os.mkdir(self.state, 0o700)
        self.specs = {}
        self.sets = {}
        now = NOW
        n = per_file

        def add(setname, spec):
            self.specs[spec.name] = spec
            self.sets.setdefault(setname, []).append(spec.name)

        # set "web": logrotate numbering, UTC, www-data:adm
        w0 = now - 20 * HOUR
        add("web", FileSpec("access.log", gen_lines(rng, "main", w0,
                            now - 60, n), live=True, uid=33, gid=4,
                            mode=0o640))
        add("web", FileSpec("access.log.1", gen_lines(
            rng, "main", w0 - DAY, w0, n), uid=33, gid=4, mode=0o640))
        for k in range(2, 24):
            lines = gen_lines(rng, "main", w0 - k * DAY, w0 - (k - 1) * DAY,
                              n)
            if k == 10 and long_lines:
                i = len(lines) // 2
                # XFF "-": addresses at the end of lines over 1 MiB are
                # the business of 40-bad-input and 50-mask
                lines.insert(i + 1, long_line(rng, "main", lines[i].time,
                                              1 << 20, xff="unknown, -"))
            add("web", FileSpec("access.log.%d.gz" % k, lines, gz=True,
                                uid=33, gid=4,
                                mode=0o640 if k % 2 else 0o604))
        # set "other": dateext names, +0100, root:adm 0604
        tz = 60
        midnight = iso_to_epoch("2026-11-29T00:00:00Z") - HOUR

        def day(k):     # [local midnight - k days, + 1 day)
            return midnight - k * DAY, midnight - (k - 1) * DAY

        add("other", FileSpec("another.log", gen_lines(
            rng, "main", now - 10 * HOUR, now - 30, n, tz), live=True,
            uid=0, gid=4, mode=0o604))
        for name, k, gz in [("another.log-20261129", 1, False),
                            ("another.log-20261123", 7, False),
                            ("another.log-20261120", 10, False),
                            ("another.log-20261110.gz", 20, True),
                            ("another.log-20261105.gz", 24, True),
                            ("another.log-20261101", 28, False)]:
            a, b = day(k)
            add("other", FileSpec(name, gen_lines(rng, "main", a, b, n, tz),
                                  gz=gz, uid=0, gid=4, mode=0o604))
        # set "seg": lethe's own names, -0700, www-data:www-data 0600
        tz = -420
        add("seg", FileSpec("seg.log", gen_lines(
            rng, "main", now - 5 * HOUR, now - 10, n, tz), live=True,
            uid=33, gid=33, mode=0o600))
        for name, a, b, gz, mo in [
                ("seg.log-20261129T0700Z", "2026-11-28T07:00:00Z",
                 "2026-11-29T07:00:00Z", False, False),
                ("seg.log-20261125T0000Z.gz", "2026-11-24T00:00:00Z",
                 "2026-11-25T00:00:00Z", True, False),
                ("seg.log-20261122T1600Z.gz", "2026-11-21T16:00:00Z",
                 "2026-11-22T16:00:00Z", True, False),
                ("seg.log-20261120T0000Z", "2026-11-19T00:00:00Z",
                 "2026-11-20T00:00:00Z", False, True),
                ("seg.log-20261115T0000Z.gz", "2026-11-14T00:00:00Z",
                 "2026-11-15T00:00:00Z", True, True),
                ("seg.log-20261101T0000Z.gz", "2026-10-31T00:00:00Z",
                 "2026-11-01T00:00:00Z", True, False)]:
            add("seg", FileSpec(name, gen_lines(
                rng, "main", iso_to_epoch(a), iso_to_epoch(b), n, tz,
                masked_only=mo), gz=gz, uid=33, gid=33, mode=0o600))
        for spec in self.specs.values():
            spec.write(self.logs)
        self.conf = write_conf(os.path.join(root, "lethe.conf"), self.state, [
            ("web", set_conf(self.path("access.log"))),
            ("other", set_conf(self.path("another.log"))),
            ("seg", set_conf(self.path("seg.log")))])

    def path(self, name):
        return os.path.join(self.logs, name)

    def expected_actions(self):
        out = {}
        for name, spec in self.specs.items():
            a = expected_action(spec, self.path(name), NOW, WINDOW,
                                COMPRESS_AFTER, RETAIN)
            if a:
                out[name] = a
        return out

    def all_full_addresses(self):
        s = set()
        for spec in self.specs.values():
            for l in spec.lines:
                s.update(l.full)
        return s
