#!/usr/bin/env python3
"""Signals and sd_notify of `lethe run`.

a. NOTIFY_SOCKET (a path, and "@name"): READY=1, STATUS=..., on SIGHUP
   RELOADING=1 + MONOTONIC_USEC then READY=1, on SIGTERM STOPPING=1.
b. SIGHUP with a broken config: "reload failed", the old config keeps
   running (USR1 still rotates), `check` exits 1 naming CONF:LINE, the
   ExecReload line (check && kill -HUP) sends nothing; fixed: "reloaded".
c. SIGUSR1 rotates at once.
d. reopen = command /bin/false: logged and retried; the segment stays
   unsealed and plain; after switching to /bin/true and SIGHUP it is
   sealed and compressed.
e. SIGTERM while a 200 MB segment is being compressed: lethe stops within
   a few seconds, no temp file is left, the original is intact.
"""

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as D  # noqa: E402

D.need_lethe()
ck = D.Checks("74-signals")
NOW = "2026-06-01T10:00:00Z"
keep = []


def setup(tag, reopen, rotate="1h", compress_after="1h", extra=None):
    root, logs, state = D.mkroot("74-" + tag)
    conf = os.path.join(root, "lethe.conf")
    live = os.path.join(logs, "access.log")
    kv = {"logs": live, "format": "combined", "window": "7d",
          "rotate": rotate, "reopen": reopen, "settle": "5s",
          "compress_after": compress_after, "mask_early": "1h",
          "retain": "90d"}
    if extra:
        kv.update(extra)
    text = D.conf_text(state, [("web", kv)])
    D.write_conf(conf, text)
    return root, logs, conf, live, text


def some_lines(path, n, t0=None, start=0):
    t0 = t0 or D.iso_to_epoch(NOW) - 600
    with open(path, "a") as f:
        for i in range(start, start + n):
            g = time.gmtime(t0 + i)
            f.write('203.0.113.%d - - [%02d/%s/%04d:%02d:%02d:%02d +0000] '
                    '"GET /seq/%d HTTP/1.1" 200 5 "-" "ua"\n' % (
                        i % 250 + 1, g.tm_mday, D.MONTHS[g.tm_mon - 1],
                        g.tm_year, g.tm_hour, g.tm_min, g.tm_sec, i))


def segments(logs):
    return sorted(n for n in os.listdir(logs) if n.startswith("access.log-"))


# ------------------------------------------------------------------ a
def part_a():
    root, logs, conf, live, _ = setup("notify", "command /bin/true")
    some_lines(live, 5)
    dm = None
    try:
        for addr in ("path", "abstract"):
            if addr == "path":
                nt = D.Notify(root)
                sockname = nt.path
            else:
                import socket
                nt = D.Notify.__new__(D.Notify)
                nt.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                name = "lethe-e2e-%d" % os.getpid()
                nt.sock.bind("\0" + name)
                nt.msgs = []
                sockname = "@" + name
            dm = D.Daemon(conf, notify=sockname,
                          logfile=os.path.join(root, "lethe.log"))
            ck.check(nt.wait_for(r"^READY=1$", 15) is not None,
                     "a/%s: no READY=1 (got %r)" % (addr, nt.msgs))
            ck.check(dm.wait_for(r"^running: ", 5, fail=False) is not None,
                     "a/%s: no running: line" % addr)
            st = nt.wait_for(r"^STATUS=.+", 5)
            ck.check(st is not None, "a/%s: no STATUS= (got %r)" % (
                addr, nt.msgs))
            if addr == "path":
                print("a: STATUS: %r" % st)
            mk = nt.mark()
            before = time.monotonic()
            dm.signal(signal.SIGHUP)
            m = nt.wait_for(r"^RELOADING=1$", 10, start=mk)
            ck.check(m is not None, "a/%s: no RELOADING=1 after SIGHUP "
                     "(got %r)" % (addr, nt.msgs[mk:]))
            if m:
                u = re.search(r"^MONOTONIC_USEC=(\d+)$", m, re.M)
                ck.check(u is not None, "a/%s: RELOADING=1 without "
                         "MONOTONIC_USEC: %r" % (addr, m))
                if u:
                    us = int(u.group(1)) / 1e6
                    ck.check(before - 1 <= us <= time.monotonic() + 1,
                             "a/%s: MONOTONIC_USEC %.3f is not "
                             "CLOCK_MONOTONIC now (%.3f)" % (addr, us,
                                                             before))
                i = [x[1] for x in nt.msgs].index(m)
                ck.check(nt.wait_for(r"^READY=1$", 10, start=i + 1)
                         is not None, "a/%s: no READY=1 after the reload "
                         "(got %r)" % (addr, nt.msgs[mk:]))
            ck.check(dm.wait_for(r"^reloaded: 1 sets", 5, fail=False)
                     is not None, "a/%s: no 'reloaded: 1 sets'" % addr)
            mk = nt.mark()
            dm.signal(signal.SIGTERM)
            ck.check(nt.wait_for(r"^STOPPING=1$", 10, start=mk) is not None,
                     "a/%s: no STOPPING=1 after SIGTERM (got %r)" % (
                         addr, nt.msgs[mk:]))
            code, took = dm.stop()
            ck.check(code == 0, "a/%s: exit %s after SIGTERM" % (addr, code))
            dm = None
            nt.close()
        return True
    finally:
        if dm:
            dm.kill()
        shutil.rmtree(root, ignore_errors=True)


# ------------------------------------------------------------- b and c
def part_bc():
    root, logs, conf, live, text = setup("reload", None, rotate="1h")
    pidfile = os.path.join(root, "writer.pid")
    text = text.replace("reopen = None", "reopen = signal USR1 %s" % pidfile)
    D.write_conf(conf, text)
    clock = D.Clock(D.iso_to_epoch(NOW), 1)
    w = D.Writer(root, live, pidfile, 200, clock)
    dm = None
    try:
        dm = D.Daemon(conf, now=NOW, logfile=os.path.join(root, "lethe.log"))
        dm.ready(15)
        time.sleep(0.3)     # some lines to rotate (not readiness)
        # c. USR1 rotates at once
        mk = dm.mark()
        t = time.monotonic()
        dm.signal(signal.SIGUSR1)
        dm.wait_for(r'^rotated "%s" to "access\.log-' % re.escape(live), 5,
                    start=mk)
        dm.wait_for(r"^\[web\]: reopen hook done", 5, start=mk)
        print("c: USR1 -> rotated in %.3f s" % (time.monotonic() - t))
        dm.wait_for(r"^sealed ", 15, start=mk)
        # b. a broken config on HUP
        lines = text.split("\n")
        at = lines.index("[web]") + 2
        lines.insert(at - 1, "bogus_key = 1")
        D.write_conf(conf, "\n".join(lines))
        rc, out, err = D.run_cmd(["-c", conf, "check"])
        ck.check(rc == 1, "b: check of a broken config exit %d" % rc)
        ck.check("%s:%d:" % (conf, at) in out + err,
                 "b: check does not name %s:%d:\n%s%s" % (conf, at, out,
                                                          err))
        print("b: check says: %s" % (out + err).strip().split("\n")[0])
        mk = dm.mark()
        dm.signal(signal.SIGHUP)
        dm.wait_for(r"^reload failed: keeping the running configuration", 10,
                    start=mk)
        ck.check(dm.alive(), "b: lethe died on a broken config")
        ck.check(dm.count(r"bogus_key", start=mk) > 0,
                 "b: the reload failure does not name the bad key:\n%s" %
                 "\n".join(dm.texts(mk)))
        mk = dm.mark()
        time.sleep(0.2)
        dm.signal(signal.SIGUSR1)
        ck.check(dm.wait_for(r"^rotated ", 5, start=mk, fail=False)
                 is not None, "b: no rotation on USR1 after the failed "
                 "reload:\n%s" % "\n".join(dm.texts(mk)))
        # systemctl reload: ExecReload=lethe -c CONF check && kill -HUP PID
        mk = dm.mark()
        p = subprocess.run(["/bin/sh", "-c", '"$0" -c "$1" check && kill '
                            '-HUP "$2"', D.LETHE, conf, str(dm.pid)],
                           capture_output=True, timeout=30)
        ck.check(p.returncode != 0, "b: ExecReload with a broken config "
                 "exit 0")
        time.sleep(0.5)     # a HUP, had one been sent, would log at once
        ck.check(dm.count(r"^reload", start=mk) == 0,
                 "b: a HUP was sent although check failed:\n%s" %
                 "\n".join(dm.texts(mk)))
        # fixed: reloaded
        D.write_conf(conf, text)
        mk = dm.mark()
        p = subprocess.run(["/bin/sh", "-c", '"$0" -c "$1" check && kill '
                            '-HUP "$2"', D.LETHE, conf, str(dm.pid)],
                           capture_output=True, timeout=30)
        ck.check(p.returncode == 0, "b: ExecReload with the fixed config "
                 "exit %d: %r" % (p.returncode, p.stderr))
        dm.wait_for(r"^reloaded: 1 sets", 10, start=mk)
        mk = dm.mark()
        time.sleep(0.2)
        dm.signal(signal.SIGUSR1)
        dm.wait_for(r"^rotated ", 5, start=mk)
        code, _ = dm.stop()
        ck.check(code == 0, "b: exit %s" % code)
        dm = None
        n = w.stop()
        seen, odd = D.count_seqs(logs)
        lost, dup, extra = D.seq_report(seen, n)
        ck.check(not lost and not dup, "b/c: %d lines: lost %s, dup %s" % (
            n, D.ranges(lost), D.ranges(dup)))
        print("b/c: %d lines, %d segments, lost %d, duplicated %d" % (
            n, len(segments(logs)), len(lost), len(dup)))
        return True
    finally:
        if dm:
            dm.kill()
        w.kill()
        shutil.rmtree(root, ignore_errors=True)


# ------------------------------------------------------------------ d
def part_d():
    RATE = 10
    root, logs, conf, live, text = setup("hookfail", "command /bin/false",
                                         compress_after="1m")
    some_lines(live, 50)
    dm = None
    ok = False
    try:
        dm = D.Daemon(conf, now=NOW, rate=RATE,
                      logfile=os.path.join(root, "lethe.log"))
        dm.ready(15)
        mk = dm.mark()
        # lethe may rotate at start already (the lines are from the last
        # hour); otherwise USR1 does it
        if dm.count(r"^rotated ") == 0:
            dm.signal(signal.SIGUSR1)
        m = dm.wait_for(r'^rotated "[^"]+" to "([^"]+)"', 5)
        seg = m.group(1)
        mk = 0
        dm.wait_for(r"^\[web\]: reopen hook failed: ", 5, start=mk)
        # retried: the backoff is 5 s, 10 s, ... of the daemon's clock
        end = time.monotonic() + 15
        while dm.count(r"reopen hook failed", start=mk) < 3 and \
                time.monotonic() < end:
            time.sleep(0.1)
        nfail = dm.count(r"reopen hook failed", start=mk)
        ck.check(nfail >= 3, "d: the failed hook was not retried (%d "
                 "failures logged in 15 s):\n%s" % (nfail,
                                                    "\n".join(dm.texts(mk))))
        # 1m compress_after has long passed (rate 10): still plain, unsealed
        ck.check(os.path.exists(os.path.join(logs, seg)) and
                 not os.path.exists(os.path.join(logs, seg + ".gz")),
                 "d: the segment was compressed before the hook ran: %s" %
                 sorted(os.listdir(logs)))
        ck.check(dm.count(r"^sealed ", start=mk) == 0, "d: sealed before "
                 "the hook succeeded")
        print("d: hook failures logged: %s" % [
            s for s in dm.texts(mk) if "hook failed" in s][:3])
        D.write_conf(conf, text.replace("/bin/false", "/bin/true"))
        mk2 = dm.mark()
        dm.signal(signal.SIGHUP)
        dm.wait_for(r"^reloaded: ", 10, start=mk2)
        t = time.monotonic()
        dm.wait_for(r"^\[web\]: reopen hook done", 90, start=mk2)
        print("d: hook done %.1f s (real) after the HUP" % (
            time.monotonic() - t))
        dm.wait_for(r'^sealed "[^"]*%s"' % re.escape(seg), 30, start=mk2)
        dm.wait_for(r'^compress "[^"]*%s"' % re.escape(seg), 30, start=mk2)
        code, _ = dm.stop()
        dm = None
        ck.check(os.path.exists(os.path.join(logs, seg + ".gz")),
                 "d: no %s.gz at the end: %s" % (seg, os.listdir(logs)))
        seen, odd = D.count_seqs(logs)
        lost, dup, extra = D.seq_report(seen, 50)
        ck.check(not lost and not dup, "d: lost %s, dup %s" % (
            D.ranges(lost), D.ranges(dup)))
        ok = True
        return True
    finally:
        if dm:
            dm.kill()
        if not ok:
            keep.append(root)
        else:
            shutil.rmtree(root, ignore_errors=True)


# ------------------------------------------------------------------ e
def part_e():
    root, logs, conf, live, text = setup("termgzip", "command /bin/true",
                                         compress_after="1h")
    some_lines(live, 10)
    seg = os.path.join(logs, "access.log-20260531T1000Z")
    # 200 MB of lines one day old (past compress_after, within the window)
    t0 = D.iso_to_epoch(NOW) - 86400
    g = time.gmtime(t0)
    ts = "%02d/%s/%04d:%02d:%02d:%02d +0000" % (
        g.tm_mday, D.MONTHS[g.tm_mon - 1], g.tm_year, g.tm_hour, g.tm_min,
        g.tm_sec)
    block = "".join('198.51.100.%d - - [%s] "GET /seq/%d HTTP/1.1" 200 5 '
                    '"-" "Mozilla/5.0 (X11; Linux x86_64) e2e"\n' % (
                        i % 250 + 1, ts, i) for i in range(20000)).encode()
    h = hashlib.sha256()
    with open(seg, "wb") as f:
        while f.tell() < 200 * 1024 * 1024:
            f.write(block)
            h.update(block)
    os.utime(seg, (t0, t0))
    st0 = os.stat(seg)
    digest = h.hexdigest()
    dm = None
    ok = False
    try:
        dm = D.Daemon(conf, now=NOW, rate=60,
                      logfile=os.path.join(root, "lethe.log"))
        dm.ready(30)
        # wait for the temp file of the compression (bounded)
        end = time.monotonic() + 120
        tmp = []
        while time.monotonic() < end and dm.alive():
            tmp = [n for n in os.listdir(logs) if ".lethe-" in n]
            if tmp:
                break
            time.sleep(0.01)
        if not ck.check(tmp, "e: no temp file appeared within 120 s: %s\n%s"
                        % (os.listdir(logs), "\n".join(dm.texts()))):
            return False
        time.sleep(0.3)     # well into the 200 MB
        tsz = sum(os.path.getsize(os.path.join(logs, n)) for n in
                  os.listdir(logs) if ".lethe-" in n)
        code, took = dm.stop(timeout=30)
        print("e: TERM with temp file %s (%d bytes so far): exit %s in "
              "%.2f s" % (tmp, tsz, code, took))
        dm = None
        ck.check(took < 5, "e: lethe took %.1f s to stop mid-compress" %
                 took)
        ck.check(code == 0, "e: exit %s" % code)
        left = [n for n in os.listdir(logs) if ".lethe-" in n]
        ck.check(not left, "e: temp files left: %s" % left)
        ck.check(not os.path.exists(seg + ".gz"), "e: a .gz was left "
                 "beside the original: %s" % os.listdir(logs))
        st1 = os.stat(seg)
        ck.check((st1.st_ino, st1.st_size, st1.st_mtime_ns, st1.st_mode) ==
                 (st0.st_ino, st0.st_size, st0.st_mtime_ns, st0.st_mode),
                 "e: the original's inode/size/mtime/mode changed")
        h2 = hashlib.sha256()
        with open(seg, "rb") as f:
            while True:
                b = f.read(1 << 22)
                if not b:
                    break
                h2.update(b)
        ck.check(h2.hexdigest() == digest, "e: the original's content "
                 "changed")
        ok = True
        return True
    finally:
        if dm:
            dm.kill()
        if not ok:
            keep.append(root)
        else:
            shutil.rmtree(root, ignore_errors=True)


which = sys.argv[1:] or ["a", "bc", "d", "e"]
for name, fn in (("a", part_a), ("bc", part_bc), ("d", part_d),
                 ("e", part_e)):
    if name not in which:
        continue
    try:
        fn()
    except D.Fail as e:
        ck.fail("%s: %s" % (name, e))
if keep:
    print("kept: %s" % " ".join(keep))
sys.exit(ck.finish())
