#!/usr/bin/env python3
"""lethe find (issue 11, 1 and 6): one person's lines in every copy.

A month of logs for --now 2026-11-29T12:00:00Z in five sets: combined
(live, .1, numbered .N.gz, dateext -YYYYMMDD plain and gzip, lethe's
-YYYYMMDDTHHMMZ segments plain and gzip), main (its X-Forwarded-For list,
/24 and /48 prefixes, +0100), a log_format with $http_forwarded (RFC 7239
for=), json (addresses = remote_addr,x_forwarded_for) and nginx_error
(client: ADDR).  The person, 192.0.2.7 and 2001:db8::1, is planted in
every spelling and layout lethe reads (findlib: client field in 22
spellings, first/middle/last hop, with port, brackets, mapped, zone,
for=, json keys, client:, free text of lines not understood), beside
look-alikes that must not match (192.0.2.70, 192.0.2.7 in a user agent,
URL, referer or Host header, 2001:db8::10, 64:ff9b::192.0.2.7, a host
name, a192.0.2.7).  Lines older than now - window + mask_early are
written masked, as lethe's once leaves them, so the person's older lines
are masked copies (in_prefix) and a short enough query (192.0.0.0/16,
2001:db8::/32) counts them as masked.

An independent reader (findlib: re, json, gzip, ipaddress) says what find
must count, checked first against the generator line by line.  Then:
find --json for single addresses in several spellings, both at once,
CIDRs, --set, --since/--until, nothing found (exit 1), bad arguments
(exit 2): totals and every file's lines/full/masked/in_prefix/first/
last/sha256; the text report; --export (plain and .gz): header, exactly
the full lines, every other address truncated at its set's prefixes, the
queried one as written; no queried address ever in lethe's output; find
changes no file.

Against 3da614b: every count, time, hash and exported line agrees with
the reader but for two points where lethe departs from the spec: the
export holds the masked matches too (lines whose truncated address lies
wholly inside the query, e.g. 192.0.2.0 in a /24 set for 192.0.2.0/24),
not only the full ones; and find without an address or with a bad
--since exits 1 (nothing found) instead of 2 (an error).

Env: FIND_SEED (default 45), E2E_KEEP=1."""

import gzip
import os
import random
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import findlib as F  # noqa: E402
import lethelib as L  # noqa: E402

t = L.Test("45-find")
SEED = int(os.environ.get("FIND_SEED", "45"))
rng = random.Random(SEED)
root = t.mkdtemp()
logs = os.path.join(root, "logs")
state = os.path.join(root, "state")
out_dir = os.path.join(root, "out")
os.mkdir(logs, 0o755)
os.mkdir(state, 0o700)
os.mkdir(out_dir, 0o700)

# ---------------------------------------------------------------- the month
B = F.Builder(rng)
gfiles = []
day = F.day
NOW = F.NOW


def add(name, sname, fmt, p4, p6, span, n_bg=40, **kw):
    a, b = span
    b = min(b, NOW - 60)
    g = B.file(name, sname, fmt, p4, p6, a, b, n_bg, **kw)
    gfiles.append(g)
    return g


# web: combined, /16 /32
add("access.log", "web", "combined", 16, 32, day(0), live=True)
add("access.log.1", "web", "combined", 16, 32, day(1))
for k in range(2, 9):           # .7: Nov 22, across the window's edge
    add("access.log.%d.gz" % k, "web", "combined", 16, 32, day(k), gz=True)
add("access.log-20261120", "web", "combined", 16, 32, day(10))
add("access.log-20261115.gz", "web", "combined", 16, 32, day(15), gz=True)
add("access.log-20261111T0000Z.gz", "web", "combined", 16, 32,
    (day(19)[0], day(18)[1]), gz=True, plant_every=2)   # across --since
add("access.log-20261104T0000Z", "web", "combined", 16, 32, day(25))
# xff: main, /24 /48, +0100
add("xff.log", "xff", "main", 24, 48, day(0), live=True)
add("xff.log.1", "xff", "main", 24, 48, day(1))
add("xff.log.2.gz", "xff", "main", 24, 48, (day(4)[0], day(2)[1]),
    gz=True, plant_every=2)                             # across --until
add("xff.log-20261118.gz", "xff", "main", 24, 48, day(11), gz=True)
# fwd: $http_forwarded
add("fwd.log", "fwd", "fwd", 16, 32, day(0), live=True)
add("fwd.log.1.gz", "fwd", "fwd", 16, 32, day(9), gz=True)
# json
add("app.log", "json", "json", 16, 32, day(0), live=True)
add("app.log.1.gz", "json", "json", 16, 32, day(2), gz=True)
add("app.log.2.gz", "json", "json", 16, 32, day(12), gz=True)
# err: nginx_error
add("error.log", "err", "nginx_error", 16, 32, day(0), live=True)
add("error.log.1", "err", "nginx_error", 16, 32, day(1))
add("error.log.2.gz", "err", "nginx_error", 16, 32, day(8), gz=True)

for g in gfiles:
    g.write(logs, mode=0o640)


def setconf(g, extra=None):
    d = {"logs": os.path.join(logs, g.name)}
    if g.fmt in F.FMT_LOG_FORMAT:
        d["log_format"] = F.FMT_LOG_FORMAT[g.fmt]
    else:
        d["format"] = g.fmt
    if g.fmt == "json":
        d["addresses"] = "remote_addr,x_forwarded_for"
    if g.fmt == "nginx_error":
        d["timezone"] = "UTC"
    d.update({"window": "7d", "ipv4_prefix": str(g.p4),
              "ipv6_prefix": str(g.p6), "mask_early": "1h",
              "compress_after": "off", "retain": "60d"})
    d.update(extra or {})
    return d


sets = []
for g in gfiles:
    if g.live:
        sets.append((g.set, setconf(g)))
conf = os.path.join(root, "lethe.conf")
with open(conf, "w") as f:
    f.write(F.conf_text(state, sets))
ALL = [(g.path, g.set, g.fmt, g.p4, g.p6) for g in gfiles]
GF = {g.path: g for g in gfiles}
KIND = F.kinds_by_lid(gfiles)

# ---------------------------------------------------------------- self-check
QUERIES = [[F.T4], [F.T6], [F.T4, F.T6], ["192.0.2.0/24"], [F.N48],
           ["192.0.0.0/16"], ["2001:db8::/32"]]
bad = F.self_check(gfiles, QUERIES)
if bad:
    for b in bad[:30]:
        print("test bug: " + b)
    print("test bug: the reader and the generator disagree (%d)" % len(bad))
    sys.exit(2)
e = F.find_expect(ALL, [F.T4, F.T6])
if not (e["full"] > 150 and e["in_prefix"] > 100):
    print("test bug: too few planted lines: %r" % {
        k: e[k] for k in ("full", "masked", "in_prefix")})
    sys.exit(2)
e16 = F.find_expect(ALL, ["192.0.0.0/16"])
if not e16["masked"]:
    print("test bug: no masked line for 192.0.0.0/16")
    sys.exit(2)
t.info("the month: %d files, %d lines, %d of the person's lines full and "
       "%d masked copies (reader and generator agree)" % (
           len(gfiles), sum(len(g.lines) for g in gfiles), e["full"],
           e["in_prefix"]))

r = L.run(["-c", conf, "check"])
t.check(r.rc == 0, "check refuses the test's config\n%s" % r.show())
before = L.snapshot(logs)
outputs = []        # (queries, text of stdout + stderr)

# ---------------------------------------------------------------- helpers
FILE_KEYS = ("path", "set", "lines", "full", "masked", "in_prefix", "first",
             "last", "sha256", "not_understood")


def find(args, timeout=120):
    r = L.run(["-c", conf, "--now", F.NOW_ISO, "find"] + args,
              timeout=timeout)
    return r


r = find(["--json", F.T4])
if not r.out.strip() and any(w in r.err for w in (
        "unknown command", "unrecognized option", "usage: ")):
    t.fail("lethe find is not there yet (the rest of this test needs it)\n"
           "%s" % r.show(800))
    t.done()


def explain(path, exp, queries):
    """The planted kinds of one file and what the reader makes of them."""
    out = {}
    for (p, i), c in exp["classes"].items():
        if p != path:
            continue
        gl = GF[p].lines[i]
        k = "%s%s" % (gl.kind, " (masked copy)" if gl.masked_copy else "")
        out.setdefault(k, {}).setdefault(c, 0)
        out[k][c] += 1
    return "; ".join("%s: %s" % (k, ", ".join("%d %s" % (n, c) for c, n in
                                              sorted(v.items())))
                     for k, v in sorted(out.items()))


def check_find(label, queries, extra=(), sets=None, since=None, until=None,
               every_file=True):
    """find --json against the reader.  every_file: every file of the
    sets must be listed, zeros too."""
    files = [f for f in ALL if sets is None or f[1] in sets]
    exp = F.find_expect(files, queries, since, until)
    r = find(["--json"] + list(extra) + list(queries))
    outputs.append((queries, r.out + r.err))
    want_rc = 0 if exp["lines"] else 1
    t.check(r.rc == want_rc, "%s: exit %s, expected %d (%d lines)\n%s" % (
        label, r.rc, want_rc, exp["lines"], r.show(1500)),
        kind="find exit")
    obj = F.parse_json_out(t, r, label)
    if obj is None:
        return None, exp
    req = obj.get("request")
    t.check(isinstance(req, str) and F.HEX16.fullmatch(req or ""),
            "%s: request %r is not 16 hex digits" % (label, req))
    for k in ("lines", "full", "masked", "in_prefix"):
        t.check(obj.get(k) == exp[k], "%s: %s = %r, expected %d" % (
            label, k, obj.get(k), exp[k]), kind="find total %s" % k)
    files_out = obj.get("files")
    if not isinstance(files_out, list):
        t.fail("%s: files is %r, not a list" % (label, type(files_out)))
        return obj, exp
    seen = {}
    for fo in files_out:
        if not isinstance(fo, dict):
            t.fail("%s: a files entry is not an object: %r" % (label, fo))
            continue
        missing = [k for k in FILE_KEYS if k not in fo]
        t.check(not missing, "%s: %s: keys missing: %s" % (
            label, fo.get("path"), missing), kind="find file keys")
        p = fo.get("path")
        if p in seen:
            t.fail("%s: %s listed twice" % (label, p))
        seen[p] = fo
        if p not in exp["files"]:
            t.fail("%s: lists %r, which is not a file of %s" % (
                label, p, "the sets %s" % sets if sets else "the config"),
                kind="find extra file")
            continue
        ef = exp["files"][p]
        diffs = []
        for k in ("set", "lines", "full", "masked", "in_prefix", "first",
                  "last", "sha256"):
            if fo.get(k) != ef[k]:
                diffs.append("%s %r (expected %r)" % (k, fo.get(k), ef[k]))
        if isinstance(fo.get("lines"), int) and isinstance(
                fo.get("full"), int) and isinstance(fo.get("masked"), int):
            t.check(fo["lines"] == fo["full"] + fo["masked"],
                    "%s: %s: lines %d != full %d + masked %d" % (
                        label, p, fo["lines"], fo["full"], fo["masked"]))
        nu = fo.get("not_understood")
        if not (isinstance(nu, int) and ef["nu_matched"] <= nu <=
                ef["nu_lines"]):
            diffs.append("not_understood %r (expected between %d, the "
                         "matched lines not understood, and %d, all the "
                         "file's lines not understood)" % (
                             nu, ef["nu_matched"], ef["nu_lines"]))
        if diffs:
            t.fail("%s: %s: %s\n    the reader's lines there: %s" % (
                label, os.path.basename(p), "; ".join(diffs),
                explain(p, exp, queries)), kind="find file %s" % label)
    for p, ef in exp["files"].items():
        if p in seen:
            continue
        if every_file or ef["lines"] or ef["in_prefix"]:
            t.fail("%s: %s not listed (expected lines %d, in_prefix %d)" % (
                label, p, ef["lines"], ef["in_prefix"]),
                kind="find missing file")
    lk = F.leaked(r.out + r.err, queries)
    t.check(not lk, "%s: find printed a queried address: %s" % (label, lk),
            kind="find leak")
    return obj, exp


# ---------------------------------------------------------------- find --json
res = {}
res["T4"] = check_find("find 192.0.2.7", [F.T4])
res["T6"] = check_find("find 2001:db8::1", [F.T6])
o2 = check_find("find 2001:0DB8:0:0::1 (T6 spelt otherwise)",
                ["2001:0DB8:0:0::1"])
o4 = check_find("find ::ffff:192.0.2.7 (T4 mapped)", ["::ffff:192.0.2.7"])
res["both"] = check_find("find 192.0.2.7 2001:db8::1", [F.T4, F.T6])
check_find("find 192.0.2.0/24", ["192.0.2.0/24"])
check_find("find 2001:db8:1::/48", [F.N48])
o = check_find("find 192.0.0.0/16 (masked lines inside the query)",
               ["192.0.0.0/16"])
check_find("find 2001:db8::/32", ["2001:db8::/32"])
check_find("find 198.18.0.1 (nobody)", ["198.18.0.1"])
check_find("find --set xff 192.0.2.7", [F.T4], extra=["--set", "xff"],
           sets=["xff"])
since = F.BOUNDS[0]
until = F.BOUNDS[1]
check_find("find --since --until 192.0.2.7", [F.T4],
           extra=["--since", F.SINCE_ISO, "--until", F.UNTIL_ISO],
           since=since, until=until, every_file=False)
check_find("find --since 192.0.2.7 2001:db8::1", [F.T4, F.T6],
           extra=["--since", F.SINCE_ISO], since=since, every_file=False)
check_find("find --until (epoch) 192.0.2.7", [F.T4],
           extra=["--until", str(until)], until=until, every_file=False)
check_find("find --since after every line", [F.T4],
           extra=["--since", "2026-11-29T11:59:59Z"],
           since=L.iso_to_epoch("2026-11-29T11:59:59Z"), every_file=False)

# the keyed hash: the same request twice is the same hash, another is not
a = res["T4"][0]
b = find(["--json", F.T4])
ob = F.parse_json_out(t, b, "find 192.0.2.7 again")
if a and ob:
    t.check(a.get("request") == ob.get("request"), "the same query gives "
            "two hashes: %r, %r" % (a.get("request"), ob.get("request")))
if a and res["T6"][0]:
    t.check(a.get("request") != res["T6"][0].get("request"),
            "192.0.2.7 and 2001:db8::1 have the same request hash %r" %
            a.get("request"))
if a and o4[0] and a.get("request") != o4[0].get("request"):
    t.note("192.0.2.7 and ::ffff:192.0.2.7 (one address) have different "
           "request hashes (%s, %s)" % (a.get("request"),
                                        o4[0].get("request")))

# ---------------------------------------------------------------- text report
for qs, want in (([F.T4], 0), ([F.T4, F.N48], 0), (["198.18.0.1"], 1)):
    r = find(qs)
    outputs.append((qs, r.out + r.err))
    t.check(r.rc == want, "find %s (text): exit %s, expected %d\n%s" % (
        " ".join(qs), r.rc, want, r.show(1500)))
    t.check(r.out.strip() != "", "find %s (text): nothing on stdout" %
            " ".join(qs))
    lk = F.leaked(r.out + r.err, qs)
    t.check(not lk, "find %s (text) printed a queried address: %s" % (
        " ".join(qs), lk))
    if want == 0:
        for p, ef in F.find_expect(ALL, qs)["files"].items():
            if ef["lines"]:
                t.check(p in r.out, "find %s (text): the report does not "
                        "name %s (%d lines)" % (" ".join(qs), p,
                                                ef["lines"]),
                        kind="text report names")

# ---------------------------------------------------------------- errors
for args, why in ((["999.1.1.1"], "an address that is none"),
                  (["192.0.2.7/33"], "a prefix too long"),
                  ([], "no address"),
                  (["--set", "nosuch", F.T4], "an unknown set"),
                  (["--since", "yesterday-ish", F.T4], "a bad time"),
                  (["--json", "192.0.2.7", "not-an-address"],
                   "one bad address among good ones")):
    r = find(args)
    if F.leaked(r.out + r.err, [F.T4]):
        t.note("find with %s echoes the address in its error message" % why)
    t.check(r.rc == 2, "find with %s: exit %s, expected 2\n%s" % (
        why, r.rc, r.show(800)), kind="find exit 2")
r = L.run(["-c", os.path.join(root, "nosuch.conf"), "find", F.T4])
t.check(r.rc == 2, "find with a missing config: exit %s, expected 2\n%s" % (
    r.rc, r.show(800)))

# ---------------------------------------------------------------- export


def check_export(label, queries, name):
    exp = F.find_expect(ALL, queries)
    path = os.path.join(out_dir, name)
    r = find(["--export", path] + queries)
    outputs.append((queries, r.out + r.err))
    t.check(r.rc == (0 if exp["lines"] else 1), "%s: exit %s\n%s" % (
        label, r.rc, r.show(1500)))
    if not os.path.isfile(path):
        t.fail("%s: no export file %s\n%s" % (label, path, r.show(1500)))
        return None
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        t.note("%s: the export (personal data) is mode %o" % (label, mode))
    with open(path, "rb") as f:
        data = f.read()
    if name.endswith(".gz"):
        if not t.check(data[:2] == b"\x1f\x8b", "%s: %s is not gzip" % (
                label, name)):
            return None
        try:
            data = gzip.decompress(data)
        except Exception as e:
            t.fail("%s: %s is no valid gzip: %s" % (label, name, e))
            return None
    elif data[:2] == b"\x1f\x8b":
        t.fail("%s: %s is gzip although its name does not end in .gz" % (
            label, name))
        data = gzip.decompress(data)
    lines, nl = L.split_lines(data)
    t.check(nl, "%s: the export does not end with a newline" % label)
    head = []
    while lines and lines[0].startswith(b"# "):
        head.append(lines.pop(0).decode("utf-8", "replace"))
    t.check(head, "%s: no header (lines starting with \"# \")" % label)
    # "# " lines among the log lines (a "# from FILE" before each file's
    # lines): comments too; the spec has the header first
    inner = [x.decode("utf-8", "replace") for x in lines
             if x.startswith(b"# ")]
    lines = [x for x in lines if not x.startswith(b"# ")]
    if inner:
        t.note("%s: %d comment lines among the exported lines (e.g. %r); "
               "the spec has one header block first" % (
                   label, len(inner), inner[0][:100]))
    htext = "\n".join(head + inner)
    for p, ef in exp["files"].items():
        if ef["full"]:
            t.check(p in htext, "%s: the header does not name %s, where "
                    "%d lines came from" % (label, p, ef["full"]),
                    kind="export header path")
    # window 7d and retain 60d, in some spelling
    for what, forms in (("the window (7d)", ("7d", "7 days", "604800",
                                             "168h")),
                        ("the retention (60d)", ("60d", "60 days",
                                                 "5184000", "1440h"))):
        t.check(any(f in htext for f in forms), "%s: the header does not "
                "state %s\n%s" % (label, what, L.indent(htext)))
    low = htext.lower()
    t.check("purpose" in low, "%s: the header says nothing of the purpose "
            "(no word \"purpose\")\n%s" % (label, L.indent(htext)))
    lk = F.leaked(htext, queries)
    t.check(not lk, "%s: the header holds a queried address: %s" % (
        label, lk))
    # the body: exactly the full lines, others masked
    want = {}           # lid -> (path, index, exported bytes)
    for p, el in exp["exported"].items():
        for i, raw, ex in el:
            want[F.line_id(raw)] = (p, i, ex)
    got = {}
    order = {}
    for j, g in enumerate(lines):
        lid = F.line_id(g)
        if lid is None or lid not in KIND:
            t.fail("%s: export line %d is no line of the logs: %r" % (
                label, j + 1 + len(head), g[:200]), kind="export stray")
            continue
        if lid in got:
            t.fail("%s: line id %d (%s) exported twice" % (
                label, lid, KIND[lid][1]), kind="export twice")
        got[lid] = g
        order.setdefault(KIND[lid][0], []).append(lid)
    per_kind = {}
    for lid, (p, i, ex) in want.items():
        k = KIND[lid][1]
        pk = per_kind.setdefault(k, [0, 0, 0])
        pk[0] += 1
        if lid not in got:
            t.fail("%s: %s line id %d (%s) not exported" % (
                label, os.path.basename(p), lid, k), kind="export missing")
            continue
        if got[lid] != ex:
            t.fail("%s: %s line id %d (%s) exported as %r, expected %r "
                   "(%s)" % (label, os.path.basename(p), lid, k,
                             got[lid][:300], ex[:300],
                             L.describe_diff(got[lid], ex)),
                   kind="export content")
            continue
        pk[1] += 1
    cls = {F.line_id(GF[p].lines[i].text(GF[p].p4, GF[p].p6).encode(
        "latin-1")): c for (p, i), c in exp["classes"].items()}
    for lid in got:
        if lid not in want:
            k = KIND[lid][1]
            per_kind.setdefault(k, [0, 0, 0])[2] += 1
            c = cls.get(lid)
            t.fail("%s: line id %d (%s, in %s) exported but %s" % (
                label, lid, k, KIND[lid][0],
                "it is a masked match (its truncated address lies in the "
                "query): the spec exports the full matches only"
                if c == "masked" else "the reader finds no queried address "
                "in it (%s)" % c), kind="export wrong line %s" % c)
    for fname, lids in order.items():
        idx = [want[x][1] for x in lids if x in want]
        t.check(idx == sorted(idx), "%s: the lines of %s are not in their "
                "order in the file" % (label, fname))
    return per_kind, r


pk, _ = check_export("export 192.0.2.7 2001:db8::1 2001:db8:1::/48",
                     [F.T4, F.T6, F.N48], "both.txt") or (None, None)
if pk:
    t.info("per kind (exported full lines / expected; wrongly exported):")
    for k in sorted(pk):
        e_, g_, w_ = pk[k]
        if e_ or w_:
            t.info("  %-48s %3d / %3d%s" % (k, g_, e_,
                                             "; %d wrong" % w_ if w_ else ""))
check_export("export 192.0.2.7 (.gz)", [F.T4], "t4.txt.gz")
check_export("export 192.0.2.0/24", ["192.0.2.0/24"], "n24.txt")
r = find(["--export", os.path.join(out_dir, "nobody.txt"), "198.18.0.1"])
t.check(r.rc == 1, "export of nobody: exit %s, expected 1\n%s" % (
    r.rc, r.show(800)))
wrote = os.listdir(out_dir)
t.check(all(not n.startswith(".") for n in wrote), "temp files left in the "
        "export directory: %s" % wrote)

# the planted look-alikes, in one line each (from the reader's classes)
e = F.find_expect(ALL, [F.T4, F.T6])
looks = {}
for (p, i), c in e["classes"].items():
    gl = GF[p].lines[i]
    if gl.kind.startswith("look") and c == "full":
        looks.setdefault(gl.kind, 0)
        looks[gl.kind] += 1
if looks:
    print("test bug: look-alikes the reader matches: %s" % looks)
    sys.exit(2)

# ------------------------------------------------------- nothing changed
d = L.diff_snapshots(before, L.snapshot(logs))
t.check(not d, "find changed the logs: %s" % "; ".join(d[:10]))
# a damaged gzip among the files: an error (exit 2), the others still read
g = B.file("access.log.9.gz", "web", "combined", 16, 32, day(9)[0],
           day(9)[1], 40, gz=True)
dmg = os.path.join(logs, g.name)
with open(dmg, "wb") as f:
    z = gzip.compress(g.content(), 6, mtime=0)
    f.write(z[:len(z) // 2])
r = find(["--json", F.T4])
outputs.append(([F.T4], r.out + r.err))
t.check(r.rc == 2, "find with a damaged gzip among the files: exit %s, "
        "expected 2 (an error)\n%s" % (r.rc, r.show(1500)))
obj = F.parse_json_out(t, r, "find with a damaged gzip")
if obj is not None:
    exp = F.find_expect(ALL, [F.T4])
    t.check(obj.get("full") == exp["full"], "find with a damaged gzip: full "
            "%r, expected %d (the other files' lines)" % (obj.get("full"),
                                                        exp["full"]))
    t.check(any(isinstance(x, dict) and x.get("path") == dmg for x in
                obj.get("files") or []), "find with a damaged gzip: the "
            "damaged file is not listed")
os.unlink(dmg)

for qs, text in outputs:
    lk = F.leaked(text, [F.T4, F.T6] + [q for q in qs if "/" in q])
    t.check(not lk, "lethe printed the person's address (query %s): %s" % (
        qs, lk), kind="leak")
t.done()
