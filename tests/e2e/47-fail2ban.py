#!/usr/bin/env python3
"""fail2ban's lethe-hold action: what fail2ban bans stays full past the
window for as long as the ban, and no longer (issue 11, 3).

A real nginx (as 70-nginx starts it: 127.0.0.1, a free port, log_format
main, the realip module taking the client address from X-Forwarded-For)
logs to the temp dir, and a real fail2ban-server runs in the foreground
with its own config dir: Debian's fail2ban.conf and jail.conf (copied from
/etc/fail2ban, so `banaction` goes through the stock `action_`), our
conf/fail2ban/lethe-hold.conf in action.d with a lethe-hold.local pointing
at $LETHE and a test lethe.conf, a 404 filter, dbfile :memory:, backend
polling, ignoreself false (the attacker is 127.0.0.1).  Two jails:
nginx-404 with `banaction = lethe-hold` (maxretry 3, bantime 25 s) on the
access log, and perm (bantime -1) on an empty log, banned by hand.  The
lethe set has window = 10s (so that a 25 s ban outlasts it; a warning in
lethe check), rotate = 1h with reopen = signal USR1 to nginx.

- Clients with their own addresses (IPv4, IPv6; a scanner with 2 404s,
  below maxretry) get 200s; then 127.0.0.1 asks for 3 missing pages:
  fail2ban bans it, and `lethe hold --list` shows one hold of one address,
  reason "fail2ban nginx-404", until about ban + 25 s; its request hash is
  the one `lethe find --json 127.0.0.1` names.
- `lethe once --now` 12 s past the newest line (every line past the
  window, the hold still in force): an independent reader (python re,
  ipaddress) finds every request exactly once, the attacker's lines with
  127.0.0.1 in full, every other address masked (/16, /32) to the form the
  reader computes; `lethe audit` at that time exits 0 and counts them as
  held.
- perm, as README shows it (`action = %(action_)s` and lethe-hold, the
  firewall action being fail2ban's dummy here): `banip` bans 203.0.113.99
  in both and holds it for holdmax (90 days: bantime -1); `unbanip`
  releases it at once (hold --list: ended).
- The ban of 127.0.0.1 ends by itself: fail2ban's unban runs the action
  (its log shows lethe's "released"), and the hold is ended; `once` then
  masks the attacker's lines too (127.0.0.0) and removes the ended holds.
- fail2ban stopped with a perm ban in force: the hold stays (actionflush:
  a restart must not end holds).
No action may fail (no ERROR in fail2ban's log).  Needs root (nginx,
fail2ban and apt-get as root); under CI a missing root fails.  fail2ban
and nginx are installed with apt-get when missing.

    LETHE=/abs/path/to/lethe python3 tests/e2e/47-fail2ban.py
"""

import http.client
import ipaddress
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import lethelib as L  # noqa: E402
import seamlib as S  # noqa: E402
from proclib import (Fail, procs, read_file, start, stop,  # noqa: E402
                     wait_until)

import nginxlib as NX  # noqa: E402

NAME = "47-fail2ban"
ACTION = os.path.join(REPO, "conf", "fail2ban", "lethe-hold.conf")
JAIL = "nginx-404"
BANTIME = 25            # s: the jail's ban, longer than the window
WINDOW = 10             # s: lethe's window in this test
MAXRETRY = 3
ATTACKER = "127.0.0.1"
PERM_ADDR = "203.0.113.99"
HOLDMAX = 7776000       # the action's default holdmax (90d)
SCANNER = "203.0.113.5"  # two 404s: below maxretry, never banned
CLIENTS = ["198.51.100.%d" % (10 + i) for i in range(6)] + \
    ["2001:db8:5:%x::%x" % (i, 7 + i) for i in range(6)] + ["192.0.2.77"]

NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 1;
user root root;
pid {run}/nginx.pid;
error_log {run}/nginx-error.log notice;
events {{ worker_connections 64; }}
http {{
    log_format main '$remote_addr - $remote_user [$time_local] "$request" '
                    '$status $body_bytes_sent "$http_referer" '
                    '"$http_user_agent" "$http_x_forwarded_for"';
    access_log {logs}/access.log main;
    client_body_temp_path {run}/body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;
    server {{
        listen 127.0.0.1:{port};
        location /ok/ {{ return 200 "ok"; }}
        location / {{ return 404; }}
    }}
}}
"""

# fail2ban cuts the date out of a line before its failregex sees it.
FILTER = """\
[Definition]
failregex = ^<HOST> \\S+ \\S+ \\[\\] "[A-Z]+ [^"]*" 404 
ignoreregex =
"""

LINE = re.compile(r'^(\S+) - (\S+) \[([^\]]+)\] "GET /(ok|probe)/(\d+) '
                  r'HTTP/1\.1" (\d{3}) \d+ "[^"]*" "[^"]*" "([^"]*)"$')
HOLD = re.compile(r'^(\S+): (\d+) address(?:es)? held \(request (\w+)\) '
                  r'from (\S+) until (\S+?)( \(ended\))?, set (.*), '
                  r'reason: (.*)$')


def ensure_fail2ban(t):
    def have():
        return shutil.which("fail2ban-server") and \
            shutil.which("fail2ban-client")
    if have():
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    out = b""
    try:
        for argv in (["apt-get", "install", "-y", "-q", "fail2ban"],
                     ["apt-get", "update", "-q"],
                     ["apt-get", "install", "-y", "-q", "fail2ban"]):
            p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=900)
            out = p.stdout + p.stderr
            if have():
                break
    except (OSError, subprocess.TimeoutExpired) as e:
        out = str(e).encode()
    if not have():
        t.fail("fail2ban is not installed and apt-get install -y fail2ban "
               "did not install it: %s" % out.decode(errors="replace")[-400:])
        t.done()
    t.info("installed fail2ban with apt-get")


def listens(port):
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        return True
    except OSError:
        return False


def get(port, path, xff=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    conn.request("GET", path, headers={"X-Forwarded-For": xff} if xff
                 else {})
    r = conn.getresponse()
    r.read()
    conn.close()
    return r.status


def holds(conf, now=None):
    """`lethe hold --list` as [dict]."""
    args = ["-c", conf] + (["--now", str(int(now))] if now else []) + \
        ["hold", "--list"]
    r = L.run(args, timeout=60)
    if r.rc != 0:
        raise Fail("hold --list: exit %s\n%s" % (r.rc, r.show()))
    out = []
    for ln in r.lines():
        if ln == "no holds":
            continue
        m = HOLD.match(ln)
        if not m:
            raise Fail("hold --list: a line not in the documented form: %r"
                       % ln)
        out.append({"id": m.group(1), "n": int(m.group(2)),
                    "hash": m.group(3), "from": L.iso_to_epoch(m.group(4)),
                    "until": L.iso_to_epoch(m.group(5)),
                    "ended": bool(m.group(6)), "set": m.group(7),
                    "reason": m.group(8)})
    return out


def of(hs, reason):
    return [h for h in hs if h["reason"] == reason]


def read_lines(logs):
    """Every line of every file in logs: [(file, line)]."""
    got = []
    for name in sorted(os.listdir(logs)):
        p = os.path.join(logs, name)
        if not os.path.isfile(p):
            continue
        data, _ = read_file(p)
        for ln in data.decode("latin-1").split("\n"):
            if ln:
                got.append((name, ln))
    return got


def masked(addr):
    a = ipaddress.ip_address(addr)
    n = ipaddress.ip_network("%s/%d" % (a, 16 if a.version == 4 else 32),
                             strict=False)
    return n.network_address.compressed


def census(t, logs, sent, held, when):
    """The independent reader: every request sent is on disk exactly once;
    the attacker's lines hold 127.0.0.1 full when held, masked otherwise;
    every other address is masked to the form computed here.  Returns the
    newest line time."""
    seen = {}
    newest = 0
    bad = 0
    for name, ln in read_lines(logs):
        m = LINE.match(ln)
        if not m:
            t.fail("%s: %s: a line the reader does not know: %r" % (
                when, name, ln[:200]), "unknown line")
            continue
        key = (m.group(4), int(m.group(5)))
        seen[key] = seen.get(key, 0) + 1
        tt = L.parse_clf_time(ln.encode("latin-1"))
        newest = max(newest, tt or 0)
        addr = sent.get(key)
        if addr is None:
            t.fail("%s: %s: request %s/%d was never sent" % ((when, name) +
                                                           key))
            continue
        ra, xff = m.group(1), m.group(7)
        if addr == ATTACKER:
            want_ra = ATTACKER if held else masked(ATTACKER)
            want_xff = "-"
        else:
            want_ra = want_xff = masked(addr)
        if ra != want_ra or xff != want_xff:
            bad += 1
            t.fail("%s: %s: request %s/%d from %s: remote_addr %r, "
                   "X-Forwarded-For %r; expected %r, %r" % (
                       (when, name) + key + (addr, ra, xff, want_ra,
                                             want_xff)), when + " address")
    for key in sent:
        if seen.get(key, 0) != 1:
            t.fail("%s: request %s/%d is on disk %d times, expected once" % (
                (when,) + key + (seen.get(key, 0),)), when + " count")
    n_att = sum(1 for k in sent if sent[k] == ATTACKER)
    t.info("%s: %d lines, each once; %d of the attacker %s, %d of %d "
           "other addresses %s" % (
               when, len(sent), n_att, "full" if held else "masked",
               len(sent) - n_att, len(set(sent.values())) - 1,
               "masked" if not bad else "(%d wrong)" % bad))
    return newest


def test(t, root):
    nginx = NX.ensure_nginx(NAME)
    ensure_fail2ban(t)
    lethe = L.LETHE
    run = os.path.join(root, "run")
    logs = os.path.join(root, "logs")
    state = os.path.join(root, "state")
    f2b = os.path.join(root, "f2b")
    for d in (run, logs, os.path.join(f2b, "action.d"),
              os.path.join(f2b, "filter.d")):
        os.makedirs(d, 0o755)
        os.chmod(d, 0o755)
    live = os.path.join(logs, "access.log")
    empty = os.path.join(root, "perm.log")
    open(empty, "w").close()
    pidfile = os.path.join(run, "nginx.pid")

    conf = os.path.join(root, "lethe.conf")
    with open(conf, "w") as f:
        f.write("[global]\nstate_dir = %s\n\n"
                "[web]\nlogs = %s\nformat = main\nwindow = %ds\n"
                "mask_early = 1s\nrotate = 1h\nreopen = signal USR1 %s\n"
                "settle = 1s\ncompress_after = off\nretain = 1d\n" % (
                    state, live, WINDOW, pidfile))
    r = L.run(["-c", conf, "check"])
    if r.rc != 0:
        raise Fail("the test's lethe.conf:\n" + r.show())

    # nginx
    port = NX.free_port()
    nconf = os.path.join(root, "nginx.conf")
    with open(nconf, "w") as f:
        f.write(NGINX_CONF.format(run=run, logs=logs, port=port))
    ng = start([nginx, "-e", os.path.join(run, "nginx-error.log"), "-p",
                root, "-c", nconf], stdin=subprocess.DEVNULL,
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: ng.poll() is not None or (
        os.path.exists(pidfile) and os.path.exists(live)), 30,
        "nginx to start")
    if ng.poll() is not None:
        raise Fail("nginx exited with %s" % ng.returncode)
    wait_until(lambda: listens(port), 30, "nginx on 127.0.0.1:%d" % port)

    # fail2ban, with its own config dir
    for n in ("fail2ban.conf", "jail.conf", "paths-common.conf",
              "paths-debian.conf"):
        shutil.copy(os.path.join("/etc/fail2ban", n), f2b)
    shutil.copy(ACTION, os.path.join(f2b, "action.d"))
    sock = os.path.join(run, "f2b.sock")
    f2blog = os.path.join(root, "fail2ban.log")
    with open(os.path.join(f2b, "fail2ban.local"), "w") as f:
        f.write("[Definition]\nloglevel = DEBUG\nlogtarget = %s\n"
                "socket = %s\npidfile = %s\ndbfile = :memory:\n"
                "allowipv6 = auto\n" % (f2blog, sock,
                                        os.path.join(run, "f2b.pid")))
    with open(os.path.join(f2b, "action.d", "lethe-hold.local"), "w") as f:
        f.write("[Init]\nlethe = %s\nconfig = %s\n" % (lethe, conf))
    with open(os.path.join(f2b, "filter.d", "lethe-e2e-404.conf"),
              "w") as f:
        f.write(FILTER)
    with open(os.path.join(f2b, "jail.local"), "w") as f:
        f.write("[DEFAULT]\nignoreself = false\nignoreip =\n"
                "backend = polling\nbanaction = lethe-hold\n\n"
                "[%s]\nenabled = true\nfilter = lethe-e2e-404\n"
                "logpath = %s\nmaxretry = %d\nfindtime = 120\n"
                "bantime = %d\n\n"
                "[perm]\nenabled = true\nfilter = lethe-e2e-404\n"
                "logpath = %s\nbantime = -1\nbanaction = dummy\n"
                "action = %%(action_)s\n         lethe-hold\n" % (
                    JAIL, live, MAXRETRY, BANTIME, empty))
    # perm as README shows it: lethe-hold beside the firewall action,
    # here fail2ban's dummy (it writes +ADDR, -ADDR to a file).
    shutil.copy("/etc/fail2ban/action.d/dummy.conf",
                os.path.join(f2b, "action.d"))
    dummy = os.path.join(run, "dummy.bans")
    with open(os.path.join(f2b, "action.d", "dummy.local"), "w") as f:
        f.write("[Init]\ntarget = %s\n" % dummy)

    def client(*args, timeout=60):
        p = subprocess.run(["fail2ban-client", "-c", f2b, "-s", sock] +
                           list(args), stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout)
        return p.returncode, (p.stdout + p.stderr).decode(errors="replace")

    def f2b_tail(n=30):
        try:
            with open(f2blog, errors="replace") as f:
                ls = f.read().splitlines()
        except FileNotFoundError:
            ls = []
        return "\n".join("    | " + x for x in ls[-n:])

    env = dict(os.environ, PYTHONNOUSERSITE="1")
    with open(os.path.join(root, "fail2ban.out"), "wb") as out:
        fb = start(["fail2ban-server", "-c", f2b, "-s", sock, "-p",
                    os.path.join(run, "f2b.pid"), "-x", "-f", "start"],
                   stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env)

    def jails_up():
        if fb.poll() is not None:
            return True
        rc, out = client("status")
        return rc == 0 and JAIL in out and "perm" in out
    wait_until(jails_up, 60, "fail2ban's jails", interval=0.5)
    if fb.poll() is not None:
        raise Fail("fail2ban-server exited with %s:\n%s\n%s" % (
            fb.returncode, open(os.path.join(root, "fail2ban.out")).read(),
            f2b_tail()))
    t0 = time.time()

    # Traffic: ordinary clients, a scanner below maxretry, the attacker.
    sent = {}
    k = 0
    for rnd in range(3):
        for a in CLIENTS:
            sent[("ok", k)] = a
            if get(port, "/ok/%d" % k, a) != 200:
                raise Fail("GET /ok/%d: not 200" % k)
            k += 1
    for _ in range(MAXRETRY - 1):
        sent[("probe", k)] = SCANNER
        get(port, "/probe/%d" % k, SCANNER)
        k += 1
    for _ in range(MAXRETRY):
        sent[("probe", k)] = ATTACKER
        if get(port, "/probe/%d" % k) != 404:
            raise Fail("GET /probe/%d: not 404" % k)
        k += 1
    t_attack = time.time()
    reason = "fail2ban %s" % JAIL

    def banned():
        return of(holds(conf), reason)
    hs = wait_until(banned, 60, "fail2ban to ban %s and lethe-hold to hold "
                    "it (a hold with reason %r)" % (ATTACKER, reason),
                    interval=0.3)
    t_seen = time.time()
    rc, out = client("status", JAIL)
    t.check(rc == 0 and re.search(r"Banned IP list:\s*%s\s*$" %
                                  re.escape(ATTACKER), out, re.M),
            "fail2ban-client status %s: %s not listed as banned:\n%s" % (
                JAIL, ATTACKER, out))
    t.info("banned and held %.1f s after the 3rd 404" % (t_seen - t_attack))
    allh = holds(conf)
    t.check(len(allh) == 1 and len(hs) == 1,
            "hold --list after the ban: %d holds, expected 1: %s" % (
                len(allh), allh))
    h = hs[0]
    t.check(h["n"] == 1 and not h["ended"] and h["set"] == "(every set)",
            "the hold: %s" % h)
    # until = the action's start + bantime: after the 3rd 404 (whose
    # line time fail2ban bans from), before we saw the hold.
    t.check(int(t_attack) - 2 + BANTIME <= h["until"] <= t_seen + 2 +
            BANTIME, "the hold ends at %s, expected the ban's end: %s..%s" %
            (L.epoch_to_iso(h["until"]),
             L.epoch_to_iso(int(t_attack) - 2 + BANTIME),
             L.epoch_to_iso(int(t_seen) + 2 + BANTIME)))
    r = L.run(["-c", conf, "find", "--json", ATTACKER])
    try:
        fj = json.loads(r.out)
    except ValueError:
        fj = {}
    t.check(r.rc == 0 and fj.get("request") == h["hash"] and
            fj.get("full") == MAXRETRY,
            "find --json %s: exit %s, expected request %s (the hold's) and "
            "%d full lines:\n%s" % (ATTACKER, r.rc, h["hash"], MAXRETRY,
                                    r.show()))

    # Past the window, the hold in force.
    newest = max(L.parse_clf_time(ln.encode("latin-1")) or 0
                 for _, ln in read_lines(logs))
    p1 = newest + WINDOW + 2
    if p1 + 2 > h["until"]:
        raise Fail("the hold (until %s) ends too soon after the newest line "
                   "(%s) for a time past the window with the hold in force"
                   % (L.epoch_to_iso(h["until"]), L.epoch_to_iso(newest)))
    r = L.run(["--now", str(p1), "-c", conf, "once"], timeout=120)
    t.check(r.rc == 0 and any(x.startswith("mask ") for x in r.lines()),
            "once --now (window passed, hold in force): exit %s, no mask:\n%s"
            % (r.rc, r.show()))
    t.info("once --now newest+%ds: %s" % (WINDOW + 2, "; ".join(r.lines())))
    census(t, logs, sent, True, "hold in force")
    r = L.run(["--now", str(p1), "-c", conf, "audit"], timeout=120)
    t.check(r.rc == 0 and re.search(
        r"%d lines past the window held full by an incident hold" %
        MAXRETRY, r.out), "audit with the hold in force: exit %s, not "
        "'%d lines ... held':\n%s" % (r.rc, MAXRETRY, r.show()))

    # A permanent ban: held for holdmax; unbanip releases it.
    preason = "fail2ban perm"
    tb = time.time()
    rc, out = client("set", "perm", "banip", PERM_ADDR)
    t.check(rc == 0, "banip %s: exit %d: %s" % (PERM_ADDR, rc, out))
    ph = wait_until(lambda: of(holds(conf), preason), 30,
                    "the perm ban's hold", interval=0.3)
    t.check(len(ph) == 1 and tb - 2 + HOLDMAX <= ph[0]["until"] <=
            time.time() + 2 + HOLDMAX and not ph[0]["ended"],
            "bantime = -1: expected one hold until now + holdmax (%s), got "
            "%s" % (L.epoch_to_iso(int(tb) + HOLDMAX), ph))
    try:
        dl = open(dummy).read().split()
    except FileNotFoundError:
        dl = []
    t.check("+" + PERM_ADDR in dl, "perm: the firewall action beside "
            "lethe-hold (dummy) did not ban %s: %s" % (PERM_ADDR, dl))
    # An administrator's own hold of that address outlives the unban.
    r = L.run(["-c", conf, "hold", PERM_ADDR, "--until", "+2d", "--reason",
               "incident by hand"], timeout=60)
    t.check(r.rc == 0, "a hold by hand: exit %s:\n%s" % (r.rc, r.show()))
    rc, out = client("set", "perm", "unbanip", PERM_ADDR)
    t.check(rc == 0, "unbanip %s: exit %d: %s" % (PERM_ADDR, rc, out))
    try:
        ph = wait_until(lambda: [x for x in of(holds(conf), preason)
                                 if x["ended"]], 30,
                        "unbanip to release the perm hold", interval=0.3)
        t.check(len(ph) == 1 and ph[0]["until"] <= time.time() + 1,
                "after unbanip: %s" % ph)
        mine = of(holds(conf), "incident by hand")
        t.check(len(mine) == 1 and not mine[0]["ended"],
                "fail2ban's unban ended a hold made by hand: %s" % mine)
        r = L.run(["-c", conf, "hold", "--release", mine[0]["id"]],
                  timeout=60)
        t.check(r.rc == 0, "release by id: exit %s" % r.rc)
    except Fail as e:
        t.fail("%s: %s\n%s" % (e, of(holds(conf), preason), f2b_tail()))

    # The ban of 127.0.0.1 ends by itself; the unban releases the hold.
    def unbanned():
        x = of(holds(conf), reason)
        return x if x and x[0]["ended"] else None
    try:
        e = wait_until(unbanned, BANTIME + 90, "the ban of %s to end and "
                       "its hold with it" % ATTACKER, interval=0.5)
        t.check(e[0]["until"] <= h["until"] and e[0]["id"] == h["id"],
                "the hold after the unban: %s (was %s)" % (e[0], h))
    except Fail as err:
        t.fail("%s\n%s" % (err, f2b_tail()))
    wait_until(lambda: "Unban %s" % ATTACKER in open(f2blog).read(), 30,
               "fail2ban's unban of %s" % ATTACKER)
    rc, out = client("status", JAIL)
    t.check(rc == 0 and re.search(r"Currently banned:\s*0\s*$", out, re.M),
            "fail2ban-client status %s after the ban: %s" % (JAIL, out))
    log = open(f2blog, errors="replace").read()
    tail = log[log.find("Unban %s" % ATTACKER):]
    t.check(re.search(r"stdout: 'hold %s released" % re.escape(h["id"]),
                      tail), "fail2ban's unban of %s did not run lethe's "
            "hold --release (no 'hold %s released' in its log):\n%s" % (
                ATTACKER, h["id"], f2b_tail()))
    t.info("ban of %s ended %.0f s after it began; hold released" % (
        ATTACKER, time.time() - t_seen))
    p2 = max(int(time.time()), p1) + 1
    r = L.run(["--now", str(p2), "-c", conf, "once"], timeout=120)
    t.check(r.rc == 0 and any(x.startswith("mask ") for x in r.lines()),
            "once after the release: exit %s, no mask:\n%s" % (r.rc,
                                                               r.show()))
    census(t, logs, sent, False, "released")
    r = L.run(["--now", str(p2), "-c", conf, "audit"], timeout=120)
    t.check(r.rc == 0 and "held" not in r.out,
            "audit after the release: exit %s:\n%s" % (r.rc, r.show()))
    left = holds(conf)
    t.check(not of(left, reason) and not [x for x in left if not
                                          x["ended"]],
            "hold --list after once: %s (the ended holds should be gone)"
            % left)

    # fail2ban's stop leaves the holds to their own end.
    rc, out = client("set", "perm", "banip", PERM_ADDR)
    wait_until(lambda: [x for x in of(holds(conf), preason)
                        if not x["ended"]], 30, "the perm hold again",
               interval=0.3)
    rc, out = client("stop")
    t.check(rc == 0, "fail2ban-client stop: exit %d: %s" % (rc, out))
    try:
        fb.wait(30)
    except subprocess.TimeoutExpired:
        t.fail("fail2ban-server did not stop in 30 s")
    ph = [x for x in of(holds(conf), preason) if not x["ended"]]
    t.check(len(ph) == 1, "after fail2ban's stop the perm hold should "
            "stay in force (actionflush): %s" % of(holds(conf), preason))

    errs = [x for x in open(f2blog, errors="replace").read().splitlines()
            if " ERROR " in x or "Failed to execute" in x]
    t.check(not errs, "fail2ban logged errors:\n" + "\n".join(errs[:10]))
    t.info("%d requests, %.0f s with fail2ban" % (len(sent),
                                                 time.time() - t0))


def main():
    t = L.Test(NAME)
    S.need_root(t, "nginx and fail2ban as root, apt-get")
    root = t.mkdtemp()
    try:
        test(t, root)
    except Fail as e:
        t.fail(str(e))
    finally:
        for p in procs:
            stop(p, timeout=15)
    t.done()


if __name__ == "__main__":
    main()
