#!/usr/bin/env python3
"""Check tz.c against Python's zoneinfo (stdlib only).

usage: tz_equiv.py DRIVER [-n N] [--seed S] [-v]

DRIVER is build/test_tz; it runs as "DRIVER --dump", reading "zone NAME"
or "posix SPEC", then "o T" (prints tz_offset) and "u X" (prints
tz_local_to_utc) lines.  For each zone of ZONES, against the same
/usr/share/zoneinfo file read by zoneinfo:

  offsets   N random UTC instants from 1900 to 2200, and every offset
            change from 1970 to 2040 at T-1, T and T+1;
  local     N random wall-clock times, and around each change the wall
            clock at both edges of its gap or overlap and inside it,
            against zoneinfo with fold=0;
  rule      the edge times against our rule worked out from zoneinfo's
            UTC offsets alone: in a gap the offset before it (the result
            lies after the gap), in an overlap the earlier instant.
            zoneinfo's fold=0 is the same rule;
  glibc     offsets against localtime() and wall times against mktime()
            with tm_isdst -1 (TZ=":NAME").  glibc follows our rule but in
            one case, counted apart as documented: in a gap that leaves
            a DST type for a standard one (negative DST: Europe/Dublin,
            Africa/Casablanca since 2018) it takes the offset after the
            gap, and its result lies before the gap;
  footer    tz_from_posix() of the TZ string in the file's footer against
            the file itself and zoneinfo, from the last transition of the
            file to 2200.

Then POSIX strings (those of tz.c's documentation and more) against
glibc (instants from 1970: glibc applies no rule before) and zoneinfo's own
TZ string parser (the private zoneinfo._zoneinfo._parse_tz_str; skipped
if it is gone), except for the zero-based day form "n": zoneinfo counts
it from December 31 (one day late), glibc and POSIX from January 1.  Prints a summary (with -v the figures of each zone and string) and
"N passed, N failed" last;
exits 1 on any mismatch.  Without /usr/share/zoneinfo (no tzdata) it says
so and exits 0.
"""

import argparse
import collections
import os
import random
import struct
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

try:
    import zoneinfo
except ImportError:  # Python < 3.9
    zoneinfo = None

ZONEINFO = "/usr/share/zoneinfo"
ZONES = [
    "Europe/Berlin", "America/New_York", "Asia/Kolkata",
    "Australia/Lord_Howe", "Pacific/Chatham", "America/Sao_Paulo",
    "Africa/Casablanca", "Europe/Dublin", "America/St_Johns", "UTC",
]
POSIX = [
    # (ours, the same rule spelled for glibc and zoneinfo, zoneinfo is right)
    ("UTC0", None, True),
    ("EST5EDT", "EST5EDT,M3.2.0,M11.1.0", True),
    ("CET-1CEST,M3.5.0,M10.5.0/3", None, True),
    ("<+0530>-5:30", None, True),
    ("IST-2IDT,M3.4.4/26,M10.5.0", None, True),
    ("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", None, True),
    ("IST-1GMT0,M10.5.0,M3.5.0/1", None, True),
    ("<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45", None, True),
    ("NST3:30NDT,M3.2.0,M11.1.0", None, True),
    ("AAA0BBB,J60/0,J300/0", None, True),
    ("AAA3BBB,59/-1,300/25", None, False),
    ("EST5EDT,M3.2.0/-2,M11.1.0/167", None, True),
]
STATS = collections.Counter()
VERBOSE = False
EPOCH = datetime(1970, 1, 1)
DAY = 86400
T1900 = -2208988800
T1970 = 0
T2040 = 2208988800
T2200 = 7258118400


class Driver:
    """test_tz --dump, fed in batches."""

    def __init__(self, path):
        self.path = path

    def run(self, lines):
        data = "".join(line + "\n" for line in lines)
        res = subprocess.run([self.path, "--dump"], input=data,
                             capture_output=True, text=True, check=False)
        if res.returncode != 0:
            sys.exit(f"tz_equiv: driver failed: {res.stderr.strip()}")
        out = res.stdout.splitlines()
        if len(out) != len(lines):
            sys.exit(f"tz_equiv: driver printed {len(out)} lines for "
                     f"{len(lines)}")
        return out

    def query(self, head, ops):
        """ops: [("o", t) or ("u", x)]; returns the answers as ints."""
        out = self.run([head] + [f"{op} {v}" for op, v in ops])
        if out[0] != "ok":
            sys.exit(f"tz_equiv: {head}: {out[0]}")
        return [int(v) for v in out[1:]]


def tzif_last_and_footer(path):
    """The last transition (UTC) of the 64-bit data, and the footer."""
    with open(path, "rb") as f:
        b = f.read()

    def header(o):
        if b[o:o + 4] != b"TZif":
            raise ValueError(f"{path}: not TZif")
        return b[o + 4], struct.unpack(">6l", b[o + 20:o + 44])

    ver, (isut, isstd, leap, tcnt, typ, chars) = header(0)
    if ver == 0:
        return None, None
    o = 44 + tcnt * 5 + typ * 6 + chars + leap * 8 + isstd + isut
    _, (isut, isstd, leap, tcnt, typ, chars) = header(o)
    times = struct.unpack(f">{tcnt}q", b[o + 44:o + 44 + 8 * tcnt])
    o += 44 + tcnt * 9 + typ * 6 + chars + leap * 12 + isstd + isut
    footer = b[o + 1:b.index(b"\n", o + 1)].decode()
    return (times[-1] if times else None), footer


def py_off(z, t):
    return int(datetime.fromtimestamp(t, z).utcoffset().total_seconds())


def py_local(z, x, fold=0):
    d = (EPOCH + timedelta(seconds=x)).replace(tzinfo=z, fold=fold)
    return x - int(d.utcoffset().total_seconds())


def changes(off, lo, hi):
    """Every instant in [lo, hi) where off(t) differs from off(t - 1),
    found by daily steps and bisection."""
    out = []
    t, prev = lo, off(lo)
    while t < hi:
        n = min(t + DAY, hi)
        cur = off(n)
        if cur != prev:
            a, b = t, n  # off(a) == prev, off(b) != prev
            while b - a > 1:
                m = (a + b) // 2
                if off(m) == prev:
                    a = m
                else:
                    b = m
            out.append(b)
            # a second change within the same day
            if off(b) != cur:
                t, prev = b, off(b)
                continue
        t, prev = n, cur
    return out


def glibc_set(spec):
    os.environ["TZ"] = spec
    time.tzset()


def glibc_off(t):
    return time.localtime(t).tm_gmtoff


def glibc_mktime(x):
    d = EPOCH + timedelta(seconds=x)
    return int(time.mktime((d.year, d.month, d.day, d.hour, d.minute,
                            d.second, 0, 0, -1)))


def edge_points(t, a, b):
    """Wall-clock times around a change at t from offset a to b."""
    lo, hi = t + min(a, b), t + max(a, b)
    return sorted({lo - 1, lo, (lo + hi) // 2, hi - 1, hi, hi + 1})


def edges(off, trans):
    """(x, t, a, b, isdst before, isdst after) around every change that
    has no other change within two days (glibc_set done)."""
    out = []
    for i, t in enumerate(trans):
        near = (i > 0 and t - trans[i - 1] < 2 * DAY) or \
            (i + 1 < len(trans) and trans[i + 1] - t < 2 * DAY)
        if near:
            continue
        a, b = off(t - 1), off(t)
        da, db = time.localtime(t - 1).tm_isdst, time.localtime(t).tm_isdst
        out += [(x, t, a, b, da, db) for x in edge_points(t, a, b)]
    return out


def rule_local(x, t, a, b):
    """Our rule around one change at t (a before, b after)."""
    return x - a if x < t + max(a, b) else x - b


def glibc_local(x, t, a, b, da, db):
    """What glibc's mktime gives: our rule, but in a gap that leaves DST
    for standard time the offset after the gap."""
    if t + a <= x < t + b and da and not db:
        return x - b
    return rule_local(x, t, a, b)


def say(line):
    if VERBOSE:
        print(line)


class Tally:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.shown = 0

    def check(self, what, got, want):
        if got == want:
            self.passed += 1
            return True
        self.failed += 1
        if self.shown < 20:
            print(f"mismatch: {what}: got {got}, want {want}")
            self.shown += 1
        return False


def check_edges(name, ed, got, tally, fold0=None):
    """Edge times: our rule, glibc; returns (rule ok, glibc ok, glibc
    differs from us as documented)."""
    rule_ok = glibc_ok = documented = 0
    for (x, t, a, b, da, db), g in zip(ed, got):
        want = rule_local(x, t, a, b)
        rule_ok += tally.check(f"{name} rule at local {x}", g, want)
        if fold0 is not None:
            tally.check(f"{name} fold=0 vs rule at {x}", fold0(x), want)
        gl = glibc_local(x, t, a, b, da, db)
        glibc_ok += tally.check(f"{name} glibc mktime at local {x}",
                                glibc_mktime(x), gl)
        documented += gl != want
    return rule_ok, glibc_ok, documented


def check_zone(drv, name, n, rng, tally):
    z = zoneinfo.ZoneInfo(name)
    off = lambda t: py_off(z, t)  # noqa: E731
    head = f"zone {name}"
    glibc_set(":" + name)
    # offsets
    inst = [rng.randrange(T1900, T2200) for _ in range(n)]
    trans = changes(off, T1970, T2040)
    for t in trans:
        inst += [t - 1, t, t + 1]
    got = drv.query(head, [("o", t) for t in inst])
    agree = sum(tally.check(f"{name} offset at {t}", g, off(t))
                for t, g in zip(inst, got))
    gagree = sum(tally.check(f"{name} glibc offset at {t}", g, glibc_off(t))
                 for t, g in zip(inst, got))
    # local times: random, and the edges of every change
    loc = [rng.randrange(T1900, T2200) for _ in range(n)]
    ed = edges(off, trans)
    pts = loc + [e[0] for e in ed]
    got = drv.query(head, [("u", x) for x in pts])
    lagree = sum(tally.check(f"{name} local {x}", g, py_local(z, x))
                 for x, g in zip(pts, got))
    rule_ok, glibc_ok, doc = check_edges(name, ed, got[len(loc):], tally,
                                         lambda x: py_local(z, x))
    STATS.update(random=n, changes=len(trans), instants=len(inst),
                 off_zi=agree, off_glibc=gagree, walls=len(pts),
                 wall_zi=lagree, edges=len(ed), rule=rule_ok,
                 edge_glibc=glibc_ok, documented=doc)
    say(f"{name}: offsets {agree}/{len(inst)} agree with zoneinfo, "
          f"{gagree} with glibc ({len(trans)} changes 1970-2040); "
          f"wall times {lagree}/{len(pts)} agree with zoneinfo fold=0; "
          f"at {len(ed)} gap and overlap edges our rule {rule_ok}, "
          f"glibc mktime {glibc_ok} ({doc} of them negative DST gaps "
          f"where glibc differs from us, as documented)")
    return len(inst) + len(pts), agree + lagree


def check_footer(drv, name, n, rng, tally):
    path = os.path.join(ZONEINFO, name)
    last, footer = tzif_last_and_footer(path)
    if not footer:
        say(f"{name}: no footer")
        return 0, 0
    z = zoneinfo.ZoneInfo(name)
    start = (last if last is not None else T1970) + 1
    inst = [rng.randrange(start, T2200) for _ in range(n)]
    for t in changes(lambda u: py_off(z, u), start, start + 20 * 366 * DAY):
        inst += [t - 1, t, t + 1]
    ops = [("o", t) for t in inst] + [("u", t) for t in inst]
    ours = drv.query(f"posix {footer}", ops)
    file = drv.query(f"zone {name}", ops)
    agree = 0
    for i, (op, v) in enumerate(ops):
        want = py_off(z, v) if op == "o" else py_local(z, v)
        ok = tally.check(f"{name} footer {footer!r} {op} {v}", ours[i], want)
        ok &= tally.check(f"{name} footer vs file {op} {v}", ours[i], file[i])
        agree += ok
    STATS.update(footers=1, footer_ops=len(ops), footer_ok=agree)
    say(f"{name}: footer {footer!r}: {agree}/{len(ops)} agree with the "
          f"file and zoneinfo after {start - 1}")
    return len(ops), agree


def tzstr_off(obj, t):
    if hasattr(obj, "get_trans_info_fromutc"):
        y = (EPOCH + timedelta(seconds=t)).year
        return int(obj.get_trans_info_fromutc(t, y)[0].utcoff.total_seconds())
    return int(obj.utcoff.total_seconds())


def tzstr_local(obj, x):
    if hasattr(obj, "get_trans_info"):
        y = (EPOCH + timedelta(seconds=x)).year
        return x - int(obj.get_trans_info(x, y, 0).utcoff.total_seconds())
    return x - int(obj.utcoff.total_seconds())


def away_from_new_year(x):
    """zoneinfo takes the UTC year for instants and the local year for
    wall times; both are the same away from New Year."""
    d = EPOCH + timedelta(seconds=x)
    return 3 < (d - datetime(d.year, 1, 1)).days < 362


def check_posix(drv, n, rng, tally):
    try:
        from zoneinfo._zoneinfo import _parse_tz_str
    except ImportError:
        _parse_tz_str = None
        print("posix: zoneinfo._zoneinfo._parse_tz_str is gone: "
              "glibc only")
    total = agree = 0
    for ours, theirs, zi_right in POSIX:
        spec = theirs or ours
        obj = _parse_tz_str(spec) if _parse_tz_str and zi_right else None
        glibc_set(spec)
        inst = [rng.randrange(T1970, T2200) for _ in range(n)]
        loc = [x for x in (rng.randrange(T1970 + DAY, T2200)
                           for _ in range(n)) if away_from_new_year(x)]
        trans = changes(glibc_off, T1970 + 56 * 366 * DAY,
                        T1970 + 60 * 366 * DAY)
        inst += [t + d for t in trans for d in (-1, 0, 1)]
        ed = edges(glibc_off, trans)
        ops = [("o", t) for t in inst] + [("u", x) for x in loc] + \
            [("u", e[0]) for e in ed]
        got = drv.query(f"posix {ours}", ops)
        ok = 0
        for (op, v), g in zip(ops[:len(inst) + len(loc)], got):
            if op == "o":
                ok += tally.check(f"posix {ours!r} glibc o {v}", g,
                                  glibc_off(v))
            else:
                ok += tally.check(f"posix {ours!r} glibc u {v}", g,
                                  glibc_mktime(v))
            if obj is not None:
                want = tzstr_off(obj, v) if op == "o" else \
                    tzstr_local(obj, v)
                tally.check(f"posix {ours!r} zoneinfo {op} {v}", g, want)
        rule_ok, glibc_ok, _ = check_edges(f"posix {ours!r}", ed,
                                           got[len(inst) + len(loc):], tally)
        STATS.update(posix=1, posix_ops=len(inst) + len(loc),
                     posix_ok=ok, posix_zi=obj is not None,
                     posix_edges=len(ed), posix_rule=rule_ok)
        say(f"posix {ours!r}: {ok}/{len(inst) + len(loc)} agree with "
              f"glibc" + (" and zoneinfo" if obj is not None else
                          " (zoneinfo counts day n one day late)") +
              f"; {len(ed)} edges: rule {rule_ok}, glibc {glibc_ok}")
        total += len(ops)
        agree += ok + rule_ok
    return total, agree


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("driver")
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("-v", action="store_true")
    args = ap.parse_args()
    global VERBOSE
    VERBOSE = args.v
    if zoneinfo is None or not os.path.isdir(ZONEINFO):
        print("tz_equiv: no zoneinfo module or no /usr/share/zoneinfo "
              "(tzdata): skipped")
        print("0 passed, 0 failed")
        return 0
    drv = Driver(args.driver)
    rng = random.Random(args.seed)
    tally = Tally()
    compared = agreed = 0
    for name in ZONES:
        for fn, k in ((check_zone, args.n), (check_footer, args.n // 4)):
            c, a = fn(drv, name, k, rng, tally)
            compared += c
            agreed += a
    c, a = check_posix(drv, args.n // 2, rng, tally)
    compared += c
    agreed += a
    st = STATS
    print(f"zones: {len(ZONES)}, {st['instants']} instants ({st['random']} "
          f"random 1900-2200, {st['changes']} changes 1970-2040 at T-1, T, "
          f"T+1): {st['off_zi']} agree with zoneinfo, {st['off_glibc']} "
          f"with glibc; {st['walls']} wall times: {st['wall_zi']} agree "
          f"with zoneinfo fold=0; {st['edges']} gap and overlap edges: "
          f"rule {st['rule']}, glibc mktime {st['edge_glibc']} "
          f"({st['documented']} negative DST gaps where glibc differs, "
          f"as documented)")
    print(f"footers: {st['footers']} TZ strings, {st['footer_ok']}/"
          f"{st['footer_ops']} agree with their file and zoneinfo; posix: "
          f"{st['posix']} strings, {st['posix_ok']}/{st['posix_ops']} agree "
          f"with glibc ({st['posix_zi']} also with zoneinfo), edges "
          f"{st['posix_rule']}/{st['posix_edges']}")
    print(f"tz_equiv: {compared} instants and wall times compared, "
          f"{agreed} agree")
    print(f"{tally.passed} passed, {tally.failed} failed")
    return 1 if tally.failed else 0


if __name__ == "__main__":
    sys.exit(main())
