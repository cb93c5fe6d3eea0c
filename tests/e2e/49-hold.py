#!/usr/bin/env python3
"""lethe hold: an incident hold keeps one address full past the window.

A month of lines in four files, two attackers among many clients.  One
attacker is held until NOW + 40d, the other (a network, /24) until NOW +
10d.  Checked with an independent reader (python gzip, ipaddress, re):

- `once --now NOW+30d` masks every address past the window except the
  held ones (the /24 hold ended at +10d: masked by then); audit counts the
  held lines apart and exits 0; `hold --list` lists both, one ended;
- `once` past the first hold's date masks its lines too, and removes the
  ended holds;
- `hold --release` ends a hold at once: its lines are masked by the next
  `once`;
- the limits: --until beyond hold_max, or not after now, is refused
  (exit 2) and no hold is saved;
- the daemon (`lethe run --now`) leaves held lines full past the window,
  exports them as lethe_lines_held, and masks them when a release wakes
  it (SIGUSR2 from `lethe hold --release`).
"""
import gzip
import ipaddress
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lethelib import (DAY, Test, epoch_to_iso, iso_to_epoch,  # noqa
                      run, time_local)
import daemonlib  # noqa: E402

NOW_ISO = "2026-12-01T00:00:00Z"
NOW = iso_to_epoch(NOW_ISO)
WINDOW = 7 * DAY
ATTACKER = "203.0.113.66"
NETWORK = "198.51.100.0/24"
NET_HOST = "198.51.100.23"

CLF = re.compile(r'^(\S+) \S+ \S+ \[([^\]]+)\] "[^"]*" \d+ \d+ "[^"]*" '
                 r'"[^"]*" "([^"]*)"$')


def mk_line(addr, t, xff="-"):
    return ('%s - - [%s] "GET / HTTP/1.1" 200 5 "-" "curl/8.0" "%s"\n'
            % (addr, time_local(t), xff))


def build(logs):
    """Four files: 28 days of lines, 40 a day, the attackers among them."""
    days = {"access.log.4.gz": range(28, 21, -1),
            "access.log.3.gz": range(21, 14, -1),
            "access.log.2.gz": range(14, 7, -1),
            "access.log.1": range(7, 0, -1)}
    for name, rng in days.items():
        out = []
        for d in rng:
            t0 = NOW - d * DAY
            for i in range(40):
                t = t0 + i * 1800
                if i == 5:
                    out.append(mk_line(ATTACKER, t))
                elif i == 6:
                    out.append(mk_line("192.0.2.%d" % (1 + d), t, ATTACKER))
                elif i == 7:
                    out.append(mk_line(NET_HOST, t))
                else:
                    out.append(mk_line("10.%d.%d.%d" % (d, i, 1 + i), t))
        data = "".join(out).encode()
        p = os.path.join(logs, name)
        if name.endswith(".gz"):
            with gzip.open(p, "wb") as f:
                f.write(data)
        else:
            with open(p, "wb") as f:
                f.write(data)
    open(os.path.join(logs, "access.log"), "w").close()


def full(a):
    ip = ipaddress.ip_address(a)
    return ip != ipaddress.ip_network("%s/16" % a, strict=False) \
        .network_address


def clf_time(s):
    import calendar
    return calendar.timegm(time.strptime(s[:20], "%d/%b/%Y:%H:%M:%S"))


def read_lines(logs):
    out = []
    for name in sorted(os.listdir(logs)):
        p = os.path.join(logs, name)
        if name.startswith(".") or not os.path.isfile(p):
            continue
        data = open(p, "rb").read()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        for ln in data.decode().splitlines():
            m = CLF.match(ln)
            if not m:
                out.append((name, None, [], ln))
                continue
            addrs = [m.group(1)] + [x.strip() for x in m.group(3).split(",")
                                    if x.strip() not in ("", "-")]
            out.append((name, clf_time(m.group(2)), addrs, ln))
    return out


def check_state(t, logs, now, held, what):
    """Past the window: full only for a held address (held: their set)."""
    lines = read_lines(logs)
    t.check(len(lines) == 4 * 7 * 40, "%s: %d lines, want %d" % (
        what, len(lines), 4 * 7 * 40))
    kept = {a: 0 for a in held}
    for name, tm, addrs, ln in lines:
        t.check(tm is not None, "%s: %s: a line the reader cannot read: %r"
                % (what, name, ln))
        if tm is None or tm >= now - WINDOW:
            continue
        for a in addrs:
            if not full(a):
                continue
            h = [x for x in held if a == x or (
                "/" in x and ipaddress.ip_address(a) in
                ipaddress.ip_network(x))]
            if h:
                kept[h[0]] += 1
            else:
                t.fail("%s: %s: full address past the window: %s at %s"
                       % (what, name, a, epoch_to_iso(tm)), kind=what)
    return kept


def held_count(out):
    return sum(int(m.group(1)) for m in re.finditer(
        r": (\d+) lines past the window held full by an incident hold", out))


def main():
    t = Test("49-hold")
    tmp = t.mkdtemp()
    logs = os.path.join(tmp, "logs")
    state = os.path.join(tmp, "state")
    os.mkdir(logs)
    conf = os.path.join(tmp, "lethe.conf")
    metrics = os.path.join(tmp, "metrics.prom")
    with open(conf, "w") as f:
        f.write("[global]\nstate_dir = %s\nmetrics_file = %s\nsweep = 2s\n\n"
                "[web]\nlogs = %s/access.log\nformat = main\nwindow = 7d\n"
                "retain = 365d\nhold_max = 60d\nmask_early = 1h\n"
                % (state, metrics, logs))
    build(logs)

    def lethe(now, *args):
        return run(["-c", conf, "--now", epoch_to_iso(now)] + list(args))

    # the limits first: nothing is saved
    r = lethe(NOW, "hold", ATTACKER, "--until", "+61d", "--reason", "x")
    t.check(r.rc == 2, "a hold beyond hold_max: exit %s, want 2" % r.rc)
    r = lethe(NOW, "hold", ATTACKER, "--until", "2026-11-30T00:00:00Z",
              "--reason", "x")
    t.check(r.rc == 2, "a hold ending before now: exit %s, want 2" % r.rc)
    r = lethe(NOW, "hold", ATTACKER, "--until", "+1d")
    t.check(r.rc == 2, "a hold without a reason: exit %s, want 2" % r.rc)
    # a hold of everyone, or of a network wider than the set masks to
    for wide in ("::/0", "0.0.0.0/0", "198.51.0.0/15", "192.0.2.7:80/24",
                 "::ffff:192.0.2.0/24"):
        r = lethe(NOW, "hold", wide, "--until", "+1d", "--reason", "x")
        t.check(r.rc == 2, "a hold of %s: exit %s, want 2" % (wide, r.rc))
    # --now does not stretch hold_max: the limit is the real clock's too
    far = int(time.time()) + 400 * DAY
    r = lethe(far, "hold", ATTACKER, "--until", "+30d", "--reason", "x")
    t.check(r.rc == 2, "a hold made --now +400d: exit %s, want 2" % r.rc)
    r = lethe(NOW, "hold", "--list")
    t.check(r.rc == 0 and "no holds" in r.out, "refused holds were saved: "
            "%s" % r.out)

    r = lethe(NOW, "hold", ATTACKER, "--until", "+40d", "--reason",
              "incident 12")
    t.check(r.rc == 0, "hold: exit %s: %s" % (r.rc, r.err))
    r = lethe(NOW, "hold", NETWORK, "--until", "+10d", "--reason",
              "scan from a /24")
    t.check(r.rc == 0, "hold of a network: exit %s: %s" % (r.rc, r.err))
    r = lethe(NOW, "hold", "--list")
    t.check(r.out.count("held (request") == 2 and "incident 12" in r.out,
            "hold --list: %s" % r.out)
    t.check(ATTACKER not in r.out and NET_HOST not in r.out,
            "hold --list prints an address")

    # NOW: lines past the window, both holds in force
    r = lethe(NOW, "once")
    t.check(r.rc == 0, "once at NOW: exit %s: %s" % (r.rc, r.err))
    kept = check_state(t, logs, NOW, [ATTACKER, NETWORK], "once at NOW")
    # 3 files past the window: 21 days x 2 lines (client, XFF) and 21 x 1
    t.check(kept[ATTACKER] == 21 * 2 and kept[NETWORK] == 21,
            "held full at NOW: %s, want 42 and 21" % kept)
    r = lethe(NOW, "audit")
    t.check(r.rc == 0, "audit with holds in force: exit %s: %s"
            % (r.rc, r.out))
    t.check(held_count(r.out) == 21 * 3, "audit counts %d held lines, "
            "want 63 (lines, not addresses)" % held_count(r.out))

    # NOW + 30d: the /24 hold ended at +10d, the attacker's holds on
    later = NOW + 30 * DAY
    r = lethe(later, "once")
    t.check(r.rc == 0, "once at +30d: exit %s: %s" % (r.rc, r.err))
    kept = check_state(t, logs, later, [ATTACKER], "once at +30d")
    t.check(kept[ATTACKER] == 28 * 2, "held full at +30d: %s, want 56"
            % kept)
    r = lethe(later, "hold", "--list")
    t.check(r.out.count("held (request") == 1 and "incident 12" in r.out,
            "at +30d the ended hold is gone: %s" % r.out)
    r = lethe(later, "audit")
    t.check(r.rc == 0 and held_count(r.out) == 56, "audit at +30d: exit %s,"
            " %d held" % (r.rc, held_count(r.out)))

    # NOW + 40d + 1h: the hold has ended, so must its lines' full form
    end = NOW + 40 * DAY + 3600
    r = lethe(end, "audit")
    t.check(r.rc == 1, "audit just after the hold ended, before a once: "
            "exit %s, want 1 (its lines are past the window)" % r.rc)
    r = lethe(end - 2 * 3600, "once")
    kept = check_state(t, logs, end, [], "once an hour before the hold "
                       "ends (mask_early)")
    r = lethe(end, "hold", "--list")
    t.check("(ended)" in r.out, "after its date the hold is ended: %s"
            % r.out)
    lethe(end, "once")
    r = lethe(end, "hold", "--list")
    t.check("no holds" in r.out, "the next once removes the ended hold: %s"
            % r.out)

    # a release, through the daemon
    for n in os.listdir(logs):
        os.unlink(os.path.join(logs, n))
    build(logs)
    for n in os.listdir(state):
        if n in ("catalog", "holds"):
            p = os.path.join(state, n)
            if os.path.isdir(p):
                for x in os.listdir(p):
                    os.unlink(os.path.join(p, x))
            else:
                os.unlink(p)
    r = lethe(NOW, "hold", ATTACKER, "--until", "+20d", "--reason", "case 3")
    t.check(r.rc == 0, "hold for the daemon: exit %s" % r.rc)
    d = daemonlib.Daemon(conf, now=NOW_ISO)
    try:
        d.ready(60)
        deadline = time.monotonic() + 90
        value = None
        while time.monotonic() < deadline:
            if os.path.exists(metrics):
                m = re.search(r'^lethe_lines_held\{set="web"\} (\d+)$',
                              open(metrics).read(), re.M)
                value = int(m.group(1)) if m else None
                # the metrics are written after each rewrite: wait for all
                if value == 21 * 2:
                    masked_rest = not any(
                        full(a) and a != ATTACKER for name, tm, addrs, _ in
                        read_lines(logs) if tm is not None and
                        tm < NOW - WINDOW for a in addrs)
                    if masked_rest:
                        break
            time.sleep(0.5)
        t.check(value == 21 * 2, "daemon: lethe_lines_held %s, want 42"
                % value)
        kept = check_state(t, logs, NOW, [ATTACKER], "daemon, hold in force")
        t.check(kept[ATTACKER] == 42, "daemon: held full %s, want 42"
                % kept)
        r = lethe(NOW, "hold", "--release", ATTACKER)
        t.check(r.rc == 0 and "released" in r.out, "release: exit %s: %s"
                % (r.rc, r.out + r.err))
        d.wait_for(r"holds and erase requests \(USR2\)", 30)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            left = sum(1 for name, tm, addrs, _ in read_lines(logs)
                       if tm is not None and tm < NOW - WINDOW
                       for a in addrs if full(a))
            if left == 0:
                break
            time.sleep(0.5)
        check_state(t, logs, NOW, [], "daemon, after the release")
    finally:
        rc, _ = d.stop()
    t.check(rc == 0, "the daemon exited %s" % rc)
    t.done()


if __name__ == "__main__":
    main()
