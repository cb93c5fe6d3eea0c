#!/usr/bin/env python3
"""A month of logs in three sets (logrotate numbers, dateext, lethe's own
segment names), format main, for --now 2026-11-29T12:00:00Z.  audit, then
once, then once again and audit; every file is read back with python's gzip
and ipaddress, never with lethe."""

import os
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

# Self-check of the generator against the independent reader: what the
# generator planted past the window is what the reader finds.
for name, spec in m.specs.items():
    data, _ = L.read_content(m.path(name))
    nu = [l for l in spec.lines if l.kind in ("no-time", "long-1048576") or
          (l.kind == "garbage" and l.orig != b"")]
    # a broken time of the form of one leaves the address fields known
    known = [l for l in spec.lines if l.kind == "normal" or (
        l.kind == "no-time" and b"[99/Foo/" in l.orig)]
    gen = (sum(len(l.field_full) for l in known if l.time < cut),
           sum(1 for l in nu if l.time < cut),
           sum(l.nfull - len(l.field_full) for l in nu if l in known) +
           sum(l.nfull for l in nu if l not in known))
    got = [0, 0, 0]
    for x in L.audit_expect(data, cut):
        k = 2 if x.startswith("warning") else 1 if "not understood" in x \
            else 0
        got[k] = int(x.split()[1] if k == 2 else x.split()[0])
    if tuple(got) != gen:
        print("test bug: %s: the reader finds (full, not understood, "
              "stray) %s past the window, the generator planted %s" % (
                  name, tuple(got), gen))
        sys.exit(2)

before = L.snapshot(m.logs)
live_bytes = {n: open(m.path(n), "rb").read() for n, s in m.specs.items()
              if s.live}

# ---- audit before once: exit 1, the lines of each file that fails


def check_audit(label, r, paths, cut):
    """audit's report against audit_expect of every file (read here)."""
    want = set()
    for p in paths:
        data, _ = L.read_content(p)
        want.update("%s: %s" % (p, x) for x in L.audit_expect(data, cut))
    bad = any(" full address" in w or " not understood" in w
              for w in want if ": warning: " not in w)
    got = set(x for x in r.lines() if not x.startswith("audit: "))
    t.check(r.rc == (1 if bad else 0), "%s: exit %s, expected %d\n%s" % (
        label, r.rc, 1 if bad else 0, r.show()))
    for x in sorted(want - got):
        t.fail("%s: missing line %r" % (label, x), kind="audit missing")
    for x in sorted(got - want):
        t.fail("%s: unexpected line %r" % (label, x),
               kind="audit unexpected line")
    return want


r = L.run(["-c", m.conf, "--now", L.NOW_ISO, "audit"])
outputs.append(r.out + r.err)
w = check_audit("audit before once", r, [m.path(n) for n in m.specs], cut)
t.check(any("not understood" in x for x in w) and
        any("warning" in x for x in w), "test bug: the month has no line "
        "lethe cannot understand past the window")
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

# ---- audit after once: no full address and no warning is left; the
# lines not understood past the window are still reported (exit 1)
r = L.run(["-c", m.conf, "--now", L.NOW_ISO, "audit"])
outputs.append(r.out + r.err)
w = check_audit("audit after once", r, sorted(m.path(n) for n in
                expected_names), cut)
left = sorted(x for x in w if "full address" in x)
t.check(not left, "after once, files still hold full addresses: %s" %
        left[:5])

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
check_audit("audit at %s after once" % iso2, r, sorted(
    m.path(f) for f, (spec, a2) in state.items()
    if not a2.startswith("delete")), cut2)

# ---- never a full address in lethe's output
leaks = []
for o in outputs:
    leaks += L.leaked_addresses(o, leakset)
t.check(not leaks, "full addresses printed by lethe: %s" % leaks[:10])

t.done()
