"""Helpers for the tests of `lethe run` (72-crash, 73-clock, 74-signals,
75-tail); python3 stdlib only.

- Daemon: runs `lethe -c CONF [--now T] run` in the foreground, collects its
  stderr lines (with the real time each arrived) in a thread, waits for a
  line matching a pattern (always bounded), stops it (TERM or KILL).
- Clock: the fake clock shared by a test, its writer and every restart of
  lethe: fake = base + (monotonic - mono0) * rate.
- Writer: a python child that appends numbered combined-format lines to the
  live path at a steady rate, writes its pid to a pidfile, reopens the path
  on SIGUSR1, and on SIGTERM writes the number of lines it wrote.
- Notify: a unix datagram socket for NOTIFY_SOCKET.
- read_all / count_seqs: read back every file (plain or gzip) and count the
  sequence numbers.
"""

import calendar
import gzip
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

LETHE = os.environ.get("LETHE", "")

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
          "Oct", "Nov", "Dec"]


def need_lethe():
    if not LETHE or not os.path.isabs(LETHE) or not os.access(LETHE,
                                                             os.X_OK):
        print("LETHE must be the absolute path of the lethe binary (got %r)"
              % LETHE)
        sys.exit(1)


def iso_to_epoch(s):
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(t)))


class Clock:
    """The test's fake clock (base at mono0, running rate times real)."""

    def __init__(self, base, rate=1.0):
        self.base = base
        self.rate = float(rate)
        self.mono0 = time.monotonic()

    def now(self):
        return self.base + (time.monotonic() - self.mono0) * self.rate

    def now_arg(self):
        """--now for a (re)start: the clock right now (epoch seconds)."""
        return "%d" % int(self.now())

    def real_for(self, fake_secs):
        return fake_secs / self.rate

    def wait_until(self, t, limit=None):
        """Sleep until the fake clock reaches t (bounded by limit real s)."""
        d = (t - self.now()) / self.rate
        if limit is not None:
            d = min(d, limit)
        if d > 0:
            time.sleep(d)


class Fail(Exception):
    pass


class Daemon:
    """One run of lethe in the foreground; stderr lines are collected."""

    def __init__(self, conf, now=None, rate=None, env=None, verbose=False,
                 notify=None, logfile=None, tz=None):
        self.argv = [LETHE, "-c", conf]
        if now is not None:
            self.argv += ["--now", str(now)]
        if verbose:
            self.argv += ["-v"]
        self.argv += ["run"]
        e = dict(os.environ)
        e.pop("JOURNAL_STREAM", None)
        e.pop("NOTIFY_SOCKET", None)
        e.pop("WATCHDOG_USEC", None)
        e.pop("LETHE_TEST_CLOCK_RATE", None)
        if rate is not None:
            e["LETHE_TEST_CLOCK_RATE"] = str(rate)
        if notify is not None:
            e["NOTIFY_SOCKET"] = notify
        if tz is not None:
            e["TZ"] = tz
        if env:
            e.update(env)
        self.lines = []         # (real time, text without "lethe: ")
        self.cond = threading.Condition()
        self.logfile = logfile
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=e)
        self.pid = self.proc.pid
        self.eof = False
        self.th = threading.Thread(target=self._reader, daemon=True)
        self.th.start()

    def _reader(self):
        lf = open(self.logfile, "a") if self.logfile else None
        for raw in self.proc.stderr:
            s = raw.decode("utf-8", "backslashreplace").rstrip("\n")
            if s.startswith("lethe: "):
                s = s[7:]
            if lf:
                lf.write("%8.3f [%d] %s\n" % (time.monotonic() - self.t0,
                                              self.pid, s))
                lf.flush()
            with self.cond:
                self.lines.append((time.monotonic(), s))
                self.cond.notify_all()
        if lf:
            lf.close()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def texts(self, start=0):
        with self.cond:
            return [s for _, s in self.lines[start:]]

    def mark(self):
        with self.cond:
            return len(self.lines)

    def wait_for(self, pattern, timeout, start=0, fail=True):
        """The first line from index start matching pattern (regex);
        None (or raise Fail) after timeout real seconds or at EOF."""
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        i = start
        with self.cond:
            while True:
                while i < len(self.lines):
                    m = rx.search(self.lines[i][1])
                    if m:
                        return m
                    i += 1
                left = end - time.monotonic()
                if left <= 0 or self.eof:
                    break
                self.cond.wait(min(left, 0.5))
        if fail:
            raise Fail("no line matching /%s/ within %ss (lethe %s); last "
                       "lines:\n%s" % (pattern, timeout,
                                       "exited %s" % self.proc.poll()
                                       if self.eof else "running",
                                       "\n".join("    | " + s for s in
                                                 self.texts()[-15:])))
        return None

    def count(self, pattern, start=0):
        rx = re.compile(pattern)
        return sum(1 for s in self.texts(start) if rx.search(s))

    def ready(self, timeout=30):
        return self.wait_for(r"^running: ", timeout)

    def alive(self):
        return self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def stop(self, timeout=20):
        """SIGTERM and wait; returns (exit code, real seconds it took)."""
        t = time.monotonic()
        self.signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise Fail("lethe did not stop within %ss of SIGTERM" % timeout)
        self.th.join(5)
        return rc, time.monotonic() - t

    def kill(self):
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self.th.join(5)


WRITER_SRC = r'''
import os, signal, sys, time
path, pidfile, countfile = sys.argv[1], sys.argv[2], sys.argv[3]
lps, base, rate, mono0 = float(sys.argv[4]), float(sys.argv[5]), \
    float(sys.argv[6]), float(sys.argv[7])
seq = int(sys.argv[8]) if len(sys.argv) > 8 else 0
M = ["Jan","Feb","Mar","Apr","May","Jun","Jul","Aug","Sep","Oct","Nov","Dec"]
reopen = [False]
stop = [False]
def on_usr1(s, f):
    reopen[0] = True
paused = [False]
def on_term(s, f):
    stop[0] = True
def on_usr2(s, f):
    paused[0] = True
signal.signal(signal.SIGUSR1, on_usr1)
signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGUSR2, on_usr2)
def op():
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT |
                   os.O_CLOEXEC, 0o644)
fd = op()
tmp = pidfile + ".tmp"
with open(tmp, "w") as f:
    f.write("%d\n" % os.getpid())
os.rename(tmp, pidfile)
reopens = 0
t0 = time.monotonic()
tick = 0.01
while not stop[0]:
    if reopen[0]:
        reopen[0] = False
        nfd = op()
        os.close(fd)
        fd = nfd
        reopens += 1
    el = time.monotonic() - t0
    want = int(el * lps) if lps > 0 else seq
    if paused[0] and not os.path.exists(countfile):
        with open(countfile + ".tmp", "w") as f:
            f.write("%d %d\n" % (seq, reopens))
        os.rename(countfile + ".tmp", countfile)
    if want > seq and not paused[0]:
        now = base + (time.monotonic() - mono0) * rate
        g = time.gmtime(int(now))
        ts = "%02d/%s/%04d:%02d:%02d:%02d +0000" % (g.tm_mday,
            M[g.tm_mon - 1], g.tm_year, g.tm_hour, g.tm_min, g.tm_sec)
        buf = []
        while seq < want:
            n = seq
            buf.append('203.0.%d.%d - - [%s] "GET /seq/%d HTTP/1.1" 200 5 '
                       '"-" "ua"\n' % (113 + n // 250 % 100, n % 250 + 1,
                                       ts, n))
            seq += 1
        os.write(fd, "".join(buf).encode())
    time.sleep(tick)
os.close(fd)
if os.path.exists(countfile):
    os.unlink(countfile)
with open(countfile + ".tmp", "w") as f:
    f.write("%d %d\n" % (seq, reopens))
os.rename(countfile + ".tmp", countfile)
'''


class Writer:
    """Appends lines "GET /seq/N" (N from 0) at lps lines/s to path."""

    def __init__(self, root, path, pidfile, lps, clock, first_seq=0):
        self.src = os.path.join(root, "writer.py")
        if not os.path.exists(self.src):
            with open(self.src, "w") as f:
                f.write(WRITER_SRC)
        self.pidfile = pidfile
        self.countfile = os.path.join(root, "writer.%d.count" %
                                      int(time.monotonic() * 1000))
        try:
            os.unlink(pidfile)
        except FileNotFoundError:
            pass
        self.proc = subprocess.Popen(
            [sys.executable, self.src, path, pidfile, self.countfile,
             str(lps), repr(clock.base), repr(clock.rate),
             repr(clock.mono0), str(first_seq)],
            stdin=subprocess.DEVNULL)
        end = time.monotonic() + 10
        while not os.path.exists(pidfile):
            if time.monotonic() > end or self.proc.poll() is not None:
                raise Fail("the writer did not start")
            time.sleep(0.02)
        self.written = None
        self.reopens = None

    def pause(self):
        """Stop writing but keep reopening on SIGUSR1; returns the number
        of lines written (seq 0..n-1)."""
        self.proc.send_signal(signal.SIGUSR2)
        end = time.monotonic() + 10
        while not os.path.exists(self.countfile):
            if time.monotonic() > end or self.proc.poll() is not None:
                raise Fail("the writer did not pause")
            time.sleep(0.02)
        with open(self.countfile) as f:
            return int(f.read().split()[0])

    def stop(self):
        """Stop it; returns the number of lines written (seq 0..n-1)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise Fail("the writer did not stop")
        with open(self.countfile) as f:
            a, b = f.read().split()
        self.written, self.reopens = int(a), int(b)
        return self.written

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


class Notify:
    """A NOTIFY_SOCKET: a unix datagram socket; messages are collected."""

    def __init__(self, root):
        self.path = os.path.join(root, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.msgs = []      # (real time, text)

    def poll(self, timeout):
        self.sock.settimeout(max(timeout, 0.001))
        try:
            m = self.sock.recv(4096)
        except socket.timeout:
            return None
        s = m.decode("utf-8", "backslashreplace")
        self.msgs.append((time.monotonic(), s))
        return s

    def wait_for(self, pattern, timeout, start=0):
        rx = re.compile(pattern, re.M)
        for _, s in self.msgs[start:]:
            if rx.search(s):
                return s
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            s = self.poll(left)
            if s is not None and rx.search(s):
                return s

    def mark(self):
        return len(self.msgs)

    def close(self):
        self.sock.close()


def read_file(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    return data


SEQ_RE = re.compile(rb"GET /seq/(\d+) ")


def count_seqs(logdir, names=None):
    """{seq: [file names]} over every file of logdir (plain or gzip), and
    the list of odd lines (no seq, or no newline at the end)."""
    seen = {}
    odd = []
    for name in sorted(names if names is not None else os.listdir(logdir)):
        p = os.path.join(logdir, name)
        if not os.path.isfile(p) or name.startswith("."):
            continue
        data = read_file(p)
        if data and not data.endswith(b"\n"):
            odd.append((name, "no newline at the end: %r" % data[-80:]))
        for line in data.split(b"\n"):
            if not line:
                continue
            m = SEQ_RE.search(line)
            if not m:
                odd.append((name, line[:120]))
                continue
            seen.setdefault(int(m.group(1)), []).append(name)
    return seen, odd


def seq_report(seen, n):
    """(lost list, duplicated {seq: files}) for seqs 0..n-1."""
    lost = [i for i in range(n) if i not in seen]
    dup = {k: v for k, v in seen.items() if len(v) > 1}
    extra = [k for k in seen if k >= n]
    return lost, dup, extra


def ranges(xs, limit=10):
    """[1,2,3,7] -> "1-3, 7" (at most limit ranges shown)."""
    xs = sorted(xs)
    out = []
    i = 0
    while i < len(xs):
        j = i
        while j + 1 < len(xs) and xs[j + 1] == xs[j] + 1:
            j += 1
        out.append("%d" % xs[i] if i == j else "%d-%d" % (xs[i], xs[j]))
        i = j + 1
    s = ", ".join(out[:limit])
    if len(out) > limit:
        s += ", ... (%d ranges)" % len(out)
    return s


def write_conf(path, text):
    with open(path, "w") as f:
        f.write(text)


def conf_text(state, sets, sweep="10s"):
    """sets: [(name, {key: value})] -> INI text."""
    s = "[global]\nstate_dir = %s\nsweep = %s\n\n" % (state, sweep)
    for name, kv in sets:
        s += "[%s]\n" % name
        for k, v in kv.items():
            s += "%s = %s\n" % (k, v)
        s += "\n"
    return s


def mkroot(name):
    root = tempfile.mkdtemp(prefix="lethe-e2e-%s-" % name)
    os.chmod(root, 0o700)
    logs = os.path.join(root, "logs")
    state = os.path.join(root, "state")
    os.mkdir(logs, 0o755)
    os.mkdir(state, 0o700)
    return root, logs, state


def run_cmd(args, timeout=120, env=None):
    e = dict(os.environ)
    e.pop("JOURNAL_STREAM", None)
    if env:
        e.update(env)
    p = subprocess.run([LETHE] + list(args), capture_output=True,
                       timeout=timeout, env=e)
    return (p.returncode, p.stdout.decode("utf-8", "backslashreplace"),
            p.stderr.decode("utf-8", "backslashreplace"))


def temp_files(logdir):
    return [n for n in os.listdir(logdir) if ".lethe-" in n]


class Checks:
    """Failures and notes of a test; exit status at the end."""

    def __init__(self, name):
        self.name = name
        self.failures = []

    def fail(self, msg):
        self.failures.append(msg)
        print("FAIL: " + msg)
        sys.stdout.flush()

    def check(self, cond, msg):
        if not cond:
            self.fail(msg)
        return cond

    def note(self, msg):
        print("NOTE: " + msg)
        sys.stdout.flush()

    def info(self, msg):
        print("  " + msg)
        sys.stdout.flush()

    def finish(self):
        if self.failures:
            print("%s: %d failures" % (self.name, len(self.failures)))
            return 1
        print("%s: all checks passed" % self.name)
        return 0


class Inotify:
    """inotify through ctypes: which names in a directory were read."""

    IN_ACCESS = 0x1
    IN_OPEN = 0x20

    def __init__(self, path, mask=0x21):
        import ctypes
        import struct
        self.struct = struct
        self.libc = ctypes.CDLL("libc.so.6", use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if self.libc.inotify_add_watch(self.fd, path.encode(), mask) < 0:
            raise OSError(ctypes.get_errno(), "inotify_add_watch")
        self.events = []    # (mask, name)

    def drain(self):
        while True:
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                return self.events
            i = 0
            while i + 16 <= len(buf):
                wd, mask, cookie, ln = self.struct.unpack_from("iIII", buf, i)
                name = buf[i + 16:i + 16 + ln].rstrip(b"\0").decode(
                    "utf-8", "replace")
                self.events.append((mask, name))
                i += 16 + ln

    def names(self, mask):
        return sorted(set(n for m, n in self.drain() if m & mask))

    def close(self):
        os.close(self.fd)


def read_catalog(path):
    """{path: dict} of the saved catalog (lethe-catalog 1), or None."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    out = {}
    for line in data.split(b"\n"):
        p = line.split(b" ")
        if p[0] != b"f" or len(p) < 14:
            continue
        def t(x):
            return None if x == b"-" else int(x)
        rec = {"set": bytes.fromhex(p[1].decode()).decode(),
               "path": bytes.fromhex(p[2].decode()).decode(),
               "dev": int(p[3]), "ino": int(p[4]), "size": int(p[5]),
               "mtime_ns": int(p[6]), "head_len": int(p[8]),
               "offset": int(p[9]), "flags": int(p[10]),
               "first": t(p[11]), "last": t(p[12]), "oldest_full": t(p[13])}
        out[rec["path"]] = rec
    return out
