#!/usr/bin/env python3
"""56-sender: daemon/sender.c, the forwarded stream's transport, against a
real rsyslogd (rsysloglib.py), through build/sender-drive (the caller's
part: on each break it goes back sender_unacked() messages, backs off,
reconnects).

- relp://: N messages (20,000, sent over 2 s) arrive complete and in
  order (seq 1..N) while rsyslogd is killed with SIGKILL mid-stream and
  restarted on the same port; none lost, duplicates no more than the unacknowledged count
  at the break (at most the window, 128);
- tcp://: the same with a clean restart (SIGTERM); unix:: with SIGKILL;
- relp:// to a receiver that stops reading (SIGSTOP): the send gives up
  within the bounds (no hang), and after a kill and restart nothing is
  lost;
- relp:// over TLS (certificates made with openssl): every message
  arrives; a receiver whose certificate the CA did not sign is refused;
- the figures: messages/s and CPU per 100,000 messages over RELP on
  loopback (the drive's and rsyslogd's), as NOTE lines.

Every message's header and structured data are checked as rsyslog parsed
them (APP-NAME, MSGID, PRI, file, seq, the line).  Needs rsyslog and
rsyslog-relp (tests/deps.sh); skips without them.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lethelib import LETHE, Test                        # noqa: E402
from passlib import count                               # noqa: E402
import proclib                                          # noqa: E402
from proclib import Fail                                # noqa: E402
import rsysloglib                                       # noqa: E402

WINDOW = 128            # SENDER_RELP_WINDOW
BOUND = 2 * 5 + 5       # a send or connect gives up within 2 timeouts
BREAK_RE = re.compile(r"^break: seq (\d+) unacked (\d+): (.*)$")
SUM_RE = re.compile(r"^(sent|NOT sent) (\d+) messages, (\d+) breaks, "
                    r"(\d+) resent, ([\d.]+) s, user ([\d.]+) s, "
                    r"sys ([\d.]+) s$")


def line_text(i):
    return "192.0.0.0 - - [01/Dec/2025:12:00:00 +0000] \"GET /seq/%d " \
           "HTTP/1.1\" 200 %d \"-\" \"drive \\\"q\\\" ]\"" % (i, i % 997)


# The sanitizer pass: leaks inside librelp 1.11 and GnuTLS are theirs.
SUPP = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                    "lsan-librelp.supp")
ENV = dict(os.environ, LSAN_OPTIONS="suppressions=%s:print_suppressions=0:"
           "%s" % (SUPP, os.environ.get("LSAN_OPTIONS", "")))


class Drive:
    """sender-drive URL, fed lines 1..n from a thread; its output read as
    it comes (breaks are seen while it runs)."""

    def __init__(self, url, n, args=()):
        exe = os.path.join(os.path.dirname(LETHE), "sender-drive")
        if not os.access(exe, os.X_OK):
            raise Fail("%s missing (make %s)" % (exe, exe))
        self.n = n
        self.lines = []
        self.t0 = time.monotonic()
        self.p = proclib.start([exe] + list(args) + [url],
                               stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, env=ENV)
        self.feeder = threading.Thread(target=self._feed, daemon=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.feeder.start()
        self.reader.start()

    def _feed(self):
        try:
            data = "".join(line_text(i) + "\n" for i in range(1, self.n + 1))
            self.p.stdin.write(data.encode())
            self.p.stdin.close()
        except BrokenPipeError:
            pass

    def _read(self):
        for raw in self.p.stdout:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def wait(self, timeout):
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(10)
            self.reader.join(5)
            raise Fail("sender-drive still running after %d s:\n%s" % (
                timeout, "\n".join(self.lines[-20:])))
        self.reader.join(10)
        return self.p.returncode

    def breaks(self):
        return [(int(m.group(1)), int(m.group(2)), m.group(3))
                for m in map(BREAK_RE.match, self.lines) if m]

    def summary(self):
        for l in reversed(self.lines):
            m = SUM_RE.match(l)
            if m:
                return {"ok": m.group(1) == "sent", "n": int(m.group(2)),
                        "breaks": int(m.group(3)),
                        "resent": int(m.group(4)),
                        "secs": float(m.group(5)),
                        "user": float(m.group(6)),
                        "sys": float(m.group(7))}
        return None

    def output(self):
        return "\n".join("    | " + l for l in self.lines[-30:])


def analyse(t, what, msgs, n, breaks, window=None):
    """Checks what arrived against 1..n; returns (lost, dups)."""
    seen = {}
    bad = 0
    for m in msgs:
        s = m.get("seq")
        if s is None or not 1 <= s <= n:
            bad += 1
            t.fail("%s: a message that is not one of ours: %r" % (what, m),
                   kind=what + " foreign")
            continue
        seen[s] = seen.get(s, 0) + 1
        want = {"msgid": "drive", "app": "lethe", "pri": "134",
                "file": "drive", "procid": "drive", "msg": line_text(s)}
        for k, v in want.items():
            if m.get(k) != v:
                bad += 1
                t.fail("%s: seq %d: %s is %r, want %r" % (
                    what, s, k, m.get(k), v), kind=what + " field " + k)
    lost = [i for i in range(1, n + 1) if i not in seen]
    dups = sum(c - 1 for c in seen.values() if c > 1)
    unacked = sum(u for _, u, _ in breaks)
    # In order: each seq is the next new one, or, after a break, a step
    # back of at most what was unacknowledged there.
    nxt, jumps, backs = 1, 0, 0
    most = max([u for _, u, _ in breaks] + [0])
    for m in msgs:
        s = m.get("seq")
        if s is None:
            continue
        if s == nxt:
            nxt += 1
        elif s > nxt:
            jumps += 1
            nxt = s + 1
        elif s < nxt - most:
            backs += 1
    t.info("%s: %d messages arrived for %d sent: %d lost, %d duplicated; "
           "%d breaks, unacknowledged at them: %s" % (
               what, len(msgs), n, len(lost), dups, len(breaks),
               ", ".join(str(u) for _, u, _ in breaks) or "-"))
    t.check(not lost, "%s: %d messages lost (first: %s)" % (
        what, len(lost), lost[:10]))
    t.check(dups <= unacked, "%s: %d duplicates, more than the %d "
            "unacknowledged at the breaks" % (what, dups, unacked))
    if window is not None:
        t.check(all(u <= window for _, u, _ in breaks),
                "%s: unacknowledged above the window %d at a break: %s" % (
                    what, window, breaks))
    t.check(jumps == 0 and backs == 0, "%s: out of order: %d jumps ahead, "
            "%d steps back past the unacknowledged" % (what, jumps, backs))
    return lost, dups


def rate(n):
    """Messages a second for n to take 2 s: the receiver is signalled
    while they flow, in either pass."""
    return str(max(1000, n // 2))


def restart_case(t, rs, what, url, n, sig, window=None, args=()):
    """n messages over 2 s; the receiver signalled (sig) when half of
    them arrived, and started again on the same port."""
    before = rs.count()
    d = Drive(url, n, ["-r", rate(n)] + list(args))
    try:
        rs.wait_count(before + n // 2, 60, "%s: half the messages" % what)
    except Fail:
        d.wait(5)
        raise Fail("%s: the first half did not arrive:\n%s\n%s" % (
            what, d.output(), rs.tail()))
    rs.kill(sig)
    t.info("%s: rsyslogd stopped (signal %d) at %d messages" % (
        what, sig, rs.count() - before))
    rs.start()
    rc = d.wait(120)
    s = d.summary()
    if not t.check(rc == 0 and s and s["ok"], "%s: sender-drive failed "
                   "(exit %s):\n%s" % (what, rc, d.output())):
        return
    breaks = d.breaks()
    t.check(len(breaks) >= 1, "%s: the restart was not seen as a break:\n%s"
            % (what, d.output()))
    for seq, u, err in breaks:
        t.info("%s: break at seq %d, %d unacknowledged: %s" % (
            what, seq, u, err))
    # Everything acknowledged (relp) or read (unix) is written: the file
    # is complete once the drive ends; tcp gets a moment.
    if rs.count() < before + n:
        try:
            rs.wait_count(before + n, 5)
        except Fail:
            pass
    analyse(t, what, rs.messages()[before:], n, breaks, window)


def stalled_case(t, rs, url, n):
    """relp: the receiver stops reading (SIGSTOP) mid-stream.  The sends
    give up within the bounds; then it is killed and restarted."""
    what = "relp, receiver stopped"
    before = rs.count()
    d = Drive(url, n, ["-r", rate(n)])
    rs.wait_count(before + n // 4, 60, "%s: a quarter" % what)
    rs.proc.send_signal(signal.SIGSTOP)
    t0 = time.monotonic()
    try:
        proclib.wait_until(lambda: d.breaks(), BOUND + 5,
                           "the drive's break on a stopped receiver")
        secs = time.monotonic() - t0
        t.info("%s: the send gave up after %.1f s: %s" % (
            what, secs, d.breaks()[0][2]))
        t.check(secs <= BOUND, "%s: the send took %.1f s to give up "
                "(bound %d s)" % (what, secs, BOUND))
    except Fail as e:
        t.fail("%s: %s (a hang):\n%s" % (what, e, d.output()))
    rs.kill(signal.SIGKILL)
    rs.start()
    rc = d.wait(120)
    if not t.check(rc == 0, "%s: sender-drive failed (exit %s):\n%s" % (
            what, rc, d.output())):
        return
    analyse(t, what, rs.messages()[before:], n, d.breaks(), WINDOW)


def make_certs(t, d):
    """A CA, a receiver certificate naming 127.0.0.1, a client one naming
    lethe-client, and a receiver certificate of another CA."""
    if not shutil.which("openssl"):
        return None
    os.makedirs(d, exist_ok=True)

    def ossl(*args):
        r = subprocess.run(["openssl"] + list(args), cwd=d,
                           capture_output=True, timeout=60)
        if r.returncode != 0:
            raise Fail("openssl %s: %s" % (" ".join(args),
                                           r.stderr.decode()[-500:]))

    for ca in ("ca", "otherca"):
        ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
             ca + ".key", "-out", ca + ".pem", "-days", "2", "-subj",
             "/CN=lethe test " + ca)
    for name, cn, ca in (("srv", "127.0.0.1", "ca"),
                         ("client", "lethe-client", "ca"),
                         ("bad", "127.0.0.1", "otherca")):
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write("subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\n"
                    % cn)
        ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout",
             name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn)
        ossl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem",
             "-CAkey", ca + ".key", "-CAcreateserial", "-out",
             name + ".pem", "-days", "2", "-extfile", name + ".ext")
    return {k: os.path.join(d, k) for k in (
        "ca.pem", "srv.pem", "srv.key", "client.pem", "client.key",
        "bad.pem", "bad.key")}


def tls_case(t, root, n):
    c = make_certs(t, os.path.join(root, "certs"))
    if c is None:
        t.note("openssl missing: the TLS cases did not run")
        return
    tlsarg = "%s,%s,%s" % (c["ca.pem"], c["client.pem"], c["client.key"])
    rs = rsysloglib.Rsyslog(root, tcp=False, unix=False, name="rs-tls",
                            tls=(c["ca.pem"], c["srv.pem"], c["srv.key"],
                                 "lethe-client")).start()
    d = Drive(rs.urls()["relp"], n, ["-T", tlsarg])
    rc = d.wait(120)
    if t.check(rc == 0, "relp over TLS: sender-drive failed (exit %s):\n%s"
               "\n%s" % (rc, d.output(), rs.tail())):
        analyse(t, "relp over TLS", rs.messages(), n, d.breaks(), WINDOW)
    rs.stop()
    # A receiver whose certificate another CA signed: refused, in bounds.
    bad = rsysloglib.Rsyslog(root, tcp=False, unix=False, name="rs-bad",
                             tls=(c["ca.pem"], c["bad.pem"], c["bad.key"],
                                  "lethe-client")).start()
    t0 = time.monotonic()
    d = Drive(bad.urls()["relp"], 1, ["-T", tlsarg, "-g", "1"])
    rc = d.wait(60)
    secs = time.monotonic() - t0
    out = "\n".join(d.lines)
    t.check(rc == 1 and "gave up: connect to relp://" in out,
            "relp over TLS, a certificate of another CA: not refused "
            "(exit %s):\n%s" % (rc, d.output()))
    t.check(secs < 3 * BOUND, "relp over TLS, refused: took %.1f s" % secs)
    t.check(bad.count() == 0, "relp over TLS: %d messages reached a "
            "receiver of another CA" % bad.count())
    t.info("relp over TLS, a certificate of another CA: %s" % (
        [l for l in d.lines if l.startswith("gave up")] or ["?"])[0])
    bad.stop()


def bench(t, rs, n):
    """n messages over RELP, unpaced: rate and CPU per 100,000."""
    before = rs.count()
    cpu0 = rs.cpu()
    d = Drive(rs.urls()["relp"], n, ["-q", "-P"])
    rc = d.wait(300)
    s = d.summary()
    if not t.check(rc == 0 and s and s["ok"], "bench: sender-drive "
                   "failed:\n%s" % d.output()):
        return
    rs.wait_count(before + n, 30)
    cpu1 = rs.cpu()
    per = 100000.0 / n
    t.note("bench: %d messages over RELP (window %d, loopback, one "
           "session): %.2f s, %.0f messages/s; per 100,000 messages: "
           "sender %.2f s CPU (user %.2f, sys %.2f), rsyslogd %s s CPU" % (
               n, WINDOW, s["secs"], n / s["secs"] if s["secs"] else 0,
               (s["user"] + s["sys"]) * per, s["user"] * per,
               s["sys"] * per,
               "%.2f" % ((cpu1 - cpu0) * per) if cpu0 is not None and
               cpu1 is not None else "?"))


def main():
    t = Test("56-sender")
    why = rsysloglib.available()
    if why:
        t.skip(why)
    root = t.mkdtemp()
    n = count(20000, 5000, "messages per restart case")
    nbench = count(100000, 20000, "messages of the bench")
    try:
        rs = rsysloglib.Rsyslog(root).start()
        urls = rs.urls()
        restart_case(t, rs, "relp, SIGKILL", urls["relp"], n,
                     signal.SIGKILL, WINDOW)
        restart_case(t, rs, "tcp, SIGTERM", urls["tcp"], n, signal.SIGTERM)
        restart_case(t, rs, "tcp, SIGTERM, flush every 50", urls["tcp"], n,
                     signal.SIGTERM, args=["-f", "50"])
        restart_case(t, rs, "unix, SIGKILL", urls["unix"], n,
                     signal.SIGKILL)
        restart_case(t, rs, "unix, SIGKILL, flush every 50", urls["unix"],
                     n, signal.SIGKILL, args=["-f", "50"])
        stalled_case(t, rs, urls["relp"], n)
        bench(t, rs, nbench)
        rs.stop()
        tls_case(t, root, count(2000, 500, "messages over TLS"))
    except Fail as e:
        t.fail(str(e))
    finally:
        for p in proclib.procs:
            proclib.stop(p, sig=signal.SIGKILL, timeout=10)
    t.done()


if __name__ == "__main__":
    main()
