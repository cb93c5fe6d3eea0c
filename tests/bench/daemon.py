#!/usr/bin/env python3
"""What `lethe run` costs: the daemon figures of the performance targets.

    LETHE=$PWD/build/lethe python3 tests/bench/daemon.py [options]

1. idle: a daemon managing --files files (10 directories, each with live
   files and their rotated segments), settled (every segment sealed and
   scanned, the catalog saved), then left alone for --idle seconds: its CPU
   (all its threads, /proc/PID/task/*/schedstat) and, over another
   --idle seconds under `strace -f -c`, its system calls; wake-ups are its
   epoll_wait calls.  Target: under 0.1% of a core, woken only when due.
2. rss: VmRSS and VmHWM of that daemon (/proc/PID/status).  Target: 8 MiB.
3. tail: a writer appends --rate lines/s (main format, current time, in
   batches every 10 ms) to one live file of those --files for --tail
   seconds; the daemon's CPU over that time, and whether it kept up (its
   saved offset reaches the file's size).  Target: under 5% of a core.
4. catalog: --catalog-files files (100 directories of one live file and
   its segments, a few lines each), the daemon run once until every one is
   sealed and scanned, stopped, then started again: the time from its start
   to its "running:" line.  Target: under 1 s.

Only python3's standard library; strace for the system call count.  Needs
about (rate * 190 bytes * tail seconds) of disk in --dir (default /tmp).
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

LETHE = os.environ.get("LETHE", "")
TICK = os.sysconf("SC_CLK_TCK")
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
          "Oct", "Nov", "Dec"]
SR_SEALED, SR_FACTS = 4, 8


def clf(t):
    g = time.gmtime(t)
    return "%02d/%s/%04d:%02d:%02d:%02d +0000" % (
        g.tm_mday, MONTHS[g.tm_mon - 1], g.tm_year, g.tm_hour, g.tm_min,
        g.tm_sec)


def line(i, t):
    return ('%d.%d.%d.%d - - [%s] "GET /item/%d HTTP/1.1" 200 %d "-" '
            '"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 '
            'Firefox/121.0" "-"\n' % (
                1 + i % 223, i % 251, i % 241, 1 + i % 253, clf(t), i,
                i % 99991))


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def conf(root, logs):
    path = os.path.join(root, "lethe.conf")
    write(path, """[global]
state_dir = %s/state

[bench]
logs = %s
format = main
window = 7d
rotate = off
compress_after = off
retain = 90d
""" % (root, logs))
    return path


def make_tree(root, ndirs, nsites, nsegs):
    """ndirs directories of nsites live files with nsegs segments each."""
    now = time.time()
    for d in range(ndirs):
        dp = os.path.join(root, "d%03d" % d)
        os.makedirs(dp, mode=0o755)
        for s in range(nsites):
            base = os.path.join(dp, "site%03d.access.log" % s)
            write(base, line(s, now))
            for k in range(1, nsegs + 1):
                write("%s.%d" % (base, k),
                      line(k, now - 3600 * k) + line(k + 1, now - 3600 * k))
    os.makedirs(os.path.join(root, "state"), mode=0o700)


class Daemon:
    def __init__(self, conf_path):
        self.lines = []
        self.t0 = time.monotonic()
        self.p = subprocess.Popen([LETHE, "-c", conf_path, "run"],
                                  stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        self.cv = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for ln in self.p.stderr:
            with self.cv:
                self.lines.append((time.monotonic() - self.t0, ln.rstrip()))
                self.cv.notify_all()

    def wait_line(self, pat, timeout):
        rx = re.compile(pat)
        end = time.monotonic() + timeout
        with self.cv:
            while True:
                for t, ln in self.lines:
                    if rx.search(ln):
                        return t, ln
                left = end - time.monotonic()
                if left <= 0 or self.p.poll() is not None:
                    raise SystemExit("daemon: no line /%s/ in %ds; last: %s"
                                     % (pat, timeout, self.lines[-5:]))
                self.cv.wait(min(left, 0.5))

    def cpu(self):
        """CPU time of every thread, seconds: schedstat (nanoseconds)
        where the kernel has it, else utime + stime (clock ticks)."""
        try:
            ns = 0
            for t in os.listdir("/proc/%d/task" % self.p.pid):
                with open("/proc/%d/task/%s/schedstat" % (self.p.pid,
                                                          t)) as f:
                    ns += int(f.read().split()[0])
            return ns / 1e9
        except (OSError, ValueError, IndexError):
            pass
        with open("/proc/%d/stat" % self.p.pid) as f:
            v = f.read().rsplit(")", 1)[1].split()
        return (int(v[11]) + int(v[12])) / TICK

    def status(self, key):
        with open("/proc/%d/status" % self.p.pid) as f:
            for ln in f:
                if ln.startswith(key + ":"):
                    return int(ln.split()[1])
        return 0

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(60)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def catalog(root):
    """path -> (size, offset, flags) from the saved catalog."""
    out = {}
    try:
        with open(os.path.join(root, "state", "catalog")) as f:
            for ln in f:
                v = ln.split()
                if v and v[0] == "f" and len(v) == 14:
                    out[bytes.fromhex(v[2]).decode()] = (
                        int(v[5]), int(v[9]), int(v[10]))
    except OSError:
        pass
    return out


def wait_settled(root, nsegs, timeout):
    """Until the catalog holds every segment sealed and scanned."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        c = catalog(root)
        done = sum(1 for s, o, fl in c.values()
                   if fl & (SR_SEALED | SR_FACTS) == SR_SEALED | SR_FACTS)
        if done >= nsegs:
            return time.monotonic()
        time.sleep(0.5)
    raise SystemExit("daemon: segments not all sealed in %ds" % timeout)


def strace_count(pid, seconds):
    """System calls of pid (all threads) over seconds: {name: calls}."""
    out = tempfile.NamedTemporaryFile("r", suffix=".strace")
    p = subprocess.Popen(["strace", "-f", "-c", "-o", out.name, "-p",
                          str(pid)], stderr=subprocess.DEVNULL)
    time.sleep(seconds)
    p.send_signal(signal.SIGINT)
    p.wait(30)
    calls = {}
    for ln in out.read().splitlines():
        v = ln.split()
        if len(v) >= 5 and v[-1].isidentifier() and v[3].isdigit() and \
                v[-1] != "total":
            calls[v[-1]] = int(v[3])
    return calls


class Writer(threading.Thread):
    """rate lines/s to path, in batches every 10 ms, for seconds."""

    def __init__(self, path, rate, seconds):
        super().__init__(daemon=True)
        self.path, self.rate, self.seconds = path, rate, seconds
        self.written = 0

    def run(self):
        per = max(1, self.rate // 100)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        sec, block = None, b""
        t0 = time.monotonic()
        n = 0
        while True:
            el = time.monotonic() - t0
            if el >= self.seconds:
                break
            now = int(time.time())
            if now != sec:
                sec = now
                block = "".join(line(i, now) for i in range(per)).encode()
            os.write(fd, block)
            n += 1
            self.written += per
            delay = t0 + n * 0.01 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        os.close(fd)


def bench_1000(a, out):
    root = tempfile.mkdtemp(prefix="lethe-daemon.", dir=a.dir)
    try:
        nsites = max(1, a.files // 100)
        make_tree(root, 10, nsites, 9)
        nfiles = 10 * nsites * 10
        d = Daemon(conf(root, root + "/d*/site*.access.log"))
        t, ln = d.wait_line(r"running:", 120)
        out.append("setup: %s (%.2f s after start)" % (ln, t))
        t1 = wait_settled(root, 10 * nsites * 9, 600)
        out.append("setup: every segment sealed and scanned %.1f s after "
                   "start" % (t1 - d.t0))
        time.sleep(2)
        c0, w0 = d.cpu(), time.monotonic()
        time.sleep(a.idle)
        c1, w1 = d.cpu(), time.monotonic()
        pct = 100 * (c1 - c0) / (w1 - w0)
        out.append("idle, %d files: %.4f s CPU in %.0f s = %.4f%% of a core "
                   "(target < 0.1%%) %s" % (nfiles, c1 - c0, w1 - w0, pct,
                                           "ok" if pct < 0.1 else "MISSED"))
        calls = strace_count(d.p.pid, a.idle)
        wakes = calls.get("epoll_wait", 0)
        top = sorted(calls.items(), key=lambda kv: -kv[1])[:6]
        out.append("idle, %d files: %d wake-ups (epoll_wait) in %d s; "
                   "system calls: %s" % (nfiles, wakes, a.idle,
                                        ", ".join("%s %d" % kv for kv in top)
                                        or "none"))
        rss, hwm = d.status("VmRSS"), d.status("VmHWM")
        out.append("rss, %d files: VmRSS %.1f MiB, VmHWM %.1f MiB "
                   "(target < 8 MiB) %s" % (nfiles, rss / 1024, hwm / 1024,
                                            "ok" if rss < 8192 else "MISSED"))
        live = os.path.join(root, "d000", "site000.access.log")
        w = Writer(live, a.rate, a.tail)
        c0, w0 = d.cpu(), time.monotonic()
        w.start()
        w.join()
        c1, w1 = d.cpu(), time.monotonic()
        rate = w.written / (w1 - w0)
        pct = 100 * (c1 - c0) / (w1 - w0)
        size = os.path.getsize(live)
        time.sleep(2)             # let it finish what it read
        c2 = d.cpu()
        out.append("tail, %d files: writer %.0f lines/s (%.1f MB/s) for "
                   "%.0f s: lethe %.2f s CPU = %.2f%% of a core (target < "
                   "5%%) %s; %.2f s more CPU in the 2 s after" % (
                       nfiles, rate, size / (w1 - w0) / 1e6, w1 - w0,
                       c1 - c0, pct, "ok" if pct < 5 else "MISSED", c2 - c1))
        rss, hwm = d.status("VmRSS"), d.status("VmHWM")
        out.append("rss after tail: VmRSS %.1f MiB, VmHWM %.1f MiB" % (
            rss / 1024, hwm / 1024))
        d.stop()                  # saves the catalog
        c = catalog(root).get(live)
        out.append("tail: saved offset %d of %d bytes at stop: %s" % (
            c[1] if c else -1, size,
            "kept up" if c and c[1] == size else "BEHIND"))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def bench_catalog(a, out):
    root = tempfile.mkdtemp(prefix="lethe-catalog.", dir=a.dir)
    try:
        nsegs = max(1, a.catalog_files // 100 - 1)
        make_tree(root, 100, 1, nsegs)
        n = 100 * (nsegs + 1)
        cp = conf(root, root + "/d*/site*.access.log")
        d = Daemon(cp)
        t, ln = d.wait_line(r"running:", 600)
        out.append("catalog, first start (no catalog): %s after %.2f s" %
                   (ln, t))
        t1 = wait_settled(root, 100 * nsegs, 900)
        out.append("catalog: %d segments sealed and scanned %.1f s after "
                   "start" % (100 * nsegs, t1 - d.t0))
        d.stop()
        for i in range(a.restarts):
            d = Daemon(cp)
            t, ln = d.wait_line(r"running:", 600)
            known = [x for _, x in d.lines if "catalog:" in x]
            out.append("catalog, restart %d with %d files: \"running:\" "
                       "%.3f s after start (target < 1 s) %s; %s" % (
                           i + 1, n, t, "ok" if t < 1 else "MISSED",
                           known[0] if known else "no catalog line"))
            d.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--idle", type=int, default=60)
    ap.add_argument("--rate", type=int, default=100000)
    ap.add_argument("--tail", type=int, default=30)
    ap.add_argument("--catalog-files", type=int, default=10000)
    ap.add_argument("--restarts", type=int, default=3)
    ap.add_argument("--dir", default="/tmp")
    ap.add_argument("--only", choices=["files", "catalog"])
    a = ap.parse_args()
    if not LETHE or not os.access(LETHE, os.X_OK):
        print("daemon.py: LETHE must name the lethe binary")
        return 1
    out = []
    print("daemon.py: %s, %d cores, load %s" % (
        LETHE, os.cpu_count(), open("/proc/loadavg").read().split()[:3]))
    try:
        if a.only in (None, "files"):
            bench_1000(a, out)
        if a.only in (None, "catalog"):
            bench_catalog(a, out)
    finally:
        for ln in out:
            print(ln)
    return 0


if __name__ == "__main__":
    sys.exit(main())
