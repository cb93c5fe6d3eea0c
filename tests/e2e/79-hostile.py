#!/usr/bin/env python3
"""A hostile log directory: owned by the web-server user (33, mode 0755,
so lethe accepts it), who may put anything in it.  The attacker acts as
root here, which can only do more.  For once, audit and the daemon:

 A. a symlink named like a rotated file pointing at a stand-in for
    /etc/shadow (absolute and relative), a hard link to a file outside,
    a FIFO, a socket, a device node (c 1 3) and a directory named like
    logs: each is skipped with a message naming it and saying why; the
    outside files are never opened, read or changed (inotify on their
    inodes); the FIFO never makes lethe hang; the good file is processed.
    The daemon also meets a FIFO and a symlink created while it runs.
 B. a race: a thread swaps a real rotated file, a symlink to the shadow
    and a hard link to an outside file at the same name (rename-over) as
    fast as it can while once (1000 runs; 200 in the sanitizer pass),
    audit (500; 100) and the daemon work on it: the shadow is never
    opened, nothing outside is read or changed, no temp file appears
    outside, no managed file ever holds the shadow's marker.
 C. file names with newlines, spaces, escapes (CSI, OSC, BEL), DEL, high
    bytes and a backslash: handled (masked and compressed), and lethe's
    stdout and stderr hold printable ASCII only (names as \\ooo).
 D. a 10 GiB sparse rotated file (lines, 10 GiB of NULs, lines; 1 GiB
    in the sanitizer pass): once and audit finish in bounded time with
    max RSS < 64 MiB; the result is checked byte for byte (streamed).
 E. the owner of a file changes (chown) while lethe rewrites it: the
    result has an owner lethe saw, no line is lost.
"""

import ctypes
import gzip
import hashlib
import os
import re
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

import lethelib as L
import passlib as P

t = L.Test("79-hostile")
L.require_root(t)
root = t.mkdtemp()
os.chmod(root, 0o711)
rng = L.random.Random(79)
NOW = L.NOW
OLD0, OLD1 = NOW - 12 * L.DAY, NOW - 11 * L.DAY      # past the window
WWW = 33
RSS_LIMIT_KIB = 64 * 1024


def _sanitized():
    """An AddressSanitizer build keeps shadow memory and a quarantine: its
    bound is four times the plain build's, and the test says so."""
    import subprocess as _sp
    try:
        out = _sp.run(["nm", "-D", os.environ.get("LETHE", "")],
                      capture_output=True, timeout=30).stdout
    except (OSError, _sp.SubprocessError):
        return False
    return b"__asan_init" in out


if _sanitized():
    RSS_LIMIT_KIB *= 4
    print("NOTE: AddressSanitizer build: max RSS bound %d KiB" %
          RSS_LIMIT_KIB)
# The 10 GiB run is the normal pass's; the sanitizer pass (several times
# slower per byte) shows the same bounded memory on 1 GiB, four times its
# bound.
BIG = P.count(10, 1, "D: GiB of the sparse file") << 30
MARKER = b"SHADOW-MARKER-9f1c2e"
N_ONCE = P.count(1000, 200, "B: runs of once in the race")
N_AUDIT = P.count(500, 100, "B: runs of audit in the race")
SPARSE_SIZE = int(os.environ.get("E2E_SPARSE_BYTES", str(BIG)))


# ------------------------------------------------------------------ helpers

class Run:
    def __init__(self, argv, rc, out, err, rss, secs):
        self.argv, self.rc, self.out, self.err = argv, rc, out, err
        self.rss, self.secs = rss, secs
        self.timed_out = rc is None

    def text(self):
        return (self.out + self.err).decode("latin-1")

    def show(self, limit=2500):
        def cut(b):
            s = b.decode("latin-1")
            return s if len(s) <= limit else s[:limit] + "...[cut]"
        return "$ %s\n  exit %s%s (%.1fs, max RSS %d KiB)\n  stdout:\n%s\n" \
            "  stderr:\n%s" % (
                " ".join(a if isinstance(a, str) else repr(a)
                         for a in self.argv), self.rc,
                " (TIMED OUT)" if self.timed_out else "", self.secs,
                self.rss, L.indent(cut(self.out)), L.indent(cut(self.err)))


def run_raw(args, timeout=120):
    """lethe args: raw stdout/stderr bytes, max RSS (KiB, from
    /usr/bin/time, so that the test's own memory never counts), wall
    seconds; rc None when killed at timeout."""
    argv = [L.LETHE] + list(args)
    env = dict(os.environ)
    env.pop("JOURNAL_STREAM", None)
    with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe, \
            tempfile.NamedTemporaryFile(prefix="lethe-rss-") as ft:
        t0 = time.monotonic()
        p = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", ft.name] +
                             argv, stdin=subprocess.DEVNULL, stdout=fo,
                             stderr=fe, env=env, start_new_session=True)
        try:
            p.wait(timeout)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            rc = None
        secs = time.monotonic() - t0
        fo.seek(0)
        fe.seek(0)
        try:
            rss = int(open(ft.name).read().split()[-1])
        except (ValueError, IndexError, OSError):
            rss = -1
        return Run(argv, rc, fo.read(), fe.read(), rss, secs)


def bad_bytes(b):
    """Bytes of lethe's output that are not printable ASCII, \\n or \\t."""
    return sorted(set(c for c in b if not (0x20 <= c < 0x7f or c in
                                           (0x0a, 0x09))))


def esc(name):
    """log_esc: printable ASCII stays, backslash doubled, else \\ooo."""
    if isinstance(name, str):
        name = os.fsencode(name)
    out = []
    for c in name:
        if c == 0x5c:
            out.append("\\\\")
        elif 0x20 <= c < 0x7f:
            out.append(chr(c))
        else:
            out.append("\\%03o" % c)
    return "".join(out)


def check_clean_output(r, what):
    bb = bad_bytes(r.out + r.err)
    t.check(not bb, "%s: raw non-printable bytes %s in lethe's output\n%s" %
            (what, ["0x%02x" % c for c in bb], r.show()),
            kind="raw bytes in output")


class Inotify:
    """inotify on several paths (files: their inode, wherever opened)."""

    NAMES = {0x1: "ACCESS", 0x2: "MODIFY", 0x4: "ATTRIB",
             0x8: "CLOSE_WRITE", 0x10: "CLOSE_NOWRITE", 0x20: "OPEN",
             0x40: "MOVED_FROM", 0x80: "MOVED_TO", 0x100: "CREATE",
             0x200: "DELETE", 0x400: "DELETE_SELF", 0x800: "MOVE_SELF"}

    def __init__(self):
        self.libc = ctypes.CDLL("libc.so.6", use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self.wds = {}
        self.events = []        # (path watched, mask, name)

    def add(self, path, mask=0xfff):
        wd = self.libc.inotify_add_watch(self.fd, os.fsencode(path), mask)
        if wd < 0:
            raise OSError(ctypes.get_errno(), "inotify_add_watch " + path)
        self.wds[wd] = path

    def drain(self):
        while True:
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                return self.events
            i = 0
            while i + 16 <= len(buf):
                wd, mask, _, ln = struct.unpack_from("iIII", buf, i)
                name = buf[i + 16:i + 16 + ln].rstrip(b"\0")
                self.events.append((self.wds.get(wd, "?"), mask, name))
                i += 16 + ln

    def seen(self, path, mask):
        return [(p, m, n) for p, m, n in self.drain()
                if p == path and m & mask]

    @classmethod
    def describe(cls, evs, limit=8):
        out = []
        for p, m, n in evs[:limit]:
            out.append("%s%s %s" % (p, ("/" + n.decode("latin-1")) if n
                                    else "", "|".join(
                                        v for k, v in cls.NAMES.items()
                                        if m & k)))
        return "; ".join(out) + (" ... (%d events)" % len(evs)
                                 if len(evs) > limit else "")

    def close(self):
        os.close(self.fd)


def ident(path):
    st = os.lstat(path)
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_atime_ns,
            st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))


def old_spec(name, n=30, **kw):
    return L.FileSpec(name, L.gen_lines(rng, "main", OLD0, OLD1, n,
                                        weird=False), **kw)


def live_spec(name="access.log", **kw):
    return L.FileSpec(name, L.gen_lines(rng, "main", NOW - 5 * L.HOUR,
                                        NOW - 60, 10, weird=False),
                      live=True, **kw)


def hostile_dir(path):
    os.mkdir(path, 0o755)
    os.chown(path, WWW, WWW)
    os.chmod(path, 0o755)
    return path


def make_outside(base):
    """outside/shadow (log-like lines with full addresses past the window
    and MARKER, so that any read of it would show) and outside/hard."""
    d = os.path.join(base, "outside")
    os.mkdir(d, 0o755)
    sp = old_spec("shadow", 40, mode=0o640, gid=42)
    sp.lines[3].orig = sp.lines[3].orig.replace(b"GET ", MARKER + b" ", 1)
    sp.write(d, mtime=OLD1 - 5)
    hp = old_spec("hard", 40, mode=0o644)
    hp.lines[5].orig = hp.lines[5].orig.replace(b"GET ", MARKER + b" ", 1)
    hp.write(d, mtime=OLD1 - 7)
    # atime older than mtime: with relatime any read would move it
    d_sha = {"shadow": L.hashlib.sha256(sp.content()).hexdigest(),
             "hard": L.hashlib.sha256(hp.content()).hexdigest()}
    EXPECT_SHA[d] = d_sha
    for n in ("shadow", "hard"):
        p = os.path.join(d, n)
        st = os.stat(p)
        os.utime(p, ns=(st.st_mtime_ns - 10 ** 9 * 3600, st.st_mtime_ns))
    return d, sp, hp


def outside_state(d):
    out = {}
    for n in sorted(os.listdir(d)):
        p = os.path.join(d, n)
        st = os.lstat(p)
        out[n] = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_atime_ns,
                  st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))
    return out


EXPECT_SHA = {}


def outside_sha(d):
    """Only at the end: reading moves the atime."""
    return {n: L.sha(os.path.join(d, n)) for n in sorted(os.listdir(d))}


def any_marker(d):
    """Names of files under d (plain or gzip) holding MARKER."""
    hits = []
    for n in os.listdir(d):
        p = os.path.join(d, n)
        try:
            if not stat.S_ISREG(os.lstat(p).st_mode):
                continue
            data = open(p, "rb").read()
            if data[:2] == b"\x1f\x8b":
                try:
                    data = gzip.decompress(data)
                except Exception:
                    pass
        except OSError:
            continue
        if MARKER in data:
            hits.append(n)
    return hits


class RawDaemon:
    """lethe run with stderr to a file (raw bytes kept)."""

    def __init__(self, conf, logpath, now=NOW, rate=3600):
        env = dict(os.environ)
        for k in ("JOURNAL_STREAM", "NOTIFY_SOCKET", "WATCHDOG_USEC"):
            env.pop(k, None)
        env["LETHE_TEST_CLOCK_RATE"] = str(rate)
        self.logpath = logpath
        self.f = open(logpath, "wb")
        self.argv = [L.LETHE, "-c", conf, "--now", str(now), "run"]
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=self.f, stderr=self.f, env=env)

    def data(self):
        with open(self.logpath, "rb") as f:
            return f.read()

    def wait_for(self, pred, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred(self.data().decode("latin-1")):
                return True
            if self.proc.poll() is not None:
                return pred(self.data().decode("latin-1"))
            time.sleep(0.1)
        return False

    def stop(self):
        rc = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                rc = "did not stop within 30 s of TERM (killed)"
        else:
            rc = "exited early with %s" % self.proc.returncode
        self.f.close()
        return rc

    def as_run(self):
        d = self.data()
        return Run(self.argv, 0, b"", d, 0, 0)


def wconf(base, sets, extra=""):
    st = os.path.join(base, "state")
    if not os.path.isdir(st):
        os.mkdir(st, 0o700)
    return L.write_conf(os.path.join(base, "lethe.conf"), st, sets,
                        extra_global="sweep = 10s\n" + extra)


def reason_ok(kind, line):
    l = line.lower()
    if kind == "symlink":
        return "symbolic link" in l
    if kind == "hardlink":
        return "hard link" in l
    return any(w in l for w in ("not a regular file", "fifo", "socket",
                                "device", "directory"))


# ================================================ A. static hostile entries

def part_a():
    base = os.path.join(root, "a")
    os.mkdir(base, 0o711)
    outside, shadow, hard = make_outside(base)
    logs = hostile_dir(os.path.join(base, "logs"))
    live_spec(uid=WWW, gid=4).write(logs)
    good = old_spec("access.log.1", uid=WWW, gid=4)
    good.write(logs)
    sh = os.path.join(outside, "shadow")
    os.symlink(sh, os.path.join(logs, "access.log.3"))
    os.symlink("../outside/shadow", os.path.join(logs, "access.log.9.gz"))
    os.link(os.path.join(outside, "hard"), os.path.join(logs, "access.log.4"))
    os.mkdir(os.path.join(logs, "access.log.5"))
    os.mkfifo(os.path.join(logs, "access.log.6"), 0o644)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(os.path.join(logs, "access.log.7"))
    s.close()
    os.mknod(os.path.join(logs, "access.log.8"), 0o644 | stat.S_IFCHR,
             os.makedev(1, 3))
    for n in os.listdir(logs):
        os.lchown(os.path.join(logs, n), WWW, WWW)
    refused = {"access.log.3": "symlink", "access.log.9.gz": "symlink",
               "access.log.4": "hardlink", "access.log.5": "directory",
               "access.log.6": "fifo", "access.log.7": "socket",
               "access.log.8": "device"}
    conf = wconf(base, [("web", L.set_conf(os.path.join(logs, "access.log")))])
    ino = Inotify()
    ino.add(sh)
    ino.add(os.path.join(outside, "hard"))
    ino.add(outside)
    ino.add(logs, 0x21)     # OPEN|ACCESS of names in the log dir
    snap = L.snapshot(logs)         # reads access.log.4: before the watch
    refused_snap = {n: snap.get(n) for n in refused}
    os.utime(os.path.join(outside, "hard"), ns=(
        os.stat(os.path.join(outside, "hard")).st_mtime_ns - 3600 * 10 ** 9,
        os.stat(os.path.join(outside, "hard")).st_mtime_ns))
    o0, osha0 = outside_state(outside), EXPECT_SHA[outside]
    ino.drain()
    ino.events.clear()

    # FIFO watch: an open for reading would let O_WRONLY|O_NONBLOCK work
    fifo_opened = []
    stop = threading.Event()

    def fifo_probe():
        p = os.path.join(logs, "access.log.6")
        while not stop.is_set():
            try:
                fd = os.open(p, os.O_WRONLY | os.O_NONBLOCK)
                fifo_opened.append(time.monotonic())
                os.close(fd)
            except OSError:
                pass
            time.sleep(0.001)
    th = threading.Thread(target=fifo_probe, daemon=True)
    th.start()

    for cmd in (["once", "--dry-run"], ["audit"], ["once"]):
        name = " ".join(cmd)
        r = run_raw(["-c", conf, "--now", L.NOW_ISO] + cmd, timeout=60)
        t.info("A %s: exit %s in %.2fs" % (name, r.rc, r.secs))
        if r.timed_out:
            t.fail("A %s hung (FIFO or device?), killed after 60 s\n%s" % (
                name, r.show()))
            continue
        check_clean_output(r, "A " + name)
        txt = r.text()
        for n, kind in refused.items():
            p = os.path.join(logs, n)
            ls = [l for l in txt.split("\n") if p in l and
                  (l.endswith(n) or ("%s\"" % p) in l or (p + ":") in l)]
            t.check(ls, "A %s: no message naming the refused %s %s\n%s" % (
                name, kind, p, r.show()), kind="A not named")
            if ls:
                t.check(any(reason_ok(kind, l) for l in ls),
                        "A %s: the message on %s does not say why (%s): %r"
                        % (name, n, kind, ls), kind="A no reason")
            t.check(p not in r.out.decode("latin-1") or name == "audit",
                    "A %s: stdout names the refused %s" % (name, p))
        t.check("shadow" not in txt and "outside" not in txt,
                "A %s: output names the outside files (followed a link?)"
                "\n%s" % (name, r.show()))
        if cmd == ["once"]:
            gp = os.path.join(logs, "access.log.1")
            t.check("mask+compress %s -> %s.gz" % (gp, gp) in txt,
                    "A once: the good file was not processed\n" + r.show())
        if cmd == ["audit"]:
            t.check(r.rc == 1, "A audit: exit %s, expected 1\n%s" % (
                r.rc, r.show()))

    # the daemon, with a FIFO and a symlink added while it runs
    dlog = os.path.join(base, "daemon.log")
    good2 = old_spec("access.log.2", uid=WWW, gid=4)
    good2.write(logs)
    d = RawDaemon(conf, dlog)
    ok = d.wait_for(lambda s: "running: " in s, 30)
    t.check(ok, "A daemon did not start\n%s" % d.as_run().show())
    os.mkfifo(os.path.join(logs, "access.log.10"), 0o644)
    os.symlink(sh, os.path.join(logs, "access.log.11.gz"))
    os.link(os.path.join(outside, "hard"), os.path.join(logs, "access.log.12"))
    late = {"access.log.10": "fifo", "access.log.11.gz": "symlink",
            "access.log.12": "hardlink"}
    gp2 = os.path.join(logs, "access.log.2")
    ok = d.wait_for(lambda s: all(os.path.join(logs, n) in s for n in late)
                    and ('"%s"' % gp2) in s and "masked" in s, 40)
    d.proc.send_signal(signal.SIGHUP)       # rescan with all of them
    time.sleep(1.5)
    alive = d.proc.poll() is None
    rc = d.stop()
    r = d.as_run()
    t.info("A daemon: stopped (%s)" % rc)
    t.check(alive, "A daemon died\n%s" % r.show())
    t.check(rc == 0, "A daemon: exit %s\n%s" % (rc, r.show()))
    check_clean_output(r, "A daemon")
    txt = r.text()
    for n, kind in list(refused.items()) + list(late.items()):
        p = os.path.join(logs, n)
        ls = [l for l in txt.split("\n") if ('"%s"' % p) in l]
        t.check(ls and any(reason_ok(kind, l) for l in ls),
                "A daemon: no message naming the refused %s %s with why" % (
                    kind, p), kind="A daemon not named")
    t.check(os.path.exists(gp2 + ".gz"), "A daemon: the good access.log.2 "
            "was not compressed\n%s" % r.show())
    nskip = txt.count("skipping ")
    t.info("A daemon: %d 'skipping' messages for %d refused entries" % (
        nskip, len(refused) + len(late)))
    stop.set()
    th.join(2)
    t.check(not fifo_opened, "A: the FIFO access.log.6 was opened for "
            "reading %d times" % len(fifo_opened))

    # nothing outside opened, read or changed
    evs = ino.drain()
    bad = [e for e in evs if e[0] in (sh, os.path.join(outside, "hard"))
           and e[1] & 0x3b]     # ACCESS MODIFY CLOSE_WRITE CLOSE_NOWRITE OPEN
    t.check(not bad, "A: outside files were opened or read: %s" %
            Inotify.describe(bad))
    bad = [e for e in evs if e[0] == outside and e[1] & 0x3c3 and
           e[2] not in (b"shadow", b"hard")]
    bad += [e for e in evs if e[0] == outside and e[1] & 0x3c0]
    t.check(not bad, "A: entries created/removed/renamed in the outside "
            "dir: %s" % Inotify.describe(bad))
    opened = [e for e in evs if e[0] == logs and e[1] & 0x21 and
              os.fsdecode(e[2]) in list(refused) + list(late)]
    t.check(not opened, "A: refused entries were opened: %s" %
            Inotify.describe(opened))
    ino.close()
    o1 = outside_state(outside)
    for n in o0:
        t.check(o0[n][:4] == o1.get(n, (None,) * 7)[:4],
                "A: outside/%s changed (ino, size, mtime_ns, atime_ns): "
                "%s -> %s" % (n, o0[n], o1.get(n)))
    t.check(outside_sha(outside) == osha0, "A: outside content changed")
    t.check(sorted(os.listdir(outside)) == ["hard", "shadow"],
            "A: outside dir now holds %s" % os.listdir(outside))
    after = L.snapshot(logs)
    if after.get("access.log.4"):       # access.log.12 added a link
        after["access.log.4"] = after["access.log.4"][:6] + (2,)
    for n in refused:
        t.check(after.get(n) == refused_snap[n], "A: refused %s changed: "
                "%s" % (n, L.diff_snapshots({n: refused_snap[n]},
                                            {n: after.get(n)})))
    t.check(os.readlink(os.path.join(logs, "access.log.3")) == sh,
            "A: symlink access.log.3 changed")
    t.check(os.stat(os.path.join(outside, "hard")).st_nlink == 3,
            "A: a hard link to outside/hard was removed")
    hits = any_marker(logs)
    t.check(not hits, "A: the shadow's marker is in managed files %s" % hits)


# ========================================================= B. the race loop

def part_b():
    base = os.path.join(root, "b")
    os.mkdir(base, 0o711)
    outside, shadow, hard = make_outside(base)
    sh = os.path.join(outside, "shadow")
    hp = os.path.join(outside, "hard")
    logs = hostile_dir(os.path.join(base, "logs"))
    live_spec(uid=WWW, gid=4).write(logs)
    real = old_spec("real", 20)
    real_data = real.content()
    target = os.path.join(logs, "access.log.2")
    conf = wconf(base, [("web", L.set_conf(
        os.path.join(logs, "access.log"), compress_after="off",
        settle="0s"))])
    ino = Inotify()
    # not ATTRIB or MOVE_SELF: the swapper's links would flood the queue
    ino.add(sh, 0x3b)
    ino.add(hp, 0x3b)
    ino.add(outside, 0x3c0)
    o0, osha0 = outside_state(outside), EXPECT_SHA[outside]
    ino.drain()
    ino.events.clear()
    phase_ev = {}

    def phase(name):
        n0 = sum(len(v) for v in phase_ev.values())
        phase_ev[name] = ino.drain()[n0:]
    stop = threading.Event()
    swaps = [0, 0, 0]
    errors = []

    def swapper():
        i = 0
        st_real = os.path.join(logs, ".st-real")
        st_link = os.path.join(logs, ".st-link")
        st_hl = os.path.join(logs, ".st-hl")
        while not stop.is_set():
            k = i % 3
            try:
                if k == 0:
                    fd = os.open(st_real, os.O_WRONLY | os.O_CREAT |
                                 os.O_TRUNC, 0o640)
                    os.write(fd, real_data)
                    os.close(fd)
                    os.utime(st_real, (OLD1, OLD1))
                    os.rename(st_real, target)
                elif k == 1:
                    os.symlink(sh, st_link)
                    os.rename(st_link, target)
                else:
                    os.link(hp, st_hl)
                    os.rename(st_hl, target)
                swaps[k] += 1
            except OSError as e:
                errors.append(repr(e))
                for p in (st_real, st_link, st_hl):
                    try:
                        os.unlink(p)
                    except OSError:
                        pass
            i += 1
    th = threading.Thread(target=swapper, daemon=True)
    th.start()
    outs = []
    n_once = n_audit = 0
    hung = []
    t0 = time.monotonic()
    for i in range(N_ONCE):
        r = run_raw(["-c", conf, "--now", L.NOW_ISO, "once"], timeout=30)
        outs.append(r)
        n_once += 1
        if r.timed_out:
            hung.append(r)
    t1 = time.monotonic()
    phase("once")
    for i in range(N_AUDIT):
        r = run_raw(["-c", conf, "--now", L.NOW_ISO, "audit"], timeout=30)
        outs.append(r)
        n_audit += 1
        if r.timed_out:
            hung.append(r)
    t2 = time.monotonic()
    phase("audit")
    d = RawDaemon(conf, os.path.join(base, "daemon.log"))
    time.sleep(15)
    alive = d.proc.poll() is None
    rc = d.stop()
    dr = d.as_run()
    phase("daemon")
    stop.set()
    th.join(5)
    phase("after")
    for k, v in phase_ev.items():
        ov = [e for e in v if e[1] & 0x4000]
        t.check(not ov, "B %s: inotify queue overflow: the checks on "
                "outside reads are blind" % k)
        rd = [e for e in v if e[0] in (sh, hp) and e[1] & 0x0b]
        t.check(not rd, "B %s: outside files read or written: %s" % (
            k, Inotify.describe(rd)))
        op = [e for e in v if e[0] == sh and e[1] & 0x20]
        t.check(not op, "B %s: the shadow was opened (through the "
                "symlink): %s" % (k, Inotify.describe(op)))
    t.info("B race: %d swaps to a real file, %d to a symlink, %d to a hard "
           "link; once x%d in %.1fs, audit x%d in %.1fs, daemon 15s" % (
               swaps[0], swaps[1], swaps[2], n_once, t1 - t0, n_audit,
               t2 - t1))
    if errors:
        t.note("B swapper errors (lethe renamed/removed under it): %d, "
               "first %s" % (len(errors), errors[:3]))
    t.check(not hung, "B: %d runs hung\n%s" % (
        len(hung), hung[0].show() if hung else ""))
    t.check(alive, "B: the daemon died during the race\n%s" % dr.show())
    t.check(rc == 0, "B: daemon exit %s\n%s" % (rc, dr.show()))
    crashes = [r for r in outs if r.rc not in (0, 1, None)]
    t.check(not crashes, "B: %d runs crashed\n%s" % (
        len(crashes), crashes[0].show() if crashes else ""))
    acts = {}
    for r in outs + [dr]:
        check_clean_output(r, "B")
        txt = r.text()
        t.check("shadow" not in txt and "outside" not in txt,
                "B: output names an outside file\n%s" % r.show(),
                kind="B names outside")
        for l in txt.split("\n"):
            for w in ("mask ", "skipping", "file changed", "symbolic link",
                      "hard link"):
                if w in l:
                    acts[w] = acts.get(w, 0) + 1
    t.info("B messages seen: %s" % acts)
    t.info("B daemon log: %d lines, %d bytes" % (
        dr.err.count(b"\n"), len(dr.err)))
    evs = ino.drain()
    sh_ev = [e for e in evs if e[0] == sh]
    t.check(not sh_ev, "B: the shadow's inode saw events (opened or read "
            "through the symlink): %s" % Inotify.describe(sh_ev))
    hp_read = [e for e in evs if e[0] == hp and e[1] & 0x0b]
    t.check(not hp_read, "B: the outside hard-linked file was read or "
            "written: %s" % Inotify.describe(hp_read))
    hp_open = [e for e in evs if e[0] == hp and e[1] & 0x20]
    if hp_open:
        t.info("B: outside/hard opened %d times through the swapped hard "
               "link (then refused: nlink 2 or identity check), never read"
               % len(hp_open))
    od = [e for e in evs if e[0] == outside and e[1] & 0x3c0]
    t.check(not od, "B: entries created/removed in the outside dir: %s" %
            Inotify.describe(od))
    ino.close()
    o1 = outside_state(outside)
    t.check(o0["shadow"] == o1.get("shadow"), "B: shadow changed (ino, "
            "size, mtime_ns, atime_ns, uid, gid, mode): %s -> %s" % (
                o0["shadow"], o1.get("shadow")))
    t.check(o0["hard"][:4] == o1.get("hard", (None,) * 7)[:4],
            "B: outside/hard changed: %s -> %s" % (o0["hard"], o1.get("hard")))
    t.check(outside_sha(outside) == osha0, "B: outside content changed")
    t.check(sorted(os.listdir(outside)) == ["hard", "shadow"],
            "B: outside dir holds %s (temp files?)" % os.listdir(outside))
    hits = any_marker(logs)
    t.check(not hits, "B: the outside marker is in managed files %s" % hits)
    tmps = [n for n in os.listdir(logs) if ".lethe-" in n]
    t.check(not tmps, "B: temp files left in the log dir: %s" % tmps)


# ======================================================== C. hostile names

ODD_LIVE = [b"we\x1b[31mird.log", b"tab\there.log"]
ODD_ROT = [b"we\nird.log.1", b"sp ace s.log.1",
           b"bell\x07\x1b]0;pwned\x07.log.2", b"del\x7f\xe9\x9b.log.1",
           b"back\\012slash.log.1", b"we\x1b[31mird.log.2",
           b"\x1b[2J\x1b[H.log.3"]
ODD_REFUSED = [(b"evil\x1b[2J\n.log.3", "symlink"), (b"fi\nfo.log.4", "fifo")]


def make_odd(base):
    outside, _, _ = make_outside(base)
    d = hostile_dir(os.path.join(base, "logs"))
    db = os.fsencode(d)
    specs = {}
    for n in ODD_LIVE:
        s = live_spec(os.fsdecode(n), uid=WWW, gid=4)
        s.write(d)
    for n in ODD_ROT:
        s = old_spec(os.fsdecode(n), uid=WWW, gid=4)
        s.write(d)
        specs[n] = s
    os.symlink(os.path.join(outside, "shadow"), os.path.join(db, ODD_REFUSED[0][0]))
    os.mkfifo(os.path.join(db, ODD_REFUSED[1][0]), 0o644)
    conf = wconf(base, [("odd", L.set_conf(os.path.join(d, "*.log"),
                                           settle="0s"))])
    return d, conf, specs


def check_odd_files(what, d, specs):
    db = os.fsencode(d)
    for n, s in specs.items():
        p = os.path.join(db, n + b".gz")
        if not os.path.exists(p):
            t.fail("C %s: %r was not compressed (%r missing); dir: %r" % (
                what, n, n + b".gz", sorted(os.listdir(db))))
            continue
        data, _ = L.read_content(p)
        L.check_lines(t, "C %s %r" % (what, n), data, s, NOW, L.WINDOW,
                      L.MASK_EARLY)


def part_c():
    base = os.path.join(root, "c")
    os.mkdir(base, 0o711)
    d, conf, specs = make_odd(base)
    db = os.fsencode(d)
    for i, cmd in enumerate((["once", "--dry-run"], ["audit"], ["once"],
                             ["audit"])):
        name = " ".join(cmd) + (" (after once)" if i == 3 else "")
        r = run_raw(["-c", conf, "--now", L.NOW_ISO] + cmd, timeout=60)
        t.info("C %s: exit %s in %.2fs" % (name, r.rc, r.secs))
        t.check(not r.timed_out, "C %s hung\n%s" % (name, r.show()))
        check_clean_output(r, "C " + name)
        txt = r.text()
        for n, kind in ODD_REFUSED:
            ep = esc(os.path.join(db, n))
            t.check(any(ep in l and reason_ok(kind, l)
                        for l in txt.split("\n")),
                    "C %s: no message naming %s (escaped %s) and why\n%s" % (
                        name, kind, ep, r.show()), kind="C refusal")
        if cmd == ["once"]:
            for n in specs:
                ep = esc(os.path.join(db, n))
                want = "mask+compress %s -> %s.gz" % (ep, ep)
                t.check(want in r.out.decode("latin-1").split("\n"),
                        "C once: no line %r\n%s" % (want, r.show()),
                        kind="C once action")
            t.check(r.rc == 0, "C once: exit %s\n%s" % (r.rc, r.show()))
        if i == 3:
            t.check(r.rc == 1 and all(esc(os.path.join(db, n)) not in
                                      r.out.decode("latin-1")
                                      for n in specs),
                    "C audit after once: exit %s (1: the refusals) or "
                    "a processed file listed\n%s" % (r.rc, r.show()))
        if i == 1 and r.rc is not None:
            for n in specs:
                ep = esc(os.path.join(db, n))
                t.check(ep in txt, "C audit: %s not listed" % ep,
                        kind="C audit")
    check_odd_files("once", d, specs)
    # the daemon, on a fresh copy
    base2 = os.path.join(root, "c2")
    os.mkdir(base2, 0o711)
    d2, conf2, specs2 = make_odd(base2)
    db2 = os.fsencode(d2)
    dm = RawDaemon(conf2, os.path.join(base2, "daemon.log"))
    ok = dm.wait_for(lambda s: all(os.path.exists(os.path.join(
        db2, n + b".gz")) for n in specs2), 60)
    time.sleep(1)
    alive = dm.proc.poll() is None
    rc = dm.stop()
    r = dm.as_run()
    t.check(ok, "C daemon: not every odd file was compressed in 60 s\n%s" %
            r.show())
    t.check(alive and rc == 0, "C daemon: died or bad exit (%s)\n%s" % (
        rc, r.show()))
    check_clean_output(r, "C daemon")
    txt = r.text()
    for n, kind in ODD_REFUSED:
        ep = esc(os.path.join(db2, n))
        t.check(any(ep in l and reason_ok(kind, l) for l in txt.split("\n")),
                "C daemon: no message naming %s (escaped %s) and why" % (
                    kind, ep), kind="C daemon refusal")
    for n in specs2:
        ep = esc(os.path.join(db2, n))
        t.check(ep in txt, "C daemon: the log never names %s" % ep,
                kind="C daemon names")
    check_odd_files("daemon", d2, specs2)


# ====================================================== D. 10 GiB sparse file

def part_d():
    base = os.path.join(root, "d")
    os.mkdir(base, 0o711)
    logs = hostile_dir(os.path.join(base, "logs"))
    live_spec(uid=WWW, gid=4).write(logs)
    head = L.gen_lines(rng, "main", OLD0, OLD0 + 600, 20, weird=False)
    tail = L.gen_lines(rng, "main", OLD1 - 600, OLD1, 20, weird=False)
    hb = b"".join(l.orig + b"\n" for l in head)
    tb = b"\n" + b"".join(l.orig + b"\n" for l in tail)
    hm = b"".join(l.masked + b"\n" for l in head)
    tm = b"\n" + b"".join(l.masked + b"\n" for l in tail)
    p = os.path.join(logs, "access.log.1")
    with open(p, "wb") as f:
        f.write(hb)
        f.truncate(SPARSE_SIZE)
        f.seek(SPARSE_SIZE - len(tb))
        f.write(tb)
    os.chown(p, WWW, 4)
    os.chmod(p, 0o640)
    os.utime(p, (OLD1, OLD1))
    st0 = os.stat(p)
    nuls = SPARSE_SIZE - len(hb) - len(tb)
    gib = SPARSE_SIZE / float(1 << 30)
    t.info("D sparse file: %.1f GiB apparent, %d KiB allocated" % (
        gib, st0.st_blocks // 2))
    conf = wconf(base, [("web", L.set_conf(os.path.join(logs, "access.log")))])
    r = run_raw(["-c", conf, "--now", L.NOW_ISO, "audit"], timeout=240)
    t.info("D audit (plain %.1f GiB): exit %s in %.1fs, max RSS %d KiB" % (
        gib, r.rc, r.secs, r.rss))
    t.check(not r.timed_out, "D audit hung\n" + r.show())
    t.check(r.rc == 1 and ("%s: " % p) in r.out.decode("latin-1"),
            "D audit: expected exit 1 and a line for %s\n%s" % (p, r.show()))
    t.check(r.rss < RSS_LIMIT_KIB, "D audit: max RSS %d KiB >= %d KiB" % (
        r.rss, RSS_LIMIT_KIB))
    check_clean_output(r, "D audit")
    r = run_raw(["-c", conf, "--now", L.NOW_ISO, "once"], timeout=400)
    t.info("D once (mask+compress %.1f GiB): exit %s in %.1fs, max RSS %d "
           "KiB" % (gib, r.rc, r.secs, r.rss))
    t.check(not r.timed_out, "D once hung\n" + r.show())
    t.check(r.rss < RSS_LIMIT_KIB, "D once: max RSS %d KiB >= %d KiB" % (
        r.rss, RSS_LIMIT_KIB))
    check_clean_output(r, "D once")
    gz = p + ".gz"
    if not os.path.exists(gz):
        # refused clearly is acceptable; silently skipped is not
        t.check(p in r.err.decode("latin-1") and os.path.exists(p) and
                os.stat(p).st_size == SPARSE_SIZE,
                "D once: neither compressed nor refused with a message, or "
                "the original changed\n%s" % r.show())
        return
    t.check(r.rc == 0 and ("mask+compress %s -> %s" % (p, gz)) in
            r.out.decode("latin-1"), "D once: exit %s / action line "
            "missing\n%s" % (r.rc, r.show()))
    t.check(not os.path.exists(p), "D once: the original is still there "
            "beside its .gz")
    st1 = os.stat(gz)
    t.info("D result: %s, %d bytes" % (os.path.basename(gz), st1.st_size))
    t.check((st1.st_uid, st1.st_gid, stat.S_IMODE(st1.st_mode),
             st1.st_mtime_ns) == (WWW, 4, 0o640, st0.st_mtime_ns),
            "D: owner/mode/mtime not kept: %s" % (
                (st1.st_uid, st1.st_gid, oct(st1.st_mode), st1.st_mtime_ns),))
    # stream the result: masked head, NULs, masked tail
    t0 = time.monotonic()
    dz = zlib.decompressobj(31)
    total = 0
    headbuf = b""
    tailbuf = b""
    nonzero = 0
    with open(gz, "rb") as f:
        while True:
            c = f.read(1 << 20)
            if not c:
                break
            data = dz.decompress(c, 1 << 22)
            while True:
                if data:
                    if len(headbuf) < len(hm):
                        k = len(hm) - len(headbuf)
                        headbuf += data[:k]
                        mid = data[k:]
                    else:
                        mid = data
                    total += len(data)
                    tailbuf = (tailbuf + mid)[-len(tm):]
                    nonzero += len(mid) - mid.count(0)
                if not dz.unconsumed_tail:
                    break
                data = dz.decompress(dz.unconsumed_tail, 1 << 22)
            if dz.eof:
                break
    t.info("D result streamed in %.1fs: %d bytes" % (
        time.monotonic() - t0, total))
    want = SPARSE_SIZE - len(hb) - len(tb) + len(hm) + len(tm)
    t.check(total == want, "D: decompressed size %d != %d" % (total, want))
    t.check(headbuf == hm, "D: the head lines are not the masked originals: "
            "%s" % L.describe_diff(headbuf, hm))
    t.check(tailbuf == tm, "D: the tail lines are not the masked originals: "
            "%s" % L.describe_diff(tailbuf, tm))
    # non-zero bytes outside head: only the tail lines
    t.check(nonzero == len(tm) - tm.count(0), "D: %d non-NUL bytes in the "
            "middle (expected only the tail's %d)" % (
                nonzero, len(tm) - tm.count(0)))
    r = run_raw(["-c", conf, "--now", L.NOW_ISO, "audit"], timeout=240)
    t.info("D audit (gzip): exit %s in %.1fs, max RSS %d KiB" % (
        r.rc, r.secs, r.rss))
    # Masked whole; the 10 GiB run of NULs is a line over 1 MiB, which
    # stays not understood: audit says that and nothing else.
    out = r.out.decode("latin-1").splitlines()
    t.check(r.rc == 1 and len(out) == 1 and re.match(
        re.escape(gz) + r": 1 lines not understood past the window, first "
        r"at line \d+$", out[0]), "D audit after once: expected exit 1 and "
        "only the long line not understood\n%s" % r.show())
    t.check(r.rss < RSS_LIMIT_KIB, "D audit (gzip): max RSS %d KiB" % r.rss)
    os.unlink(gz)


# =============================================== E. owner change mid-rewrite

def part_e():
    base = os.path.join(root, "e")
    os.mkdir(base, 0o711)
    logs = hostile_dir(os.path.join(base, "logs"))
    live_spec(uid=WWW, gid=4).write(logs)
    block = L.gen_lines(rng, "main", OLD0, OLD1, 2000, weird=False)
    bo = b"".join(l.orig + b"\n" for l in block)
    bm = b"".join(l.masked + b"\n" for l in block)
    reps = max(1, (256 << 20) // len(bo))
    p = os.path.join(logs, "access.log.1")
    with open(p, "wb") as f:
        for _ in range(reps):
            f.write(bo)
    os.chown(p, WWW, 4)
    os.chmod(p, 0o640)
    os.utime(p, (OLD1, OLD1))
    st0 = os.stat(p)
    conf = wconf(base, [("web", L.set_conf(os.path.join(logs, "access.log")))])
    seen = {}
    stop = threading.Event()

    def chowner():
        while not stop.is_set():
            tmps = [n for n in os.listdir(logs) if ".lethe-" in n]
            if tmps:
                time.sleep(0.2)         # well into the rewrite
                if any(".lethe-" in n for n in os.listdir(logs)):
                    os.chown(p, 4321, 4321)
                    seen["at"] = time.monotonic()
                    seen["tmp_after"] = any(".lethe-" in n for n in
                                            os.listdir(logs))
                return
            time.sleep(0.002)
    th = threading.Thread(target=chowner, daemon=True)
    th.start()
    r = run_raw(["-c", conf, "--now", L.NOW_ISO, "once"], timeout=240)
    stop.set()
    th.join(5)
    mb = reps * len(bo) / float(1 << 20)
    t.info("E once on %.0f MiB: exit %s in %.1fs, max RSS %d KiB; chown "
           "during the rewrite: %s" % (mb, r.rc, r.secs, r.rss,
                                       "yes" if seen.get("tmp_after")
                                       else "no"))
    if not seen.get("tmp_after"):
        t.note("E: the chown did not land while the temp file existed "
               "(rewrite too fast?); the check is weaker")
    check_clean_output(r, "E once")
    gz = p + ".gz"
    if os.path.exists(gz):
        st1 = os.stat(gz)
        owner = (st1.st_uid, st1.st_gid)
        t.info("E result owner %s (original %s, chowned to 4321:4321)" % (
            owner, (WWW, 4)))
        t.check(owner in ((WWW, 4), (4321, 4321)), "E: owner %s is one "
                "lethe never saw" % (owner,))
        t.check(stat.S_IMODE(st1.st_mode) == 0o640, "E: mode %o" %
                stat.S_IMODE(st1.st_mode))
        t.check(not os.path.exists(p), "E: original left beside the .gz")
        h = hashlib.sha256()
        n = 0
        with gzip.open(gz, "rb") as f:
            for c in iter(lambda: f.read(1 << 22), b""):
                h.update(c)
                n += len(c)
        he = hashlib.sha256()
        for _ in range(reps):
            he.update(bm)
        t.check(h.digest() == he.digest(), "E: content is not the %d "
                "masked blocks (%d bytes, expected %d): lines lost or "
                "changed" % (reps, n, reps * len(bm)))
        t.check(r.rc == 0, "E once: exit %s\n%s" % (r.rc, r.show()))
    else:
        # failed cleanly: original intact, reported, no temp file
        t.check(os.path.exists(p) and os.stat(p).st_size == st0.st_size and
                L.sha(p) == hashlib.sha256(bo * reps).hexdigest(),
                "E: no .gz and the original changed or is gone\n" + r.show())
        t.check(r.rc == 1 and p in r.err.decode("latin-1"),
                "E: no .gz but no error reported\n" + r.show())
        t.info("E: lethe refused the rewrite: %s" % r.err[-300:])
    tmps = [x for x in os.listdir(logs) if ".lethe-" in x]
    t.check(not tmps, "E: temp files left: %s" % tmps)


for name, fn in (("A", part_a), ("B", part_b), ("C", part_c), ("E", part_e),
                 ("D", part_d)):
    if name not in os.environ.get("E2E_PARTS", "ABCDE"):
        continue
    t0 = time.monotonic()
    fn()
    t.info("part %s: %.1fs" % (name, time.monotonic() - t0))
    sys.stdout.flush()
t.done()
