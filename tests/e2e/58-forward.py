#!/usr/bin/env python3
"""Forwarding (forward = relp:// | tcp:// | unix:) to a real rsyslog on
127.0.0.1 (rsysloglib: its own config, port and output file), checked by
an independent reader of what rsyslog wrote (python's json, re and
ipaddress, never lethe).

A. RELP: a writer appends N lines while lethe rotates every few seconds
   (fast clock) and forwards; rsyslog is killed (-9) and restarted twice
   mid-stream, lethe is killed with -9 twice and restarted and reloaded
   (SIGHUP) once.  Every line
   arrives (seq complete per file, and every /seq/N of the writer once at
   least), no full address reaches the receiver, the messages are RFC
   5424 with APP-NAME lethe and MSGID the set, and duplicates are counted:
   at most, per break, the RELP window, and per kill -9 that plus what
   was acknowledged since the last saved position (at most 1,024 lines or
   20 ms of them).
B. tcp:// with a clean receiver restart (SIGTERM): every line arrives.
C. unix: every line arrives.
D. transform = pseudonym over RELP: the receiver holds pseudonyms, none
   of the writer's addresses; one pseudonym reveals (lethe reveal) to its
   address.
E. The metrics: lines sent, acknowledged, connected.
F. The receiver away longer than forward_max_lag (a fast clock): the
   segments wait uncompressed, then what they hold is dropped, logged,
   counted (lethe_forward_lines_dropped_total) and they are compressed;
   when the receiver is back every line written is either received or
   counted as dropped.

Env: FORWARD_SEED (default random, printed), FORWARD_LINES (100000;
20000 in the sanitizer pass), E2E_KEEP=1."""

import ipaddress
import os
import random
import re
import shutil
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import daemonlib as D  # noqa: E402
import passlib as P  # noqa: E402
import rsysloglib as R  # noqa: E402

D.need_lethe()
seed = int(os.environ.get("FORWARD_SEED", random.randrange(1 << 30)))
N = P.count(100000, 20000, "lines forwarded over RELP", env="FORWARD_LINES")
print("58-forward: seed %d (rerun with FORWARD_SEED=%d), %d lines" % (
    seed, seed, N))
rng = random.Random(seed)
ck = D.Checks("58-forward")
why = R.available()
if why is not None:
    print("58-forward: cannot run: %s (make test installs rsyslog and "
          "rsyslog-relp)" % why)
    sys.exit(1)
root, logs, state = D.mkroot("58-forward")
conf = os.path.join(root, "lethe.conf")
live = os.path.join(logs, "access.log")
pidfile = os.path.join(root, "writer.pid")
logfile = os.path.join(root, "lethe.log")
metrics = os.path.join(root, "lethe.prom")
SEQ = re.compile(r"GET /seq/(\d+) ")
V4 = re.compile(r"(?<![0-9.])(\d{1,3}(?:\.\d{1,3}){3})(?![0-9.])")
WINDOW = 128            # the RELP window (sender.c)
# librelp 1.11 leaks a frame per broken session (56-sender says which):
# not lethe's, so the sanitizer pass is told to let it be.
SUPP = os.path.join(HERE, "lsan-librelp.supp")
LSAN = {"LSAN_OPTIONS": "suppressions=%s:print_suppressions=0:%s" % (
    SUPP, os.environ.get("LSAN_OPTIONS", ""))}
SAVE_S = 0.02           # forward.c FWD_SAVE_MS
SAVE_ACKS = 1024        # forward.c FWD_SAVE_ACKS


def write_conf(url, extra=None):
    kv = {"logs": live, "format": "combined", "window": "1d",
          "rotate": "1m", "reopen": "signal USR1 %s" % pidfile,
          "settle": "5s", "compress_after": "5m", "mask_early": "10m",
          "retain": "90d", "forward": url, "forward_max_lag": "12h"}
    kv.update(extra or {})
    text = D.conf_text(state, [("web", kv)], sweep="10s")
    text = text.replace("sweep = 10s\n", "sweep = 10s\nmetrics_file = %s\n"
                        % metrics)
    D.write_conf(conf, text)


def clean():
    for d in (logs,):
        for x in os.listdir(d):
            os.unlink(os.path.join(d, x))
    for x in os.listdir(state):
        p = os.path.join(state, x)
        if os.path.isfile(p):
            os.unlink(p)
        else:
            shutil.rmtree(p)


def check_received(rs, n, what, lps, breaks, kills, transform="truncate",
                   per_break=None):
    """Every seq 0..n-1 arrived; the per-file seqs are complete; no full
    address; duplicates within the bound.  Returns (messages, dups)."""
    msgs = rs.messages()
    bad = [m for m in msgs if "bad" in m]
    ck.check(not bad, "%s: %d lines rsyslog wrote are not JSON: %r" % (
        what, len(bad), bad[:1]))
    seen = {}
    per_file = {}
    full = 0
    header = 0
    for m in msgs:
        if "bad" in m:
            continue
        if m.get("app") != "lethe" or m.get("msgid") != "web" or \
                m.get("file") is None or m.get("seq") is None:
            header += 1
            continue
        per_file.setdefault(m["file"], []).append(m["seq"])
        msg = m.get("msg", "")
        s = SEQ.search(msg)
        if s:
            seen[int(s.group(1))] = seen.get(int(s.group(1)), 0) + 1
        if transform == "truncate":
            for tok in V4.findall(msg):
                if int(ipaddress.ip_address(tok)) & 0xffff:
                    full += 1
        else:
            for tok in V4.findall(msg):
                if tok.startswith("203.0."):
                    full += 1
    lost = [i for i in range(n) if i not in seen]
    dups = sum(c - 1 for c in seen.values())
    gaps = 0
    for f, seqs in per_file.items():
        got = set(seqs)
        gaps += sum(1 for i in range(1, max(got) + 1) if i not in got)
    ck.check(header == 0, "%s: %d messages without lethe's header or "
             "structured data" % (what, header))
    ck.check(not lost, "%s: %d lines never arrived: %s" % (
        what, len(lost), D.ranges(lost)))
    ck.check(gaps == 0, "%s: %d gaps in the per-file sequence numbers" % (
        what, gaps))
    ck.check(full == 0, "%s: %d full addresses reached the receiver" % (
        what, full))
    bound = breaks * (per_break or WINDOW) + \
        kills * (WINDOW + SAVE_ACKS + int(lps * SAVE_S * 2) + 64)
    ck.check(dups <= bound, "%s: %d duplicates, more than the %d that %d "
             "breaks and %d kills can explain" % (what, dups, bound, breaks,
                                                   kills))
    return len(msgs), dups, len(per_file)


def wait_all(rs, n, timeout):
    """Until every seq 0..n-1 has arrived (or timeout)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if rs.count() >= n:
            got = set()
            for m in rs.messages():
                s = SEQ.search(m.get("msg", "") or "")
                if s:
                    got.add(int(s.group(1)))
            if len(got) >= n:
                return True
        time.sleep(0.5)
    return False


def metric(name):
    try:
        with open(metrics) as f:
            for ln in f:
                if ln.startswith(name + "{") and 'set="web"' in ln:
                    return float(ln.split()[-1])
    except FileNotFoundError:
        pass
    return None


def stream(url, rs, n, lps, rate, kill_lethe, kill_rs, rs_sig, what,
           extra=None, reloads=0):
    """Write n lines at lps while lethe forwards to url; kill lethe and
    rsyslog at random moments.  Returns the writer's count."""
    clean()
    write_conf(url, extra)
    clock = D.Clock(D.iso_to_epoch("2026-06-01T10:00:00Z"), rate)
    with open(live, "w"):
        pass
    writer = D.Writer(root, live, pidfile, lps, clock)
    dm = D.Daemon(conf, now=clock.now_arg(), rate=rate, logfile=logfile,
                  verbose=bool(os.environ.get("FORWARD_VERBOSE")), env=LSAN)
    events = ["lethe"] * kill_lethe + ["rsyslog"] * kill_rs + \
        ["reload"] * reloads
    rng.shuffle(events)
    dur = n / float(lps)
    try:
        dm.ready()
        for i, ev in enumerate(events):
            t_ev = dur * (i + 1) / (len(events) + 1) * (0.8 + 0.4 *
                                                       rng.random())
            while writer.proc.poll() is None and \
                    time.monotonic() - writer_t0[0] < t_ev:
                time.sleep(0.05)
            if ev == "reload":
                m = dm.mark()
                dm.signal(signal.SIGHUP)
                dm.wait_for(r"^reloaded", 30, start=m)
            elif ev == "lethe":
                dm.kill()
                time.sleep(rng.random() * 0.5)
                dm = D.Daemon(conf, now=clock.now_arg(), rate=rate,
                              logfile=logfile, verbose=bool(
                                  os.environ.get("FORWARD_VERBOSE")),
                              env=LSAN)
                dm.ready()
            else:
                rs.kill(rs_sig)
                time.sleep(0.5 + rng.random())
                rs.start()
        while time.monotonic() - writer_t0[0] < dur:
            time.sleep(0.05)
        written = writer.pause()
        ok = wait_all(rs, written, 120)
        ck.check(ok, "%s: not every line reached rsyslog within 120 s "
                 "(%d messages there)" % (what, rs.count()))
        time.sleep(0.5)
        if what.startswith("E") or what.startswith("A"):
            sent = metric("lethe_forward_lines_sent_total")
            acked = metric("lethe_forward_lines_acked_total")
            ck.note("%s: metrics: sent %s, acknowledged %s, connected %s, "
                    "lag %s s" % (what, sent, acked,
                                  metric("lethe_forward_connected"),
                                  metric("lethe_forward_lag_seconds")))
        rc, _ = dm.stop()
        ck.check(rc == 0, "%s: lethe exited %d" % (what, rc))
        dm = None
        return written
    finally:
        if dm is not None:
            dm.kill()
        writer.stop()


writer_t0 = [0.0]
_Writer = D.Writer


class TimedWriter(_Writer):
    def __init__(self, *a, **kw):
        writer_t0[0] = time.monotonic()
        _Writer.__init__(self, *a, **kw)


D.Writer = TimedWriter

rs = R.Rsyslog(root)
rs.start()
try:
    # ---- A: RELP, kills on both sides ---------------------------------
    LPS = 5000
    t0 = time.monotonic()
    n = stream(rs.urls()["relp"], rs, N, LPS, 20, 2, 2, signal.SIGKILL,
               "A (relp)", reloads=1)
    total, dups, files = check_received(rs, n, "A (relp)", LPS, 2, 2)
    ck.note("A (relp): %d lines written, %d messages received over %d "
            "files, %d lost, %d duplicated (2 rsyslog kills, 2 lethe "
            "kills, 1 reload), %.1f s" % (n, total, files, 0 if total >= n else
                                n - total, dups, time.monotonic() - t0))
    if os.environ.get("FORWARD_ONLY_A"):
        raise SystemExit(ck.finish())
    rs.kill(signal.SIGTERM)
    os.unlink(rs.out)
    rs.start()

    # ---- B: tcp, a clean receiver restart -------------------------------
    n = stream(rs.urls()["tcp"], rs, P.count(20000, 5000, "tcp lines"),
               2000, 20, 0, 1, signal.SIGTERM, "B (tcp)")
    # What TCP's kernel queue holds unacknowledged (sender.c: SO_SNDBUF
    # 256 KiB) may go again after a break.
    total, dups, files = check_received(rs, n, "B (tcp)", 2000, 1, 0,
                                        per_break=4096)
    ck.note("B (tcp): %d lines written, %d received, %d duplicated (1 "
            "clean restart)" % (n, total, dups))
    rs.kill(signal.SIGTERM)
    os.unlink(rs.out)
    rs.start()

    # ---- C: unix ----------------------------------------------------------
    n = stream(rs.urls()["unix"], rs, 5000, 2000, 20, 0, 0, signal.SIGTERM,
               "C (unix)")
    total, dups, files = check_received(rs, n, "C (unix)", 2000, 0, 0)
    ck.note("C (unix): %d lines written, %d received" % (n, total))
    rs.kill(signal.SIGTERM)
    os.unlink(rs.out)
    rs.start()

    # ---- D: pseudonyms ----------------------------------------------------
    n = stream(rs.urls()["relp"], rs, 5000, 2000, 20, 0, 0, signal.SIGTERM,
               "D (pseudonym)", {"transform": "pseudonym"})
    total, dups, files = check_received(rs, n, "D (pseudonym)", 2000, 0, 0,
                                        transform="pseudonym")
    msgs = [m for m in rs.messages() if SEQ.search(m.get("msg", ""))]
    m0 = msgs[len(msgs) // 2]
    seq = int(SEQ.search(m0["msg"]).group(1))
    want = "203.0.%d.%d" % (113 + seq // 250 % 100, seq % 250 + 1)
    pseudo = m0["msg"].split(" ", 1)[0]
    day = m0["ts"][:10]
    rc, out, err = D.run_cmd(["-c", conf, "--now", "2026-06-01T12:00:00Z",
                              "reveal", pseudo, "--date", day])
    ck.check(rc == 0 and out.strip() == want, "D: reveal %s gave rc %d %r "
             "%r, not %s" % (pseudo, rc, out, err, want))
    ck.note("D (pseudonym): %d lines, %s revealed as %s" % (n, pseudo,
                                                            out.strip()))

    # ---- F: the receiver away longer than forward_max_lag ----------------
    rs.kill(signal.SIGTERM)
    os.unlink(rs.out)
    clean()
    RATE = 600          # rotate 1m: 0.1 s real; forward_max_lag 1h: 6 s
    write_conf(rs.urls()["relp"], {"forward_max_lag": "1h",
                                   "compress_after": "5m"})
    clock = D.Clock(D.iso_to_epoch("2026-06-01T10:00:00Z"), RATE)
    with open(live, "w"):
        pass
    writer = D.Writer(root, live, pidfile, 200, clock)
    dm = D.Daemon(conf, now=clock.now_arg(), rate=RATE, logfile=logfile,
                  env=LSAN)
    try:
        dm.ready()
        # Segments wait uncompressed while they may still be forwarded.
        time.sleep(2.0)
        segs = [x for x in os.listdir(logs) if x.startswith("access.log-")]
        gz = [x for x in segs if x.endswith(".gz")]
        ck.check(len(segs) >= 5 and not gz, "F: with the receiver away, %d "
                 "segments, %d compressed within forward_max_lag" % (
                     len(segs), len(gz)))
        got = dm.wait_for(r"forward: dropped (\d+) lines of ", 30,
                          fail=False)
        ck.check(got is not None, "F: nothing was dropped past "
                 "forward_max_lag")
        end = time.monotonic() + 30
        while time.monotonic() < end and not any(
                x.endswith(".gz") for x in os.listdir(logs)):
            time.sleep(0.1)
        ck.check(any(x.endswith(".gz") for x in os.listdir(logs)),
                 "F: dropped segments were not compressed")
        rs.start()
        n = writer.pause()
        time.sleep(1.0)
        dropped = None
        end = time.monotonic() + 60
        while time.monotonic() < end:
            # Every line is either received or counted as dropped.
            dropped = metric("lethe_forward_lines_dropped_total")
            got_n = len({int(SEQ.search(m.get("msg", "")).group(1))
                         for m in rs.messages()
                         if SEQ.search(m.get("msg", "") or "")})
            if dropped is not None and got_n + int(dropped) >= n:
                break
            time.sleep(0.5)
        ck.check(dropped is not None and got_n + int(dropped) == n,
                 "F: %d lines written, %d received, %s counted dropped" % (
                     n, got_n, dropped))
        ck.note("F (away past forward_max_lag): %d lines written, %d "
                "received after the receiver came back, %s dropped and "
                "counted" % (n, got_n, dropped))
        dm.stop()
        dm = None
    finally:
        if dm is not None:
            dm.kill()
        writer.stop()
finally:
    rs.kill(signal.SIGTERM)

if os.environ.get("E2E_KEEP"):
    print("kept %s" % root)
else:
    shutil.rmtree(root, ignore_errors=True)
sys.exit(ck.finish())
