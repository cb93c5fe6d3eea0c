#!/usr/bin/env python3
"""lethe erase (issue 11, 2 and 6): one person's addresses masked on every
line of every copy, inside the window too, through the crash-safe rewrite.

The files are findlib's (the person, 192.0.2.7 and 2001:db8::1, in every
spelling and layout, beside look-alikes); the independent reader (findlib:
re, json, gzip, ipaddress) says what each line must become: the same
bytes, but for each address span holding a queried address, which becomes
its truncation at the set's prefixes (what once writes past the window).

  A  four sets with a reopen hook (a command that only touches a file):
     erase --set xff 2001:db8:1::/48, then erase 192.0.2.7 2001:db8::1:
     exit 0; every file line by line as the reader says, gzip still
     gzip, owner/mode/mtime kept; each live file that held the person
     rotated (its hook run) and its segment erased, the new live file
     empty; the receipt (request, hash, time, reason, status done, the
     lines changed per file, verify 0); find afterwards: exit 1, the
     erased lines counted as in_prefix; a second erase changes nothing;
     bad arguments exit 2; the address never in lethe's output.
  B  rotate = off, the live file holding the person: exit 3, pending, the
     rotated files erased, the live file untouched; once does not finish
     it before a rotation; a python rename to .1 and a new live file, and
     the next once finishes it.
  C  kill -9 at random moments of an erase of big files (ERASE_KILLS,
     default 20, delays spread over the time an uninterrupted erase
     takes): after each kill the reader checks every file (claimed
     originals and the rotated live file included): each file's content
     is its original or its erased form, none lost, none doubled, only
     names lethe may make; then the next once (odd kills) or erase (even)
     finishes it: every file erased, no temp or claim file left.
  D  lethe run with a python writer that reopens on SIGUSR1 (the reopen
     hook): erase --wait 1s hands the request to the daemon and exits 3
     (pending: the segment is not sealed yet), the daemon finishes it; a
     second erase exits 0; every writer line once and as written, every
     other line as the reader says.

Against 3da614b: A, B, C and D pass but for two points where lethe
departs from the spec: erase without an address or with a bad --wait
exits 1 instead of 2; and after erase --set xff 2001:db8:1::/48 the
receipt's verify says lines 2 (full 0): the erased lines are masked
matches wholly inside the query, which find counts in lines, while the
spec has verify.lines = the full lines left, 0 when done.

Env: ERASE_SEED (46), ERASE_KILLS (20), ERASE_KILL_LINES (lines per big
file, 24000), ERASE_PARTS (A,B,C,D), E2E_KEEP=1."""

import gzip
import json
import os
import random
import re
import shutil
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as D  # noqa: E402
import findlib as F  # noqa: E402
import passlib  # noqa: E402
import lethelib as L  # noqa: E402

t = L.Test("46-erase")
L.require_root(t)
SEED = int(os.environ.get("ERASE_SEED", "46"))
KILLS = passlib.count(20, 6, "kill -9 during an erase", env="ERASE_KILLS")
KILL_LINES = int(os.environ.get("ERASE_KILL_LINES", "24000"))
PARTS = os.environ.get("ERASE_PARTS", "A,B,C,D,E").split(",")
T0 = time.monotonic()
root = t.mkdtemp()
outputs = []            # stdout + stderr of every lethe run
QUERY = [F.T4, F.T6]
NETS = [F.parse_query(q) for q in QUERY]
SEG_RE = r"-\d{8}T\d{4}Z(\.gz)?$"
HOOK = "/usr/bin/touch"


def clean_env():
    e = dict(os.environ)
    for k in ("JOURNAL_STREAM", "NOTIFY_SOCKET", "WATCHDOG_USEC",
              "LETHE_TEST_CLOCK_RATE"):
        e.pop(k, None)
    return e


def lethe(conf, args, now=F.NOW_ISO, timeout=120):
    argv = ["-c", conf] + (["--now", str(now)] if now is not None else [])
    r = L.run(argv + list(args), timeout=timeout)
    outputs.append(r.out + r.err)
    return r


class Scene:
    """One directory of logs, its sets and config."""

    def __init__(self, name, seed):
        self.dir = os.path.join(root, name)
        self.logs = os.path.join(self.dir, "logs")
        self.state = os.path.join(self.dir, "state")
        os.makedirs(self.logs, 0o755)
        os.makedirs(self.state, 0o700)
        self.rng = random.Random(seed)
        self.B = F.Builder(self.rng, start_lid=seed * 100000)
        self.files = {}         # name -> GFile (as generated)
        self.sets = []          # (name, {key: value})
        self.fmt = {}           # file name prefix (live name) -> set info
        self.conf = os.path.join(self.dir, "lethe.conf")

    def add(self, name, sname, fmt, p4, p6, span, n_bg=30, **kw):
        a, b = span
        g = self.B.file(name, sname, fmt, p4, p6, a, min(b, F.NOW - 60),
                        n_bg, **kw)
        g.write(self.logs)
        self.files[name] = g
        return g

    def set(self, sname, live, fmt, p4, p6, **kw):
        d = {"logs": os.path.join(self.logs, live)}
        if fmt in F.FMT_LOG_FORMAT:
            d["log_format"] = F.FMT_LOG_FORMAT[fmt]
        else:
            d["format"] = fmt
        if fmt == "json":
            d["addresses"] = "remote_addr,x_forwarded_for"
        if fmt == "nginx_error":
            d["timezone"] = "UTC"
        d.update({"window": "7d", "ipv4_prefix": str(p4),
                  "ipv6_prefix": str(p6), "mask_early": "1h",
                  "compress_after": "off", "retain": "60d"})
        d.update(kw)
        self.sets.append((sname, d))
        self.fmt[live] = (sname, fmt, p4, p6)

    def write_conf(self):
        with open(self.conf, "w") as f:
            f.write(F.conf_text(self.state, self.sets))

    def info(self, name):
        """(set, fmt, p4, p6) of a file name of this scene."""
        for live, v in self.fmt.items():
            if name == live or name.startswith(live + ".") or \
                    name.startswith(live + "-"):
                return v
        raise KeyError(name)

    def hook(self, sname):
        return os.path.join(self.dir, "reopened-" + sname)


def content_of(path):
    with open(path, "rb") as f:
        data = f.read()
    gz = data[:2] == b"\x1f\x8b"
    return (gzip.decompress(data) if gz else data), gz


def erase_expect(data, fmt, p4, p6, nets=NETS):
    """(expected content, lines changed, {kind-less line id: (old, new)})
    of content data erased of nets, by the reader."""
    out = []
    changed = {}
    for raw, p in F.parse_content(fmt, data):
        e = F.erased_line(raw, p, nets, p4, p6)
        out.append(e)
        if e != raw:
            changed[F.line_id(raw)] = (raw, e)
    exp = b"".join(x + b"\n" for x in out)
    if data and not data.endswith(b"\n"):
        exp = exp[:-1]
    return exp, len(changed), changed


def diff_lines(label, got, exp, kinds=None):
    """Say how got differs from exp, line by line (a bounded report)."""
    gl, _ = L.split_lines(got)
    el, _ = L.split_lines(exp)
    if len(gl) != len(el):
        gi = set(F.line_id(x) for x in gl)
        ei = set(F.line_id(x) for x in el)
        t.fail("%s: %d lines, expected %d (lost ids %s, new ids %s)" % (
            label, len(gl), len(el), sorted(ei - gi)[:10],
            sorted(gi - ei)[:10]), kind="erase line count")
        return
    n = 0
    for i, (g, e) in enumerate(zip(gl, el)):
        if g == e:
            continue
        n += 1
        if n > 12:
            continue
        lid = F.line_id(e)
        k = kinds.get(lid, ("", "?", False))[1] if kinds else "?"
        t.fail("%s: line %d (id %s, %s): %s" % (
            label, i + 1, lid, k, L.describe_diff(g, e)),
            kind="erase line content")
    if n > 12:
        t.fail("%s: %d lines differ in all" % (label, n))
    if n == 0 and got != exp:
        t.fail("%s: the content differs outside the lines (the final "
               "newline)" % label)


def snapshot_meta(path):
    st = os.lstat(path)
    return (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), st.st_mtime_ns,
            st.st_ino)


def hidden(logs):
    return sorted(n for n in os.listdir(logs) if n.startswith(".") and
                  ".lethe-" in n)


def read_receipt(label, path):
    if not os.path.isfile(path):
        t.fail("%s: no receipt at %s" % (label, path))
        return None
    try:
        with open(path) as f:
            obj = json.load(f)
    except ValueError as e:
        t.fail("%s: the receipt is not JSON: %s" % (label, e))
        return None
    if not isinstance(obj, dict):
        t.fail("%s: the receipt is not a JSON object" % label)
        return None
    st = os.stat(path)
    if stat.S_IMODE(st.st_mode) & 0o077:
        t.note("%s: the receipt is mode %o (readable by others)" % (
            label, stat.S_IMODE(st.st_mode)))
    return obj


def check_receipt(label, obj, status, reason, changed, verify, t_lo, t_hi,
                  aliases=None):
    """changed: {path: lines changed} (files with 0 may be listed or
    not); aliases: {path: other path the same file may be listed as}."""
    if obj is None:
        return
    for k in ("request", "hash", "time", "reason", "status", "files",
              "verify"):
        t.check(k in obj, "%s: the receipt has no %r" % (label, k),
                kind="receipt key")
    t.check(isinstance(obj.get("request"), str) and obj.get("request"),
            "%s: request %r" % (label, obj.get("request")))
    t.check(isinstance(obj.get("hash"), str) and
            F.HEX16.fullmatch(obj.get("hash") or ""),
            "%s: hash %r is not 16 hex digits" % (label, obj.get("hash")))
    tm = obj.get("time")
    if t.check(isinstance(tm, str) and F.ISO_RE.fullmatch(tm or ""),
               "%s: time %r is not ISO 8601 UTC" % (label, tm)):
        e = L.iso_to_epoch(tm)
        t.check(t_lo - 1 <= e <= t_hi + 1, "%s: time %s, expected between "
                "%s and %s (the --now of the command)" % (
                    label, tm, F.iso(t_lo), F.iso(t_hi)))
    t.check(obj.get("reason") == reason, "%s: reason %r, expected %r" % (
        label, obj.get("reason"), reason))
    t.check(obj.get("status") == status, "%s: status %r, expected %r" % (
        label, obj.get("status"), status))
    v = obj.get("verify")
    t.check(isinstance(v, dict) and v.get("lines") == verify,
            "%s: verify %r, expected lines %d" % (label, v, verify))
    files = obj.get("files")
    if not t.check(isinstance(files, list), "%s: files %r is not a list" %
                   (label, files)):
        return
    listed = {}
    for fo in files:
        if not isinstance(fo, dict) or "path" not in fo or "lines" not in fo:
            t.fail("%s: a files entry is %r" % (label, fo))
            continue
        p = fo["path"]
        for a, b in (aliases or {}).items():
            if p == b:
                p = a
        listed[p] = listed.get(p, 0) + (fo["lines"] if isinstance(
            fo["lines"], int) else 0)
    for p, n in changed.items():
        if n == 0:
            continue
        t.check(listed.get(p) == n, "%s: %s: %s lines changed in the "
                "receipt, %d in the file" % (label, p, listed.get(p), n),
                kind="receipt lines")
    for p, n in listed.items():
        if p not in changed:
            t.fail("%s: the receipt lists %s (%d lines), no file of the "
                   "sets" % (label, p, n))
        elif changed[p] == 0 and n:
            t.fail("%s: the receipt has %d lines changed in %s, which did "
                   "not change" % (label, n, p))


# ================================================================ A
def part_a():
    s = Scene("a", SEED)
    day = F.day
    for sname, live, fmt, p4, p6 in (("web", "access.log", "combined", 16,
                                      32),
                                     ("xff", "xff.log", "main", 24, 48),
                                     ("json", "app.log", "json", 16, 32),
                                     ("err", "error.log", "nginx_error", 16,
                                      32)):
        s.set(sname, live, fmt, p4, p6, rotate="daily",
              reopen="command %s %s" % (HOOK, s.hook(sname)), settle="1s")
    s.add("access.log", "web", "combined", 16, 32, day(0), live=True)
    s.add("access.log.1", "web", "combined", 16, 32, day(1))
    s.add("access.log.2.gz", "web", "combined", 16, 32, day(2), gz=True)
    s.add("access.log.3.gz", "web", "combined", 16, 32, day(7), gz=True)
    s.add("access.log-20261120", "web", "combined", 16, 32, day(10))
    s.add("access.log-20261115.gz", "web", "combined", 16, 32, day(14),
          gz=True)
    s.add("access.log-20261110T0000Z.gz", "web", "combined", 16, 32,
          day(19), gz=True)
    s.add("xff.log", "xff", "main", 24, 48, day(0), live=True)
    s.add("xff.log.1.gz", "xff", "main", 24, 48, day(3), gz=True)
    s.add("app.log", "json", "json", 16, 32, day(0), live=True)
    s.add("app.log.1", "json", "json", 16, 32, day(4))
    s.add("error.log", "err", "nginx_error", 16, 32, day(0), live=True)
    s.add("error.log.1.gz", "err", "nginx_error", 16, 32, day(5), gz=True)
    s.write_conf()
    r = lethe(s.conf, ["check"], now=None)
    t.check(r.rc == 0, "A: check refuses the config\n%s" % r.show())
    kinds = F.kinds_by_lid(s.files.values())
    bad = F.self_check(list(s.files.values()), [QUERY, [F.N48]])
    if bad:
        for b in bad[:20]:
            print("test bug: " + b)
        sys.exit(2)
    per_kind = {}

    def step(label, args, nets, sets_only, reason, receipt):
        """One erase; returns the receipt object."""
        before = {}
        for n in sorted(os.listdir(s.logs)):
            p = os.path.join(s.logs, n)
            if n.startswith(".") or not os.path.isfile(p):
                continue
            sname, fmt, p4, p6 = s.info(n)
            data, gz = content_of(p)
            if sets_only and sname not in sets_only:
                exp, nch = data, 0
            else:
                exp, nch, ch = erase_expect(data, fmt, p4, p6, nets)
                for lid in ch:
                    k = kinds.get(lid, ("", "?", False))[1]
                    per_kind.setdefault(k, [0, 0])[0] += 1
            before[n] = (data, gz, exp, nch, snapshot_meta(p),
                         L.sha(p), sname)
        t_lo = F.NOW
        r = lethe(s.conf, ["erase", "--reason", reason, "--receipt",
                           receipt] + args)
        t_hi = F.NOW
        t.check(r.rc == 0, "%s: exit %s, expected 0\n%s" % (
            label, r.rc, r.show(2500)))
        after = set(n for n in os.listdir(s.logs) if not n.startswith("."))
        changed = {}
        aliases = {}
        for n, (data, gz, exp, nch, meta, sha, sname) in before.items():
            p = os.path.join(s.logs, n)
            g = s.files.get(n)
            live = n in s.fmt
            where = p
            if live and nch:
                segs = sorted(x for x in after - set(before)
                              if re.fullmatch(re.escape(n) + SEG_RE, x))
                if not t.check(len(segs) == 1, "%s: the live file %s held "
                               "%d of the person's lines: expected one new "
                               "segment of it, found %s" % (
                                   label, n, nch, segs)):
                    continue
                where = os.path.join(s.logs, segs[0])
                aliases[p] = where
                t.check(os.path.exists(s.hook(sname)), "%s: the reopen hook "
                        "of [%s] did not run" % (label, sname))
                if t.check(os.path.isfile(p), "%s: no live file %s after "
                           "the rotation" % (label, n)):
                    st = os.lstat(p)
                    t.check(st.st_size == 0, "%s: the new live file %s holds"
                            " %d bytes" % (label, n, st.st_size))
                    t.check((st.st_uid, st.st_gid,
                             stat.S_IMODE(st.st_mode)) == meta[:3],
                            "%s: the new live file %s has owner/mode %s, "
                            "the old one %s" % (label, n, (
                                st.st_uid, st.st_gid,
                                oct(stat.S_IMODE(st.st_mode))), meta[:3]))
            elif live:
                t.check(L.sha(p) == sha, "%s: the live file %s changed "
                        "although it held none of the person's lines" % (
                            label, n))
                if any(re.fullmatch(re.escape(n) + SEG_RE, x)
                       for x in after - set(before)):
                    t.note("%s: %s rotated although it held none of the "
                           "person's lines" % (label, n))
            if not os.path.isfile(where):
                t.fail("%s: %s is gone" % (label, where))
                continue
            got, ggz = content_of(where)
            t.check(ggz == gz, "%s: %s was %s and is now %s" % (
                label, n, "gzip" if gz else "plain",
                "gzip" if ggz else "plain"), kind="gzip kept")
            if ggz:
                z = subprocess.run(["gzip", "-t", where],
                                   capture_output=True)
                t.check(z.returncode == 0, "%s: gzip -t %s fails: %s" % (
                    label, where, z.stderr.decode(errors="replace")))
            if got != exp:
                diff_lines("%s: %s" % (label, os.path.basename(where)), got,
                           exp, kinds)
            elif nch:
                for lid in erase_expect(data, *s.info(n)[1:], nets)[2]:
                    k = kinds.get(lid, ("", "?", False))[1]
                    per_kind[k][1] += 1
            if not nch and not live:
                t.check(L.sha(where) == sha, "%s: %s was rewritten although"
                        " nothing in it changed" % (label, n),
                        kind="needless rewrite")
            m = snapshot_meta(where)
            t.check(m[:4] == meta[:4], "%s: %s: owner/group/mode/mtime %s, "
                    "before %s" % (label, n, m[:4], meta[:4]),
                    kind="metadata kept")
            changed[where] = nch
        t.check(not hidden(s.logs), "%s: temp or claim files left: %s" % (
            label, hidden(s.logs)))
        extra = after - set(before) - set(os.path.basename(x) for x in
                                          aliases.values())
        t.check(not extra, "%s: unexpected new files %s" % (label,
                                                            sorted(extra)))
        obj = read_receipt(label, receipt)
        check_receipt(label, obj, "done", reason, changed, 0, t_lo, t_hi,
                      aliases={v: k for k, v in aliases.items()})
        return obj, changed

    rec1 = os.path.join(s.dir, "receipt-48.json")
    o1, _ = step("A: erase --set xff 2001:db8:1::/48",
                 ["--set", "xff", F.N48], [F.parse_query(F.N48)], ["xff"],
                 "request 1, xff only", rec1)
    # the person's lines outside [xff] of 2001:db8:1::/48 stay full
    rest = [(os.path.join(s.logs, n), s.info(n)[0]) + s.info(n)[1:] for n
            in os.listdir(s.logs) if not n.startswith(".")]
    e48 = F.find_expect(rest, [F.N48])
    t.check(all(f["full"] == 0 for f in e48["files"].values()
                if f["set"] == "xff") and e48["full"] > 0,
            "A: after erase --set xff the reader finds %r full lines of "
            "2001:db8:1::/48 in [xff] (expected 0) and %d elsewhere "
            "(expected > 0)" % ([f["full"] for f in e48["files"].values()
                                 if f["set"] == "xff"], e48["full"]))
    files_before = [(os.path.join(s.logs, n),) + s.info(n) for n in
                    os.listdir(s.logs) if not n.startswith(".")]
    fb = F.find_expect(files_before, QUERY)
    rec2 = os.path.join(s.dir, "receipt.json")
    reason = "GDPR Art. 17 request of 2026-11-29 (ticket #4711)"
    o2, changed = step("A: erase 192.0.2.7 2001:db8::1", QUERY, NETS, None,
                       reason, rec2)
    if o1 and o2:
        t.check(o1.get("request") != o2.get("request"), "A: two erases "
                "have the same request id %r" % o1.get("request"))
    # find afterwards: nothing full, the erased lines now masked copies
    files_after = [(os.path.join(s.logs, n),) + s.info(n) for n in
                   os.listdir(s.logs) if not n.startswith(".")]
    fa = F.find_expect(files_after, QUERY)
    t.check(fa["lines"] == 0 and fa["in_prefix"] == fb["full"] +
            fb["in_prefix"], "A: the reader after erase: %d lines, %d "
            "in_prefix (expected 0 and %d + %d)" % (
                fa["lines"], fa["in_prefix"], fb["full"], fb["in_prefix"]))
    r = lethe(s.conf, ["find", "--json"] + QUERY)
    t.check(r.rc == 1, "A: find after erase: exit %s, expected 1\n%s" % (
        r.rc, r.show(1500)))
    obj = F.parse_json_out(t, r, "A: find after erase")
    if obj:
        t.check(obj.get("lines") == 0 and obj.get("in_prefix") ==
                fa["in_prefix"], "A: find after erase: lines %r, in_prefix "
                "%r (expected 0, %d)" % (obj.get("lines"),
                                         obj.get("in_prefix"),
                                         fa["in_prefix"]))
        if o2 and obj.get("request") != o2.get("hash"):
            t.note("A: find names the request %r, the receipt %r" % (
                obj.get("request"), o2.get("hash")))
    # a second erase: nothing to do
    snap = L.snapshot(s.logs)
    rec3 = os.path.join(s.dir, "receipt-again.json")
    r = lethe(s.conf, ["erase", "--receipt", rec3] + QUERY)
    t.check(r.rc == 0, "A: the second erase: exit %s, expected 0\n%s" % (
        r.rc, r.show(1500)))
    d = L.diff_snapshots(snap, L.snapshot(s.logs))
    t.check(not d, "A: the second erase changed files: %s" % d[:6])
    o3 = read_receipt("A: the second erase", rec3)
    if o3:
        t.check(o3.get("status") == "done" and all(
            isinstance(x, dict) and x.get("lines") == 0 for x in
            o3.get("files") or []), "A: the second erase's receipt: %r" %
            {k: o3.get(k) for k in ("status", "files", "verify")})
    # bad arguments
    for args, why in (([], "no address"), (["999.1.1.1"], "a bad address"),
                      (["--set", "nosuch", F.T4], "an unknown set"),
                      (["--wait", "soon", F.T4], "a bad --wait")):
        r = lethe(s.conf, ["erase"] + args)
        t.check(r.rc == 2, "A: erase with %s: exit %s, expected 2\n%s" % (
            why, r.rc, r.show(800)), kind="erase exit 2")
    d = L.diff_snapshots(snap, L.snapshot(s.logs))
    t.check(not d, "A: a refused erase changed files: %s" % d[:6])
    t.info("A: lines erased per kind (erased as expected / to erase):")
    for k in sorted(per_kind):
        t.info("  %-48s %3d / %3d" % (k, per_kind[k][1], per_kind[k][0]))
    t.info("A: done in %.1f s" % (time.monotonic() - T0))


# ================================================================ B
def part_b():
    s = Scene("b", SEED + 1)
    day = F.day
    s.set("off", "off.log", "combined", 16, 32, rotate="off", settle="1s")
    s.add("off.log", "off", "combined", 16, 32, day(0), live=True)
    s.add("off.log.2.gz", "off", "combined", 16, 32, day(2), gz=True)
    s.add("off.log-20261120", "off", "combined", 16, 32, day(9))
    s.write_conf()
    live = os.path.join(s.logs, "off.log")
    live_sha = L.sha(live)
    live_data = content_of(live)[0]
    exp_live, n_live, _ = erase_expect(live_data, "combined", 16, 32)
    exp = {}
    for n in ("off.log.2.gz", "off.log-20261120"):
        exp[n] = erase_expect(content_of(os.path.join(s.logs, n))[0],
                              "combined", 16, 32)
    rec = os.path.join(s.dir, "receipt.json")
    reason = "request with rotate = off"
    r = lethe(s.conf, ["erase", "--reason", reason, "--receipt", rec] +
              QUERY)
    t.check(r.rc == 3, "B: erase with rotate = off and the person in the "
            "live file: exit %s, expected 3 (pending)\n%s" % (
                r.rc, r.show(2000)))
    t.check("pending" in (r.out + r.err).lower(), "B: erase does not say "
            "the request is pending\n%s" % r.show(1500))
    t.check(L.sha(live) == live_sha, "B: the live file was changed")
    for n, (e, nch, _) in exp.items():
        got = content_of(os.path.join(s.logs, n))[0]
        if got != e:
            diff_lines("B: %s after the pending erase" % n, got, e)
    o = read_receipt("B: pending receipt", rec)
    check_receipt("B: pending receipt", o, "pending", reason, {
        os.path.join(s.logs, n): e[1] for n, e in exp.items()}, n_live,
        F.NOW, F.NOW)
    r = lethe(s.conf, ["find", "--json"] + QUERY)
    ob = F.parse_json_out(t, r, "B: find while pending")
    if ob:
        t.check(r.rc == 0 and ob.get("lines") == n_live, "B: find while "
                "pending: exit %s, lines %r (expected 0, %d: the live "
                "file's)" % (r.rc, ob.get("lines"), n_live))
    # once before any rotation: nothing to finish yet
    r = lethe(s.conf, ["once"])
    t.info("B: once before the rotation: exit %s%s" % (
        r.rc, (": " + r.out.strip()[:200]) if r.out.strip() else ""))
    t.check(L.sha(live) == live_sha, "B: once changed the live file")
    # the rotation by someone else, then once finishes it
    os.rename(live, os.path.join(s.logs, "off.log.1"))
    new = L.make_line("combined", "198.51.100.23", L.time_local(F.NOW - 5),
                      "GET /i/999999 HTTP/1.1", "curl/8.4.0")[0]
    with open(live, "wb") as f:
        f.write(new + b"\n")
    os.chmod(live, 0o640)
    os.chown(live, 0, 4)
    seg = os.path.join(s.logs, "off.log.1")
    runs = 0
    end = time.monotonic() + 20
    while True:
        runs += 1
        r = lethe(s.conf, ["once"])
        got = content_of(seg)[0] if os.path.exists(seg) else None
        if got == exp_live or time.monotonic() > end:
            break
        time.sleep(0.3)
    t.check(r.rc == 0, "B: once after the rotation: exit %s\n%s" % (
        r.rc, r.show(1500)))
    if got != exp_live:
        if got is None:
            t.fail("B: off.log.1 is gone after once")
        else:
            diff_lines("B: off.log.1 after once (%d runs)" % runs, got,
                       exp_live)
    elif runs > 1:
        t.note("B: it took %d runs of once after the rotation" % runs)
    t.check(open(live, "rb").read() == new + b"\n", "B: once changed the "
            "new live file")
    r = lethe(s.conf, ["find", "--json"] + QUERY)
    t.check(r.rc == 1, "B: find after the pending erase was finished: exit "
            "%s, expected 1\n%s" % (r.rc, r.show(1500)))
    o = read_receipt("B: receipt after once", rec)
    if o and o.get("status") != "done":
        t.note("B: the receipt file still says %r after once finished the "
               "request (a receipt of the finished request: %s)" % (
                   o.get("status"), sorted(os.listdir(os.path.join(
                       s.state, "requests")))
                   if os.path.isdir(os.path.join(s.state, "requests"))
                   else "no state_dir/requests"))
    t.check(not hidden(s.logs), "B: temp or claim files left: %s" %
            hidden(s.logs))
    t.info("B: done at %.1f s" % (time.monotonic() - T0))


# ================================================================ C
CLAIM_RE = re.compile(r"^\.(.+)\.lethe-claim-(\d+)-[A-Za-z0-9]{6}$")
TMP_RE = re.compile(r"^\.(.+)\.lethe-[A-Za-z0-9]{6}$")


POOL = {}


def fast_lines(rng, n, t0, t1, lid0):
    """n background lines of other people (bytes), fast; those older than
    now - window + mask_early masked, as once left them."""
    if not POOL:
        for a in (F.bg_addr(rng) for _ in range(3000)):
            POOL[a] = F.parse_tok(a)[1](16, 32)
    pool = list(POOL)
    span = (t1 - t0) / n
    addrs = rng.choices(pool, k=n)
    paths = rng.choices(F.PATHS, k=n)
    sts = rng.choices((200, 200, 304, 404), k=n)
    uas = rng.choices(F.UAS, k=n)
    out = []
    for i in range(n):
        tt = int(t0 + i * span)
        a = addrs[i]
        if tt < F.EARLY:
            a = POOL[a]
        out.append(('%s - - [%s] "GET /i/%d%s HTTP/1.1" %d %d "-" "%s"' % (
            a, L.time_local(tt), lid0 + i, paths[i], sts[i],
            100 + (i * 7919) % 90000, uas[i])).encode())
    return out


def part_c():
    s = Scene("c", SEED + 2)
    pristine = os.path.join(s.dir, "pristine")
    day = F.day
    s.set("web", "access.log", "combined", 16, 32, rotate="daily",
          reopen="command %s %s" % (HOOK, s.hook("web")), settle="1s")
    s.write_conf()
    rng = s.rng
    names = [("access.log", day(0), False, 2000),
             ("access.log.1", day(1), False, KILL_LINES),
             ("access.log.2.gz", day(2), True, KILL_LINES),
             ("access.log.3.gz", day(3), True, KILL_LINES),
             ("access.log.4.gz", day(4), True, KILL_LINES),
             ("access.log-20261120.gz", day(10), True, KILL_LINES // 4)]
    tg = time.monotonic()
    orig = {}           # name -> (content, erased content, gz, changed)
    for i, (name, (a, b), gz, n) in enumerate(names):
        b = min(b, F.NOW - 60)
        g = s.B.file(name, "web", "combined", 16, 32, a, b, 0,
                     plant_every=3)
        bgl = fast_lines(rng, n, a, b, 10 ** 8 + i * 10 ** 6)
        planted = [x.text(16, 32).encode("latin-1") for x in g.lines]
        # spread the planted lines through the file (not understood ones
        # keep a line before them)
        step = max(1, len(bgl) // (len(planted) + 1))
        lines = []
        for j, x in enumerate(bgl):
            lines.append(x)
            if j % step == step - 1 and planted:
                lines.append(planted.pop(0))
        lines += planted
        data = b"".join(x + b"\n" for x in lines)
        p = os.path.join(s.logs, name)
        with open(p, "wb") as f:
            f.write(gzip.compress(data, 6, mtime=0) if gz else data)
        os.chmod(p, 0o640)
        os.chown(p, 0, 4)
        os.utime(p, (b, b))
        exp, nch, _ = erase_expect(data, "combined", 16, 32)
        orig[name] = (F.sha256_bytes(data), F.sha256_bytes(exp), gz, nch,
                      data, exp)
    live_name = "access.log"
    subprocess.run(["cp", "-a", "--", s.logs, pristine], check=True)
    total = sum(len(v[4]) for v in orig.values())
    t.info("C: %d files, %.1f MB of lines, %d of the person's lines "
           "(generated and read in %.1f s)" % (
               len(orig), total / 1e6, sum(v[3] for v in orig.values()),
               time.monotonic() - tg))

    def restore():
        shutil.rmtree(s.logs)
        shutil.rmtree(s.state)
        subprocess.run(["cp", "-a", "--", pristine, s.logs], check=True)
        os.mkdir(s.state, 0o700)
        try:
            os.unlink(s.hook("web"))
        except FileNotFoundError:
            pass

    def survey(label, final):
        """The reader's view of the directory: {pristine name: 'orig' |
        'erased'}; failures said.  final: no claim or temp file may be
        left, and every file must be erased."""
        names_now = os.listdir(s.logs)
        claims = {}
        temps = []
        for n in names_now:
            m = CLAIM_RE.match(n)
            if m:
                claims.setdefault(m.group(1), []).append((n, int(m.group(2))))
                continue
            if TMP_RE.match(n):
                temps.append(n)
                continue
            if n.startswith("."):
                t.fail("%s: unknown hidden file %s" % (label, n))
        # the live file's segment, under its name or claimed
        segs = sorted(set(n for n in names_now + list(claims) if
                          re.fullmatch(re.escape(live_name) + SEG_RE, n)))
        other = sorted(n for n in names_now if not n.startswith(".") and
                       n not in orig and n not in segs)
        t.check(not other, "%s: unexpected files %s" % (label, other),
                kind="C unexpected files")
        t.check(len(segs) <= 1, "%s: more than one segment of the live "
                "file: %s" % (label, segs), kind="C segments")
        state = {}

        def logical(name):
            """The path holding the lines of name now, or None."""
            p = os.path.join(s.logs, name)
            cl = claims.get(name, [])
            if os.path.exists(p):
                ino = os.lstat(p).st_ino
                for c, cino in cl:
                    t.check(cino == ino, "%s: %s is there and so is its "
                            "claim %s (for inode %d, not %d): two copies" %
                            (label, name, c, cino, ino),
                            kind="C claim beside")
                return p
            if len(cl) == 1:
                return os.path.join(s.logs, cl[0][0])
            if cl:
                t.fail("%s: %s has %d claims" % (label, name, len(cl)))
            return None

        for name, (osha, esha, gz, nch, data, exp) in orig.items():
            if name == live_name:
                cands = [x for x in (logical(live_name),
                                     logical(segs[0]) if segs else None)
                         if x is not None]
                # the live name holds the old live file, or (rotated) a
                # new, empty one
                held = []
                for c in cands:
                    if os.path.getsize(c) == 0 and c.endswith(live_name) \
                            and segs:
                        continue
                    held.append(c)
                if not t.check(len(held) == 1, "%s: the live file's lines "
                               "are in %d files: %s" % (label, len(held),
                                                        held),
                               kind="C live"):
                    continue
                p = held[0]
            else:
                p = logical(name)
                if p is None:
                    t.fail("%s: %s is gone (no file, no claim)" % (
                        label, name), kind="C gone")
                    continue
            try:
                got, ggz = content_of(p)
            except Exception as e:
                t.fail("%s: %s cannot be read back: %s" % (label, p, e),
                       kind="C unreadable")
                continue
            t.check(ggz == gz, "%s: %s is %s, was %s" % (
                label, p, "gzip" if ggz else "plain",
                "gzip" if gz else "plain"), kind="C gzip")
            h = F.sha256_bytes(got)
            if h == esha:
                state[name] = "erased"
            elif h == osha and not final:
                state[name] = "orig"
            else:
                diff_lines("%s: %s" % (label, os.path.basename(p)), got,
                           exp if (final or h != osha) else data)
                state[name] = "bad"
        if final:
            t.check(not claims and not temps, "%s: claim or temp files "
                    "left: %s" % (label, sorted(temps + [c for v in
                                                         claims.values()
                                                         for c, _ in v])),
                    kind="C leftovers")
            t.check(os.path.isfile(os.path.join(s.logs, live_name)),
                    "%s: no live file" % label, kind="C live")
            for n in names_now:
                p = os.path.join(s.logs, n)
                if n.endswith(".gz") and not n.startswith("."):
                    z = subprocess.run(["gzip", "-t", p],
                                       capture_output=True)
                    t.check(z.returncode == 0, "%s: gzip -t %s: %s" % (
                        label, n, z.stderr.decode(errors="replace")),
                        kind="C gzip -t")
        return state, bool(segs), bool(claims), bool(temps)

    argv = [L.LETHE, "-c", s.conf, "--now", F.NOW_ISO, "erase"] + QUERY

    # an uninterrupted erase: how long it takes
    restore()
    a = time.monotonic()
    p = subprocess.run(argv, capture_output=True, env=clean_env(),
                       timeout=120)
    dur = time.monotonic() - a
    outputs.append((p.stdout + p.stderr).decode(errors="replace"))
    t.check(p.returncode == 0, "C: the uninterrupted erase: exit %s\n%s" % (
        p.returncode, (p.stdout + p.stderr).decode(errors="replace")[:2000]))
    st, _, _, _ = survey("C: the uninterrupted erase", True)
    t.info("C: an uninterrupted erase takes %.2f s" % dur)
    if dur < 0.4:
        t.note("C: the erase takes only %.2f s: raise ERASE_KILL_LINES for "
               "kills later in it" % dur)
    krng = random.Random(SEED + 3)
    tally = {}
    early = 0
    for k in range(KILLS):
        restore()
        delay = krng.uniform(0.02, max(0.1, dur * 1.05))
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=clean_env(),
                                stdin=subprocess.DEVNULL)
        time.sleep(delay)
        finished = proc.poll() is not None
        if not finished:
            proc.kill()
        out, err = proc.communicate(timeout=30)
        outputs.append((out + err).decode(errors="replace"))
        label = "C: kill %d at %.2f s" % (k + 1, delay)
        st, rotated, cl, tmp = survey(label, False)
        todo = [n for n in orig if orig[n][3]]
        ne = sum(1 for n in todo if st.get(n) == "erased")
        key = "%s%d/%d erased%s%s" % ("finished before the kill; " if
                                      finished else "", ne, len(todo),
                                      ", rotated" if rotated else "",
                                      ", claim/temp" if cl or tmp else "")
        tally[key] = tally.get(key, 0) + 1
        fin = "once" if k % 2 == 0 else "erase"
        r = lethe(s.conf, ["once"] if fin == "once" else ["erase"] + QUERY)
        st2, _, _, _ = survey(label + ", after " + fin, False)
        untouched = all(v == "orig" for v in st2.values())
        if fin == "once" and untouched and not rotated and ne == 0:
            # killed before the request was saved: nothing to finish
            early += 1
            r = lethe(s.conf, ["erase"] + QUERY)
            fin = "once, then erase"
        t.check(r.rc == 0, "%s: %s after the kill: exit %s\n%s" % (
            label, fin, r.rc, r.show(1500)), kind="C finisher exit")
        survey(label + ", after " + fin, True)
    t.info("C: %d kills; states at the kill:" % KILLS)
    for key in sorted(tally):
        t.info("  %2d x %s" % (tally[key], key))
    if early:
        t.info("C: %d kills came before anything was erased or rotated and "
               "once found nothing to finish (the request not saved yet)" %
               early)
    t.info("C: done at %.1f s" % (time.monotonic() - T0))


# ================================================================ D
def part_d():
    s = Scene("d", SEED + 4)
    day = F.day
    pidfile = os.path.join(s.dir, "writer.pid")
    s.set("web", "access.log", "combined", 16, 32, rotate="daily",
          reopen="signal USR1 %s" % pidfile, settle="2s")
    s.add("access.log", "web", "combined", 16, 32, day(0), live=True)
    s.add("access.log.1", "web", "combined", 16, 32, day(1))
    s.add("access.log.2.gz", "web", "combined", 16, 32, day(2), gz=True)
    with open(s.conf, "w") as f:
        f.write(D.conf_text(s.state, s.sets, sweep="10s"))
    pre = {}
    for n, g in s.files.items():
        data = content_of(os.path.join(s.logs, n))[0]
        for raw, p in F.parse_content("combined", data):
            pre[F.line_id(raw)] = (raw, p)
    kinds = F.kinds_by_lid(s.files.values())
    clock = D.Clock(F.NOW, 1)
    logfile = os.path.join(s.dir, "lethe.log")
    dm = D.Daemon(s.conf, now=F.NOW, logfile=logfile)
    w = None
    try:
        dm.ready(30)
        w = D.Writer(s.dir, os.path.join(s.logs, "access.log"), pidfile, 200,
                     clock)
        time.sleep(0.5)
        rec1 = os.path.join(s.dir, "receipt-1.json")
        now1 = int(clock.now())
        a = time.monotonic()
        r = lethe(s.conf, ["erase", "--wait", "1s", "--reason", "d1",
                           "--receipt", rec1, F.T4], now=now1)
        el = time.monotonic() - a
        t.check(dm.alive(), "D: the daemon died when erase handed it the "
                "request (exit %s); its last lines:\n%s" % (
                    dm.proc.poll(), L.indent("\n".join(dm.texts()[-10:]))))
        t.check(r.rc in (0, 3), "D: erase --wait 1s beside the daemon: exit"
                " %s, expected 3 (pending) or 0\n%s" % (r.rc, r.show(1500)))
        if r.rc == 0:
            t.note("D: erase --wait 1s finished within %.1f s although the "
                   "segment needs settle = 2s" % el)
        t.check(el < 10, "D: erase --wait 1s took %.1f s" % el)

        # the daemon finishes it: the reader finds no full 192.0.2.7 left
        def t4_left():
            fl = [(os.path.join(s.logs, n), "web", "combined", 16, 32)
                  for n in os.listdir(s.logs) if not n.startswith(".")]
            try:
                return F.find_expect(fl, [F.T4])["full"]
            except FileNotFoundError:      # renamed while read: again
                return -1
        end = time.monotonic() + 40
        while t4_left() and time.monotonic() < end and dm.alive():
            time.sleep(0.3)
        left = t4_left()
        t.info("D: erase --wait 1s exited %s after %.1f s; the daemon had "
               "erased every line %.1f s after it was handed the request" %
               (r.rc, el, time.monotonic() - a))
        t.check(left == 0, "D: %d full lines of 192.0.2.7 left %.0f s "
                "after the erase was handed to the daemon; its last "
                "lines:\n%s" % (left, time.monotonic() - a, L.indent(
                    "\n".join(dm.texts()[-12:]))))
        o = read_receipt("D: receipt 1", rec1)
        if o:
            t.check(o.get("status") in ("pending", "done"), "D: receipt 1 "
                    "status %r" % o.get("status"))
        rec2 = os.path.join(s.dir, "receipt-2.json")
        r = lethe(s.conf, ["erase", "--wait", "30s", "--reason", "d2",
                           "--receipt", rec2, F.T6], now=int(clock.now()),
                  timeout=60)
        t.check(r.rc == 0, "D: the second erase beside the daemon: exit "
                "%s, expected 0\n%s" % (r.rc, r.show(1500)))
        o = read_receipt("D: receipt 2", rec2)
        if o:
            t.check(o.get("status") == "done" and (o.get("verify") or
                                                   {}).get("lines") == 0,
                    "D: receipt 2: %r" % {k: o.get(k) for k in (
                        "status", "verify")})
        r = lethe(s.conf, ["find", "--json"] + QUERY, now=int(clock.now()))
        t.check(r.rc == 1, "D: find beside the daemon after both erases: "
                "exit %s, expected 1\n%s" % (r.rc, r.show(1500)))
    except D.Fail as e:
        t.fail("D: %s" % e)
    finally:
        n_written = None
        if w is not None:
            try:
                n_written = w.stop()
            except D.Fail as e:
                t.fail("D: %s" % e)
        if dm.alive():
            try:
                rc, _ = dm.stop()
                t.check(rc == 0, "D: lethe run exited %s on SIGTERM" % rc)
            except D.Fail as e:
                t.fail("D: %s" % e)
        outputs.append("\n".join(dm.texts()))
    # every line once: the writer's as written, the others as the reader
    seen = {}
    seqs = {}
    for n in sorted(os.listdir(s.logs)):
        if n.startswith("."):
            t.fail("D: %s left in the log directory" % n)
            continue
        data = content_of(os.path.join(s.logs, n))[0]
        for raw in L.split_lines(data)[0]:
            m = D.SEQ_RE.search(raw)
            if m:
                q = int(m.group(1))
                seqs.setdefault(q, []).append(n)
                addr = "203.0.%d.%d" % (113 + q // 250 % 100, q % 250 + 1)
                t.check(raw.startswith(addr.encode() + b" "), "D: writer "
                        "line %d changed: %r" % (q, raw[:120]),
                        kind="D writer line")
                continue
            lid = F.line_id(raw)
            seen.setdefault(lid, []).append((n, raw))
    if n_written is not None:
        lost, dup, extra = D.seq_report(seqs, n_written)
        t.check(not lost and not dup and not extra, "D: writer lines: %d "
                "written, lost %s, doubled %s, unknown %s" % (
                    n_written, D.ranges(lost), sorted(dup)[:10], extra[:10]))
    for lid, (raw, p) in pre.items():
        got = seen.get(lid, [])
        exp = F.erased_line(raw, p, NETS, 16, 32)
        if len(got) != 1:
            t.fail("D: line id %s (%s) found %d times: %s" % (
                lid, kinds.get(lid, ("", "?"))[1], len(got),
                [x[0] for x in got]), kind="D line count")
        elif got[0][1] != exp:
            t.fail("D: line id %s (%s) in %s: %s" % (
                lid, kinds.get(lid, ("", "?"))[1], got[0][0],
                L.describe_diff(got[0][1], exp)), kind="D line content")
    for lid in seen:
        if lid not in pre:
            t.fail("D: a line no one wrote: %r" % seen[lid][0][1][:120])
    t.info("D: done at %.1f s" % (time.monotonic() - T0))


def part_e():
    """E: lines before a file's first time, and a file with no time at all,
    are erased too (they are older than the request, not newer)."""
    d = os.path.join(root, "e")
    logs = os.path.join(d, "logs")
    os.makedirs(logs, 0o755)
    conf = os.path.join(d, "lethe.conf")
    with open(conf, "w") as f:
        f.write("[global]\nstate_dir = %s/state\n\n[web]\nlogs = %s/"
                "access.log\nformat = combined\nwindow = 7d\nretain = "
                "365d\ncompress_after = off\n" % (d, logs))
    a = "192.0.2.7"
    lines = ['%s - - [not a time] "GET / HTTP/1.1" 200 5 "-" "ua"\n' % a,
             '%s - - [29/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 '
             '"-" "ua"\n' % a]
    with open(os.path.join(logs, "access.log.1"), "w") as f:
        f.writelines(lines)
    with open(os.path.join(logs, "access.log.2"), "w") as f:
        f.write(lines[0] * 3)
    os.utime(os.path.join(logs, "access.log.2"), (F.NOW - 86400,
                                                   F.NOW - 86400))
    open(os.path.join(logs, "access.log"), "w").close()
    r = lethe(conf, ["erase", "--reason", "E", a])
    t.check(r.rc == 0, "E: erase of untimed lines: exit %s\n%s" % (
        r.rc, r.out + r.err))
    for n in ("access.log.1", "access.log.2"):
        data = open(os.path.join(logs, n)).read()
        t.check(a not in data, "E: %s keeps %s full after the erase: %r"
                % (n, "the address", data[:200]))
    r = lethe(conf, ["find", a])
    t.check(r.rc == 1, "E: find after the erase: exit %s, want 1" % r.rc)


for name, fn in (("A", part_a), ("B", part_b), ("C", part_c),
                 ("D", part_d), ("E", part_e)):
    if name in PARTS:
        fn()
for o in outputs:
    lk = F.leaked(o, QUERY + [F.N48])
    t.check(not lk, "lethe printed the person's address: %s in %r" % (
        lk, o[:300]), kind="leak")
t.info("total %.1f s" % (time.monotonic() - T0))
t.done()
