#!/usr/bin/env python3
"""A client chooses $remote_user, not a line's time (issue 10, 1), with a
real nginx.

nginx logs $remote_user raw for any request with an `Authorization: Basic`
header, no auth config needed.  An attacker sends users "[1000000000]"
(2001 as an epoch) and "[4102444800]" (2100) from its own address, among
ordinary requests.  lethe runs with rotate = 1h, reopen = signal USR1 to
nginx, on a clock half an hour past the hour (so no hour boundary falls in
the test; nginx's own times are real, within the hour of lethe's clock).

  - the daemon does not rotate for the attacker's lines (no rotation in
    10 s after them), and audit finds nothing past the window;
  - one rotation asked with SIGUSR1: the segment holds every request once;
  - once --now +2d leaves it byte for byte (no early mask: the attacker's
    address stays full inside the window), audit exit 0;
  - once --now +8d masks it: an independent reader (python's ipaddress)
    finds no full address, the users as nginx wrote them;
  - once --now +31d (retain 30d) deletes it.

    LETHE=/abs/path/to/lethe python3 tests/e2e/69-nginx-user.py
"""

import base64
import http.client
import ipaddress
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import nginxlib as NX  # noqa: E402
import proclib  # noqa: E402
from proclib import Fail, LetheLog, stop, wait_until  # noqa: E402

NAME = "69-nginx-user"
USERS = ["[1000000000]", "[4102444800]"]
ATTACKER = {"[1000000000]": "203.0.113.66", "[4102444800]": "2001:db8:66::9"}
DAY = 86400


def say(msg):
    print("%s: %s" % (NAME, msg), flush=True)


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def lethe_run(lethe, conf, now, cmd):
    r = subprocess.run([lethe, "-c", conf, "--now", iso(now), cmd],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=120)
    return r.returncode, r.stdout.decode(errors="replace"), \
        r.stderr.decode(errors="replace")


def full(tok):
    """Is tok an address with host bits past /16 (IPv4) or /32 (IPv6)?"""
    try:
        a = ipaddress.ip_address(tok)
    except ValueError:
        return False
    n = ipaddress.ip_network("%s/%d" % (a, 16 if a.version == 4 else 32),
                             strict=False)
    return int(a) != int(n.network_address)


def send(port, plan):
    """plan: [(path, client address, user or None)]; one connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    for path, addr, user in plan:
        h = {"X-Forwarded-For": addr}
        if user is not None:
            h["Authorization"] = "Basic " + base64.b64encode(
                (user + ":x").encode()).decode()
        conn.request("GET", path, headers=h)
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            raise Fail("%s: HTTP %d" % (path, r.status))
    conn.close()


def lines_of(path):
    with open(path, "rb") as f:
        return [x for x in f.read().split(b"\n") if x]


def test(root, lethe, nginx):
    fails = []
    state = os.path.join(root, "state")
    ngx = NX.Nginx(nginx, root)
    ng, port, logs, live, pidfile = (ngx.proc, ngx.port, ngx.logs, ngx.live,
                                     ngx.pidfile)

    real = time.time()
    clock0 = int(real) // 3600 * 3600 + 1800    # half past the hour
    conf = os.path.join(root, "lethe.conf")
    with open(conf, "w") as f:
        f.write("[global]\nstate_dir = %s\nsweep = 10s\n\n"
                "[web]\nlogs = %s\nformat = main\nwindow = 7d\n"
                "rotate = 1h\nreopen = signal USR1 %s\nsettle = 2s\n"
                "compress_after = off\nretain = 30d\n" % (
                    state, live, pidfile))
    log = LetheLog(os.path.join(root, "lethe.err"))
    lp, _ = proclib.start_lethe(
        [lethe, "-c", conf, "--now", str(clock0), "run"], log,
        env={"LETHE_TEST_CLOCK_RATE": "1"})

    plan = []
    for i in range(60):
        if 20 <= i < 40:
            u = USERS[i % 2]
            plan.append(("/req/%d" % i, ATTACKER[u], u))
        else:
            plan.append(("/req/%d" % i, "198.51.%d.%d" % (i + 1, i + 7),
                         None))
    send(port, plan)
    wait_until(lambda: len(lines_of(live)) >= len(plan), 20,
               "nginx to log %d requests" % len(plan))
    got = lines_of(live)
    n_user = sum(1 for x in got if any(
        (" - %s [" % u).encode() in x for u in USERS))
    if n_user != 20:
        raise Fail("nginx logged %d lines with the attacker's users, "
                   "expected 20 (is $remote_user raw?): %r" % (
                       n_user, got[20:22]))
    # The daemon follows the lines at once; give it 10 s to misbehave.
    time.sleep(10)
    rot = [x for x in log.lines() if x.startswith("lethe: rotated ")]
    if rot:
        fails.append("the daemon rotated after the attacker's lines "
                     "(a time chosen by $remote_user?): %s" % rot)
    now = clock0 + (time.time() - real)
    rc, out, err = lethe_run(lethe, conf, now, "audit")
    if rc != 0:
        fails.append("audit at the daemon's clock: exit %d (full addresses "
                     "past the window?):\n%s%s" % (rc, out, err))

    # One rotation, asked for.
    mark = len(log.lines())
    lp.send_signal(signal.SIGUSR1)
    wait_until(lambda: any(x.startswith("lethe: sealed ")
                           for x in log.lines()[mark:]), 30,
               "the segment sealed")
    rot = [x for x in log.lines() if x.startswith("lethe: rotated ")]
    if len(rot) != 1:
        fails.append("rotations: %d, expected the 1 asked for: %s" % (
            len(rot), rot))
    if stop(lp) != 0:
        fails.append("lethe exit status %s after SIGTERM" % lp.returncode)
    stop(ng)
    segs = sorted(x for x in os.listdir(logs) if x.startswith("access.log-"))
    if len(segs) != 1:
        raise Fail("segments: %s, expected one" % segs)
    seg = os.path.join(logs, segs[0])
    data = open(seg, "rb").read()
    paths = sorted(int(x.split(b"GET /req/")[1].split(b" ")[0])
                   for x in lines_of(seg))
    if paths != list(range(len(plan))):
        fails.append("the segment holds requests %s, expected 0..%d once" %
                     (paths, len(plan) - 1))

    base = clock0 + (time.time() - real)
    rc, out, err = lethe_run(lethe, conf, base + 2 * DAY, "once")
    if rc != 0 or out.strip() or open(seg, "rb").read() != data:
        fails.append("once --now +2d: exit %d, output %r; the segment %s "
                     "(a mask inside the window?)" % (
                         rc, out, "unchanged" if open(seg, "rb").read() ==
                         data else "changed"))
    rc, out, err = lethe_run(lethe, conf, base + 2 * DAY, "audit")
    if rc != 0:
        fails.append("audit --now +2d: exit %d:\n%s" % (rc, out))

    rc, out, err = lethe_run(lethe, conf, base + 8 * DAY, "once")
    want = "mask %s" % seg
    if rc != 0 or want not in out.splitlines():
        fails.append("once --now +8d: exit %d, expected %r:\n%s%s" % (
            rc, want, out, err))
    left, users = [], 0
    for x in lines_of(seg):
        f = x.decode("latin-1").split(" ")
        xff = x.decode("latin-1").rsplit('"', 2)[-2]
        for tok in [f[0]] + [p.strip() for p in xff.split(",")]:
            if full(tok):
                left.append(tok)
        users += any(f[2] == u for u in USERS)
    if left:
        fails.append("once --now +8d: full addresses left: %s" % left[:5])
    if users != 20:
        fails.append("once --now +8d: %d lines keep the users nginx wrote, "
                     "expected 20" % users)

    rc, out, err = lethe_run(lethe, conf, base + 31 * DAY, "once")
    want = "delete %s" % seg
    if rc != 0 or want not in out.splitlines() or os.path.exists(seg):
        fails.append("once --now +31d (retain 30d): exit %d, expected %r, "
                     "segment %s:\n%s%s" % (
                         rc, want, "still there" if os.path.exists(seg)
                         else "gone", out, err))
    say("60 requests (20 with $remote_user [1000000000] or [4102444800]); "
        "rotations: %d (asked 1); masked at +8d, deleted at +31d" % len(rot))
    return fails


def main():
    return proclib.main(NAME, "nginx as root, apt-get",
                        lambda root, lethe: test(root, lethe,
                                                 NX.ensure_nginx(NAME)))


if __name__ == "__main__":
    sys.exit(main())
