"""The log corpus of 97-corpus: ground truth, generators and an independent
reader (python3 stdlib only).

Nothing here asks lethe what is right.  Every address in the corpus is put
there by this module (or written by hand in a sidecar of tests/corpus/), as
an A piece that knows its value (an ipaddress object), how it was spelt,
whether it stands in an address field, and what it must become.  A line is a
list of literal text and A pieces; its expected masked form is computed from
the pieces with the ipaddress module, never by parsing the line back.

Two ways to check a line lethe wrote back:
  understood lines: byte for byte against the expected form (address fields
    masked, everything else as written);
  lines not understood: lethe's free scan may change only address pieces,
    each into one of its allowed masked forms, and must mask every piece
    that the scan's boundary rule admits (see admissible()).
"""

import ipaddress
import json
import os
import random
import re
import time

import lethelib as L

try:
    import zoneinfo
except ImportError:                     # python < 3.9
    zoneinfo = None

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS_DIR = os.path.normpath(os.path.join(HERE, "..", "corpus"))

DAY = L.DAY
HOUR = L.HOUR
NOW_ISO = "2026-11-29T12:00:00Z"
NOW = L.iso_to_epoch(NOW_ISO)
WINDOW = 7 * DAY
MASK_EARLY = HOUR
CUT = NOW - WINDOW                      # past the window: time < CUT
EARLY = CUT + MASK_EARLY                # masked by once: time < EARLY
# The time segments of the generated files.  Nothing falls within 6 h of
# the window's edge, so "masked", "not masked" and "past the window" are
# never a matter of seconds or of how a line's time was inherited.
SEGMENTS = {
    "gz": (NOW - 14 * DAY, NOW - 10 * DAY),
    "past": (NOW - 10 * DAY, CUT - 6 * HOUR),
    "inside": (EARLY + 6 * HOUR, NOW - 7 * HOUR),
    "live": (NOW - 6 * HOUR, NOW - 600),
}


class CorpusBug(Exception):
    """The corpus contradicts itself (a test bug, not a lethe bug)."""


# ------------------------------------------------------------ masking

def m4(a, p):
    """IPv4 address a with all but the first p bits zeroed, as text."""
    keep = ((1 << p) - 1) << (32 - p)
    return str(ipaddress.IPv4Address(int(a) & keep))


def m6(a, p4, p6):
    """IPv6 address a masked, RFC 5952 text; IPv4-mapped with the IPv4
    prefix (::ffff:192.0.0.0)."""
    if a.ipv4_mapped is not None:
        return "::ffff:" + m4(a.ipv4_mapped, p4)
    keep = ((1 << p6) - 1) << (128 - p6)
    return ipaddress.IPv6Address(int(a) & keep).compressed


def full4(a, p):
    return int(a) & ((1 << (32 - p)) - 1) != 0


def full6(a, p4, p6):
    if a.ipv4_mapped is not None:
        return full4(a.ipv4_mapped, p4)
    return int(a) & ((1 << (128 - p6)) - 1) != 0


ALNUM = re.compile(r"[A-Za-z0-9]")


def _alnum(c):
    return bool(c) and ALNUM.fullmatch(c) is not None


def admissible(before, after, after_addr=False):
    """The free scan's boundary rule: a token is not an address when it is
    directly preceded by a letter, a digit, '.', '_', or by '/' that
    itself follows a letter or digit (Chrome/120.0.0.0) unless that is
    the end of an address (after_addr: "2001:db8::1/192.0.2.7", which
    masking turns into "2001:db8::/192.0.2.7"), or directly followed by a
    letter, digit or '.'.  before: the text before the address, after:
    the text after it.  Brackets and a :port around an address belong to
    its token, so the rule must hold both right at the address and
    outside them; only then must the scan mask it."""
    def ok(b, a):
        b1 = b[-1:]
        b2 = b[-2:-1]
        if _alnum(b1) or b1 in (".", "_"):
            return False
        if b1 == "/" and _alnum(b2) and not after_addr:
            return False
        a1 = a[:1]
        return not (_alnum(a1) or a1 == ".")

    if not ok(before, after):
        return False
    b = before[:-1] if before.endswith("[") else before
    a = after[1:] if (after.startswith("]") and before.endswith("[")) \
        else after
    m = re.match(r":\d+", a)
    if m:
        a = a[m.end():]
    return ok(b, a)


# ------------------------------------------------------------ address pieces

class A:
    """One address (or host name) as written in a line.

    kind: v4 (dotted quad), v4z (leading zeros, read as decimal), v6 (any
    IPv6 text; zone in .zone), v6port (IPv6 without brackets followed by
    :port in one token, Apache 2.4's [client 2001:db8::1:51234]), esc
    (a JSON string spelt with \\u escapes), host (a host name; value is the
    IPv4 address it embeds, at text[hsub[0]:hsub[1]], or None).
    field: it stands in an address field of the line's format."""

    __slots__ = ("text", "kind", "value", "field", "spelling", "port",
                 "zone", "hsub", "adm")

    def __init__(self, text, kind, value=None, field=True, spelling=None,
                 port=None, zone=None, hsub=None):
        self.text = text
        self.kind = kind
        self.value = value
        self.field = field
        self.spelling = spelling or kind
        self.port = port
        self.zone = zone
        self.hsub = hsub
        self.adm = True

    def __repr__(self):
        return "A(%r, %s%s)" % (self.text, self.kind,
                                "" if self.field else ", free")

    def masked(self, p4=16, p6=32):
        k = self.kind
        if k == "host":
            return self.text
        v = self.value
        if v.version == 4:
            s = m4(v, p4)
        else:
            s = m6(v, p4, p6)
        if self.zone:
            s += "%" + self.zone
        if k == "v6port":
            s += ":" + self.port
        return s

    def host_masked(self, p4=16, p6=32):
        if self.kind != "host":
            return self.masked(p4, p6)
        if self.value is None:
            return self.text
        s, e = self.hsub
        return self.text[:s] + m4(self.value, p4).replace(".", "-") + \
            self.text[e:]

    def out(self, p4, p6, mh):
        """What an address field makes of it."""
        if self.kind == "host":
            return self.host_masked(p4, p6) if mh else self.text
        return self.masked(p4, p6)

    def is_full(self, p4=16, p6=32, mh=False):
        """Does it hold host bits that masking must remove?"""
        v = self.value
        if self.kind == "host":
            return mh and v is not None and full4(v, p4)
        if v.version == 4:
            return full4(v, p4)
        return full6(v, p4, p6)

    def alts(self, p4, p6, mh):
        """Every text a free scan (of a line not understood) may leave
        here: any masked reading of it, and the text as written unless
        the scan must mask it."""
        if self.kind == "host":
            return {self.text, self.host_masked(p4, p6)}
        s = {self.masked(p4, p6)}
        if self.kind == "v6":
            m = re.search(r"(\d+\.\d+\.\d+\.\d+)$", self.text)
            if m:                       # embedded IPv4: the scan may take
                try:                    # the dotted quad alone
                    q = ipaddress.IPv4Address(m.group(1))
                    s.add(self.text[:m.start()] + m4(q, p4))
                except ValueError:
                    pass
        if self.kind == "v6port":       # the scan may read it all as IPv6
            try:
                s.add(m6(ipaddress.IPv6Address(self.text), p4, p6))
            except ValueError:
                pass
        if not self.must(p4, p6):
            s.add(self.text)
        return s

    def must(self, p4, p6):
        """The free scan must mask it (a line not understood)."""
        return (self.adm and self.kind in ("v4", "v6", "v6port") and
                self.is_full(p4, p6))


def addr(value, spelling="plain", field=True, port=None):
    """An A piece for ipaddress value, written in the given spelling."""
    v = value
    if v.version == 4:
        if spelling == "zeros":
            text = ".".join("%03d" % int(o) for o in str(v).split("."))
            return A(text, "v4z", v, field, "v4-leading-zeros")
        if spelling == "esc":
            text = "".join("\\u%04x" % ord(c) for c in str(v)[:3]) + \
                str(v)[3:]
            return A(text, "esc", v, field, "json-\\u-escaped")
        return A(str(v), "v4", v, field, "v4")
    if spelling == "compressed":
        return A(v.compressed, "v6", v, field, "v6")
    if spelling == "exploded":
        return A(v.exploded, "v6", v, field, "v6-exploded")
    if spelling == "upper":
        return A(v.compressed.upper(), "v6", v, field, "v6-upper")
    if spelling == "leading0":
        t = ":".join("%x" % int(g, 16) for g in v.exploded.split(":"))
        return A(t, "v6", v, field, "v6-no-compression")
    if spelling == "mapped":
        return A("::ffff:" + str(v.ipv4_mapped), "v6", v, field,
                 "v6-mapped-v4")
    if spelling == "mapped-upper":
        return A("::FFFF:" + str(v.ipv4_mapped), "v6", v, field,
                 "v6-mapped-v4")
    if spelling == "nat64":
        emb = ipaddress.IPv4Address(int(v) & 0xffffffff)
        return A("64:ff9b::" + str(emb), "v6", v, field, "v6-nat64")
    if spelling == "port":          # IPv6 and :port without brackets
        return A(v.compressed + ":" + str(port), "v6port", v, field,
                 "v6:port-unbracketed", port=str(port))
    if spelling == "esc":
        t = v.compressed
        text = "".join("\\u%04x" % ord(c) for c in t[:4]) + t[4:]
        return A(text, "esc", v, field, "json-\\u-escaped")
    raise ValueError(spelling)


def zoned(value, zone, field=True):
    return A(value.compressed + "%" + zone, "v6", value, field,
             "v6-zone", zone=zone)


DOC4 = [ipaddress.ip_network(n) for n in
        ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]


def rand4(rng):
    """A documentation address, or a random global-looking one."""
    if rng.random() < 0.6:
        net = rng.choice(DOC4)
        return ipaddress.IPv4Address(int(net.network_address) +
                                     rng.randrange(1, 255))
    return ipaddress.IPv4Address(L.rand_v4(rng))


def rand6(rng):
    if rng.random() < 0.6:
        top = 0x20010db8
    else:
        top = rng.choice([0x2a0104f8, 0x2a001450, 0x26001f18, 0x24068400])
    low = rng.getrandbits(96)
    if rng.random() < 0.4:          # sparse: 2001:db8:0:12::5
        low = (rng.randrange(1, 65536) << 64) | rng.randrange(1, 65536)
    return ipaddress.IPv6Address((top << 96) | (low or 1))


def mapped(v4):
    return ipaddress.IPv6Address((0xffff << 32) | int(v4))


def nat64(v4):
    return ipaddress.IPv6Address((0x64ff9b << 96) | int(v4))


def masked_v4(rng):
    """An address that is masked already (no host bits at /16)."""
    return ipaddress.IPv4Address(int(rand4(rng)) & 0xffff0000)


def v4(rng, field=True):
    return addr(rand4(rng), "plain", field)


def v6(rng, field=True, spelling="compressed"):
    return addr(rand6(rng), spelling, field)


def server_client(rng, field=True):
    """What a server writes as the peer address: mostly IPv4 and
    compressed IPv6, some IPv4-mapped, some already masked, and now and
    then other IPv6 spellings (lethe must read every spelling there)."""
    r = rng.random()
    if r < 0.55:
        return addr(rand4(rng), "plain", field)
    if r < 0.77:
        return addr(rand6(rng), "compressed", field)
    if r < 0.85:
        return addr(mapped(rand4(rng)), "mapped", field)
    if r < 0.90:
        return addr(masked_v4(rng), "plain", field)
    if r < 0.92:
        return addr(ipaddress.IPv6Address(int(rand6(rng)) >> 96 << 96),
                    "compressed", field)
    return addr(rand6(rng), rng.choice(["exploded", "upper", "leading0"]),
                field)


def host_piece(rng, field=True):
    """A host name in an address field (Apache HostnameLookups, a proxy
    that writes names): with an IPv4 address embedded with dashes, or
    without one."""
    r = rng.random()
    if r < 0.5:
        a = rand4(rng)
        d = str(a).replace(".", "-")
        pre, post = rng.choice([("ec2-", ".compute-1.example.com"),
                                ("", ".dyn.example.net"),
                                ("host-", ".example.net"),
                                ("ip-", ".eu-west-1.compute.example.com")])
        return A(pre + d + post, "host", a, field, "host-embedding-v4",
                 hsub=(len(pre), len(pre) + len(d)))
    return A(rng.choice(["proxy.example.net", "cache-fra1.example.com",
                         "localhost", "www.example.org"]), "host", None,
             field, "host-name")


# ------------------------------------------------------------ lines

def flatten(parts, out=None):
    if out is None:
        out = []
    for p in parts:
        if isinstance(p, (list, tuple)):
            flatten(p, out)
        elif isinstance(p, A):
            out.append(p)
        elif p:
            if out and isinstance(out[-1], str):
                out[-1] += p
            else:
                out.append(p)
    return out


class CLine:
    """One line: parts (str and A), its own time (epoch seconds, float, or
    None), whether a view does not understand it (nu: {view key: bool},
    key "" for the layout's own config; None: either is acceptable), a
    kind for messages, and eff: the time lethe must use (filled by
    set_times)."""

    __slots__ = ("parts", "t", "nu", "kind", "eff", "src")

    def __init__(self, parts, t, nu=False, kind="normal", src=None):
        self.parts = flatten(parts)
        self.t = t
        self.nu = dict(nu) if isinstance(nu, dict) else {"": nu}
        self.kind = kind
        self.eff = None
        self.src = src
        pos = ""
        ps = self.parts
        for i, p in enumerate(ps):
            if isinstance(p, A):
                after = "".join(q if isinstance(q, str) else q.text
                                for q in ps[i + 1:i + 3])
                p.adm = admissible(pos, after)
                if p.kind == "v6" and re.match(r":\d", after) and \
                        not pos.endswith("["):
                    raise CorpusBug("IPv6 %r followed by :port without "
                                    "brackets: use spelling 'port'" % p.text)
                pos += p.text
            else:
                pos += p

    def nu_for(self, key):
        return self.nu.get(key, self.nu[""])

    def addrs(self):
        return [p for p in self.parts if isinstance(p, A)]

    def orig(self):
        return "".join(p if isinstance(p, str) else p.text
                       for p in self.parts).encode()

    def expect(self, p4=16, p6=32, mh=False):
        """The line understood and masked: address fields masked."""
        return "".join(p if isinstance(p, str) else
                       (p.out(p4, p6, mh) if p.field else p.text)
                       for p in self.parts).encode()

    def free_masked(self, p4=16, p6=32):
        """One acceptable free scan: what must be masked, masked."""
        return "".join(p if isinstance(p, str) else
                       (p.masked(p4, p6) if p.must(p4, p6) else p.text)
                       for p in self.parts).encode()


def set_times(lines, key="", now=NOW):
    """eff of every line: its own time, or the previous line's when it
    has none, is not understood, lies more than a day after now, or more
    than a day before the previous line's."""
    prev = None
    for ln in lines:
        t = ln.t
        nu = ln.nu_for(key)
        if nu or t is None or t > now + DAY or (prev is not None and
                                                t < prev - DAY):
            ln.eff = prev
        else:
            ln.eff = t
        if ln.eff is not None:
            prev = ln.eff
        if nu and ln.eff is None and ln.addrs():
            raise CorpusBug("line not understood with no time before it "
                            "(%s)" % ln.kind)
    return lines


# ------------------------------------------------------------ literal check

V4_TOKEN = re.compile(r"(?<![0-9])\d{1,3}(?:\.\d{1,3}){3}(?![0-9])")
V6_RUN = re.compile(r"[0-9A-Fa-f:.%]*:[0-9A-Fa-f:.%]*:[0-9A-Fa-f:.%]*")


LABEL = re.compile(r"(?<![A-Za-z0-9_.-])[A-Za-z0-9_-]*[G-Zg-z_-]"
                   r"[A-Za-z0-9_-]*:(?!:)")


def scan_address_tokens(s):
    """Reference free scan of a text: (start, end, token) of every
    address-like token that the boundary rule admits.  Used only to check
    that the corpus declared every address it holds."""
    cands = []
    for m in V4_TOKEN.finditer(s):
        tok = m.group(0)
        try:
            ipaddress.IPv4Address(tok)
        except ValueError:
            continue
        cands.append((m.start(), m.end(), tok))
    for m in V6_RUN.finditer(s):
        raw = m.group(0).rstrip(".")
        tok = raw.rstrip(":")
        st = m.start()
        while tok.startswith(":") and not tok.startswith("::"):
            tok, raw = tok[1:], raw[1:]
            st += 1
        # "2001:db8::," ends in "::", which belongs to the address
        for cand in (raw, tok, re.sub(r":\d+$", "", tok)):
            c = cand.split("%")[0]
            try:
                ipaddress.IPv6Address(c)
            except ValueError:
                continue
            cands.append((st, st + len(cand), cand))
            break
    # an IPv6 after a label that no IPv6 can hold (a letter past 'f', or
    # '_'): "word:2001:db8::1", where the run itself starts at the 'd'
    for m in LABEL.finditer(s):
        if not admissible(s[:m.start()], ""):
            continue
        r = re.match(r"[0-9A-Fa-f:.%]+", s[m.end():])
        if r is None or ":" not in r.group(0):
            continue
        tok = r.group(0).rstrip(":.")
        for cand in (tok, re.sub(r":\d+$", "", tok)):
            try:
                ipaddress.IPv6Address(cand.split("%")[0])
            except ValueError:
                continue
            cands.append((m.end(), m.end() + len(cand), cand))
            break
    out = []
    last = -2           # the end of the last token admitted
    for st, en, tok in sorted(cands):
        if admissible(s[:st], s[en:]) or (
                st > 0 and s[st - 1] == "/" and last == st - 1 and
                admissible(s[:st], s[en:], after_addr=True)):
            out.append((st, en, tok))
            last = max(last, en)
    return out


def check_declared(ln):
    """Every admissible address-like token of the line overlaps an A."""
    spans = []
    pos = 0
    s = ""
    for p in ln.parts:
        t = p if isinstance(p, str) else p.text
        if isinstance(p, A):
            spans.append((pos, pos + len(t)))
        s += t
        pos += len(t)
    for st, en, tok in scan_address_tokens(s):
        if not any(a < en and st < b for a, b in spans):
            raise CorpusBug("undeclared address %r in line %r" % (tok, s))


# ------------------------------------------------------------ reading back

def match_free(got, ln, p4, p6, mh, allow_full=False):
    """Does got (bytes) fit the line as a free scan may leave it?  Each
    literal as written; each A one of its alternatives (allow_full: its
    original text too).  Returns (ok, furthest byte matched)."""
    pieces = []
    for p in ln.parts:
        if isinstance(p, str):
            pieces.append(p.encode())
        else:
            al = set(p.alts(p4, p6, mh))
            if allow_full:
                al.add(p.text)
            pieces.append(sorted((x.encode() for x in al), key=len,
                                 reverse=True))
    memo = {}
    best = [0]

    def rec(i, j):
        if j > best[0]:
            best[0] = j
        if i == len(pieces):
            return j == len(got)
        k = (i, j)
        if k in memo:
            return memo[k]
        p = pieces[i]
        r = False
        if isinstance(p, bytes):
            r = got.startswith(p, j) and rec(i + 1, j + len(p))
        else:
            for alt in p:
                if got.startswith(alt, j) and rec(i + 1, j + len(alt)):
                    r = True
                    break
        memo[k] = r
        return r

    return rec(0, 0), best[0]


def check_line(got, ln, nu, masked, p4=16, p6=32, mh=False):
    """None if got (bytes, no newline) is right for the line, else a
    message.  nu: the line is not understood (True), understood (False),
    or either (None).  masked: the line must be masked (else unchanged)."""
    orig = ln.orig()
    if not masked:
        if got == orig:
            return None
        return "changed although it must stay as written: %s" % \
            L.describe_diff(got, orig)
    exp = ln.expect(p4, p6, mh)
    if nu is not True and got == exp:
        return None
    if nu is not False:
        ok, _ = match_free(got, ln, p4, p6, mh)
        if ok:
            return None
    if nu is False:
        left = [p.text for p in ln.addrs() if p.field and
                p.is_full(p4, p6, mh) and p.text.encode() in got and
                p.out(p4, p6, mh).encode() not in got]
        return "understood line not masked as expected: %s%s" % (
            L.describe_diff(got, exp),
            "; full addresses left in address fields: %s" % left
            if left else "")
    ok, far = match_free(got, ln, p4, p6, mh, allow_full=True)
    if ok:
        left = [p.text for p in ln.addrs() if p.must(p4, p6) and
                p.text.encode() in got]
        return ("line not understood: addresses left full (the free scan "
                "must mask them): %s" % (left or "(see diff)"))
    lo = max(0, far - 30)
    return ("line not understood: bytes changed that are not an address "
            "masked (first mismatch near byte %d: got %s, line %s)" % (
                far, L.show_bytes(got[lo:far + 50]),
                L.show_bytes(orig[lo:far + 50])))


def count_masked(got, ln, nu, p4=16, p6=32, mh=False):
    """(masked, expected): the full addresses that had to be masked in
    this line and how many of them are no longer in got."""
    if nu:
        need = [p for p in ln.addrs() if p.must(p4, p6)]
    else:
        need = [p for p in ln.addrs() if p.field and p.is_full(p4, p6, mh)]
    n = 0
    for p in need:
        if not L.leaked_addresses(got.decode("latin-1"), [p.text]):
            n += 1
    return n, len(need)


NU_RE = re.compile(r"(\d+) of (\d+) lines not understood \(first at line "
                   r"(\d+)\)")


def nu_summary(lines, key):
    """(N, M, first line number or None) of not-understood lines."""
    n = 0
    first = None
    for i, ln in enumerate(lines):
        if ln.nu_for(key):
            n += 1
            if first is None:
                first = i + 1
    return n, len(lines), first


# ------------------------------------------------------------ time forms

def gm(t):
    return time.gmtime(int(t))


def tz_struct(t, tzname):
    """(struct_time in zone tzname, offset seconds)."""
    if tzname in (None, "UTC"):
        return time.gmtime(int(t)), 0
    import datetime
    z = zoneinfo.ZoneInfo(tzname)
    d = datetime.datetime.fromtimestamp(int(t), z)
    return d.timetuple(), int(d.utcoffset().total_seconds())


def frac(t, digits):
    us = int(round((t - int(t)) * 1e6))
    return ("%06d" % min(us, 999999) + "000")[:digits]


def t_clf(t, tzmin=0):
    return L.time_local(int(t), tzmin)


def t_iso(t, tzmin=0, digits=0, z=False):
    lt = time.gmtime(int(t) + tzmin * 60)
    s = time.strftime("%Y-%m-%dT%H:%M:%S", lt)
    if digits:
        s += "." + frac(t, digits)
    if z and tzmin == 0:
        return s + "Z"
    sg = "+" if tzmin >= 0 else "-"
    return s + "%s%02d:%02d" % (sg, abs(tzmin) // 60, abs(tzmin) % 60)


def t_msec(t):                          # nginx $msec
    return "%d.%s" % (int(t), frac(t, 3))


def t_nginx_error(t):
    return time.strftime("%Y/%m/%d %H:%M:%S", gm(t))


def t_apache_error(t, v24=True):
    lt = gm(t)
    s = time.strftime("%a %b %d %H:%M:%S", lt)
    if v24:
        s += "." + frac(t, 6)
    return s + time.strftime(" %Y", lt)


def t_ctime(t):
    lt = gm(t)
    return "%s %2d %s" % (time.strftime("%a %b", lt), lt.tm_mday,
                          time.strftime("%H:%M:%S %Y", lt))


def t_syslog(t):
    lt = gm(t)
    return "%s %2d %s" % (time.strftime("%b", lt), lt.tm_mday,
                          time.strftime("%H:%M:%S", lt))


def t_clf_ms(t):                        # HAProxy's accept date
    return time.strftime("%d/%b/%Y:%H:%M:%S", gm(t)) + "." + frac(t, 3)


def t_w3c(t):
    return time.strftime("%Y-%m-%d %H:%M:%S", gm(t))


def t_local(t, fmt, tzname):
    lt, _ = tz_struct(t, tzname)
    return time.strftime(fmt, lt)


# ------------------------------------------------------------ building blocks

def free4(rng):
    return addr(rand4(rng), "plain", field=False)


def free6(rng):
    return addr(rand6(rng), "compressed", field=False)


def ua(rng):
    r = rng.random()
    pool = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 "
        "Edg/120.0.2210.91",
        "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 "
        "Firefox/121.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) "
        "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 "
        "Mobile/15E148 Safari/604.1",
        "curl/8.4.0", "Wget/1.21.3", "Go-http-client/1.1",
        "Mozilla/5.0 (compatible; Googlebot/2.1; "
        "+http://www.google.com/bot.html)",
        "masscan/1.3 (https://github.com/robertdavidgraham/masscan)",
    ]
    if r < 0.06:        # an address in free text (kept when understood)
        return ["Mozilla/5.0 (compatible; probe/2.0; +http://", free4(rng),
                "/bot.html)"]
    return [rng.choice(pool)]


def path(rng):
    r = rng.random()
    if r < 0.08:
        return ["/lookup?ip=", free4(rng)]
    if r < 0.12:
        return ["/ip/", free6(rng), "/info"]
    return [rng.choice(["/", "/index.html", "/wp-login.php",
                        "/api/v1/items?id=42", "/static/app-1.2.3.4.js",
                        "/search?q=%E2%9C%93", "/favicon.ico",
                        "/.env", "/cgi-bin/luci"])]


def request(rng, q='\\x22'):
    """A request line; q is how the server escapes a quote inside it
    (None: the line holds no quote)."""
    r = rng.random() if q is not None else 1
    m = rng.choice(["GET", "GET", "GET", "POST", "HEAD"])
    if r < 0.03:
        return [m, " /?q=", q, "x", q, " HTTP/1.1"]
    return [m, " ", path(rng), " ", rng.choice(["HTTP/1.1", "HTTP/1.1",
                                                "HTTP/2.0", "HTTP/1.0"])]


def referer(rng):
    r = rng.random()
    if r < 0.55:
        return ["-"]
    if r < 0.65:
        return ["http://", free4(rng), "/admin"]
    return [rng.choice(["https://example.com/", "https://www.example.org/p?"
                        "a=1", "https://www.google.com/search?q=lethe"])]


# List fields: X-Forwarded-For and friends.  q: the server's escaped
# quote (nginx \x22, Apache and JSON \").

def xff_element(rng, q='\\x22', rich=True):
    r = rng.random()
    if not rich:
        r *= 0.45
    if r < 0.17:
        return [v4(rng)]
    if r < 0.24:
        return [v6(rng)]
    if r < 0.28:
        return [v4(rng), ":%d" % rng.randrange(1024, 65536)]
    if r < 0.33:
        return ["[", v6(rng), "]:%d" % rng.randrange(1024, 65536)]
    if r < 0.36:
        return ["unknown"]
    if r < 0.38:
        return ["-"]
    if r < 0.40:
        return [addr(masked_v4(rng))]
    if r < 0.43:
        return [host_piece(rng)]
    if r < 0.46:
        return [v6(rng, spelling=rng.choice(["exploded", "upper",
                                             "leading0"]))]
    if r < 0.50:
        return [addr(mapped(rand4(rng)), rng.choice(["mapped",
                                                     "mapped-upper"]))]
    if r < 0.52:
        return [addr(nat64(rand4(rng)), "nat64")]
    if r < 0.55:
        return ["[", v6(rng), "]"]
    if r < 0.62:
        return ["[", v4(rng), "]"]
    if r < 0.68:
        return ["(", v4(rng), ")"]
    if r < 0.74:
        return [v4(rng), "/32"] if rng.random() < 0.6 else \
            [v6(rng), "/64"]
    if r < 0.80:
        return [addr(rand4(rng), "zeros")]
    if r < 0.86:
        return [q, v4(rng), q]
    if r < 0.88:
        return [q, "[", v6(rng), "]", q]
    if r < 0.91:
        return [zoned(ipaddress.IPv6Address(
            (0xfe80 << 112) | rng.getrandbits(64)), "eth0")]
    if r < 0.94:
        return [""]                     # an empty element: "a, , b"
    return [v4(rng)]


def xff_list(rng, q='\\x22', n=None, rich=True, seps=None):
    n = n or rng.choice([1, 1, 2, 2, 3, 4])
    seps = seps or [", "] * 12 + [","] + [";"] + [" "]
    out = []
    for i in range(n):
        if i:
            out.append(rng.choice(seps))
        out.append(xff_element(rng, q, rich))
    if flatten(out) == []:
        return ["-"]
    return out


def forwarded(rng, q='\\x22'):
    """An RFC 7239 Forwarded value, its quotes escaped as q."""
    def node():
        r = rng.random()
        if r < 0.35:
            return [v4(rng)]
        if r < 0.55:
            return [q, "[", v6(rng), "]:%d" % rng.randrange(1024, 65536), q]
        if r < 0.65:
            return [q, "[", v6(rng), "]", q]
        if r < 0.75:
            return [q, v4(rng), ":%d" % rng.randrange(1024, 65536), q]
        if r < 0.85:
            return ["unknown"]
        return [rng.choice(["_hidden", "_SEVKISEK", "_gazonk"])] \
            if rng.random() < 0.5 else [q, "_gazonk", q]

    elems = []
    for i in range(rng.choice([1, 1, 2, 3])):
        pairs = [[rng.choice(["for", "for", "for", "For", "FOR"]), "=",
                  node()]]
        if rng.random() < 0.5:
            pairs.append(["proto=", rng.choice(["https", "http"])])
        if rng.random() < 0.3:
            pairs.append([rng.choice(["by", "By"]), "=", node()])
        if rng.random() < 0.2:
            pairs.append(["host=", rng.choice(["example.com",
                                               "www.example.org"])])
        rng.shuffle(pairs)
        e = []
        for j, p in enumerate(pairs):
            if j:
                e.append(";")
            e.append(p)
        if i:
            elems.append(", ")
        elems.append(e)
    return elems


def garbage(rng):
    """An address field value that is no address: the line is not
    understood."""
    if rng.random() < 0.6:
        return ["${jndi:ldap://", v4(rng), "/a}"]
    return ["<script>alert(1)</script>"]


def specials(rng, normal, t, table):
    """normal(rng, t) or one of table [(probability, fn(rng, t))]."""
    r = rng.random()
    for p, fn in table:
        if r < p:
            return fn(rng, t)
        r -= p
    return normal(rng, t)


def spread(rng, seg, n):
    a, b = SEGMENTS[seg] if isinstance(seg, str) else seg
    return sorted(round(rng.uniform(a, b), 3) for _ in range(n))


# ------------------------------------------------------------ JSON text

def jq(s, go=False):
    """A JSON string literal of plain text s (go: Go's encoding/json, which
    also escapes <, > and &, as Caddy and Traefik write)."""
    out = json.dumps(s)
    if go:
        out = out.replace("<", "\\u003c").replace(">", "\\u003e") \
            .replace("&", "\\u0026")
    return out


def js(parts):
    """A JSON string whose content is parts (already escaped)."""
    return ['"', parts, '"']


def jobj(items, sep=","):
    out = ["{"]
    for i, (k, v) in enumerate(items):
        if i:
            out.append(sep)
        out += [jq(k) if isinstance(k, str) else k, ":", v]  # [raw key]
    out.append("}")
    return out


def jarr(values):
    out = ["["]
    for i, v in enumerate(values):
        if i:
            out.append(",")
        out.append(v)
    out.append("]")
    return out


def uuid(rng):
    h = "%032x" % rng.getrandbits(128)
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


# ------------------------------------------------------------ layouts

class View:
    """One way of reading a layout with lethe mask: its arguments, which
    nu key of the lines applies, and whether mask can know the time
    (time_lenient: the time form needs a setting mask has no flag for,
    so each line may be taken as understood or not)."""

    def __init__(self, key, args, nu_key="", time_lenient=False, p4=16,
                 p6=32, note=""):
        self.key = key
        self.args = args
        self.nu_key = nu_key
        self.time_lenient = time_lenient
        self.p4 = p4
        self.p6 = p6
        self.note = note

    def nu(self, ln):
        v = ln.nu_for(self.nu_key)
        if v is False and self.time_lenient and ln.t is not None:
            return None
        return v

    def mask_args(self):
        a = list(self.args)
        if self.p4 != 16 or self.p6 != 32:
            a += ["--ipv4-prefix", str(self.p4), "--ipv6-prefix",
                  str(self.p6)]
        return a


class Layout:
    """A log layout: how its lines are made (normal, specials), the set
    config that describes it (conf: keys after logs), the views for
    lethe mask, and its documentation-derived file (doc) if any."""

    def __init__(self, name, family, conf, views, normal, table=(),
                 sizes=(20, 40, 40, 12), doc=None, header=None, mh=False,
                 source="", forced=()):
        self.name = name
        self.family = family
        self.conf = conf
        self.views = views
        self.normal = normal
        self.table = list(table)
        self.sizes = sizes
        self.doc = doc
        self.header = header
        self.mh = mh            # once: mask_hostnames = yes
        self.source = source
        self.forced = list(forced)  # lines 2, 3, ... of every segment

    def segment(self, rng, seg, n):
        out = []
        for i, t in enumerate(spread(rng, seg, n)):
            if i == 0:
                ln = self.normal(rng, t)
            elif i <= len(self.forced) and n > 2 * len(self.forced):
                ln = self.forced[i - 1](rng, t)
            else:
                ln = specials(rng, self.normal, t, self.table)
            ln.src = seg
            out.append(ln)
        return out

    def files(self, rng):
        """{file name: [CLine]}: NAME.log.2.gz (past), NAME.log.1 (past,
        then inside the window), NAME.log (live, inside)."""
        n_gz, n_past, n_in, n_live = self.sizes
        base = self.name + ".log"
        h = self.header or (lambda rng, t, which: [])
        gz = h(rng, SEGMENTS["gz"][0], "start") + \
            self.segment(rng, "gz", n_gz)
        one = h(rng, SEGMENTS["past"][0], "start")
        half = n_past // 2
        one += self.segment(rng, (SEGMENTS["past"][0],
                                  (SEGMENTS["past"][0] +
                                   SEGMENTS["past"][1]) / 2), half)
        one += h(rng, one[-1].t or SEGMENTS["past"][0], "middle")
        one += self.segment(rng, ((SEGMENTS["past"][0] +
                                   SEGMENTS["past"][1]) / 2 + 60,
                                  SEGMENTS["past"][1]), n_past - half)
        one += self.segment(rng, "inside", n_in)
        live = h(rng, SEGMENTS["live"][0], "live") + \
            self.segment(rng, "live", n_live)
        return {base + ".2.gz": gz, base + ".1": one, base: live}


def clf(client, user, tstr, req, status, size, ref=None, uagent=None,
        tail=(), vhost=None, sep=" "):
    parts = []
    if vhost:
        parts += [vhost, " "]
    parts += [client, sep, "- ", user, " [", tstr, '] "', req,
              '" %s %s' % (status, size)]
    if ref is not None:
        parts += [' "', ref, '" "', uagent, '"']
    parts += list(tail)
    return parts


def status(rng):
    return rng.choice([200, 200, 200, 301, 304, 404, 500])


def size(rng, dash=False):
    if dash and rng.random() < 0.1:
        return "-"
    return str(rng.randrange(0, 50000))


def user(rng):
    return rng.choice(["-"] * 9 + ["alice", "bob"])


TZS = [0, 0, 60, -420, 330]


# -- nginx access logs (default escape: a quote is \x22)

LF_COMBINED = ('$remote_addr - $remote_user [$time_local] "$request" '
               '$status $body_bytes_sent "$http_referer" '
               '"$http_user_agent"')
LF_MAIN_RT = ('$remote_addr - $remote_user [$time_local] "$request" '
              '$status $body_bytes_sent "$http_referer" "$http_user_agent" '
              '"$http_x_forwarded_for" $request_time')
LF_TAB = ('$remote_addr\t- $remote_user [$time_local] "$request" $status '
          '$body_bytes_sent "$http_referer" "$http_user_agent"')
LF_JSON_LINES = [
    "log_format json_log escape=json",
    "'{\"time\":\"$time_iso8601\",'",
    "'\"remote_addr\":\"$remote_addr\",'",
    "'\"realip\":\"$realip_remote_addr\",'",
    "'\"xff\":\"$http_x_forwarded_for\",'",
    "'\"forwarded\":\"$http_forwarded\",'",
    "'\"request\":\"$request\",'",
    "'\"status\":$status,'",
    "'\"ua\":\"$http_user_agent\"}';",
]
LF_JSON_ONE = " ".join(LF_JSON_LINES)
LF_MSEC = ('$msec $remote_addr "$http_x_real_ip" '
           '"$proxy_add_x_forwarded_for" "$request" $status '
           '$body_bytes_sent')
LF_CRLF = ('[$time_local] "$request" $status $body_bytes_sent '
           '"$http_user_agent" $realip_remote_addr $remote_addr')
LF_FORWARDED = ('$remote_addr - $remote_user [$time_iso8601] "$request" '
                '$status $body_bytes_sent "$http_forwarded"')
LF_BINARY = ('$binary_remote_addr - $remote_user [$time_local] '
             '"$request" $status')


def ng_line(rng, t, fmt="combined", usr=None, tstr=None, tail=(),
            sep=" "):
    ts = tstr if tstr is not None else t_clf(t, rng.choice(TZS))
    u = usr if usr is not None else user(rng)
    if fmt == "common":
        return clf([server_client(rng)], u, ts, request(rng), status(rng),
                   size(rng, True), sep=sep)
    vh = None
    if fmt == "vhost_combined":
        vh = rng.choice(["www.example.com:443", "www.example.com:80",
                         "shop.example.org:443"])
    parts = clf([server_client(rng)], u, ts, request(rng), status(rng),
                size(rng), referer(rng), ua(rng), vhost=vh, sep=sep)
    if fmt == "main":
        xf = ["-"] if rng.random() < 0.3 else xff_list(rng)
        parts += [' "', xf, '"']
    return parts + list(tail)


def attack_line(fmt, u):
    def fn(rng, t):
        return CLine(ng_line(rng, t, fmt, usr=u), t, False,
                     "attack-" + u.strip("[]"))
    return fn


def attack_table(fmt, p=0.06):
    """nginx logs $remote_user raw: a client picks what stands in the
    first brackets.  Its time must stay the real field's."""
    return [(p / 2, attack_line(fmt, "[1000000000]")),
            (p / 2, attack_line(fmt, "[4102444800]"))]


def attack_forced(fmt):
    """One of each in every segment of the file (past, inside, live)."""
    return [attack_line(fmt, "[1000000000]"),
            attack_line(fmt, "[4102444800]")]


def notime_table(fmt, p=0.02):
    def fn(rng, t):
        return CLine(ng_line(rng, t, fmt,
                             tstr=rng.choice(["99/Foo/2026:99:99:99 +0000",
                                              "-"])), None, True, "no-time")
    return [(p, fn)]


def clock_table(fmt, p=0.01):
    """A server clock gone wrong: dated years ahead, or years back."""
    def future(rng, t):
        tt = t + 4 * 365 * DAY
        return CLine(ng_line(rng, tt, fmt, tstr=t_clf(tt)), tt, False,
                     "clock-future")

    def past(rng, t):
        tt = 1000000000 + rng.randrange(DAY)
        return CLine(ng_line(rng, tt, fmt, tstr=t_clf(tt)), tt, False,
                     "clock-past")
    return [(p, future), (p, past)]


def garbage_table(make, p=0.03):
    """make(rng, t, value_parts) -> parts; the value is no address."""
    def fn(rng, t):
        g = garbage(rng)
        if rng.random() < 0.5:
            g = [xff_element(rng), ", ", g]
        return CLine(make(rng, t, g), t, True, "garbage-in-address-field")
    return [(p, fn)]


def nginx_layouts():
    out = []

    def combined(rng, t):
        return CLine(ng_line(rng, t, "combined"), t)
    out.append(Layout(
        "nginx-combined", "nginx", {"format": "combined"},
        [View("combined", ["--format", "combined"]),
         View("log_format", ["--log-format", LF_COMBINED])],
        combined, attack_table("combined") + notime_table("combined") +
        clock_table("combined"), sizes=(30, 60, 60, 20),
        doc="nginx-combined",
        forced=attack_forced("combined"),
        source="ngx_http_log_module: log_format combined"))

    def main(rng, t):
        return CLine(ng_line(rng, t, "main"), t)

    def main_g(rng, t, g):
        p = ng_line(rng, t, "combined")
        return p + [' "', g, '"']
    out.append(Layout(
        "nginx-main", "nginx", {"format": "main"},
        [View("main", ["--format", "main"]),
         View("main-24-48", ["--format", "main"], p4=24, p6=48)],
        main, attack_table("main") + garbage_table(main_g),
        sizes=(40, 80, 80, 20), doc="nginx-main",
        forced=attack_forced("main"),
        source="nginx.conf(5) example: log_format main"))

    def main_rt(rng, t):
        return CLine(ng_line(rng, t, "main",
                             tail=[" %.3f" % rng.uniform(0, 2)]), t,
                     {"": False, "main": True})

    def main_rt_g(rng, t, g):
        return ng_line(rng, t, "combined") + [' "', g, '" 0.004']
    out.append(Layout(
        "nginx-main-rt", "nginx", {"log_format": LF_MAIN_RT},
        [View("main", ["--format", "main"], nu_key="main",
              note="main with a field after the forwarded-for field"),
         View("log_format", ["--log-format", LF_MAIN_RT])],
        main_rt, garbage_table(main_rt_g), sizes=(15, 30, 30, 8),
        doc="nginx-main-rt", source="log_format main + $request_time"))

    def tab(rng, t):
        return CLine(ng_line(rng, t, "combined", sep="\t"), t,
                     {"": False, "combined": True})
    out.append(Layout(
        "nginx-tab", "nginx", {"log_format": LF_TAB},
        [View("combined", ["--format", "combined"], nu_key="combined",
              note="a tab after the address"),
         View("log_format", ["--log-format", LF_TAB])],
        tab, sizes=(10, 20, 20, 6), doc="nginx-tab",
        source="log_format with a tab after $remote_addr"))

    def njson(rng, t, g=None):
        q = '\\"'
        if g is not None:
            xf = g
        elif rng.random() < 0.3:
            xf = [""]
        else:
            xf = xff_list(rng, q)
        fw = [""] if rng.random() < 0.4 else forwarded(rng, q)
        tz = rng.choice([0, 60])
        items = [("time", js(t_iso(t, tz))),
                 ("remote_addr", js(server_client(rng))),
                 ("realip", js(server_client(rng))),
                 ("xff", js(xf)), ("forwarded", js(fw)),
                 ("request", js(request(rng, q))),
                 ("status", str(status(rng))), ("ua", js(ua(rng)))]
        return jobj(items)

    def njson_n(rng, t):
        return CLine(njson(rng, t), t)

    out.append(Layout(
        "nginx-json", "nginx", {"log_format": LF_JSON_LINES},
        [View("log_format", ["--log-format", LF_JSON_ONE]),
         View("json", ["--format", "json", "--addresses",
                       "remote_addr,realip,xff,forwarded", "--time-key",
                       "time"], note="the same lines read as JSON")],
        njson_n, garbage_table(lambda rng, t, g: njson(rng, t, g)),
        sizes=(15, 30, 30, 8), doc="nginx-json",
        source="log_format escape=json, pasted as a directive"))

    def msec(rng, t):
        ra = server_client(rng)
        ra2 = A(ra.text, ra.kind, ra.value, True, ra.spelling, ra.port,
                ra.zone, ra.hsub)
        xri = ["-"] if rng.random() < 0.4 else [server_client(rng)]
        if rng.random() < 0.5:
            pa = [ra2]
        else:
            pa = [xff_list(rng), ", ", ra2]
        return CLine([t_msec(t), " ", ra, ' "', xri, '" "', pa, '" "',
                      request(rng), '" %d %s' % (status(rng), size(rng))],
                     t)
    out.append(Layout(
        "nginx-msec", "nginx", {"log_format": LF_MSEC},
        [View("log_format", ["--log-format", LF_MSEC])], msec,
        sizes=(15, 30, 30, 8), source="$msec, $http_x_real_ip, "
        "$proxy_add_x_forwarded_for"))

    def crlf(rng, t):
        p = ["[", t_clf(t, rng.choice(TZS)), '] "', request(rng),
             '" %d %s "' % (status(rng), size(rng)), ua(rng), '" ',
             server_client(rng), " ", server_client(rng)]
        cr = rng.random() < 0.5
        return CLine(p + (["\r"] if cr else []), t, False,
                     "crlf" if cr else "normal")
    out.append(Layout(
        "nginx-crlf", "nginx", {"log_format": LF_CRLF},
        [View("log_format", ["--log-format", LF_CRLF])], crlf,
        sizes=(15, 30, 30, 8), source="$realip_remote_addr $remote_addr "
        "last on the line, some lines ending in CR LF"))

    def fwd(rng, t, g=None):
        f = g if g is not None else (
            ["-"] if rng.random() < 0.25 else forwarded(rng))
        return clf([server_client(rng)], user(rng),
                   t_iso(t, rng.choice([0, 60])), request(rng),
                   status(rng), size(rng), tail=[' "', f, '"'])
        # [$time_iso8601] in brackets
    out.append(Layout(
        "nginx-forwarded", "rfc7239", {"log_format": LF_FORWARDED},
        [View("log_format", ["--log-format", LF_FORWARDED])],
        lambda rng, t: CLine(fwd(rng, t), t),
        garbage_table(lambda rng, t, g: fwd(rng, t, g), 0.02),
        sizes=(15, 30, 30, 8), doc="nginx-forwarded",
        source="RFC 7239 section 4 and 6 examples in $http_forwarded"))

    def nerr(rng, t, tstr=None):
        ts = tstr or t_nginx_error(t)
        pid = rng.randrange(100, 9999)
        head = "%s [%%s] %d#%d: " % (ts, pid, pid)
        cid = "*%d " % rng.randrange(1, 99999)
        c = [server_client(rng)]
        r = rng.random()
        req = ["GET ", path(rng), " HTTP/1.1"]
        if r < 0.25:
            return [head % "error", cid, 'open() "/usr/share/nginx/html/'
                    'favicon.ico" failed (2: No such file or directory), '
                    'client: ', c, ', server: example.com, request: "', req,
                    '", host: "example.com"',
                    [', referrer: "', referer(rng), '"']
                    if rng.random() < 0.4 else []]
        if r < 0.40:
            return [head % "info", cid, "client ", c,
                    " closed keepalive connection"]
        if r < 0.55:
            port = rng.randrange(1024, 65536)
            if rng.random() < 0.6:
                return [head % "info", cid, "client ", v4(rng),
                        ":%d connected to " % port,
                        A("0.0.0.0", "v4", ipaddress.IPv4Address(0),
                          False), ":443"]
            return [head % "info", cid, "client [", v6(rng),
                    "]:%d connected to [" % port,
                    A("::", "v6", ipaddress.IPv6Address(0), False), "]:443"]
        if r < 0.70:
            return [head % "error", cid, "upstream timed out (110: "
                    "Connection timed out) while reading response header "
                    "from upstream, client: ", c, ", server: example.com, "
                    'request: "', req, '", upstream: "http://', free4(rng),
                    ':8080/", host: "example.com"']
        if r < 0.82:
            return [head % "error", cid, 'limiting requests, excess: '
                    '0.500 by zone "one", client: ', c, ', server: '
                    'example.com, request: "', req, '", host: '
                    '"example.com"']
        if r < 0.92:
            return [head % "warn", cid, "a client request body is "
                    "buffered to a temporary file /var/cache/nginx/"
                    "client_temp/0000000001, client: ", c, ", server: "
                    'example.com, request: "POST /upload HTTP/1.1", host: '
                    '"example.com"']
        return [head % "notice", "signal process started"]

    def nerr_bad(rng, t):
        if rng.random() < 0.5:
            return CLine(['nginx: [alert] could not open error log file: '
                          'open() "/var/log/nginx/error.log" failed (13: '
                          'Permission denied)'], None, True, "no-time")
        return CLine(nerr(rng, t, tstr="2026/13/45 99:99:99"), None, True,
                     "no-time")
    out.append(Layout(
        "nginx-error", "nginx", {"format": "nginx_error",
                                 "timezone": "UTC"},
        [View("nginx_error", ["--format", "nginx_error"])],
        lambda rng, t: CLine(nerr(rng, t), t), [(0.04, nerr_bad)],
        sizes=(20, 40, 40, 10), doc="nginx-error",
        source="nginx error_log, including its own info messages"))
    return out


# -- Apache access logs (a quote in a field is \")

AP_COMBINED = '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"'
AP_COMBINED_DIRECTIVE = ('LogFormat "%h %l %u %t \\"%r\\" %>s %b '
                         '\\"%{Referer}i\\" \\"%{User-Agent}i\\"" combined')
AP_XFF_FIRST = ('%{X-Forwarded-For}i %l %u %t "%r" %>s %b "%{Referer}i" '
                '"%{User-Agent}i"')
AP_MSEC = ('%a %{c}a %l %u %{msec}t "%r" %>s %b "%{Forwarded}i" '
           '"%{X-Real-IP}i"')
AP_USEC = '%{usec}t %a "%r" %>s %b "%{X-Forwarded-For}i"'
AP_SEC = '%h %{sec}t "%r" %>s %b'
AP_STRFTIME = ('%h %l %u [%{%d/%b/%Y %T}t] "%r" %>s %b "%{Referer}i" '
               '"%{User-Agent}i"')
Q = '\\"'


def apache_layouts():
    out = []

    def comb(rng, t, tstr=None):
        h = host_piece(rng) if rng.random() < 0.2 else server_client(rng)
        return clf([h], user(rng), tstr or t_clf(t, rng.choice(TZS)),
                   request(rng, Q), status(rng), size(rng, True),
                   referer(rng), ua(rng))

    def comb_bad(rng, t):
        return CLine(comb(rng, t, "10/Nov/2026:25:61:00 +0000"), None, True,
                     "no-time")
    out.append(Layout(
        "apache-combined", "apache", {"log_format": AP_COMBINED_DIRECTIVE,
                                      "mask_hostnames": "yes"},
        [View("combined", ["--format", "combined"]),
         View("LogFormat", ["--log-format", AP_COMBINED_DIRECTIVE])],
        lambda rng, t: CLine(comb(rng, t), t), [(0.02, comb_bad)],
        sizes=(25, 50, 50, 12), doc="apache-combined", mh=True,
        source="mod_log_config: LogFormat ... combined, HostnameLookups "
        "On"))

    def vhost(rng, t):
        return CLine(ng_line(rng, t, "vhost_combined"), t)
    out.append(Layout(
        "apache-vhost", "apache", {"format": "vhost_combined"},
        [View("vhost_combined", ["--format", "vhost_combined"])],
        vhost, attack_table("vhost_combined"), sizes=(15, 35, 35, 8),
        doc="apache-vhost", forced=attack_forced("vhost_combined"),
        source="Debian's vhost_combined"))

    def common(rng, t):
        return CLine(ng_line(rng, t, "common"), t)
    out.append(Layout(
        "apache-common", "apache", {"format": "common"},
        [View("common", ["--format", "common"])],
        common, attack_table("common"), sizes=(15, 35, 35, 8),
        doc="apache-common", forced=attack_forced("common"),
        source="mod_log_config: common"))

    def xfirst(rng, t):
        r = rng.random()
        if r < 0.15:
            x = ["-"]
            n = 1
        else:
            n = rng.choice([1, 2, 2, 3])
            x = []
            for i in range(n):
                if i:
                    x.append(", ")
                k = rng.random()
                if k < 0.5:
                    x.append(v4(rng))
                elif k < 0.75:
                    x.append(v6(rng))
                elif k < 0.9:
                    x += [v4(rng), ":%d" % rng.randrange(1024, 65536)]
                else:
                    x.append("unknown")
        p = clf(x, user(rng), t_clf(t, rng.choice(TZS)), request(rng, Q),
                status(rng), size(rng, True), referer(rng), ua(rng))
        return CLine(p, t, {"": False, "combined": n > 1})
    out.append(Layout(
        "apache-xff-first", "apache", {"log_format": AP_XFF_FIRST},
        [View("combined", ["--format", "combined"], nu_key="combined",
              note="a forwarded-for list before the client"),
         View("log_format", ["--log-format", AP_XFF_FIRST])],
        xfirst, sizes=(15, 30, 30, 8), doc="apache-xff-first",
        source="LogFormat \"%{X-Forwarded-For}i %l %u %t ...\" (a "
        "Filebeat fixture's layout)"))

    def msec(rng, t):
        xri = ["-"] if rng.random() < 0.4 else [server_client(rng)]
        f = ["-"] if rng.random() < 0.3 else forwarded(rng, Q)
        return CLine([server_client(rng), " ", server_client(rng), " - ",
                      user(rng), " %d%03d" % (int(t), int(frac(t, 3))),
                      ' "', request(rng, Q), '" %d %s "' % (
                          status(rng), size(rng, True)), f, '" "', xri,
                      '"'], t)
    out.append(Layout(
        "apache-msec", "apache", {"log_format": AP_MSEC},
        [View("log_format", ["--log-format", AP_MSEC])], msec,
        sizes=(15, 30, 30, 8), source="%a %{c}a %{msec}t %{Forwarded}i "
        "%{X-Real-IP}i"))

    def usec(rng, t):
        x = ["-"] if rng.random() < 0.3 else xff_list(rng, Q)
        return CLine(["%d%06d " % (int(t), int(frac(t, 6))),
                      server_client(rng), ' "', request(rng, Q),
                      '" %d %s "' % (status(rng), size(rng, True)), x, '"'],
                     t)
    out.append(Layout(
        "apache-usec", "apache", {"log_format": AP_USEC},
        [View("log_format", ["--log-format", AP_USEC])], usec,
        sizes=(10, 20, 20, 6), source="%{usec}t %{X-Forwarded-For}i"))

    def sec(rng, t):
        return CLine([server_client(rng), " %d \"" % int(t),
                      request(rng, Q), '" %d %s' % (status(rng),
                                                    size(rng, True))], t)
    out.append(Layout(
        "apache-sec", "apache", {"log_format": AP_SEC},
        [View("log_format", ["--log-format", AP_SEC])], sec,
        sizes=(8, 15, 15, 5), source="%{sec}t"))

    def strf(rng, t):
        return CLine(clf([server_client(rng)], user(rng),
                         t_local(t, "%d/%b/%Y %H:%M:%S", "Europe/Berlin"),
                         request(rng, Q), status(rng), size(rng, True),
                         referer(rng), ua(rng)), t)
    out.append(Layout(
        "apache-strftime", "apache", {"log_format": AP_STRFTIME,
                                      "timezone": "Europe/Berlin"},
        [View("log_format", ["--log-format", AP_STRFTIME])], strf,
        sizes=(10, 25, 25, 6), source="%{%d/%b/%Y %T}t, local time "
        "Europe/Berlin"))

    def aerr(rng, t):
        r = rng.random()
        v24 = r < 0.6
        ts = "[" + t_apache_error(t, v24) + "] "
        pid = "[pid %d:tid %d] " % (rng.randrange(100, 99999),
                                    rng.randrange(10 ** 14, 10 ** 15))
        if v24:
            k = rng.random()
            port = rng.randrange(1024, 65536)
            if k < 0.5:
                c = [v4(rng), ":%d" % port]
            elif k < 0.8:
                c = [addr(rand6(rng), "port", port=port)]
            else:
                c = ["[", v6(rng), "]:%d" % port]
            m = rng.random()
            if m < 0.35:
                return [ts, "[core:error] ", pid, "[client ", c, "] AH00128: "
                        "File does not exist: /var/www/html/favicon.ico"]
            if m < 0.6:
                return [ts, "[authz_core:error] ", pid, "[client ", c,
                        "] AH01630: client denied by server configuration: "
                        "/var/www/html/private", [", referer: ",
                                                  referer(rng)]
                        if rng.random() < 0.5 else []]
            if m < 0.8:
                rp = rng.randrange(1024, 65536)
                rem = [v4(rng), ":%d" % rp] if rng.random() < 0.6 else \
                    [addr(rand6(rng), "port", port=rp)]
                return [ts, "[ssl:info] ", pid, "[remote ", rem,
                        "] AH01964: Connection to child 3 established "
                        "(server example.com:443)"]
            if m < 0.9:
                return [ts, "[proxy:error] ", pid, "[client ", c,
                        "] AH00898: Error reading from remote server "
                        "returned by /app"]
            return [ts, "[mpm_event:notice] ", pid, "AH00489: "
                    "Apache/2.4.57 (Debian) configured -- resuming normal "
                    "operations"]
        k = rng.random()
        if k < 0.5:
            c = [v4(rng)]
        else:
            # Apache 2.2 writes no port: an IPv6 whose last group is all
            # digits is still all address
            a = rand6(rng)
            a = ipaddress.IPv6Address((int(a) >> 16 << 16) |
                                      int(str(rng.randrange(1000, 9999)),
                                          16))
            c = [addr(a, "compressed")]
        m = rng.random()
        if m < 0.5:
            return [ts, "[error] [client ", c, "] client denied by server "
                    "configuration: /var/www/html/test"]
        if m < 0.9:
            return [ts, "[error] [client ", c, "] File does not exist: "
                    "/var/www/html/robots.txt"]
        return [ts, "[notice] Apache/2.2.22 (Debian) configured -- "
                "resuming normal operations"]

    def aerr_bad(rng, t):
        r = rng.random()
        if r < 0.4:
            return CLine(["Traceback (most recent call last):"], None, True,
                         "no-time")
        if r < 0.7:
            return CLine(['  File "/usr/lib/cgi-bin/app.py", line 7, in '
                          '<module>'], None, True, "no-time")
        return CLine(["ConnectionRefusedError: [Errno 111] Connection "
                      "refused: ('", free4(rng), "', 5432)"], None, True,
                     "no-time")
    out.append(Layout(
        "apache-error", "apache", {"format": "apache_error",
                                   "timezone": "UTC"},
        [View("apache_error", ["--format", "apache_error"])],
        lambda rng, t: CLine(aerr(rng, t), t), [(0.04, aerr_bad)],
        sizes=(20, 40, 40, 10), doc="apache-error",
        source="Apache 2.4 ErrorLogFormat default and 2.2 error lines"))
    return out


# -- JSON logs

def truncated(parts, rng):
    """The line cut off after its first address (a crash mid-write)."""
    fl = flatten(parts)
    for i, p in enumerate(fl):
        if isinstance(p, A):
            rest = fl[i + 1] if i + 1 < len(fl) and \
                isinstance(fl[i + 1], str) else ""
            return fl[:i + 1] + [rest[:rng.randrange(0, max(1, len(rest)))]]
    return fl[:1]


def trunc_table(make, p=0.03):
    def fn(rng, t):
        return CLine(truncated(make(rng, t), rng), None, True,
                     "truncated-json")
    return [(p, fn)]


CADDY_ADDR = ("request.remote_ip,request.client_ip,"
              "request.headers.X-Forwarded-For,request.headers.Forwarded")
TRAEFIK_ADDR = "ClientAddr,ClientHost,request_X-Forwarded-For"
ENVOY_ADDR = "downstream_remote_address,x_forwarded_for"
DEEP = ".".join(["d"] * 34) + ".ip"
EDGE_ADDR = "remote_addr,xff," + DEEP


def json_layouts():
    out = []

    def caddy(rng, t, g=None):
        rip = server_client(rng)
        if rng.random() < 0.6:          # no trusted proxy: the same
            cip = [A(rip.text, rip.kind, rip.value, True, rip.spelling)]
        else:
            cip = [server_client(rng)]
        hdr = [("User-Agent", jarr([js(ua(rng))])),
               ("Accept", jarr([jq("*/*")]))]
        if g is not None:
            hdr.append(("X-Forwarded-For", jarr([js(g)])))
        elif rng.random() < 0.5:
            if rng.random() < 0.8:
                vals = [js(xff_list(rng, Q))]
            else:
                vals = [js(xff_list(rng, Q, 1)), js(xff_list(rng, Q, 1))]
            hdr.append(("X-Forwarded-For", jarr(vals)))
        if rng.random() < 0.3:
            hdr.append(("Forwarded", jarr([js(forwarded(rng, Q))])))
        uri = rng.choice([["/"], ["/search?a=1\\u0026b=2"], path(rng)])
        req = jobj([("remote_ip", js(rip)),
                    ("remote_port", jq(str(rng.randrange(1024, 65536)))),
                    ("client_ip", js(cip)), ("proto", jq("HTTP/2.0")),
                    ("method", jq("GET")), ("host", jq("example.com")),
                    ("uri", js(uri)), ("headers", jobj(hdr)),
                    ("tls", jobj([("resumed", "false"), ("version", "772"),
                                  ("cipher_suite", "4865"),
                                  ("proto", jq("h2")),
                                  ("server_name", jq("example.com"))]))])
        return jobj([("level", jq("info")), ("ts", "%.7f" % t),
                     ("logger", jq("http.log.access.log0")),
                     ("msg", jq("handled request")), ("request", req),
                     ("bytes_read", "0"), ("user_id", jq("")),
                     ("duration", "%.9f" % rng.uniform(0, 0.1)),
                     ("size", str(rng.randrange(0, 20000))),
                     ("status", str(status(rng))),
                     ("resp_headers", jobj([
                         ("Server", jarr([jq("Caddy")])),
                         ("Content-Type", jarr([jq("text/html; "
                                                   "charset=utf-8")]))]))])

    def caddy_g(rng, t):
        return CLine(caddy(rng, t, ["\\u003cscript\\u003ealert(1)"
                                    "\\u003c/script\\u003e"]), t, True,
                     "garbage-in-address-field")
    out.append(Layout(
        "caddy", "caddy", {"format": "json", "addresses": CADDY_ADDR,
                           "time_key": "ts", "time_format": "epoch"},
        [View("json", ["--format", "json", "--addresses", CADDY_ADDR,
                       "--time-key", "ts"])],
        lambda rng, t: CLine(caddy(rng, t), t),
        [(0.03, caddy_g)] + trunc_table(caddy), sizes=(20, 40, 40, 10),
        doc="caddy", source="Caddy v2 JSON access log"))

    def traefik(rng, t):
        c = server_client(rng)
        port = rng.randrange(1024, 65536)
        if c.value.version == 6 and c.kind != "host":
            ca = ["[", c, "]:%d" % port]
        else:
            ca = [c, ":%d" % port]
        ch = A(c.text, c.kind, c.value, True, c.spelling)
        u = free4(rng)
        u2 = A(u.text, u.kind, u.value, False, u.spelling)
        items = [("ClientAddr", js(ca)), ("ClientHost", js(ch)),
                 ("ClientPort", jq(str(port))),
                 ("ClientUsername", jq("-")),
                 ("DownstreamContentSize", str(rng.randrange(0, 9999))),
                 ("DownstreamStatus", str(status(rng))),
                 ("Duration", str(rng.randrange(10 ** 5, 10 ** 8))),
                 ("RequestAddr", jq("example.com")),
                 ("RequestHost", jq("example.com")),
                 ("RequestMethod", jq("GET")), ("RequestPath", js(path(rng))),
                 ("RequestProtocol", jq("HTTP/1.1")),
                 ("RouterName", jq("web@docker")),
                 ("ServiceAddr", js([u, ":80"])),
                 ("ServiceURL", js(["http://", u2, ":80"])),
                 ("StartLocal", jq(t_iso(t, 60, 9))),
                 ("StartUTC", jq(t_iso(t, 0, 9, z=True))),
                 ("entryPointName", jq("websecure")),
                 ("level", jq("info")), ("msg", jq(""))]
        if rng.random() < 0.5:
            items.append(("request_X-Forwarded-For", js(xff_list(rng, Q))))
        items.append(("time", jq(t_iso(t, 60))))
        return jobj(items)
    out.append(Layout(
        "traefik-json", "traefik", {"format": "json",
                                    "addresses": TRAEFIK_ADDR,
                                    "time_key": "StartUTC",
                                    "time_format": "iso8601"},
        [View("json", ["--format", "json", "--addresses", TRAEFIK_ADDR,
                       "--time-key", "StartUTC"])],
        lambda rng, t: CLine(traefik(rng, t), t), trunc_table(traefik),
        sizes=(20, 40, 40, 10), doc="traefik-json",
        source="Traefik access log, format json, headers kept"))

    def envoy_json(rng, t):
        c = server_client(rng)
        port = rng.randrange(1024, 65536)
        dra = ["[", c, "]:%d" % port] if c.value.version == 6 else \
            [c, ":%d" % port]
        items = [("start_time", jq(t_iso(t, 0, 3, z=True))),
                 ("method", jq("GET")), ("path", js(path(rng))),
                 ("protocol", jq("HTTP/1.1")),
                 ("response_code", str(status(rng))),
                 ("response_flags", jq("-")), ("bytes_received", "0"),
                 ("bytes_sent", str(rng.randrange(0, 9999))),
                 ("duration", str(rng.randrange(0, 900))),
                 ("upstream_service_time", jq(str(rng.randrange(0, 900)))),
                 ("x_forwarded_for", js(xff_list(rng, Q, rich=False))),
                 ("user_agent", js(ua(rng))),
                 ("request_id", jq(uuid(rng))),
                 ("authority", jq("example.com")),
                 ("upstream_host", js([free4(rng), ":80"])),
                 ("downstream_remote_address", js(dra))]
        return jobj(items)

    def envoy_text(rng, t):
        xf = ["-"] if rng.random() < 0.2 else xff_list(rng, Q, rich=False,
                                                        seps=[", "])
        return ["[", t_iso(t, 0, 3, z=True), '] "GET ', path(rng),
                ' HTTP/1.1" %d %s %d %d %d %s "' % (
                    status(rng), rng.choice(["-", "-", "UH", "UF"]),
                    rng.randrange(0, 999), rng.randrange(0, 9999),
                    rng.randrange(0, 999),
                    rng.choice(["-", str(rng.randrange(1, 99))])),
                xf, '" "', ua(rng), '" "', uuid(rng),
                '" "example.com" "', free4(rng), ':80"']

    def mixed_text(rng, t):
        return CLine(envoy_text(rng, t), t, True, "text-line-in-json-set")
    out.append(Layout(
        "envoy-mixed", "envoy", {"format": "json", "addresses": ENVOY_ADDR,
                                 "time_key": "start_time"},
        [View("json", ["--format", "json", "--addresses", ENVOY_ADDR,
                       "--time-key", "start_time"])],
        lambda rng, t: CLine(envoy_json(rng, t), t),
        [(0.2, mixed_text)], sizes=(20, 40, 40, 10), doc="envoy-mixed",
        source="Envoy json_format access log with default-format text "
        "lines mixed in"))

    ENVOY_RE = (r'^\[(?<time>[^\]]+)\] "[^"]*" \d+ \S+ \d+ \d+ \d+ \S+ '
                r'"(?<addr>[^"]*)" "[^"]*" "[^"]*" "[^"]*" "[^"]*"$')
    out.append(Layout(
        "envoy-text", "envoy", {"format": "regex", "regex": ENVOY_RE},
        [View("regex", ["--format", "regex", "--regex", ENVOY_RE])],
        lambda rng, t: CLine(envoy_text(rng, t), t),
        sizes=(15, 30, 30, 8), doc="envoy-text",
        source="Envoy default format string"))

    def cf(rng, t):
        ns = int(t) * 10 ** 9 + int(frac(t, 6)) * 1000 + rng.randrange(1000)
        c = server_client(rng)
        return jobj([("ClientIP", js(c)),
                     ("ClientRequestHost", jq("example.com")),
                     ("ClientRequestMethod", jq("GET")),
                     ("ClientRequestURI", js(path(rng))),
                     ("ClientRequestUserAgent", js(ua(rng))),
                     ("EdgeEndTimestamp",
                      str(ns + rng.randrange(10 ** 6, 10 ** 9))),
                     ("EdgeResponseBytes", str(rng.randrange(100, 99999))),
                     ("EdgeResponseStatus", str(status(rng))),
                     ("EdgeStartTimestamp", str(ns)),
                     ("OriginIP", js(free4(rng))),
                     ("RayID", jq("%016x" % rng.getrandbits(64)))])
    out.append(Layout(
        "cloudflare", "cloudflare", {"format": "json",
                                     "addresses": "ClientIP",
                                     "time_key": "EdgeStartTimestamp",
                                     "time_format": "epoch_ns"},
        [View("json", ["--format", "json", "--addresses", "ClientIP",
                       "--time-key", "EdgeStartTimestamp"],
              time_lenient=True)],
        lambda rng, t: CLine(cf(rng, t), t), trunc_table(cf),
        sizes=(15, 30, 30, 8), doc="cloudflare",
        source="Cloudflare Logpush http_requests, timestamps=unixnano"))

    def ecs(rng, t):
        c = server_client(rng)
        c2 = A(c.text, c.kind, c.value, True, c.spelling)
        return jobj([("@timestamp", jq(t_iso(t, 0, 3, z=True))),
                     ("ecs", jobj([("version", jq("8.11.0"))])),
                     ("event", jobj([("dataset", jq("nginx.access"))])),
                     ("source", jobj([("address", js(c)), ("ip", js(c2))])),
                     ("client", jobj([("ip", js(server_client(rng)))])),
                     ("destination", jobj([("ip", js(free4(rng)))])),
                     ("http", jobj([("request", jobj([("method",
                                                       jq("GET"))])),
                                    ("response", jobj([
                                        ("status_code", str(status(rng)))])),
                                    ("version", jq("1.1"))])),
                     ("url", jobj([("original", js(path(rng)))])),
                     ("user_agent", jobj([("original", js(ua(rng)))]))])
    ECS_ADDR = "source.address,source.ip,client.ip"
    out.append(Layout(
        "ecs", "elastic", {"format": "json", "addresses": ECS_ADDR,
                           "time_key": "@timestamp"},
        [View("json", ["--format", "json", "--addresses", ECS_ADDR,
                       "--time-key", "@timestamp"])],
        lambda rng, t: CLine(ecs(rng, t), t), trunc_table(ecs),
        sizes=(12, 25, 25, 6), source="Elastic Common Schema, @timestamp"))

    def edge(rng, t):
        k = rng.random()
        ra = server_client(rng)
        rkey = "remote_addr"
        if k < 0.15:
            rkey = ['"remote\\u005faddr"']     # an escaped key
        elif k < 0.3:
            v = rand4(rng)
            if str(v).count(".") == 3 and len(str(v).split(".")[0]) == 3:
                ra = addr(v, "esc")
        when = jobj([("iso", jq(t_iso(t, 0, 3, z=True)))])
        wkey = ['"wh\\u0065n"'] if rng.random() < 0.1 else "when"
        items = [(wkey, when), (rkey, js(ra))]
        x = rng.random()
        if x < 0.2:
            items.append(("xff", js([v4(rng), "\\/24, ", v6(rng),
                                     "\\/64"])))
        elif x < 0.4:
            items.append(("xff", jarr([js([v4(rng)]), js([v6(rng)])])))
        elif x < 0.7:
            items.append(("xff", js(xff_list(rng, Q))))
        if rng.random() < 0.25:         # 34 objects deep, then "ip"
            inner = jobj([("ip", js(v4(rng)))])
            for _ in range(33):
                inner = jobj([("d", inner)])
            items.append(("d", inner))
        if rng.random() < 0.15:
            deep = "[" * 40 + "1" + "]" * 40
            items.insert(0, ("noise", deep))
        items.append(("msg", jq("ok")))
        sep = rng.choice([",", ", "])
        return jobj(items, sep)

    def edge_bad(rng, t):
        if rng.random() < 0.5:
            return CLine(["remote_addr=", v4(rng), " msg=text line"], None,
                         True, "text-line-in-json-set")
        return CLine(['{"when":{"iso":"', t_iso(t, 0, 3, z=True),
                      '"},"remote_addr":"', v4(rng), '",'], None, True,
                     "truncated-json")
    out.append(Layout(
        "json-edge", "json", {"format": "json", "addresses": EDGE_ADDR,
                              "time_key": "when.iso"},
        [View("json", ["--format", "json", "--addresses", EDGE_ADDR,
                       "--time-key", "when.iso"])],
        lambda rng, t: CLine(edge(rng, t), t), [(0.05, edge_bad)],
        sizes=(15, 35, 35, 8), doc="json-edge",
        source="JSON escapes, nesting deeper than 32, arrays"))

    def jms(rng, t):
        return CLine(jobj([("t", "%d%03d" % (int(t), int(frac(t, 3)))),
                           ("client", js(server_client(rng))),
                           ("msg", jq("login ok"))]), t)
    out.append(Layout(
        "json-epoch-ms", "json", {"format": "json", "addresses": "client",
                                  "time_key": "t",
                                  "time_format": "epoch_ms"},
        [View("json", ["--format", "json", "--addresses", "client",
                       "--time-key", "t"], time_lenient=True)],
        jms, sizes=(6, 12, 12, 4), source="epoch milliseconds"))

    def jus(rng, t):
        return CLine(jobj([("t", "%d%06d" % (int(t), int(frac(t, 6)))),
                           ("client", js(server_client(rng))),
                           ("msg", jq("login ok"))]), t)
    out.append(Layout(
        "json-epoch-us", "json", {"format": "json", "addresses": "client",
                                  "time_key": "t",
                                  "time_format": "epoch_us"},
        [View("json", ["--format", "json", "--addresses", "client",
                       "--time-key", "t"], time_lenient=True)],
        jus, sizes=(6, 12, 12, 4), source="epoch microseconds"))

    def jst(rng, t):
        return CLine(jobj([("date", jq(t_local(t, "%d.%m.%Y %H:%M:%S",
                                              "Europe/Berlin"))),
                           ("client", js(server_client(rng))),
                           ("xff", js(xff_list(rng, Q)))]), t)
    out.append(Layout(
        "json-strptime", "json", {"format": "json",
                                  "addresses": "client,xff",
                                  "time_key": "date",
                                  "time_format": "%d.%m.%Y %H:%M:%S",
                                  "timezone": "Europe/Berlin"},
        [View("json", ["--format", "json", "--addresses", "client,xff",
                       "--time-key", "date"], time_lenient=True)],
        jst, sizes=(6, 12, 12, 4), source="a strptime pattern, local "
        "time Europe/Berlin"))
    return out


# -- regex, HAProxy, IIS

TRAEFIK_RE = (r'^(?<addr>\S+) - \S+ \[(?<time>[^\]]+)\] "[^"]*" \d+ \d+ '
              r'"[^"]*" "[^"]*" \d+ "[^"]*" "[^"]*" \d+ms$')
HAPROXY_TAIL = (r' \S+ \S+ [\d/+-]+ \d+ \d+ \S+ \S+ \S+ [\d/+]+ [\d/]+ '
                r'\{[^|}]*\|(?<addr2>[^}]*)\} \{[^}]*\} "[^"]*"$')
HAPROXY_RE = (r'^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ haproxy\[\d+\]: '
              r'(?<addr>\S+):\d+ \[(?<time>[^\]]+)\]' + HAPROXY_TAIL)
HAPROXY_SYSLOG_RE = (r'^(?<time>\w{3} [ \d]\d \d\d:\d\d:\d\d) \S+ '
                     r'haproxy\[\d+\]: (?<addr>\S+):\d+ \[[^\]]+\]' +
                     HAPROXY_TAIL)
DOC_RE = r"^(?<addr>\S+) \S+ \S+ \[(?<time>[^\]]+)\]"
CTIME_RE = (r"^(?<time>\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}) "
            r"app\[\d+\]: .* from=(?<addr>\S+) port=\d+$")

W3C_DEFAULT = ("date time s-ip cs-method cs-uri-stem cs-uri-query s-port "
               "cs-username c-ip cs(User-Agent) cs(Referer) sc-status "
               "sc-substatus sc-win32-status time-taken")
W3C_CUSTOM = ("date time cs-method cs-uri-stem cs-uri-query sc-status "
              "time-taken cs(X-Forwarded-For) c-ip")
IIS_UA = ["Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+"
          "(KHTML,+like+Gecko)+Chrome/120.0.0.0+Safari/537.36",
          "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64;+rv:121.0)+Gecko/"
          "20100101+Firefox/121.0", "curl/8.4.0", "-"]


def other_layouts():
    out = []

    def traefik_clf(rng, t):
        return CLine(clf([server_client(rng)], user(rng), t_clf(t), [
            request(rng, None)], status(rng), size(rng), ["-"], ua(rng),
            tail=[" %d \"web@docker\" \"http://" % rng.randrange(1, 99999),
                  free4(rng), ":80\" %dms" % rng.randrange(0, 999)]), t,
            {"": False, "combined": True})
    out.append(Layout(
        "traefik-clf", "traefik", {"format": "regex", "regex": TRAEFIK_RE},
        [View("combined", ["--format", "combined"], nu_key="combined",
              note="combined with Traefik's fields after it"),
         View("regex", ["--format", "regex", "--regex", TRAEFIK_RE])],
        traefik_clf, sizes=(15, 30, 30, 8), doc="traefik-clf",
        source="Traefik access log, Common Log Format"))

    def hap(rng, t, kind="http"):
        c = server_client(rng)
        port = rng.randrange(1024, 65536)
        if c.value.version == 6:        # HAProxy: %ci:%cp, no brackets
            ca = [A(c.text + ":%d" % port, "v6port", c.value, True,
                    "v6:port-unbracketed", port=str(port))]
        else:
            ca = [c, ":%d" % port]
        pre = [t_syslog(t), " lb1 haproxy[%d]: " % rng.randrange(100, 99999)]
        acc = "[" + t_clf_ms(t - 0.2) + "]"
        if kind == "tcp":
            return pre + [ca, " ", acc, " fe-tcp be-tcp/srv1 0/0/5007 212 "
                          "-- 0/0/0/0/3 0/0"]
        x = [] if rng.random() < 0.4 else xff_list(rng, Q, rng.choice([1, 2]),
                                                   rich=False, seps=[", "])
        return pre + [ca, " ", acc, " http-in static/srv1 10/0/30/69/109 %d "
                      "%d - - ---- 1/1/1/1/0 0/0 {example.com|" % (
                          status(rng), rng.randrange(100, 9999)), x,
                      '} {} "GET ', path(rng), ' HTTP/1.1"']

    def hap_bad(rng, t):
        if rng.random() < 0.5:
            return CLine(hap(rng, t, "tcp"), t, True, "tcplog-line")
        return CLine([t_syslog(t), " lb1 haproxy[%d]: Server static/srv1 is "
                      "DOWN, reason: Layer4 connection problem, info: "
                      "\"Connection refused\", check duration: 0ms." %
                      rng.randrange(100, 99999)], t, True, "no-httplog")
    out.append(Layout(
        "haproxy", "haproxy", {"format": "regex", "regex": HAPROXY_RE,
                               "time_format": "clf_ms", "timezone": "UTC"},
        [View("regex", ["--format", "regex", "--regex", HAPROXY_RE],
              time_lenient=True)],
        lambda rng, t: CLine(hap(rng, t), t), [(0.05, hap_bad)],
        sizes=(15, 30, 30, 8), doc="haproxy",
        source="HAProxy option httplog via syslog, accept date"))
    out.append(Layout(
        "haproxy-syslog", "haproxy", {"format": "regex",
                                      "regex": HAPROXY_SYSLOG_RE,
                                      "time_format": "syslog",
                                      "timezone": "UTC"},
        [View("regex", ["--format", "regex", "--regex", HAPROXY_SYSLOG_RE],
              time_lenient=True)],
        lambda rng, t: CLine(hap(rng, t), t), [(0.05, hap_bad)],
        sizes=(10, 20, 20, 6),
        source="HAProxy httplog, time from the syslog prefix (no year)"))

    def rdoc(rng, t):
        return CLine(ng_line(rng, t, "combined"), t)

    def rdoc_space(rng, t):
        return CLine(ng_line(rng, t, "combined", usr=rng.choice(
            ["John Doe", "a b"])), t, True, "remote_user-with-space")
    out.append(Layout(
        "regex-doc", "regex", {"format": "regex", "regex": DOC_RE},
        [View("regex", ["--format", "regex", "--regex", DOC_RE])],
        rdoc, [(0.05, rdoc_space)] + attack_table("combined", 0.03),
        sizes=(10, 25, 25, 6), doc="regex-doc",
        source="the regex example of lethe.conf(5)"))

    def rct(rng, t):
        return CLine([t_ctime(t), " app[%d]: login ok user=%s from=" % (
            rng.randrange(100, 9999), rng.choice(["alice", "bob"])),
            server_client(rng), " port=%d" % rng.randrange(1024, 65536)], t)

    def rct_bad(rng, t):
        return CLine([t_ctime(t), " app[%d]: reloading configuration" %
                      rng.randrange(100, 9999)], t, True, "regex-no-match")
    out.append(Layout(
        "regex-ctime", "regex", {"format": "regex", "regex": CTIME_RE,
                                 "time_format": "ctime",
                                 "timezone": "UTC"},
        [View("regex", ["--format", "regex", "--regex", CTIME_RE],
              time_lenient=True)],
        rct, [(0.08, rct_bad)], sizes=(6, 15, 15, 4),
        source="an application log with ctime times"))

    srv = {}

    def iis_default(rng, t):
        if "s" not in srv:
            srv["s"] = free4(rng)
        s = A(srv["s"].text, "v4", srv["s"].value, False)
        q = ["ip=", free4(rng)] if rng.random() < 0.1 else \
            [rng.choice(["-", "id=42", "-"])]
        c = server_client(rng)
        ref = ["-"] if rng.random() < 0.6 else ["https://www.example.com/"]
        return [t_w3c(t), " ", s, " GET ", rng.choice(["/", "/default.htm",
                                                       "/iisstart.png"]),
                " ", q, " 443 - ", c, " ", rng.choice(IIS_UA), " ", ref,
                " %d 0 0 %d\r" % (status(rng), rng.randrange(0, 999))]

    def iis_custom(rng, t):
        x = rng.random()
        if x < 0.4:
            xf = ["-"]
        elif x < 0.8:
            xf = [v4(rng)]
        else:
            xf = [v4(rng), ",", v6(rng)]
        return [t_w3c(t), " GET /api/items ", rng.choice(["-", "id=42"]),
                " %d %d " % (status(rng), rng.randrange(0, 999)), xf, " ",
                server_client(rng), "\r"]

    mode = {"fields": "default"}

    def iis(rng, t):
        if mode["fields"] == "default":
            return CLine(iis_default(rng, t), t)
        return CLine(iis_custom(rng, t), t)

    def iis_bad(rng, t):
        """A line with fields missing (IIS never finished it)."""
        if mode["fields"] == "default":
            fl = flatten(iis_default(rng, t))
            i = [k for k, p in enumerate(fl) if isinstance(p, A) and
                 p.field][0]
            return CLine(fl[:i + 1] + ["\r"], t, True, "short-w3c-line")
        return CLine([t_w3c(t), " GET /api/items - ", server_client(rng),
                      "\r"], t, True, "short-w3c-line")

    def header(rng, t, which):
        mode["fields"] = "custom" if which in ("middle", "live") else \
            "default"
        f = W3C_CUSTOM if mode["fields"] == "custom" else W3C_DEFAULT
        return [CLine(["#Software: Microsoft Internet Information Services "
                       "10.0\r"], None, False, "directive"),
                CLine(["#Version: 1.0\r"], None, False, "directive"),
                CLine(["#Date: %s\r" % t_w3c(t)], None, False, "directive"),
                CLine(["#Fields: %s\r" % f], None, False, "directive")]
    out.append(Layout(
        "iis", "iis", {"format": "w3c"}, [View("w3c", ["--format", "w3c"])],
        iis, [(0.03, iis_bad)], sizes=(20, 40, 40, 10), doc="iis",
        header=header, source="IIS W3C extended log, CR LF, #Fields"))

    def iis_nf(rng, t):
        return CLine(iis_default(rng, t), t)
    out.append(Layout(
        "iis-nofields", "iis", {"format": "w3c"},
        [View("w3c", ["--format", "w3c"],
              note="no #Fields: IIS 8.5+ default fields")],
        iis_nf, sizes=(6, 12, 12, 4),
        source="IIS lines with the directives stripped"))
    return out


def layouts():
    return nginx_layouts() + apache_layouts() + json_layouts() + \
        other_layouts()


# ------------------------------------------------------------ doc files

def doc_piece(t, exp, kind=None):
    """The A piece of a sidecar entry [text, expected(, kind)]."""
    field = exp != "free"
    if kind == "host":
        m = re.search(r"(?<![0-9A-Za-z])(\d{1,3})-(\d{1,3})-(\d{1,3})-"
                      r"(\d{1,3})(?![0-9])", t)
        v = None
        hs = None
        if m:
            v = ipaddress.IPv4Address(".".join(m.groups()))
            hs = (m.start(), m.end())
        return A(t, "host", v, True, "host-embedding-v4" if v else
                 "host-name", hsub=hs)
    if kind == "v6port":
        a, p = t.rsplit(":", 1)
        return A(t, "v6port", ipaddress.IPv6Address(a), field,
                 "v6:port-unbracketed", port=p)
    if kind == "esc":
        v = ipaddress.ip_address(json.loads('"%s"' % t))
        return A(t, "esc", v, field, "json-\\u-escaped")
    if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", t):
        octs = t.split(".")
        v = ipaddress.IPv4Address(".".join(str(int(o)) for o in octs))
        if any(len(o) > 1 and o[0] == "0" for o in octs):
            return A(t, "v4z", v, field, "v4-leading-zeros")
        return A(t, "v4", v, field, "v4")
    zone = None
    s = t
    if "%" in s:
        s, zone = s.split("%", 1)
    v = ipaddress.IPv6Address(s)
    if v.ipv4_mapped is not None:
        sp = "v6-mapped-v4"
    elif s == v.compressed:
        sp = "v6"
    elif s == v.exploded:
        sp = "v6-exploded"
    elif s == v.compressed.upper():
        sp = "v6-upper"
    else:
        sp = "v6-other-form"
    return A(t, "v6", v, field, "v6-zone" if zone else sp, zone=zone)


def load_doc(name):
    """The lines of tests/corpus/NAME.log as CLines, from its sidecar
    NAME.truth.json: per line, whether it is understood ("nu", per view
    key) and each address in order [text, masked at /16 /32] (masked
    "free": not in an address field; a third element "host", "v6port" or
    "esc" says how to read it)."""
    with open(os.path.join(CORPUS_DIR, name + ".log"), "rb") as f:
        data = f.read()
    with open(os.path.join(CORPUS_DIR, name + ".truth.json")) as f:
        side = json.load(f)
    raw = data.split(b"\n")
    if raw[-1] != b"":
        raise CorpusBug("%s.log: no newline at the end" % name)
    raw = raw[:-1]
    if len(raw) != len(side["lines"]):
        raise CorpusBug("%s: %d lines, sidecar %d" % (name, len(raw),
                                                      len(side["lines"])))
    out = []
    for i, (b, e) in enumerate(zip(raw, side["lines"])):
        text = b.decode()
        parts = []
        pos = 0
        for ent in e["a"]:
            t = ent[0]
            j = pos
            while True:
                j = text.find(t, j)
                if j < 0:
                    raise CorpusBug("%s.log:%d: %r not found" % (
                        name, i + 1, t))
                after = text[j + len(t):j + len(t) + 1]
                if not (after and re.match(r"[0-9.]", after)):
                    break
                j += 1
            parts.append(text[pos:j])
            parts.append(doc_piece(t, ent[1], ent[2] if len(ent) > 2
                                   else None))
            pos = j + len(t)
        parts.append(text[pos:])
        ln = CLine(parts, None, e["nu"] if isinstance(e["nu"], bool)
                   else {k: v for k, v in e["nu"].items()},
                   "doc: " + e.get("note", "line %d" % (i + 1)),
                   src="%s.log:%d" % (name, i + 1))
        for a, ent in zip(ln.addrs(), e["a"]):
            if ent[1] == "free":
                continue
            got = a.out(16, 32, True)
            if got != ent[1]:
                raise CorpusBug("%s.log:%d: sidecar says %r masks to %r, "
                                "ipaddress says %r" % (name, i + 1, ent[0],
                                                       ent[1], got))
        if ln.orig() != b:
            raise CorpusBug("%s.log:%d: pieces do not rebuild the line" % (
                name, i + 1))
        out.append(ln)
    return out, side


# ------------------------------------------------------------ the corpus

def build(seed=97):
    """{layout name: (Layout, doc lines or None, {file: [CLine]})}, every
    line checked for undeclared addresses and every file's times set."""
    rng = random.Random(seed)
    out = {}
    for lay in layouts():
        doc = load_doc(lay.doc)[0] if lay.doc else None
        files = lay.files(rng)
        for name, lines in files.items():
            set_times(lines, "")
            for ln in lines:
                if ln.eff is not None and CUT - 3 * HOUR < ln.eff < \
                        EARLY + 3 * HOUR:
                    raise CorpusBug("a line near the window's edge")
        for ln in (doc or []) + [x for v in files.values() for x in v]:
            check_declared(ln)
        out[lay.name] = (lay, doc, files)
    bad = verify(out)
    if bad:
        raise CorpusBug("the corpus disagrees with its configs:\n  " +
                        "\n  ".join(bad[:10]))
    return out


def file_bytes(lines):
    return b"".join(ln.orig() + b"\n" for ln in lines)


def decorations(ln):
    """[(A, [decoration names])] of a line: what stands around each
    address as written."""
    out = []
    ps = ln.parts
    for i, p in enumerate(ps):
        if not isinstance(p, A):
            continue
        b = ps[i - 1] if i and isinstance(ps[i - 1], str) else ""
        a = ps[i + 1] if i + 1 < len(ps) and isinstance(ps[i + 1], str) \
            else ""
        d = []
        if re.search(r"(?i)(?:for|by)=(?:\\x22|\\\"|\")?\[?$", b):
            d.append("rfc7239 for=/by=")
        if re.search(r'(?:\\x22|\\")\[?$', b):
            d.append("quoted (\\x22 or \\\")")
        if b.endswith("["):
            d.append("[...]:port" if re.match(r"\]:\d", a) else "[...]")
        if b.endswith("(") and a.startswith(")"):
            d.append("(...)")
        if re.match(r"\\?/\d", a):
            d.append("/prefix" if a[0] == "/" else "\\/prefix (JSON)")
        if re.match(r":\d", a) or p.kind == "v6port":
            if not b.endswith("["):
                d.append(":port")
        if a.startswith("\r"):
            d.append("before CR")
        out.append((p, d))
    return out


def spelling_counts(lines):
    c = {}
    for ln in lines:
        for a, decs in decorations(ln):
            k = a.spelling + ("" if a.field else " (outside fields)")
            c[k] = c.get(k, 0) + 1
            for dd in decs:
                k = "decoration " + dd
                c[k] = c.get(k, 0) + 1
    return c


# ------------------------------------------------------------ checkers
# Each returns (failures: [str], stats: dict); they never call lethe.

class Stats:
    def __init__(self):
        self.masked = 0
        self.expected = 0
        self.bad_lines = 0


def check_lines(what, got_lines, lines, nu_of, masked_of, p4, p6, mh,
                fails, st, limit=2):
    """Compare lines read back with the corpus lines.  nu_of(ln),
    masked_of(i, ln) say how each must look."""
    if len(got_lines) != len(lines):
        fails.append("%s: %d lines, expected %d (lines lost, split or "
                     "joined)" % (what, len(got_lines), len(lines)))
    bad = []
    for i, (g, ln) in enumerate(zip(got_lines, lines)):
        nu = nu_of(ln)
        mk = masked_of(i, ln)
        msg = check_line(g, ln, nu, mk, p4, p6, mh)
        if mk:
            m, e = count_masked(g, ln, nu is True, p4, p6, mh)
            st.masked += m
            st.expected += e
        if msg:
            bad.append("line %d (%s%s): %s" % (
                i + 1, ln.kind, ", " + ln.src if ln.src and ":" in ln.src
                else "", msg))
    st.bad_lines += len(bad)
    if os.environ.get("CORPUS_VERBOSE"):
        limit = len(bad)
    if bad:
        fails.append("%s: %d of %d lines wrong; first %s:\n    %s" % (
            what, len(bad), len(lines), min(limit, len(bad)),
            "\n    ".join(bad[:limit])))


def split_out(data):
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts = parts[:-1]
    return parts


def check_mask_run(what, lines, view, rc, out, err):
    """lethe mask VIEW-ARGS < lines: exit 0, every line right, and the
    stderr count of lines not understood."""
    fails = []
    st = Stats()
    nmin = sum(1 for ln in lines if view.nu(ln) is True)
    nmay = sum(1 for ln in lines if view.nu(ln) is None)
    st.nu_expected = (nmin, nmin + nmay)
    st.nu_reported = None
    if rc != 0 and not out:
        fails.append("%s: exit %s, stderr %r" % (what, rc, err[:200]))
        st.expected = sum(count_masked(b"", ln, view.nu(ln) is True,
                                       view.p4, view.p6)[1] for ln in lines)
        return fails, st
    if rc != 0:
        fails.append("%s: exit %s, stderr %r" % (what, rc, err[:200]))
    check_lines(what, split_out(out), lines, view.nu,
                lambda i, ln: True, view.p4, view.p6, False, fails, st)
    cand = [i + 1 for i, ln in enumerate(lines) if view.nu(ln) is not False]
    first_true = next((i + 1 for i, ln in enumerate(lines)
                       if view.nu(ln) is True), None)
    ms = [m for m in NU_RE.finditer(err)]
    if ms:
        n, m, first = (int(x) for x in ms[-1].groups())
        st.nu_reported = n
        # (a "lethe: " or journald "<4>" prefix is allowed)
        if not re.search(r"^(?:<\d>)?(?:lethe: )?mask: \d+ of \d+ lines not "
                         r"understood \(first at line \d+\)$", err, re.M):
            fails.append("%s: stderr has the count but not as \"mask: N of "
                         "M lines not understood (first at line L)\": %r" % (
                             what, err[:300]))
        ok = nmin <= n <= nmin + nmay and m == len(lines) and \
            first in cand and (first_true is None or first <= first_true)
        if nmay == 0:
            ok = ok and n == nmin and first == first_true
        if not ok:
            fails.append("%s: stderr says %d of %d lines not understood "
                         "(first at line %d), expected %s of %d (first at "
                         "line %s)" % (what, n, m, first,
                                       nmin if not nmay else "%d..%d" % (
                                           nmin, nmin + nmay),
                                       len(lines), first_true))
    elif nmin > 0:
        fails.append("%s: %d lines not understood (first at line %d), but "
                     "stderr says nothing of it: %r" % (what, nmin,
                                                         first_true,
                                                         err[:300]))
    else:
        st.nu_reported = 0
    return fails, st


def expected_file(lines, live, now=NOW):
    """Per line: must once have masked it?"""
    early = now - WINDOW + MASK_EARLY
    return [(not live and ln.eff is not None and ln.eff < early)
            for ln in lines]


def check_once_file(what, lines, got, live, p4, p6, mh):
    """A file after once: lines past the window masked, the others as
    written (a live file is never rewritten)."""
    fails = []
    st = Stats()
    want = expected_file(lines, live)
    check_lines(what, split_out(got), lines, lambda ln: ln.nu_for(""),
                lambda i, ln: want[i], p4, p6, mh, fails, st)
    return fails, st


def once_summary_line(path, lines):
    n, m, first = nu_summary(lines, "")
    if n == 0:
        return None
    return '"%s": %d of %d lines not understood (first at line %d)' % (
        path, n, m, first)


def check_once_stderr(what, files, err):
    """files: {path: lines}.  A summary for each file with lines not
    understood, and none for the others."""
    fails = []
    for path, lines in files.items():
        want = once_summary_line(path, lines)
        mentions = [l for l in err.split("\n") if '"%s"' % path in l and
                    "not understood" in l]
        if want is None:
            if mentions:
                fails.append("%s: once reports lines not understood in a "
                             "file that has none: %r" % (what, mentions[0]))
        elif not any(want in l for l in mentions):
            fails.append("%s: once's stderr lacks %r%s" % (
                what, want, " (it says %r)" % mentions[0] if mentions else
                ""))
    return fails


AUDIT_OK = [re.compile(r"^(.*): (\d+) lines not understood past the "
                       r"window, first at line (\d+)$"),
            re.compile(r"^(.*): warning: \d+ address-like tokens outside "
                       r"the address fields of lines not understood, first "
                       r"at line \d+$"),
            re.compile(r"^audit: .*$")]
AUDIT_FULL = re.compile(r"^(.*): (\d+) full addresses past the window, "
                        r"first at line (\d+)$")


def audit_expect(files, now=NOW):
    """{path: (count, first line)} of lines not understood past the
    window."""
    cut = now - WINDOW
    out = {}
    for path, lines in files.items():
        n = 0
        first = None
        for i, ln in enumerate(lines):
            if ln.nu_for("") and ln.eff is not None and ln.eff < cut:
                n += 1
                if first is None:
                    first = i + 1
        if n:
            out[path] = (n, first)
    return out


def check_audit(what, files, rc, out):
    """audit after once: it fails exactly the files with lines not
    understood past the window, with their count and first line; no file
    holds a full address past the window; every line is one of the forms
    audit may print (so no address or line text)."""
    fails = []
    exp = audit_expect(files)
    seen = {}
    for l in out.split("\n"):
        if not l:
            continue
        m = AUDIT_FULL.match(l)
        if m:
            fails.append("%s: audit after once still finds full addresses: "
                         "%r" % (what, l))
            continue
        m = AUDIT_OK[0].match(l)
        if m:
            seen[m.group(1)] = (int(m.group(2)), int(m.group(3)))
            continue
        if not any(r.match(l) for r in AUDIT_OK[1:]):
            fails.append("%s: audit printed a line of no known form: %r" % (
                what, l[:200]))
    for path, v in exp.items():
        if path not in seen:
            fails.append("%s: audit should fail %s: %d lines not understood "
                         "past the window, first at line %d" % (
                             what, path, v[0], v[1]))
        elif seen[path] != v:
            fails.append("%s: audit says %s: %d lines not understood, first "
                         "at line %d; expected %d, first at line %d" % (
                             what, path, seen[path][0], seen[path][1],
                             v[0], v[1]))
    for path in seen:
        if path not in exp:
            fails.append("%s: audit fails %s, which has no line not "
                         "understood past the window" % (what, path))
    want_rc = 1 if exp else 0
    if rc != want_rc:
        fails.append("%s: audit exit %s, expected %d" % (what, rc, want_rc))
    return fails, exp, seen


def full_texts(lines):
    return sorted({a.text for ln in lines for a in ln.addrs()
                   if a.kind != "host" and a.is_full()})


def leaks(text, addrs):
    return L.leaked_addresses(text, addrs)


# ------------------------------------------------------------ verifying
# That the corpus agrees with the configs it is read with: every line a
# config understands is parsed here (python's re and json, from the same
# log_format, regex, addresses and #Fields strings lethe gets), and the
# address pieces must be exactly the ones inside its address fields.

NGINX_ADDR = {"remote_addr", "realip_remote_addr", "http_x_forwarded_for",
              "proxy_add_x_forwarded_for", "http_forwarded",
              "http_x_real_ip"}
APACHE_ADDR = {"%h", "%a", "%{c}a", "%{X-Forwarded-For}i", "%{Forwarded}i",
               "%{X-Real-IP}i"}
TOKEN_VARS = {"status", "body_bytes_sent", "request_time", "msec",
              "remote_user", "time_iso8601", "%>s", "%b", "%O", "%l", "%u",
              "%{msec}t", "%{usec}t", "%{sec}t"}
BUILTIN = {
    "combined": LF_COMBINED,
    "common": '$remote_addr - $remote_user [$time_local] "$request" '
              '$status $body_bytes_sent',
    "main": LF_COMBINED + ' "$http_x_forwarded_for"',
    "vhost_combined": 'LogFormat "%v:%p %h %l %u %t \\"%r\\" %>s %O '
                      '\\"%{Referer}i\\" \\"%{User-Agent}i\\""',
}


def template_regex(fmt):
    """(compiled regex, {group: is address}) of an nginx log_format or an
    Apache LogFormat, pasted or bare."""
    s = fmt.strip()
    m = re.match(r"log_format\s+\S+\s+(?:escape=\S+\s+)?(.*?);?$", s, re.S)
    if m:
        s = "".join(re.findall(r"'((?:[^'\\]|\\.)*)'", m.group(1)))
    m = re.match(r'LogFormat\s+"((?:[^"\\]|\\.)*)"', s)
    if m:
        s = m.group(1).replace('\\"', '"')
    if "$" in s:
        tok = re.compile(r"\$([a-z0-9_]+)")
    else:
        tok = re.compile(r"(%[<>]?(?:\{[^}]*\})?[a-zA-Z])")
    out = "^"
    groups = {}
    pos = 0
    for i, m in enumerate(tok.finditer(s)):
        out += re.escape(s[pos:m.start()])
        v = m.group(1)
        g = "g%d" % i
        groups[g] = v in NGINX_ADDR or v in APACHE_ADDR
        if v in TOKEN_VARS:
            pat = r"\S+"
        elif v in ("time_local", "%t") or v.endswith("}t"):
            pat = r"[^\]]*" if v != "%t" else r"\[[^\]]*\]"
        else:
            pat = ".*?"
        out += "(?P<%s>%s)" % (g, pat)
        pos = m.end()
    out += re.escape(s[pos:]) + r"\r?$"
    return re.compile(out, re.S), groups


def _spans(ln):
    pos = 0
    out = []
    for p in ln.parts:
        t = p if isinstance(p, str) else p.text
        if isinstance(p, A):
            out.append((pos, pos + len(t), p))
        pos += len(t)
    return out


def _check_groups(ln, spans_addr, what):
    """spans_addr: [(start, end)] of the line's address fields."""
    bad = []
    line = ln.orig().decode()
    for s, e, a in _spans(ln):
        if a.kind == "v6port":          # a field may end before the port
            e -= len(a.port) + 1
        inside = any(gs <= s and e <= ge for gs, ge in spans_addr)
        if a.field and not inside:
            bad.append("%s: %s %r is not in an address field" % (
                what, ln.kind, a.text))
        if not a.field and inside and \
                not line[:s].lower().endswith("host="):
            # (RFC 7239 host= is no address pair: untouched)
            bad.append("%s: %s %r lies in an address field but is not "
                       "marked so" % (what, ln.kind, a.text))
    return bad


def verify_lines(lay, lines):
    """Problems (a list of str) between the layout's config and lines."""
    conf = lay.conf
    fmt = conf.get("format")
    bad = []
    if "log_format" in conf or fmt in BUILTIN:
        lf = conf.get("log_format") or BUILTIN[fmt]
        if isinstance(lf, list):
            lf = " ".join(lf)
        rx, groups = template_regex(lf)
        for ln in lines:
            if ln.nu_for(""):
                continue
            s = ln.orig().decode()
            m = rx.match(s)
            if not m:
                bad.append("%s: %s line does not fit its log_format: %r" % (
                    lay.name, ln.kind, s[:120]))
                continue
            sp = [m.span(g) for g, isa in groups.items() if isa]
            bad += _check_groups(ln, sp, lay.name)
    elif fmt == "regex":
        rx = re.compile(conf["regex"].replace("(?<", "(?P<"))
        for ln in lines:
            s = ln.orig().decode()
            m = rx.match(s)
            if ln.nu_for(""):
                if m:
                    bad.append("%s: line not understood matches the regex: "
                               "%r" % (lay.name, s[:120]))
                continue
            if not m:
                bad.append("%s: %s line does not match its regex: %r" % (
                    lay.name, ln.kind, s[:120]))
                continue
            sp = [m.span(g) for g in rx.groupindex if g.startswith("addr")]
            bad += _check_groups(ln, sp, lay.name)
    elif fmt == "json":
        keys = [k.strip() for k in conf["addresses"].split(",")]
        for ln in lines:
            s = ln.orig().decode()
            try:
                obj = json.loads(s)
            except ValueError:
                if not ln.nu_for(""):
                    bad.append("%s: understood line is not JSON: %r" % (
                        lay.name, s[:120]))
                continue
            vals = []
            for k in keys:
                o = obj
                for part in k.split("."):
                    o = o.get(part) if isinstance(o, dict) else None
                vals += o if isinstance(o, list) else [o]
            text = " | ".join(v for v in vals if isinstance(v, str))
            for a in ln.addrs():
                dec = json.loads('"%s"' % a.text)
                if a.field and dec not in text:
                    bad.append("%s: %r is in no address key" % (lay.name,
                                                               a.text))
                if not a.field and re.search(r"(?<![\w.:])%s(?![\w.])" %
                                             re.escape(dec), text):
                    bad.append("%s: %r (not marked a field) is in an "
                               "address key" % (lay.name, a.text))
            tk = conf["time_key"]
            o = obj
            for part in tk.split("."):
                o = o.get(part) if isinstance(o, dict) else None
            if o is None and not ln.nu_for(""):
                bad.append("%s: no time key %s: %r" % (lay.name, tk,
                                                       s[:100]))
    elif fmt in ("nginx_error", "apache_error"):
        lead = ("client: ", "client ", "client [") if fmt == "nginx_error" \
            else ("[client ", "[remote ", "[client [", "[remote [")
        for ln in lines:
            line = ln.orig().decode()
            for st, e, a in _spans(ln):
                ok = line[:st].endswith(lead)
                if a.field != ok and not ln.nu_for(""):
                    bad.append("%s: %r %s after %r" % (
                        lay.name, a.text, "is a field but not" if a.field
                        else "is not a field but", line[max(0, st - 9):st]))
    elif fmt == "w3c":
        fields = W3C_DEFAULT.split()
        for ln in lines:
            s = ln.orig().decode().rstrip("\r")
            if s.startswith("#Fields:"):
                fields = s.split()[1:]
                continue
            if s.startswith("#"):
                continue
            cols = s.split(" ")
            if len(cols) != len(fields):
                if not ln.nu_for(""):
                    bad.append("%s: %d fields, #Fields has %d: %r" % (
                        lay.name, len(cols), len(fields), s[:100]))
                continue
            sp = []
            pos = 0
            for c, f in zip(cols, fields):
                if f in ("c-ip", "cs(X-Forwarded-For)"):
                    sp.append((pos, pos + len(c)))
                pos += len(c) + 1
            bad += _check_groups(ln, sp, lay.name)
    return bad


def verify(corpus):
    bad = []
    for name, (lay, doc, files) in corpus.items():
        for lines in [doc or []] + list(files.values()):
            bad += verify_lines(lay, lines)
    return bad
