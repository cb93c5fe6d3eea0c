#!/usr/bin/env python3
"""lethe reveal and the day keys of pseudonyms (transform = pseudonym).

Two sets with transform = pseudonym: [web] (ipcrypt-deterministic) and
[pfx] (pseudonym_prefix = yes).  Keys are made by `lethe mask
--pseudonym` (a set's format and pseudonyms, stdin to stdout), fed lines
of two days, 2026-11-20 and 2026-11-21, and one of 2026-11-01 (past the
window: now's day).  Checked with python's own reader (re, ipaddress,
os.stat; the correctness of ipcrypt itself is the unit test's, against
the published vectors):

- every address became a pseudonym (an address, never the one it stands
  for, never any input address anywhere in the output), nothing else of
  the line changed; one address and one day: one pseudonym (within a
  run and across runs); another day: another pseudonym; two addresses of
  a day: two pseudonyms;
- pfx: IPv4 stays IPv4, a /24 stays one /24 and a /48 one /48;
- reveal --date DAY gives each address back; reveal never makes a key
  (a day not made: exit 1, "no key", the file unchanged); bad --date and
  two pseudonym sets without --set are usage errors (exit 2, naming the
  sets); a third set, of transform = truncate, makes no pseudonyms;
- state_dir/keys is 0700, each key file 0600, with a "key DAY HEX" line
  per day;
- `once --now` a week later: says it destroyed the key of 2026-11-20,
  reveal of that day exits 1 with "the key of 2026-11-20 was destroyed
  on ...: the pseudonym can no longer be turned back", the file has no
  "key 2026-11-20" line any more and its master is past that day, while
  2026-11-21 still reveals; a line of 2026-11-20 then takes now's key;
- the daemon (`run --now` just before the key of 2026-11-21 dies, a fast
  clock) destroys it and logs so.
"""
import ipaddress
import os
import re
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lethelib import (DAY, Test, epoch_to_iso, iso_to_epoch,  # noqa: E402
                      run, time_local)
import daemonlib  # noqa: E402

NOW = iso_to_epoch("2026-11-21T12:00:00Z")
WINDOW = 7 * DAY
D1, D2, OLD = "2026-11-20", "2026-11-21", "2026-11-01"
ADDRS = ["203.0.113.7", "203.0.113.200", "198.51.100.23", "192.0.2.1",
         "2001:db8:1:2::5", "2001:db8:1:ffff::77", "2a00:1450:4001::200e"]
LINE = re.compile(r'^(\S+)( - - \[[^\]]+\] "[^"]*" \d+ \d+ "[^"]*" "[^"]*")$')


def line(addr, t, i):
    return ('%s - - [%s] "GET /p/%d HTTP/1.1" 200 %d "-" "ua/%d"\n'
            % (addr, time_local(t), i, 100 + i, i))


def day_t(day, hour):
    return iso_to_epoch(day + "T00:00:00Z") + hour * 3600


def build():
    """(day, address, line) for each address twice on D1 and D2, once on
    OLD; the input's bytes."""
    rows = []
    i = 0
    for day, hours in ((D1, (3, 20)), (D2, (1, 11)), (OLD, (9,))):
        for h in hours:
            for a in ADDRS:
                rows.append((day, a, line(a, day_t(day, h), i)))
                i += 1
    return rows, "".join(r[2] for r in rows).encode()


def canon(a):
    return str(ipaddress.ip_address(a))


def mask(conf, now, setname, data):
    return run(["-c", conf, "--now", epoch_to_iso(now), "mask",
                "--pseudonym", "--set", setname], stdin=data)


def pseudonyms(t, what, rows, r):
    """{(day, addr): pseudonym} from a mask run, with the checks of
    each line."""
    got = {}
    out = r.out.split("\n")
    t.check(r.rc == 0, "%s: mask exit %s: %s" % (what, r.rc, r.err))
    t.check(len(out) == len(rows) + 1 and out[-1] == "",
            "%s: %d lines out for %d in" % (what, len(out) - 1, len(rows)))
    for (day, a, ln), o in zip(rows, out):
        m, mi = LINE.match(o), LINE.match(ln.rstrip("\n"))
        if not t.check(m is not None, "%s: a line lethe wrote is not "
                       "combined: %r" % (what, o)):
            continue
        p = m.group(1)
        t.check(m.group(2) == mi.group(2), "%s: more than the address "
                "changed: %r -> %r" % (what, ln, o))
        try:
            ipaddress.ip_address(p)
        except ValueError:
            t.fail("%s: the pseudonym %r is not an address" % (what, p))
            continue
        t.check(canon(p) != canon(a), "%s: %s left as it is" % (what, a))
        k = (day, a)
        if k in got:
            t.check(got[k] == p, "%s: %s on %s has two pseudonyms: %s, %s"
                    % (what, a, day, got[k], p))
        got[k] = p
    for a in ADDRS:
        t.check(a not in r.out, "%s: the address %s is in the output"
                % (what, a))
    return got


def key_lines(path):
    with open(path) as f:
        return f.read().split("\n")


def reveal(conf, now, setname, day, p):
    args = ["-c", conf, "--now", epoch_to_iso(now), "reveal"]
    if setname:
        args += ["--set", setname]
    if day:
        args += ["--date", day]
    return run(args + [p])


def check_pfx(t, got):
    for day in (D1, D2):
        ps = {a: ipaddress.ip_address(got[(day, a)]) for a in ADDRS}
        for a in ADDRS:
            t.check(ps[a].version == ipaddress.ip_address(a).version,
                    "pfx: %s became %s: another family" % (a, ps[a]))
        for a, b, bits in (("203.0.113.7", "203.0.113.200", 24),
                           ("2001:db8:1:2::5", "2001:db8:1:ffff::77", 48)):
            na = ipaddress.ip_network("%s/%d" % (ps[a], bits), strict=False)
            t.check(ps[b] in na, "pfx: %s and %s (one /%d) became %s and "
                    "%s" % (a, b, bits, ps[a], ps[b]))
        t.check(ps["203.0.113.7"] not in ipaddress.ip_network(
            "%s/24" % ps["198.51.100.23"], strict=False),
            "pfx: two /24s became one")


def main():
    t = Test("51-reveal")
    tmp = t.mkdtemp()
    logs = os.path.join(tmp, "logs")
    state = os.path.join(tmp, "state")
    os.mkdir(logs)
    conf = os.path.join(tmp, "lethe.conf")
    with open(conf, "w") as f:
        f.write("[global]\nstate_dir = %s\nsweep = 1m\n\n"
                "[web]\nlogs = %s/web.log\nformat = combined\nwindow = 7d\n"
                "transform = pseudonym\n\n"
                "[pfx]\nlogs = %s/pfx.log\nformat = combined\nwindow = 7d\n"
                "transform = pseudonym\npseudonym_prefix = yes\n\n"
                "[plain]\nlogs = %s/plain.log\nformat = combined\n"
                % (state, logs, logs, logs))
    for n in ("web.log", "pfx.log", "plain.log"):
        open(os.path.join(logs, n), "w").close()
    rows, data = build()
    keyfile = os.path.join(state, "keys", "web")

    # reveal makes no key, and no key file
    r = reveal(conf, NOW, "web", D2, "2001:db8::1")
    t.check(r.rc == 1 and "no key of 2026-11-21" in r.err,
            "reveal before any key: exit %s: %s" % (r.rc, r.err))
    t.check(not os.path.exists(keyfile), "reveal made a key file")

    got = {}
    for s in ("web", "pfx"):
        got[s] = pseudonyms(t, s, rows, mask(conf, NOW, s, data))
        again = pseudonyms(t, s + " again", rows, mask(conf, NOW, s, data))
        t.check(again == got[s], "%s: another run, other pseudonyms" % s)
        g = got[s]
        for a in ADDRS:
            if (D1, a) in g and (D2, a) in g:
                t.check(g[(D1, a)] != g[(D2, a)], "%s: %s has one "
                        "pseudonym on two days" % (s, a))
            # past the window: the key of now's day
            t.check(g.get((OLD, a)) == g.get((D2, a)), "%s: %s of %s: %s, "
                    "not now's day's %s" % (s, a, OLD, g.get((OLD, a)),
                                            g.get((D2, a))))
        for day in (D1, D2):
            ps = [g.get((day, a)) for a in ADDRS]
            t.check(len(set(ps)) == len(ADDRS), "%s: two addresses of %s "
                    "share a pseudonym" % (s, day))
    check_pfx(t, got["pfx"])

    # the files
    kd = os.stat(os.path.join(state, "keys"))
    t.check(stat.S_IMODE(kd.st_mode) == 0o700, "state_dir/keys is %o"
            % stat.S_IMODE(kd.st_mode))
    for s in ("web", "pfx"):
        st = os.stat(os.path.join(state, "keys", s))
        t.check(stat.S_IMODE(st.st_mode) == 0o600, "keys/%s is %o"
                % (s, stat.S_IMODE(st.st_mode)))
    lines = key_lines(keyfile)
    for day in (D1, D2):
        t.check(any(re.fullmatch(r"key %s [0-9a-f]{64}" % day, ln)
                    for ln in lines), "keys/web has no key of %s" % day)

    # reveal: every address back, under its day
    for s in ("web", "pfx"):
        for (day, a), p in sorted(got[s].items()):
            if day == OLD:
                continue
            r = reveal(conf, NOW, s, day, p)
            t.check(r.rc == 0 and r.out == canon(a) + "\n", "reveal --set "
                    "%s --date %s %s: exit %s, %r, want %s (%s)"
                    % (s, day, p, r.rc, r.out, canon(a), r.err.strip()))
    # the default day is --now's
    p = got["web"][(D2, "192.0.2.1")]
    r = reveal(conf, NOW, "web", None, p)
    t.check(r.rc == 0 and r.out == "192.0.2.1\n", "reveal without --date: "
            "exit %s, %r" % (r.rc, r.out))
    # usage errors: 2
    r = reveal(conf, NOW, None, D2, p)
    t.check(r.rc == 2 and "(web, pfx)" in r.err, "reveal without --set, "
            "two pseudonym sets: exit %s: %s" % (r.rc, r.err))
    # a set of transform = truncate makes no pseudonyms, nor keys
    r = mask(conf, NOW, "plain", data)
    t.check(r.rc == 1 and r.out == "" and "transform = truncate" in r.err,
            "mask --pseudonym --set plain: exit %s: %s" % (r.rc, r.err))
    t.check(not os.path.exists(os.path.join(state, "keys", "plain")),
            "a key file for a set of transform = truncate")
    for bad in ("2026-11-31", "21/Nov/2026", "2026-11-2"):
        r = reveal(conf, NOW, "web", bad, p)
        t.check(r.rc == 2, "reveal --date %s: exit %s, want 2" % (bad, r.rc))
    r = reveal(conf, NOW, "web", D2, "not-an-address")
    t.check(r.rc == 2, "reveal of a non-address: exit %s" % r.rc)
    # a day never made: said, and nothing made
    before = open(keyfile, "rb").read()
    r = reveal(conf, NOW, "web", "2026-11-22", p)
    t.check(r.rc == 1 and "no key of 2026-11-22" in r.err, "reveal of a day"
            " not made: exit %s: %s" % (r.rc, r.err))
    t.check(open(keyfile, "rb").read() == before, "reveal changed the key "
            "file")

    # a week on: the key of D1 dies, D2's lives
    later = iso_to_epoch("2026-11-28T12:00:00Z")
    r = run(["-c", conf, "--now", epoch_to_iso(later), "once"])
    t.check(r.rc == 0, "once: exit %s: %s" % (r.rc, r.err))
    for s in ("web", "pfx"):
        t.check("%s: destroyed the pseudonym key of %s" % (s, D1) in r.out,
                "once does not say it destroyed %s's key of %s: %s"
                % (s, D1, r.out))
    t.check("of %s" % D2 not in r.out, "once destroyed the key of %s" % D2)
    p1 = got["web"][(D1, "203.0.113.7")]
    r = reveal(conf, later, "web", D1, p1)
    want = ("the key of %s was destroyed on 2026-11-28T12:00:00Z: the "
            "pseudonym can no longer be turned back" % D1)
    t.check(r.rc == 1 and want in r.err and "203.0.113.7" not in r.out +
            r.err, "reveal of a destroyed day: exit %s, %r: %s"
            % (r.rc, r.out, r.err))
    r = reveal(conf, later, "web", D2, got["web"][(D2, "203.0.113.7")])
    t.check(r.rc == 0 and r.out == "203.0.113.7\n", "reveal of %s after "
            "once: exit %s, %r" % (D2, r.rc, r.out))
    lines = key_lines(keyfile)
    t.check(not any(ln.startswith("key %s " % D1) for ln in lines),
            "keys/web still holds the key of %s" % D1)
    t.check(any(ln.startswith("key %s " % D2) for ln in lines),
            "keys/web lost the key of %s" % D2)
    t.check(any(ln.startswith("gone %s " % D1) for ln in lines),
            "keys/web does not say %s's key is gone" % D1)
    masters = [ln.split()[1] for ln in lines if ln.startswith("master ")]
    t.check(len(masters) == 1 and masters[0] > D1, "keys/web: master %s"
            % masters)
    t.check(not any(".lethe-" in n for n in os.listdir(
        os.path.join(state, "keys"))), "a temp file left in keys")
    # a line of D1 now takes now's key, and D1 is not made again
    r = mask(conf, later, "web", line("192.0.2.1", day_t(D1, 5), 1).encode())
    m = LINE.match(r.out.rstrip("\n"))
    if t.check(r.rc == 0 and m is not None, "mask after once: %s" % r.err):
        r = reveal(conf, later, "web", "2026-11-28", m.group(1))
        t.check(r.out == "192.0.2.1\n", "a line of %s after its key died: "
                "not under now's key: %r" % (D1, r.out))
    t.check(not any(ln.startswith("key %s " % D1)
                    for ln in key_lines(keyfile)), "the key of %s is back"
            % D1)

    # the daemon destroys D2's key when it is due: 2026-11-29T00:00:00Z
    d = daemonlib.Daemon(conf, now="2026-11-28T23:59:40Z", rate=20)
    try:
        d.ready(60)
        m = d.wait_for(r"^web: destroyed the pseudonym key of %s$" % D2, 60,
                       fail=False)
        t.check(m is not None, "the daemon did not destroy the key of %s: "
                "%s" % (D2, d.texts()[-10:]))
    finally:
        rc, _ = d.stop()
    t.check(rc == 0, "the daemon exited %s" % rc)
    t.check(not any(ln.startswith("key %s " % D2)
                    for ln in key_lines(keyfile)), "keys/web still holds "
            "the key of %s after the daemon" % D2)
    r = reveal(conf, later + DAY, "web", D2, got["web"][(D2, "192.0.2.1")])
    t.check(r.rc == 1 and "was destroyed on 2026-11-29T" in r.err,
            "reveal after the daemon: exit %s: %s" % (r.rc, r.err))
    t.done()


if __name__ == "__main__":
    main()
