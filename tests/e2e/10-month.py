#!/usr/bin/env python3
"""A month of logs in three sets (logrotate numbers, dateext, lethe's own
segment names), format main, for --now 2026-11-29T12:00:00Z.  audit, then
once, then once again and audit; every file is read back with python's gzip
and ipaddress, never with lethe."""

import os
import re
import stat
import subprocess
import sys

import lethelib as L

t = L.Test("10-month")
L.require_root(t)
root = t.mkdtemp()
m = L.Month(root)
now = L.NOW
cut = now - L.WINDOW
leakset = m.all_full_addresses()
outputs = []

# Self-check of the generator against the independent reader: the full
# addresses the generator planted past the window are what the reader finds.
for name, spec in m.specs.items():
    data, _ = L.read_content(m.path(name))
    n, first = L.scan_full_past(data, cut)
    gen_n = sum(l.nfull for l in spec.lines if l.time < cut)
    if n != gen_n:
        print("test bug: %s: reader finds %d full addresses past the "
              "window, generator planted %d" % (name, n, gen_n))
        sys.exit(2)

before = L.snapshot(m.logs)
live_bytes = {n: open(m.path(n), "rb").read() for n, s in m.specs.items()
              if s.live}

# ---- audit before once: exit 1, one line per file with full addresses
r = L.run(["-c", m.conf, "--now", L.NOW_ISO, "audit"])
outputs.append(r.out + r.err)
t.check(r.rc == 1, "audit before once: exit %s, expected 1\n%s" % (
    r.rc, r.show()))
expect_audit = {}
for name, spec in m.specs.items():
    data, _ = L.read_content(m.path(name))
    n, first = L.scan_full_past(data, cut)
    if n:
        expect_audit[m.path(name)] = (n, first)
AUDIT_RE = re.compile(r"^(.*): (\d+) full address(?:es)? past the window, "
                      r"first at line (\d+)$")
seen = {}
for line in r.lines():
    mm = AUDIT_RE.match(line)
    if not mm:
        t.fail("audit before once: unexpected line %r" % line,
               kind="audit unexpected line")
        continue
    seen[mm.group(1)] = (int(mm.group(2)), int(mm.group(3)))
for p, (n, first) in sorted(expect_audit.items()):
    if p not in seen:
        t.fail("audit before once: %s not reported (it has %d full "
               "addresses past the window, first at line %d)" % (
                   p, n, first), kind="audit missed file")
    elif seen[p] != (n, first):
        t.fail("audit before once: %s: reported %d addresses, first at "
               "line %d; expected %d, first at line %d" % (
                   p, seen[p][0], seen[p][1], n, first),
               kind="audit count/line")
for p in sorted(set(seen) - set(expect_audit)):
    t.fail("audit before once: %s reported but has no full address past "
           "the window" % p, kind="audit extra file")
d = L.diff_snapshots(before, L.snapshot(m.logs))
t.check(not d, "audit changed files: %s" % "; ".join(d[:10]))

# ---- once
r = L.run(["-c", m.conf, "--now", L.NOW_ISO, "once"], timeout=240)
outputs.append(r.out + r.err)
t.check(r.rc == 0, "once: exit %s, expected 0\n%s" % (r.rc, r.show()))
if r.err.strip():
    t.info("once wrote to stderr:\n" + L.indent(r.err[:3000]))
expect = m.expected_actions()
got = r.lines()
for line in sorted(set(expect.values()) - set(got)):
    t.fail("once: missing output line %r" % line, kind="once missing line")
for line in sorted(set(got) - set(expect.values())):
    t.fail("once: unexpected output line %r" % line, kind="once extra line")
if len(got) != len(set(got)):
    t.fail("once: repeated output lines: %r" % got)

# ---- the files after once
after = L.snapshot(m.logs)
expected_names = set()
for name, spec in sorted(m.specs.items()):
    act = expect.get(name, "")
    p = m.path(name)
    if act.startswith("delete"):
        t.check(not os.path.lexists(p), "%s: should have been deleted (newest "
                "line %s is older than now - retain)" % (
                    name, L.epoch_to_iso(spec.newest())), kind="not deleted")
        t.check(not os.path.lexists(p + ".gz"), "%s.gz exists" % name)
        continue
    final = name
    if "compress" in act:
        final = name + ".gz"
        t.check(not os.path.lexists(p), "%s: plain file still there after "
                "compress" % name, kind="plain left")
    expected_names.add(final)
    fp = m.path(final)
    if not os.path.lexists(fp):
        t.fail("%s: missing after once (expected %s)" % (name, final),
               kind="file missing")
        continue
    st = os.lstat(fp)
    t.check(stat.S_ISREG(st.st_mode), "%s: not a regular file" % final)
    with open(fp, "rb") as f:
        magic = f.read(2)
    want_gz = spec.gz or "compress" in act
    t.check((magic == b"\x1f\x8b") == want_gz, "%s: gzip magic %s, expected "
            "%s" % (final, magic == b"\x1f\x8b", want_gz), kind="magic")
    try:
        data, _ = L.read_content(fp)
    except Exception as e:
        t.fail("%s: cannot be read back: %s" % (final, e))
        continue
    if want_gz:
        g = subprocess.run(["gzip", "-t", fp], capture_output=True)
        t.check(g.returncode == 0, "%s: gzip -t fails: %s" % (
            final, g.stderr.decode(errors="replace").strip()))
    if spec.live:
        t.check(open(fp, "rb").read() == live_bytes[name],
                "live file %s changed" % name)
    L.check_lines(t, final, data, spec, now, L.WINDOW, L.MASK_EARLY,
                  may_mask=act.startswith("mask"))
    n, first = L.scan_full_past(data, cut)
    t.check(n == 0, "%s: %d full addresses past the window remain (first at "
            "line %s)" % (final, n, first), kind="full past window")
    # owner, group, mode, mtime
    want = (spec.uid, spec.gid, spec.mode, spec.newest() * 10**9)
    have = (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), st.st_mtime_ns)
    t.check(want == have, "%s: uid/gid/mode/mtime %d/%d/%o/%s, expected "
            "%d/%d/%o/%s" % (final, have[0], have[1], have[2],
                             L.epoch_to_iso(have[3] // 10**9),
                             want[0], want[1], want[2],
                             L.epoch_to_iso(want[3] // 10**9)),
            kind="metadata")
    if not act:
        t.check(before.get(name) == after.get(name), "%s: changed although "
                "nothing was due: %s" % (name, L.diff_snapshots(
                    {name: before.get(name)}, {name: after.get(name)})),
                kind="untouched file changed")
extra = set(after) - expected_names
t.check(not extra, "unexpected files in the log dir after once: %s" %
        sorted(extra))

# ---- once again at the same time: nothing to do, nothing changes
r = L.run(["-c", m.conf, "--now", L.NOW_ISO, "once"], timeout=240)
outputs.append(r.out + r.err)
t.check(r.rc == 0 and not r.lines(), "second once: expected exit 0 and no "
        "output lines\n%s" % r.show())
d = L.diff_snapshots(after, L.snapshot(m.logs))
t.check(not d, "second once changed files: %s" % "; ".join(d[:10]))

# ---- audit after once
r = L.run(["-c", m.conf, "--now", L.NOW_ISO, "audit"])
outputs.append(r.out + r.err)
mm = re.search(r"^audit: (\d+) files? clean$", r.out, re.M)
t.check(r.rc == 0 and mm, "audit after once: expected exit 0 and "
        "'audit: N files clean'\n%s" % r.show())
if mm and int(mm.group(1)) != len(expected_names):
    t.note("audit says %s files clean; %d files are in the sets" % (
        mm.group(1), len(expected_names)))

# ---- two days later: more lines pass the window, more files expire
now2 = now + 2 * L.DAY
iso2 = L.epoch_to_iso(now2)
cut2 = now2 - L.WINDOW
state = {}          # final name -> (spec, expected action)
for name, spec in m.specs.items():
    act = expect.get(name, "")
    if act.startswith("delete"):
        continue
    final = name + ".gz" if "compress" in act else name
    fp = m.path(final)
    if not os.path.exists(fp):
        continue
    data, _ = L.read_content(fp)
    a2 = ""
    if not spec.live:
        if spec.newest() < now2 - L.RETAIN:
            a2 = "delete %s" % fp
        elif L.scan_full_past(data, cut2)[0]:
            a2 = "mask %s" % fp
    state[final] = (spec, a2)
r = L.run(["-c", m.conf, "--now", iso2, "once"], timeout=240)
outputs.append(r.out + r.err)
t.check(r.rc == 0, "once at %s: exit %s\n%s" % (iso2, r.rc, r.show()))
want = set(a for s, a in state.values() if a)
for line in sorted(want - set(r.lines())):
    t.fail("once at %s: missing output line %r" % (iso2, line))
for line in sorted(set(r.lines()) - want):
    t.fail("once at %s: unexpected output line %r" % (iso2, line))
for final, (spec, a2) in sorted(state.items()):
    fp = m.path(final)
    if a2.startswith("delete"):
        t.check(not os.path.lexists(fp), "%s: not deleted at %s" % (final,
                                                                   iso2))
        continue
    if not os.path.exists(fp):
        t.fail("%s: gone after once at %s" % (final, iso2))
        continue
    data, _ = L.read_content(fp)
    L.check_lines(t, final + " (at +2d)", data, spec, now2, L.WINDOW,
                  L.MASK_EARLY, may_mask=not spec.live)
    st = os.lstat(fp)
    t.check(st.st_mtime_ns == spec.newest() * 10**9 and
            (st.st_uid, st.st_gid) == (spec.uid, spec.gid),
            "%s: mtime/owner not kept by the second mask" % final)
r = L.run(["-c", m.conf, "--now", iso2, "audit"])
outputs.append(r.out + r.err)
t.check(r.rc == 0, "audit at %s after once: exit %s\n%s" % (iso2, r.rc,
                                                           r.show()))

# ---- never a full address in lethe's output
leaks = []
for o in outputs:
    leaks += L.leaked_addresses(o, leakset)
t.check(not leaks, "full addresses printed by lethe: %s" % leaks[:10])

t.done()
