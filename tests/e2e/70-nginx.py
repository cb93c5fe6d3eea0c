#!/usr/bin/env python3
"""A real nginx under rotation: no request lost, none duplicated, every
address masked after the window.

nginx (installed with apt-get when missing) serves 127.0.0.1 on a free
port with its own config in the temp dir: log_format main as nginx
documents it, the realip module trusting 127.0.0.1 for X-Forwarded-For.
lethe follows its access log with rotate = off, reopen = signal USR1
<nginx pidfile>, settle = 2s, compress_after = 5s; the test sends SIGUSR1
to lethe every 2 s while 4 keep-alive clients send requests (at least
20,000, for at least 12 s), each with its own path (/req/N) and client
address (X-Forwarded-For, IPv4 and IPv6 in turn).  Then: a last rotation,
every segment sealed and compressed, lethe and nginx stopped; an
independent reader (python gzip) finds every path exactly once, with its
address in full, and every file with the owner, group and mode nginx gave
access.log.  Then
`lethe once --now +8d` and `lethe audit --now +8d` (exit 0), and every
path is still there exactly once with both addresses masked (/16, /32).

    LETHE=/abs/path/to/lethe python3 tests/e2e/70-nginx.py
"""

import gzip
import http.client
import ipaddress
import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nginxlib as NX  # noqa: E402
import proclib  # noqa: E402
from proclib import Fail, LetheLog, read_file, stop, wait_until  # noqa: E402

NAME = "70-nginx"
MIN_REQUESTS = 20000    # at least this many requests
MIN_SECONDS = 12.0      # and for at least this long
MAX_REQUESTS = 400000
THREADS = 4
USR1_EVERY = 2.0        # seconds between two SIGUSR1 to lethe

ROTATED = re.compile(r'^lethe: rotated "(.*)" to "([^"/]*)"$')
SEALED = re.compile(r'^lethe: sealed "(.*)"$')
# (the new name is quoted in the contract, bare in lethe's output today)
COMPRESSED = re.compile(r'^lethe: ([a-z+]*compress[a-z+]*) "(.*)" to '
                        r'"?([^"/]*?)"?: (\d+) addresses masked$')
KNOWN = re.compile(r'^lethe: (rotated |sealed |\[\w+\]: reopen hook done|'
                   r'[a-z+]*compress|running: |no catalog yet|catalog: |'
                   r'rotating every live file now|stopping \(signal|'
                   r'stopped$)')
SEGMENT = re.compile(r'^access\.log-\d{8}T\d{4}Z(\.gz)?$')
# log_format main, as nginx documents it
LINE = re.compile(rb'^(\S+) - (\S+) \[([^\]]+)\] "GET /req/(\d+) HTTP/1\.1" '
                  rb'(\d{3}) (\d+) "([^"]*)" "([^"]*)" "([^"]*)"$')

def say(msg):
    print("%s: %s" % (NAME, msg), flush=True)


def client_addr(i):
    """Request i's client address: IPv4 for even i, IPv6 for odd; unique,
    host bits nonzero so that masking shows."""
    k = i // 2
    if i % 2 == 0:
        return "198.%d.%d.%d" % (18 + k // 62500 % 2, 1 + k // 250 % 250,
                                 1 + k % 250)
    return "2001:db8:%x:%x::%x" % (0x100 + k // 65536, k % 65536, 7 + k % 9)


def masked(addr):
    ip = ipaddress.ip_address(addr)
    bits = 16 if ip.version == 4 else 32
    return ipaddress.ip_network("%s/%d" % (ip, bits),
                                strict=False).network_address


class Load:
    """THREADS keep-alive clients sending requests 0, 1, 2, ... between
    them until at least MIN_REQUESTS were sent and MIN_SECONDS passed (so
    that the rotations fall among them on a fast machine too), or
    MAX_REQUESTS were sent."""

    def __init__(self, port):
        self.port = port
        self.n = 0              # requests handed out: 0..n-1
        self.errors = []        # (i, what): may or may not be logged
        self.ok = 0
        self.lock = threading.Lock()
        self.t0 = None
        self.threads = [threading.Thread(target=self.run, daemon=True)
                        for _ in range(THREADS)]

    def next(self):
        with self.lock:
            if self.n >= MAX_REQUESTS or (
                    self.n >= MIN_REQUESTS and
                    time.monotonic() - self.t0 >= MIN_SECONDS):
                return None
            self.n += 1
            return self.n - 1

    def run(self):
        conn = None
        ok = 0
        while True:
            i = self.next()
            if i is None:
                break
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                      timeout=20)
                conn.request("GET", "/req/%d" % i,
                             headers={"X-Forwarded-For": client_addr(i)})
                r = conn.getresponse()
                body = r.read()
                if r.status != 200 or body != b"ok":
                    raise Fail("status %d, body %r" % (r.status, body[:40]))
                ok += 1
            except Exception as e:      # noqa: BLE001 (recorded, reported)
                with self.lock:
                    self.errors.append((i, repr(e)))
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()
        with self.lock:
            self.ok += ok

    def start(self):
        self.t0 = time.monotonic()
        for t in self.threads:
            t.start()

    def alive(self):
        return any(t.is_alive() for t in self.threads)


def scan(logs, n, uncertain, after_mask):
    """Read every file of the set.  Returns (fails, counts, files, gz)."""
    fails = []
    counts = [0] * n
    bad = []
    nfiles = ngz = 0
    for name in sorted(os.listdir(logs)):
        if name != "access.log" and not SEGMENT.match(name):
            fails.append("unexpected file in the log directory: %s" % name)
            continue
        data, gz = read_file(os.path.join(logs, name))
        nfiles += 1
        ngz += gz
        if name.endswith(".gz") != gz:
            fails.append("%s: gzip content %s, name says %s" % (
                name, gz, name.endswith(".gz")))
        if data and not data.endswith(b"\n"):
            bad.append("%s: ends in a partial line %r" % (name, data[-80:]))
        for ln in data.split(b"\n")[:-1] if data else []:
            m = LINE.match(ln)
            if not m:
                bad.append("%s: malformed line %r" % (name, ln[:200]))
                continue
            i = int(m.group(4))
            if i >= n:
                bad.append("%s: request %d was never sent" % (name, i))
                continue
            counts[i] += 1
            sent = client_addr(i)
            try:
                ra = ipaddress.ip_address(m.group(1).decode())
                xff = ipaddress.ip_address(m.group(9).decode())
            except ValueError:
                bad.append("%s: request %d: addresses %r %r do not parse" % (
                    name, i, m.group(1), m.group(9)))
                continue
            want = masked(sent) if after_mask else ipaddress.ip_address(sent)
            if ra != want or xff != want:
                bad.append("%s: request %d: remote_addr %s, "
                           "X-Forwarded-For %s; expected %s (sent %s)" % (
                               name, i, ra, xff, want, sent))
            if m.group(5) != b"200":
                bad.append("%s: request %d: status %s" % (
                    name, i, m.group(5).decode()))
    lost = [i for i in range(n) if counts[i] == 0 and i not in uncertain]
    dup = [i for i in range(n) if counts[i] > 1]
    if lost:
        fails.append("%d requests lost, e.g. %s" % (
            len(lost), ", ".join(map(str, lost[:20]))))
    if dup:
        fails.append("%d requests duplicated, e.g. %s" % (
            len(dup), ", ".join("%d (x%d)" % (i, counts[i])
                                for i in dup[:20])))
    for b in bad[:10]:
        fails.append(b)
    if len(bad) > 10:
        fails.append("... %d more bad lines" % (len(bad) - 10))
    return fails, counts, nfiles, ngz, len(lost), len(dup), len(bad)


def test(root, lethe, nginx):
    fails = []
    state = os.path.join(root, "state")
    ngx = NX.Nginx(nginx, root)
    ng, port, logs, live, pidfile = (ngx.proc, ngx.port, ngx.logs, ngx.live,
                                     ngx.pidfile)

    conf = os.path.join(root, "lethe.conf")
    with open(conf, "w") as f:
        f.write("[global]\nstate_dir = %s\nsweep = 10s\n\n"
                "[web]\nlogs = %s\nformat = main\nwindow = 7d\n"
                "rotate = off\nreopen = signal USR1 %s\nsettle = 2s\n"
                "compress_after = 5s\nmask_early = 1m\nretain = 90d\n" % (
                    state, live, pidfile))
    log = LetheLog(os.path.join(root, "lethe.err"))
    env = dict(os.environ)
    for k in ("NOTIFY_SOCKET", "JOURNAL_STREAM", "LETHE_TEST_CLOCK_RATE"):
        env.pop(k, None)
    lp, _ = proclib.start_lethe([lethe, "-c", conf, "run"], log)

    def nrotated():
        return sum(1 for l in log.lines() if ROTATED.match(l))

    st0 = os.stat(live)

    # ---- the load, with a SIGUSR1 to lethe every USR1_EVERY seconds
    load = Load(port)
    load.start()
    t0 = load.t0
    usr1 = 0
    next_usr1 = t0 + USR1_EVERY
    while load.alive():
        if time.monotonic() - t0 > 150:
            raise Fail("the load did not finish in 150 s (%d errors)" %
                       len(load.errors))
        if lp.poll() is not None:
            raise Fail("lethe exited with %s during the load:\n%s" % (
                lp.returncode, log.tail()))
        if time.monotonic() >= next_usr1:
            lp.send_signal(signal.SIGUSR1)
            usr1 += 1
            next_usr1 += USR1_EVERY
        time.sleep(0.05)
    el = time.monotonic() - t0
    rot_during = nrotated()
    n = load.n
    say("load: %d requests from %d keep-alive clients in %.1f s (%.0f/s), "
        "%d errors; %d SIGUSR1 to lethe, %d rotations" % (
            n, THREADS, el, n / el, len(load.errors), usr1,
            rot_during))
    uncertain = set(i for i, _ in load.errors)
    if load.errors:
        say("HTTP errors (the request may or may not be logged; those paths "
            "may be missing): %s" % load.errors[:5])
    if len(load.errors) > n // 100:
        fails.append("%d of %d requests failed (%s)" % (
            len(load.errors), n, load.errors[:3]))
    if load.ok + len(load.errors) != n:
        fails.append("test bug: %d requests handed out, %d answered, %d "
                     "failed" % (n, load.ok, len(load.errors)))
    if rot_during < 2:
        fails.append("only %d rotations during the load" % rot_during)

    # ---- a last rotation; then every segment sealed and compressed.  (nginx
    # logs a request after its response, so a line may still land in the
    # live file after the clients are done: while the live file is not
    # empty, another SIGUSR1 every USR1_EVERY seconds.)
    last_usr1 = [0.0]

    def drained():
        if os.stat(live).st_size > 0 and \
                time.monotonic() - last_usr1[0] >= USR1_EVERY:
            lp.send_signal(signal.SIGUSR1)
            last_usr1[0] = time.monotonic()
        rot, sealed, comp = set(), set(), set()
        for l in log.lines():
            m = ROTATED.match(l)
            if m:
                rot.add(m.group(2))
            m = SEALED.match(l)
            if m:
                sealed.add(os.path.basename(m.group(1)))
            m = COMPRESSED.match(l)
            if m:
                comp.add(os.path.basename(m.group(2)))
        try:
            size = os.stat(live).st_size
        except FileNotFoundError:
            size = -1
        drained.state = (size, sorted(rot - sealed), sorted(rot - comp))
        return size == 0 and rot <= sealed and rot <= comp
    drained.state = None
    try:
        wait_until(drained, 60, "every segment sealed and compressed",
                   interval=0.2)
    except Fail as e:
        size, unsealed, uncomp = drained.state
        raise Fail("%s: live file %d bytes; not sealed: %s; not compressed: "
                   "%s\n%s" % (e, size, unsealed, uncomp, log.tail()))
    rc = stop(lp)
    if rc != 0:
        fails.append("lethe: exit status %s after SIGTERM, expected 0" % rc)
    if "lethe: stopped" not in log.lines():
        fails.append("lethe did not log \"stopped\"")
    rc = stop(ng, signal.SIGQUIT)
    if rc != 0:
        say("note: nginx exit status %s after SIGQUIT" % rc)
    nrot = nrotated()
    other = [l for l in log.lines() if not KNOWN.match(l)]
    for l in other[:10]:
        say("lethe said: %s" % l)
    if len(other) > 10:
        say("... and %d more lines from lethe" % (len(other) - 10))

    # every file keeps the owner, group and mode nginx gave the first one
    want = (st0.st_uid, st0.st_gid, st0.st_mode & 0o7777)
    for name in sorted(os.listdir(logs)):
        st = os.lstat(os.path.join(logs, name))
        have = (st.st_uid, st.st_gid, st.st_mode & 0o7777)
        if have != want:
            fails.append("%s: uid/gid/mode %d/%d/%o, expected %d/%d/%o (as "
                         "nginx created access.log)" % ((name,) + have +
                                                        want))

    # ---- the independent reader: every path exactly once, full addresses
    f1, counts, nfiles, ngz, lost, dup, bad = scan(logs, n, uncertain,
                                                   False)
    say("after the load: %d requests, %d lines found, lost %d, duplicated "
        "%d, bad %d; %d rotations, %d files (%d segments, %d gzip)" % (
            n, sum(counts), lost, dup, bad, nrot, nfiles,
            nfiles - 1, ngz))
    fails += ["after the load: " + f for f in f1]

    # ---- eight days later: once, audit, every address masked
    outs = []
    for cmd in ("once", "audit"):
        r = subprocess.run([lethe, "-c", conf, "--now", "+8d", cmd],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env, timeout=120)
        out = (r.stdout + r.stderr).decode(errors="replace")
        outs.append("lethe %s --now +8d: exit %d\n%s" % (cmd, r.returncode,
                                                         out))
        if r.returncode != 0:
            fails.append("lethe %s --now +8d: exit %d, expected 0:\n%s" % (
                cmd, r.returncode, out[-3000:]))
    f2, counts, nfiles, ngz, lost, dup, bad = scan(logs, n, uncertain,
                                                   True)
    say("after once --now +8d: %d lines found, lost %d, duplicated %d, "
        "not masked or wrong %d; %d files (%d gzip)" % (
            sum(counts), lost, dup, bad, nfiles, ngz))
    fails += ["after once --now +8d: " + f for f in f2]
    if fails:
        say("lethe's log:\n%s" % log.tail(60))
        for o in outs:
            say(o[-3000:])
    return fails


def main():
    return proclib.main(NAME, "nginx as root, apt-get",
                        lambda root, lethe: test(root, lethe,
                                                 NX.ensure_nginx(NAME)))


if __name__ == "__main__":
    sys.exit(main())
