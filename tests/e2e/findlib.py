"""The people in the logs (issue 11): a month of logs with one person's
address planted in every spelling and layout lethe reads, the look-alikes
that must not match, and an independent reader for `lethe find` and
`lethe erase` (45-find, 46-erase); python3 stdlib only.

Nothing here asks lethe what is right.  Two things say what a file holds,
and they are checked against each other before lethe runs:

  the generator: each line is built from literal text and Tok pieces that
    know their address (an ipaddress value), whether they stand in an
    address field, and how lethe writes them masked; a line past the window
    is written masked from its pieces, the way lethe's once leaves it;
  the reader: parses the files back (re, json, gzip, ipaddress) per format
    and finds the address spans of each line: the format's address fields
    of the lines it understands, every address-like token of the others
    (corpuslib's reference free scan).

What find must count, what erase must leave and what export must write are
computed by the reader from the bytes on disk.
"""

import calendar
import functools
import gzip
import hashlib
import ipaddress
import json
import os
import re
import time

import corpuslib as C
import lethelib as L

NOW_ISO = "2026-11-29T12:00:00Z"
NOW = L.iso_to_epoch(NOW_ISO)
DAY = L.DAY
HOUR = L.HOUR
WINDOW = 7 * DAY
MASK_EARLY = HOUR
CUT = NOW - WINDOW                  # past the window: time < CUT
EARLY = CUT + MASK_EARLY            # masked by once: time < EARLY

T4 = "192.0.2.7"                    # the person: IPv4 ...
T6 = "2001:db8::1"                  # ... and IPv6
N48 = "2001:db8:1::/48"             # a CIDR query with its own planted hosts
IN48 = "2001:db8:1:2::5"

# --since/--until boundaries of 45-find: no line within GAP of them
SINCE_ISO = "2026-11-10T06:00:00Z"
UNTIL_ISO = "2026-11-26T18:00:00Z"
BOUNDS = [L.iso_to_epoch(SINCE_ISO), L.iso_to_epoch(UNTIL_ISO)]
GAP = 120


def iso(t):
    return None if t is None else L.epoch_to_iso(int(t))


# ------------------------------------------------------------ addresses

V4Z = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})")


def parse_core(s):
    """An address without brackets, port or zone, as lethe reads it:
    IPv4 (leading zeros read as decimal: 192.000.002.007), IPv6 in any
    text form.  None when it is none."""
    m = V4Z.fullmatch(s)
    if m:
        o = [int(x) for x in m.groups()]
        if max(o) > 255:
            return None
        return ipaddress.IPv4Address(bytes(o))
    if ":" not in s:
        return None
    m = re.fullmatch(r"(.*:)(\d{1,3}(?:\.\d{1,3}){3})", s)
    if m:                               # embedded dotted quad
        q = parse_core(m.group(2))
        if q is None:
            return None
        s = m.group(1) + str(q)
    try:
        return ipaddress.IPv6Address(s)
    except ValueError:
        return None


def norm(a):
    """IPv4-mapped IPv6 is the IPv4 address (::ffff:192.0.2.7 is
    192.0.2.7)."""
    if a.version == 6 and a.ipv4_mapped is not None:
        return a.ipv4_mapped
    return a


TOK_RE = re.compile(r"\[(?P<b>[^\]]+)\](?::(?P<bp>\d+))?|"
                    r"(?P<v4>\d{1,3}(?:\.\d{1,3}){3})(?::(?P<p4>\d+))?|"
                    r"(?P<v6>[0-9A-Fa-f:.]+)(?:%(?P<z>[A-Za-z0-9_.-]+))?")


@functools.lru_cache(maxsize=1 << 16)
def parse_tok(tok):
    """A token of an address field: (value, masker) or None.  Forms:
    ADDR, IPv4:PORT, [ADDR], [ADDR]:PORT, IPv6%ZONE, [IPv6%ZONE]:PORT.
    value is normalised (mapped to IPv4); masker(p4, p6) gives lethe's
    masked spelling of the whole token (brackets, zone and port kept, the
    address in canonical form, a mapped address as ::ffff:a.b.0.0)."""
    m = TOK_RE.fullmatch(tok)
    if not m:
        return None
    pre, post, zone = "", "", None
    if m.group("b") is not None:
        inner = m.group("b")
        pre, post = "[", "]" + (":" + m.group("bp") if m.group("bp")
                                else "")
        if "%" in inner:
            inner, zone = inner.split("%", 1)
            if not zone:
                return None
        core = inner
    elif m.group("v4") is not None:
        core = m.group("v4")
        if m.group("p4"):
            post = ":" + m.group("p4")
    else:
        core = m.group("v6")
        zone = m.group("z")
    a = parse_core(core)
    if a is None:
        return None
    if zone is not None and (a.version != 6 or a.ipv4_mapped is not None):
        return None
    mapped = a.version == 6 and a.ipv4_mapped is not None

    def masker(p4, p6):
        s = canon_masked(a, p4, p6)
        if zone is not None:
            s += "%" + zone
        return pre + s + post
    return norm(a), masker, mapped


def canon_masked(a, p4, p6):
    """lethe's masked text of ipaddress a (not normalised)."""
    if a.version == 6 and a.ipv4_mapped is not None:
        return "::ffff:" + C.m4(a.ipv4_mapped, p4)
    if a.version == 4:
        return C.m4(a, p4)
    return C.m6(a, p4, p6)


def prefix_of(v, p4, p6):
    """The network a (normalised) value keeps when masked."""
    return ipaddress.ip_network("%s/%d" % (v, p4 if v.version == 4 else p6),
                                strict=False)


def is_masked(v, p4, p6):
    """No host bits past the set's prefix: a truncated address."""
    host = (32 - p4) if v.version == 4 else (128 - p6)
    return int(v) & ((1 << host) - 1) == 0


def parse_query(q):
    """ADDR or CIDR as a (normalised) network."""
    if "/" in q:
        a, n = q.split("/", 1)
        v = parse_core(a)
        n = int(n)
        if v.version == 6 and v.ipv4_mapped is not None and n >= 96:
            return ipaddress.ip_network("%s/%d" % (v.ipv4_mapped, n - 96))
        return ipaddress.ip_network("%s/%d" % (v, n))
    r = parse_tok(q)
    v = r[0]
    return ipaddress.ip_network("%s/%d" % (v, v.max_prefixlen))


def classify(values, nets, p4, p6):
    """What find makes of a line whose address spans hold values:
    "full" (a queried address with its host bits), "masked" (a truncated
    address whose prefix lies wholly in the query), "in_prefix" (a
    truncated address whose prefix holds a queried address), or None.
    A line counts once, in that order."""
    full = masked = inp = False
    for v in values:
        for n in nets:
            if n.version != v.version:
                continue
            if not is_masked(v, p4, p6):
                if v in n:
                    full = True
                continue
            pn = prefix_of(v, p4, p6)
            if pn.subnet_of(n):
                masked = True
            elif pn.overlaps(n):
                inp = True
    if full:
        return "full"
    if masked:
        return "masked"
    if inp:
        return "in_prefix"
    return None


def matches(v, nets, p4, p6):
    """Is value v a queried address with its host bits (what erase masks
    and export keeps)?"""
    return not is_masked(v, p4, p6) and any(
        n.version == v.version and v in n for n in nets)


# ------------------------------------------------------------ the reader

CLF_T = r"\[(?P<t>\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\]"
CLF_HEAD = (r"(?P<ra>\S+) \S+ \S+ " + CLF_T + r' "(?P<req>[^"]*)" \d{3} '
            r'(?:\d+|-) "(?P<ref>[^"]*)" "(?P<ua>[^"]*)"')
RE_COMBINED = re.compile(CLF_HEAD + "$")
RE_MAIN = re.compile(CLF_HEAD + r' "(?P<xff>[^"]*)"$')
RE_FWD = re.compile(CLF_HEAD + r' "(?P<fwd>[^"]*)"$')
RE_NGX = re.compile(r"(?P<t>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[[a-z]+\] "
                    r"\d+#\d+: ")
RE_JSON_KEY = re.compile(r'"(remote_addr|x_forwarded_for)":"([^"\\]*)"')
HOST_RE = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
                     r"(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*")
ELEM_RE = re.compile(r"[^,; \t]+")

FMT_LOG_FORMAT = {
    "fwd": '$remote_addr - $remote_user [$time_local] "$request" $status '
           '$body_bytes_sent "$http_referer" "$http_user_agent" '
           '"$http_forwarded"',
}


@functools.lru_cache(maxsize=1 << 16)
def clf_time(s):
    return L.parse_clf_time(b"[" + s.encode() + b"]")


def ngx_time(s):
    return calendar.timegm(time.strptime(s, "%Y/%m/%d %H:%M:%S"))


def json_time(s):
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(Z|[+-]\d\d:\d\d)", s)
    if not m:
        return None
    t = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
    if m.group(2) != "Z":
        sg = 1 if m.group(2)[0] == "+" else -1
        t -= sg * (int(m.group(2)[1:3]) * 3600 + int(m.group(2)[4:6]) * 60)
    return t


class Parsed:
    """One line read back: understood or not, its own time (None: none),
    and the address spans [(start, end, value, masker)] in the line's
    latin-1 text: the address fields' elements, or the free scan's
    tokens of a line not understood."""
    __slots__ = ("understood", "own", "spans", "eff")

    def __init__(self, understood, own, spans):
        self.understood = understood
        self.own = own
        self.spans = spans
        self.eff = None


def _field(s, off, val, spans, plain=False):
    """The element of an address field at s[off:off+len(val)] (plain: one
    element, else a list); False when an element is not one lethe
    accepts (the line is then not understood)."""
    elems = [(off, val)] if plain else [
        (off + m.start(), m.group(0)) for m in ELEM_RE.finditer(val)]
    for st, e in elems:
        r = parse_tok(e)
        if r is not None:
            spans.append((st, st + len(e), r[0], r[1]))
        elif not (e in ("-", "unknown") or HOST_RE.fullmatch(e) or
                  re.fullmatch(r"_[A-Za-z0-9._-]+", e)):
            return False
    return True


def _fwd_field(s, off, val, spans):
    """RFC 7239: for= and by= nodes, nginx's quotes (\\x22) around them."""
    if val == "-":
        return True
    for m in ELEM_RE.finditer(val):
        pair = m.group(0)
        k, eq, v = pair.partition("=")
        if not eq:
            return False
        if k.lower() not in ("for", "by"):
            continue
        st = off + m.start() + len(k) + 1
        if v.startswith("\\x22") and v.endswith("\\x22") and len(v) > 8:
            st += 4
            v = v[4:-4]
        r = parse_tok(v)
        if r is not None:
            spans.append((st, st + len(v), r[0], r[1]))
        elif not (v == "unknown" or re.fullmatch(r"_[A-Za-z0-9._-]+", v)):
            return False
    return True


def free_spans(s):
    out = []
    for st, en, tok in C.scan_address_tokens(s):
        r = parse_tok(tok)
        if r is not None:
            out.append((st, en, r[0], r[1]))
    return out


def parse_line(fmt, raw):
    """Parsed of one line (bytes, no newline) of format fmt: combined,
    main, fwd (log_format with $http_forwarded), json, nginx_error."""
    s = raw.decode("latin-1")
    spans = []
    ok = False
    own = None
    if fmt in ("combined", "main", "fwd"):
        rx = {"combined": RE_COMBINED, "main": RE_MAIN, "fwd": RE_FWD}[fmt]
        m = rx.match(s)
        if m:
            own = clf_time(m.group("t"))
            ok = own is not None and _field(s, m.start("ra"), m.group("ra"),
                                            spans, plain=True)
            if ok and fmt == "main":
                ok = _field(s, m.start("xff"), m.group("xff"), spans)
            if ok and fmt == "fwd":
                ok = _fwd_field(s, m.start("fwd"), m.group("fwd"), spans)
    elif fmt == "json":
        try:
            obj = json.loads(s)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and isinstance(obj.get("time"), str):
            own = json_time(obj["time"])
            ok = own is not None
            for m in RE_JSON_KEY.finditer(s):
                if not ok:
                    break
                ok = _field(s, m.start(2), m.group(2), spans,
                            plain=m.group(1) == "remote_addr")
    elif fmt == "nginx_error":
        m = RE_NGX.match(s)
        if m:
            own = ngx_time(m.group("t"))
            ok = True
            rest = m.end()
            c = re.match(r"\*\d+ client (\S+) ", s[rest:])
            if c:
                ok = _field(s, rest + c.start(1), c.group(1), spans,
                            plain=True)
            for c in re.finditer(r", client: ([^,]+?)(?=,|$)", s):
                ok = ok and _field(s, c.start(1), c.group(1), spans,
                                   plain=True)
    else:
        raise ValueError(fmt)
    if not ok:
        return Parsed(False, None, free_spans(s))
    return Parsed(True, own, spans)


def parse_content(fmt, data):
    """[(line bytes, Parsed)] of a file's content, each line's effective
    time set: its own, or (not understood, no time) the line before's."""
    lines, _ = L.split_lines(data)
    out = []
    prev = None
    for raw in lines:
        p = parse_line(fmt, raw)
        p.eff = p.own if p.own is not None else prev
        if p.eff is not None:
            prev = p.eff
        out.append((raw, p))
    return out


def rewrite(raw, p, keep, p4, p6):
    """The line with every span whose value keep(v) is False replaced by
    its masked form (erase: keep = not queried; export: keep = queried)."""
    s = raw.decode("latin-1")
    out = []
    pos = 0
    for st, en, v, mk in p.spans:
        if keep(v):
            continue
        out.append(s[pos:st])
        out.append(mk(p4, p6))
        pos = en
    out.append(s[pos:])
    return "".join(out).encode("latin-1")


def erased_line(raw, p, nets, p4, p6):
    return rewrite(raw, p, lambda v: not matches(v, nets, p4, p6), p4, p6)


def exported_line(raw, p, nets, p4, p6):
    return rewrite(raw, p, lambda v: matches(v, nets, p4, p6), p4, p6)


LID_RE = re.compile(rb"(?:/i/|\bid=)(\d+)")


def line_id(raw):
    m = LID_RE.search(raw)
    return int(m.group(1)) if m else None


def read_content(path):
    return L.read_content(path)[0]


def sha_file(path):
    return L.sha(path)


# ------------------------------------------------------------ find, by hand

def find_expect(files, queries, since=None, until=None):
    """What find --json must say.  files: [(path, set, fmt, p4, p6)].
    Per file and in total: lines (= full + masked), full, masked,
    in_prefix, first, last (ISO, of the lines counted in lines), sha256,
    and the per-line classes {(path, index): class} for messages; since
    and until (epoch) bound the lines' times: since <= t < until."""
    nets = [parse_query(q) for q in queries]
    out = {"lines": 0, "full": 0, "masked": 0, "in_prefix": 0, "files": {},
           "classes": {}, "exported": {}}
    for path, sname, fmt, p4, p6 in files:
        data = read_content(path)
        f = {"path": path, "set": sname, "lines": 0, "full": 0, "masked": 0,
             "in_prefix": 0, "first": None, "last": None,
             "sha256": sha_file(path), "nu_matched": 0, "nu_lines": 0}
        exp_lines = []
        for i, (raw, p) in enumerate(parse_content(fmt, data)):
            if not p.understood:
                f["nu_lines"] += 1
            if since is not None and (p.eff is None or p.eff < since):
                continue
            if until is not None and (p.eff is None or p.eff >= until):
                continue
            c = classify([v for _, _, v, _ in p.spans], nets, p4, p6)
            if c is None:
                continue
            out["classes"][(path, i)] = c
            f[c] += 1
            if c in ("full", "masked"):
                f["lines"] += 1
                if not p.understood:
                    f["nu_matched"] += 1
                if p.eff is not None:
                    f["first"] = p.eff if f["first"] is None else min(
                        f["first"], p.eff)
                    f["last"] = p.eff if f["last"] is None else max(
                        f["last"], p.eff)
            if c == "full":
                exp_lines.append((i, raw, exported_line(raw, p, nets, p4,
                                                        p6)))
        f["first"], f["last"] = iso(f["first"]), iso(f["last"])
        out["files"][path] = f
        out["exported"][path] = exp_lines
        for k in ("lines", "full", "masked", "in_prefix"):
            out[k] += f[k]
    return out


def leaked(text, queries, files_prefixes=((16, 32),)):
    """Address-like tokens of text (lethe's output) that are a queried
    address, or a full address inside a queried network; and the query
    strings themselves."""
    nets = [parse_query(q) for q in queries]
    bad = []
    for q in queries:
        if q in text:
            bad.append(q)
    for st, en, tok in C.scan_address_tokens(text):
        r = parse_tok(tok)
        if r is None:
            continue
        v = r[0]
        for n in nets:
            if n.version != v.version or v not in n:
                continue
            if n.num_addresses == 1 or not all(
                    is_masked(v, p4, p6) for p4, p6 in files_prefixes):
                bad.append(tok)
    return sorted(set(bad))


# ------------------------------------------------------------ the generator

class Tok:
    """One address piece of a generated line: its text, its value
    (ipaddress, not normalised), field (in an address field of an
    understood line, or a free-scan token of a line not understood) or
    not (client text: a user agent, a URL, a host header)."""
    __slots__ = ("text", "value", "field", "masker")

    def __init__(self, text, field=True):
        self.text = text
        self.field = field
        r = parse_tok(text)
        if r is None:
            raise ValueError("test bug: %r is no address token" % text)
        self.value = r[0]
        self.masker = r[1]

    def masked(self, p4, p6):
        return self.masker(p4, p6) if self.field else self.text


class GLine:
    """A generated line: parts (str and Tok), time, understood, kind."""
    __slots__ = ("parts", "t", "understood", "kind", "lid", "masked_copy")

    def __init__(self, parts, t, understood, kind, lid):
        self.parts = parts
        self.t = t
        self.understood = understood
        self.kind = kind
        self.lid = lid
        self.masked_copy = False

    def text(self, p4, p6):
        return "".join(p.masked(p4, p6) if (self.masked_copy and
                                            isinstance(p, Tok)) else
                       (p.text if isinstance(p, Tok) else p)
                       for p in self.parts)

    def values(self, p4, p6):
        """Normalised values of the spans the reader must find."""
        out = []
        for p in self.parts:
            if isinstance(p, Tok) and p.field:
                if self.masked_copy:
                    out.append(parse_tok(p.masked(p4, p6))[0])
                else:
                    out.append(p.value)
        return out


def bg4(rng):
    """A background IPv4 address: never 192.x (the person's /8), never
    truncated-looking (last octet not 0)."""
    while True:
        a = rng.choice([198, 203, 100, 81, 62, 5, 31, 46, 77, 85, 91, 151,
                        176, 185, 188, 212, 213, 217])
        s = "%d.%d.%d.%d" % (a, rng.randrange(256), rng.randrange(256),
                             rng.randrange(1, 255))
        return s


def bg6(rng):
    top = rng.choice(["2a01:4f8", "2a00:1450", "2600:1f18", "2406:8400",
                      "2a02:810"])
    return ipaddress.IPv6Address("%s:%x:%x:%x:%x:%x:%x" % (
        top, rng.randrange(65536), rng.randrange(65536), rng.randrange(65536),
        rng.randrange(65536), rng.randrange(65536),
        rng.randrange(1, 65536))).compressed


def bg_addr(rng):
    return bg4(rng) if rng.random() < 0.65 else bg6(rng)


UAS = ["Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 "
       "Firefox/121.0",
       "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
       "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
       "curl/8.4.0", "Wget/1.21.3", "-",
       "Googlebot/2.1 (+http://www.google.com/bot.html)"]
PATHS = ["", "?page=2", "/index.html", "?q=lethe&lang=de", "/static/app.js",
         "/wp-login.php"]


def req(lid, rng, tail=""):
    return "%s /i/%d%s%s HTTP/1.1" % (rng.choice(["GET", "GET", "POST"]),
                                      lid, rng.choice(PATHS), tail)


def clf_parts(client, t, lid, rng, tz=0, ua=None, url_tail="", ref="-",
              extra=None):
    """A combined line (extra: the last quoted field of main / fwd, a list
    of parts)."""
    parts = [client] if isinstance(client, Tok) else list(client)
    parts.append(" - - [%s] \"" % L.time_local(int(t), tz))
    parts += url_tail if isinstance(url_tail, list) else [req(lid, rng,
                                                              url_tail)]
    parts.append("\" %d %d \"" % (rng.choice([200, 200, 304, 404]),
                                  rng.randrange(100, 90000)))
    parts += ref if isinstance(ref, list) else [ref]
    parts.append("\" \"")
    parts += ua if isinstance(ua, list) else [ua or rng.choice(UAS)]
    parts.append("\"")
    if extra is not None:
        parts.append(" \"")
        parts += extra
        parts.append("\"")
    return parts


def T(text, field=True):
    return Tok(text, field)


def lst(*elems, sep=", "):
    """A list field: elements (Tok or str) joined by sep."""
    out = []
    for i, e in enumerate(elems):
        if i:
            out.append(sep)
        out.append(e)
    return out


# The planted lines of each format: kind -> builder(lid, t, rng) returning
# (parts, understood).  Kinds are named "T4 ...", "T6 ...", "48 ..." (the
# person's address, or a host of 2001:db8:1::/48) or "look ..." (must not
# match the person).

def _combined_kinds():
    k = {}
    t4 = ["192.0.2.7", "192.0.2.7:5678", "192.000.002.007", "192.0.2.07",
          "[192.0.2.7]", "[192.0.2.7]:80", "::ffff:192.0.2.7",
          "::FFFF:192.0.2.7", "::ffff:c000:207",
          "0000:0000:0000:0000:0000:ffff:c000:0207",
          "[::ffff:192.0.2.7]:8443"]
    t6 = ["2001:db8::1", "2001:0db8::1", "2001:DB8::1",
          "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8:0:0:0:0:0:1",
          "2001:db8:0::1", "2001:db8::0.0.0.1", "[2001:db8::1]",
          "[2001:db8::1]:443", "2001:db8::1%eth0", "[2001:db8::1%eth0]:443"]
    for a in t4:
        k["T4 client %s" % a] = (lambda a: lambda lid, t, r: (
            clf_parts(T(a), t, lid, r), True))(a)
    for a in t6:
        k["T6 client %s" % a] = (lambda a: lambda lid, t, r: (
            clf_parts(T(a), t, lid, r), True))(a)
    k["48 client %s" % IN48] = lambda lid, t, r: (
        clf_parts(T(IN48), t, lid, r), True)
    for a in ["192.0.2.70", "192.0.2.77", "192.0.3.7", "2001:db8::10",
              "2001:db8::1:1", "2001:db8:2::5", "64:ff9b::192.0.2.7",
              "::ffff:192.0.2.70"]:
        k["look client %s" % a] = (lambda a: lambda lid, t, r: (
            clf_parts(T(a), t, lid, r), True))(a)
    k["look client host 192-0-2-7.dyn.example.net"] = lambda lid, t, r: (
        clf_parts(["192-0-2-7.dyn.example.net"], t, lid, r), True)
    k["look T4 in user agent"] = lambda lid, t, r: (clf_parts(
        T(bg4(r)), t, lid, r, ua=["Mozilla/5.0 (compatible; probe ",
                                  T(T4, False), ")"]), True)
    k["look T4 in URL"] = lambda lid, t, r: (clf_parts(
        T(bg4(r)), t, lid, r, url_tail=["GET /i/%d?ip=" % lid, T(T4, False),
                                        " HTTP/1.1"]), True)
    k["look T4 in referer"] = lambda lid, t, r: (clf_parts(
        T(bg6(r)), t, lid, r, ref=["http://", T(T4, False), "/admin"]), True)
    k["look T6 in URL"] = lambda lid, t, r: (clf_parts(
        T(bg4(r)), t, lid, r, url_tail=["GET /i/%d/ip/" % lid,
                                        T(T6, False), "/info HTTP/1.1"]),
        True)
    # lines the format does not understand: the free scan's tokens count
    k["T4 not understood, free text"] = lambda lid, t, r: ([
        "garbage id=%d from " % lid, T(T4), " at noon"], False)
    k["T6 not understood, free text"] = lambda lid, t, r: ([
        "stray id=%d (" % lid, T(T6), ") says hello"], False)
    k["T4 not understood, bad client field"] = lambda lid, t, r: (clf_parts(
        ["${jndi:ldap://", T(T4), "/a}"], t, lid, r), False)
    k["look not understood, a192.0.2.7"] = lambda lid, t, r: ([
        "garbage id=%d a192.0.2.7 x" % lid], False)
    return k


def _main_kinds():
    k = {}

    def line(xff_parts, client=None):
        return lambda lid, t, r: (clf_parts(
            T(client) if client else T(bg4(r)), t, lid, r, tz=60,
            extra=xff_parts(r)), True)
    k["T4 xff first hop"] = line(lambda r: lst(T(T4), T(bg4(r)),
                                               T(bg6(r))))
    k["T4 xff middle hop"] = line(lambda r: lst(T(bg4(r)), T(T4),
                                                T(bg4(r))))
    k["T4 xff last hop"] = line(lambda r: lst(T(bg6(r)), T(bg4(r)), T(T4)))
    k["T4 xff with port"] = line(lambda r: lst("unknown", T(T4 + ":5678")))
    k["T4 xff mapped"] = line(lambda r: lst(T("::ffff:" + T4), T(bg4(r))))
    k["T4 xff no blank"] = line(lambda r: lst(T(bg4(r)), T(T4), sep=","))
    k["T4 xff only"] = line(lambda r: [T(T4)])
    k["T6 xff bracket port"] = line(lambda r: lst(T(bg4(r)),
                                                  T("[2001:db8::1]:443")))
    k["T6 xff upper"] = line(lambda r: lst(T("2001:DB8::1"), "unknown"))
    k["T4 client, xff -"] = line(lambda r: ["-"], client=T4)
    k["T4 client and xff"] = line(lambda r: lst(T(T4), T(bg4(r))),
                                  client=T4)
    k["T4 and T6 in xff"] = line(lambda r: lst(T(T6), T(bg6(r)), T(T4)))
    k["48 xff"] = line(lambda r: lst(T(bg4(r)), T(IN48)))
    k["look xff 192.0.2.70"] = line(lambda r: lst(T("192.0.2.70"),
                                                  T(bg4(r))))
    k["look xff host ec2-192-0-2-7"] = line(lambda r: lst(
        "ec2-192-0-2-7.compute-1.example.com", T(bg4(r))))
    k["look xff 2001:db8::10"] = line(lambda r: lst(T("2001:db8::10")))
    return k


def _fwd_kinds():
    k = {}

    def line(fw):
        return lambda lid, t, r: (clf_parts(T(bg4(r)), t, lid, r,
                                            extra=fw(r)), True)
    q = "\\x22"
    k["T4 forwarded for="] = line(lambda r: ["for=", T(T4)])
    k["T4 forwarded For=;proto"] = line(lambda r: ["For=", T(T4),
                                                   ";proto=https"])
    k["T4 forwarded quoted port"] = line(lambda r: [
        "for=" + q, T(T4 + ":8080"), q + ";proto=http"])
    k["T6 forwarded quoted bracket port"] = line(lambda r: [
        "for=" + q, T("[2001:db8::1]:443"), q])
    k["T4 forwarded second node"] = line(lambda r: [
        "for=unknown, for=", T(T4)])
    k["T4 forwarded after by="] = line(lambda r: [
        "by=", T(bg4(r)), ";for=", T(T4)])
    k["look forwarded _hidden, T4 in user agent"] = lambda lid, t, r: (
        clf_parts(T(bg4(r)), t, lid, r, ua=["bot ", T(T4, False)],
                  extra=["for=_hidden"]), True)
    return k


def _json_parts(t, lid, r, ra, xff, ua=None, reqs=None):
    parts = ['{"time":"%s","remote_addr":"' % time.strftime(
        "%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(int(t)))]
    parts += ra if isinstance(ra, list) else [ra]
    parts.append('","x_forwarded_for":"')
    parts += xff if isinstance(xff, list) else [xff]
    parts.append('","request":"')
    parts += reqs if reqs else [req(lid, r)]
    parts.append('","status":200,"user_agent":"')
    parts += ua if ua else [r.choice(UAS)]
    parts.append('"}')
    return parts


def _json_kinds():
    k = {}
    k["T4 json remote_addr"] = lambda lid, t, r: (_json_parts(
        t, lid, r, T(T4), "-"), True)
    k["T6 json remote_addr leading zero"] = lambda lid, t, r: (_json_parts(
        t, lid, r, T("2001:0db8::1"), "-"), True)
    k["T4 json x_forwarded_for"] = lambda lid, t, r: (_json_parts(
        t, lid, r, T(bg4(r)), lst(T(bg4(r)), T(T4))), True)
    k["look json T4 in user agent and request"] = lambda lid, t, r: (
        _json_parts(t, lid, r, T(bg4(r)), "-", ua=["x ", T(T4, False)],
                    reqs=["GET /i/%d?ip=" % lid, T(T4, False)]), True)
    k["T4 json not understood, text line"] = lambda lid, t, r: ([
        "not json id=%d from " % lid, T(T4)], False)
    return k


def _ngx_parts(t, lid, r, msg_parts):
    return ["%s [error] 1234#1234: " % time.strftime(
        "%Y/%m/%d %H:%M:%S", time.gmtime(int(t)))] + msg_parts


def _ngx_kinds():
    k = {}

    def std(client, host="example.com", url_tail=""):
        return lambda lid, t, r: (_ngx_parts(t, lid, r, [
            "*%d open() \"/srv/x\" failed (2: No such file or directory), "
            "client: " % r.randrange(1, 9999), client(r),
            ", server: example.com, request: \"GET /i/%d" % lid] +
            (url_tail if isinstance(url_tail, list) else [url_tail]) +
            [" HTTP/1.1\", host: \""] +
            (host if isinstance(host, list) else [host]) + ["\""]), True)
    k["T4 nginx_error client:"] = std(lambda r: T(T4))
    k["T6 nginx_error client:"] = std(lambda r: T(T6))
    k["T4 nginx_error client: mapped"] = std(lambda r: T("::ffff:" + T4))
    k["T4 nginx_error *N client ADDR"] = lambda lid, t, r: (_ngx_parts(
        t, lid, r, ["*%d client " % r.randrange(1, 9999), T(T4),
                    " closed keepalive connection id=%d" % lid]), True)
    k["look nginx_error T4 in host and request"] = std(
        lambda r: T(bg4(r)), host=[T(T4, False)],
        url_tail=["?ip=", T(T4, False)])
    return k


KINDS = {"combined": _combined_kinds, "main": _main_kinds,
         "fwd": _fwd_kinds, "json": _json_kinds,
         "nginx_error": _ngx_kinds}


def background(fmt, lid, t, r):
    """An ordinary line of another person."""
    if fmt == "combined":
        return clf_parts(T(bg_addr(r)), t, lid, r)
    if fmt == "main":
        n = r.choice([0, 0, 1, 2, 3])
        x = lst(*[T(bg_addr(r)) for _ in range(n)]) if n else ["-"]
        return clf_parts(T(bg_addr(r)), t, lid, r, tz=60, extra=x)
    if fmt == "fwd":
        return clf_parts(T(bg4(r)), t, lid, r, extra=[
            "for=", T(bg4(r)), ";proto=https"] if r.random() < 0.7 else
            ["-"])
    if fmt == "json":
        return _json_parts(t, lid, r, T(bg_addr(r)), lst(T(bg4(r))) if
                           r.random() < 0.3 else "-")
    if fmt == "nginx_error":
        return _ngx_parts(t, lid, r, [
            "*%d access forbidden by rule, client: " % r.randrange(9999),
            T(bg_addr(r)), ", server: example.com, request: \"GET /i/%d "
            "HTTP/1.1\", host: \"example.com\"" % lid])
    raise ValueError(fmt)


class GFile:
    """A generated file: name, set, lines (GLine), gz, live."""

    def __init__(self, name, sname, fmt, p4, p6, lines, gz=False,
                 live=False):
        self.name = name
        self.set = sname
        self.fmt = fmt
        self.p4 = p4
        self.p6 = p6
        self.lines = lines
        self.gz = gz
        self.live = live
        self.path = None

    def content(self):
        return b"".join(l.text(self.p4, self.p6).encode("latin-1") + b"\n"
                        for l in self.lines)

    def write(self, d, uid=0, gid=4, mode=0o640, level=6):
        self.path = os.path.join(d, self.name)
        data = self.content()
        if self.gz:
            data = gzip.compress(data, level, mtime=0)
        with open(self.path, "wb") as f:
            f.write(data)
        os.chmod(self.path, mode)
        try:
            os.chown(self.path, uid, gid)
        except PermissionError:
            pass
        ts = [l.t for l in self.lines]
        if ts:
            os.utime(self.path, (max(ts), max(ts)))
        return self.path


def times(r, a, b, n):
    """n integer times in [a, b), none within GAP of a --since/--until
    boundary, increasing."""
    out = []
    while len(out) < n:
        x = int(r.uniform(a, b))
        if any(abs(x - y) < GAP for y in BOUNDS):
            continue
        out.append(x)
    return sorted(out)


class Builder:
    """Builds files of one set.  lids are unique across the month."""

    def __init__(self, rng, start_lid=1):
        self.r = rng
        self.lid = start_lid

    def next_lid(self):
        self.lid += 1
        return self.lid

    def file(self, name, sname, fmt, p4, p6, a, b, n_bg, kinds=None,
             gz=False, live=False, mask_before=EARLY, plant_every=1):
        """A file of lines in [a, b): n_bg background lines and each
        planted kind once (kinds: a list of names, default all of the
        format's).  Lines older than mask_before are written masked, as
        lethe's once leaves them."""
        r = self.r
        table = KINDS[fmt]()
        names = sorted(table) if kinds is None else kinds
        plan = [None] * n_bg
        for _ in range(plant_every):
            plan += names
        r.shuffle(plan)
        # a line not understood takes the time of the line before it: keep
        # one understood line first
        plan.insert(0, None)
        ts = times(r, a, b, len(plan))
        lines = []
        prev = None
        for kind, t in zip(plan, ts):
            lid = self.next_lid()
            if kind is None:
                parts, und = background(fmt, lid, t, r), True
                kind = "background"
            else:
                parts, und = table[kind](lid, t, r)
                if not und:
                    # a line not understood takes the time of the line
                    # before; one that carries a time of its own (a bad
                    # address field) carries that one, so that it does
                    # not matter whether lethe believes it
                    t = prev
                    parts, und = table[kind](lid, t, r)
            g = GLine(parts, t, und, kind, lid)
            g.masked_copy = t < mask_before
            lines.append(g)
            prev = t
        return GFile(name, sname, fmt, p4, p6, lines, gz=gz, live=live)


def day(k):
    """[NOW's midnight - k days, + 1 day)."""
    m = L.iso_to_epoch("2026-11-29T00:00:00Z")
    return m - k * DAY, m - (k - 1) * DAY


# ------------------------------------------------------------ checks

def self_check(gfiles, queries_list):
    """The reader against the generator, line by line, before lethe runs:
    understood or not, and the class of every line for every query.
    Returns a list of disagreements (test bugs)."""
    bad = []
    for g in gfiles:
        data = read_content(g.path)
        parsed = parse_content(g.fmt, data)
        if len(parsed) != len(g.lines):
            bad.append("%s: the reader sees %d lines, the generator wrote "
                       "%d" % (g.name, len(parsed), len(g.lines)))
            continue
        for (raw, p), gl in zip(parsed, g.lines):
            if p.understood != gl.understood:
                bad.append("%s: line id %d (%s): the reader says understood"
                           " %s, the generator %s: %r" % (
                               g.name, gl.lid, gl.kind, p.understood,
                               gl.understood, raw[:200]))
                continue
            if p.eff != gl.t:
                bad.append("%s: line id %d (%s): time %s, generated %s" % (
                    g.name, gl.lid, gl.kind, iso(p.eff), iso(gl.t)))
            got = sorted(str(v) for _, _, v, _ in p.spans)
            want = sorted(str(v) for v in gl.values(g.p4, g.p6))
            if got != want:
                bad.append("%s: line id %d (%s): the reader's addresses %s,"
                           " the generator's %s: %r" % (
                               g.name, gl.lid, gl.kind, got, want, raw[:200]))
                continue
            for qs in queries_list:
                nets = [parse_query(q) for q in qs]
                a = classify([v for _, _, v, _ in p.spans], nets, g.p4, g.p6)
                b = classify(gl.values(g.p4, g.p6), nets, g.p4, g.p6)
                if a != b:
                    bad.append("%s: line id %d (%s), query %s: reader %s, "
                               "generator %s" % (g.name, gl.lid, gl.kind,
                                                 qs, a, b))
            # the generator's erased form equals the reader's
            nets = [parse_query(q) for q in (T4, T6)]
            er = erased_line(raw, p, nets, g.p4, g.p6)
            ge = "".join(
                (x.masked(g.p4, g.p6) if x.field and matches(
                    x.value, nets, g.p4, g.p6) and not gl.masked_copy else
                 x.masked(g.p4, g.p6) if gl.masked_copy and x.field else
                 x.text) if isinstance(x, Tok) else x
                for x in gl.parts).encode("latin-1")
            if er != ge:
                bad.append("%s: line id %d (%s): erased by the reader %r, "
                           "by the generator %r" % (g.name, gl.lid, gl.kind,
                                                    er[:200], ge[:200]))
    return bad


def kinds_by_lid(gfiles):
    out = {}
    for g in gfiles:
        for gl in g.lines:
            out[gl.lid] = (g.name, gl.kind, gl.masked_copy)
    return out


def conf_text(state, sets, extra_global=""):
    s = "[global]\nstate_dir = %s\n%s\n" % (state, extra_global)
    for name, kv in sets:
        s += "[%s]\n" % name
        for k, v in kv.items():
            s += "%s = %s\n" % (k, v)
        s += "\n"
    return s


def parse_json_out(t, r, what):
    """find --json's one object, or None (a failure said)."""
    try:
        obj = json.loads(r.out)
    except ValueError as e:
        t.fail("%s: stdout is not one JSON object (%s)\n%s" % (what, e,
                                                               r.show(1500)))
        return None
    if not isinstance(obj, dict):
        t.fail("%s: stdout is JSON but not an object\n%s" % (what,
                                                              r.show(1500)))
        return None
    return obj


HEX16 = re.compile(r"[0-9a-f]{16}")
ISO_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def sha256_bytes(b):
    return hashlib.sha256(b).hexdigest()
