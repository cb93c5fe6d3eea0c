#!/usr/bin/env python3
"""once --dry-run prints the planned actions, prefixed "would ", and changes
nothing on disk; a real once afterwards does exactly what was announced."""

import lethelib as L

t = L.Test("20-dry-run")
L.require_root(t)
root = t.mkdtemp()
m = L.Month(root, seed=2, per_file=40, long_lines=False)
expect = sorted("would " + a for a in m.expected_actions().values())

logs0 = L.snapshot(m.logs)
state0 = L.snapshot(m.state)
r = L.run(["-c", m.conf, "--now", L.NOW_ISO, "once", "--dry-run"])
t.check(r.rc == 0, "once --dry-run: exit %s, expected 0\n%s" % (
    r.rc, r.show()))
got = sorted(r.lines())
for line in sorted(set(expect) - set(got)):
    t.fail("once --dry-run: missing line %r" % line, kind="dry missing")
for line in sorted(set(got) - set(expect)):
    t.fail("once --dry-run: unexpected line %r" % line, kind="dry extra")
d = L.diff_snapshots(logs0, L.snapshot(m.logs))
for x in d:
    t.fail("once --dry-run changed the log dir: " + x, kind="dry changed")
d = L.diff_snapshots(state0, L.snapshot(m.state))
if d:
    t.note("once --dry-run changed the state dir: %s" % "; ".join(d[:5]))
leaks = L.leaked_addresses(r.out + r.err, m.all_full_addresses())
t.check(not leaks, "full addresses printed: %s" % leaks[:5])

# Twice in a row gives the same plan (the first dry run left no trace that
# changes the second).
r2 = L.run(["-c", m.conf, "--now", L.NOW_ISO, "once", "--dry-run"])
t.check(sorted(r2.lines()) == got, "second --dry-run printed a different "
        "plan:\n%s" % r2.show())

# --now as epoch seconds means the same time.
r4 = L.run(["-c", m.conf, "--now", str(L.NOW), "once", "--dry-run"])
t.check(r4.rc == 0 and sorted(r4.lines()) == got, "--now %d (epoch "
        "seconds) gives a different plan than --now %s:\n%s" % (
            L.NOW, L.NOW_ISO, r4.show()))

# A real once does what the dry run announced.
r3 = L.run(["-c", m.conf, "--now", L.NOW_ISO, "once"])
t.check(r3.rc == 0, "once after the dry run: exit %s\n%s" % (r3.rc,
                                                             r3.show()))
real = sorted("would " + l for l in r3.lines())
t.check(real == got, "once did not do what --dry-run announced:\n"
        "  dry run only: %s\n  once only: %s" % (
            sorted(set(got) - set(real)), sorted(set(real) - set(got))))
t.done()
