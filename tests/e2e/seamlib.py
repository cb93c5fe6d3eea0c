"""Helpers of the seam tests (89-99): renames under lethe's feet, the
lock, never-late masking, reloads and the edges of issue 9; python3
stdlib only.

Nothing here asks lethe what is right.  Every line the tests write has
a unique sequence number ("GET /seq/N "), so the reader counts each one
(lost, doubled); a line's time and its address are read back from the
line itself (lethelib.parse_clf_time, lethelib.mask_token: the ipaddress
module), and gzip files are read with python's gzip module (which, like
zcat, skips trailing NUL padding).

- need_root: as root, go on; otherwise skip (exit 77, the reason on the
  last line), except when CI is set: then the test fails.
- fault_binary: the fault build (make fault: build-fault/lethe; in the
  sanitizer pass a sanitizer build, build-fault-san/lethe), built when
  needed; LETHE_FAULT_BIN overrides.
- run: one lethe command with a clean environment (TZ=UTC, no fault or
  pause variables unless given); Pause: one command started with
  LETHE_PAUSE=OP:N:PATH, paused before its Nth OP until PATH is removed.
- Corpus / census: numbered lines, and the independent reader's count of
  a set of directories at a given instant (lost, doubled, full addresses
  past the window, lines masked earlier than mask_early allows, lines
  that are neither an original nor its masked form).
"""

import gzip
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import daemonlib as D  # noqa: E402
import lethelib as L  # noqa: E402
import passlib as P  # noqa: E402

CI = bool(os.environ.get("CI"))
LETHE = L.LETHE
MINUTE = 60
HOUR = L.HOUR
DAY = L.DAY
PAUSE_OPS = ("rename", "unlink", "link")
# What a test removes from the environment of every lethe it starts.
ENV_DROP = ("LETHE_FAULT", "LETHE_FAULT_COUNT", "LETHE_PAUSE",
            "LETHE_FAULT_WRITER", "LETHE_TEST_CLOCK_RATE", "JOURNAL_STREAM",
            "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")


iso = D.iso                     # epoch -> "2026-06-01T10:00:00Z"
epoch = L.iso_to_epoch          # and back


# ------------------------------------------------------------ environment

def need_root(t, what):
    """Root is needed (what: for what).  Under CI a missing root is a
    failure, elsewhere a visible skip."""
    if os.geteuid() == 0:
        return
    if CI:
        t.fail("this test needs root (%s) and CI is set: under CI a test "
               "that needs root fails instead of skipping" % what)
        t.done()
    t.skip("needs root (%s)" % what)


def fault_binary(t):
    """The fault build: $LETHE_FAULT_BIN, or `make fault` in the source
    tree these tests sit in (make is incremental: it rebuilds only what
    changed): build-fault/lethe, or in the sanitizer pass a sanitizer
    build of it, build-fault-san/lethe, so that the faults and pauses run
    under the sanitizers too."""
    b = os.environ.get("LETHE_FAULT_BIN")
    if b:
        return b
    if not os.path.exists(os.path.join(REPO, "Makefile")) or \
            not os.path.exists(os.path.join(REPO, "daemon", "fsio.c")):
        if CI:
            t.fail("no source tree at %s to build the fault seam in, and "
                   "LETHE_FAULT_BIN is not set" % REPO)
            t.done()
        t.skip("no source tree at %s to build the fault seam in, and "
               "LETHE_FAULT_BIN is not set: the seam tests NOT run" % REPO)
    argv = ["make", "--no-print-directory", "-s", "fault",
            "SANITIZE=" + P.SANITIZE]
    p = subprocess.run(argv, cwd=REPO, capture_output=True, timeout=600)
    if p.returncode != 0:
        t.fail("building the fault seam failed: %s\n%s%s" % (
            " ".join(argv), p.stdout.decode()[-3000:],
            p.stderr.decode()[-3000:]))
        t.done()
    return os.path.join(REPO, "build-fault-san" if P.SANITIZE else
                        "build-fault", "lethe")


def clean_env(env=None):
    e = dict(os.environ)
    for k in ENV_DROP:
        e.pop(k, None)
    e["TZ"] = "UTC"
    if env:
        for k, v in env.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
    return e


def run(binary, args, env=None, timeout=120, pass_fds=(), preexec=None):
    """Run binary with args; a lethelib.Result (rc None: timed out)."""
    argv = [binary] + list(args)
    try:
        p = subprocess.run(argv, capture_output=True, timeout=timeout,
                           env=clean_env(env), stdin=subprocess.DEVNULL,
                           pass_fds=pass_fds, preexec_fn=preexec)
        return L.Result(argv, p.returncode,
                        p.stdout.decode("utf-8", "backslashreplace"),
                        p.stderr.decode("utf-8", "backslashreplace"))
    except subprocess.TimeoutExpired as x:
        return L.Result(argv, None, (x.stdout or b"").decode(
            "utf-8", "backslashreplace"), (x.stderr or b"").decode(
            "utf-8", "backslashreplace"), timed_out=True)


def read_counts(path):
    """LETHE_FAULT_COUNT's file: {op: count}, or None when missing."""
    out = {}
    try:
        with open(path) as f:
            for line in f:
                p = line.split()
                if len(p) == 2:
                    out[p[0]] = int(p[1])
    except FileNotFoundError:
        return None
    return out


class Pause:
    """One lethe command with LETHE_PAUSE=OP:N:PATH (the fault build):
    before its Nth OP call it creates PATH ("OP N\\n") and blocks until
    PATH is removed.  stdout and stderr go to files (no pipe to fill)."""

    def __init__(self, binary, args, op, n, path, env=None, tag="p"):
        self.path = path
        self.spec = "%s:%d:%s" % (op, n, path)
        d = os.path.dirname(path)
        self.outp = os.path.join(d, "%s.out" % tag)
        self.errp = os.path.join(d, "%s.err" % tag)
        e = {"LETHE_PAUSE": self.spec}
        if env:
            e.update(env)
        self.argv = [binary] + list(args)
        self.out = open(self.outp, "wb")
        self.err = open(self.errp, "wb")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=self.out, stderr=self.err,
                                     env=clean_env(e))
        self.pid = self.proc.pid
        self.result = None

    def wait_paused(self, timeout=60):
        """'paused' (PATH exists), 'exited' (it ended first: the Nth call
        never came) or 'timeout'.  The seam creates PATH, then writes its
        line: paused waits (a few seconds at most) for the line too, so
        that content() reads it whole on a loaded machine."""
        end = time.monotonic() + timeout
        while True:
            if os.path.exists(self.path):
                self._wait_line(5.0)
                return "paused"
            if self.proc.poll() is not None:
                return "paused" if os.path.exists(self.path) else "exited"
            if time.monotonic() > end:
                return "timeout"
            time.sleep(0.002)

    def _wait_line(self, limit):
        end = time.monotonic() + limit
        while time.monotonic() < end and self.proc.poll() is None:
            c = self.content()
            if c is None or c.endswith("\n"):
                return
            time.sleep(0.002)

    def content(self):
        try:
            with open(self.path) as f:
                return f.read()
        except FileNotFoundError:
            return None

    def release(self):
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def finish(self, timeout=120):
        """Release, wait, and return the Result."""
        self.release()
        timed_out = False
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            rc = None
            timed_out = True
        self.out.close()
        self.err.close()
        with open(self.outp, "rb") as f:
            out = f.read().decode("utf-8", "backslashreplace")
        with open(self.errp, "rb") as f:
            err = f.read().decode("utf-8", "backslashreplace")
        self.result = L.Result(self.argv, rc, out, err, timed_out)
        return self.result

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.release()
        for f in (self.out, self.err):
            try:
                f.close()
            except OSError:
                pass


def pause_seam_works(fault_bin, tmp):
    """Does the fault build honour LETHE_PAUSE?  A probe: `check` paused
    before its first open.  Returns (True, "") or (False, why)."""
    d = os.path.join(tmp, "probe")
    os.makedirs(os.path.join(d, "logs"), exist_ok=True)
    conf = os.path.join(d, "probe.conf")
    with open(conf, "w") as f:
        f.write("[global]\nstate_dir = %s\n\n[p]\nlogs = %s/logs/a.log\n"
                "format = combined\nrotate = off\nwindow = 7d\n"
                "retain = 20d\n" % (os.path.join(d, "state"), d))
    pp = os.path.join(d, "pause")
    p = Pause(fault_bin, ["-c", conf, "check"], "open", 1, pp, tag="probe")
    st = p.wait_paused(20)
    content = p.content()
    r = p.finish(30)
    shutil.rmtree(d, ignore_errors=True)
    if st != "paused":
        return False, ("%s with LETHE_PAUSE=open:1:PATH %s without creating "
                       "PATH: the fault build has no pause seam (issue 9, "
                       "B)\n%s" % (fault_bin, "exited" if st == "exited"
                                   else "ran 20 s", r.show(800)))
    if content is None or not re.match(r"^open 1\n?$", content):
        return True, "the pause file holds %r, not \"open 1\\n\"" % content
    return True, ""


# ------------------------------------------------------------ lines

SEQ_RE = re.compile(rb"GET /seq/(\d+) ")
TIME_RE = re.compile(rb"\[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} "
                     rb"[+-]\d{4}\]")


def clf(t):
    return L.time_local(int(t))


class Rec:
    __slots__ = ("seq", "time", "orig", "masked", "full")

    def __init__(self, seq, t, orig, masked, full):
        self.seq = seq
        self.time = t
        self.orig = orig
        self.masked = masked
        self.full = full


class Corpus:
    """Numbered combined-format lines; each knows its masked form."""

    def __init__(self, seed, v4p=16, v6p=32, first_seq=0):
        self.rng = random.Random(seed)
        self.v4p = v4p
        self.v6p = v6p
        self.next = first_seq
        self.recs = {}

    def addr(self):
        r = self.rng.random()
        if r < 0.65:
            return L.rand_v4(self.rng)
        if r < 0.95:
            return L.rand_v6(self.rng, self.rng.choice(
                ["compressed", "sparse", "exploded", "mapped"]))
        return "proxy.example.net"

    def _masked(self, a):
        r = L.mask_token(a, self.v4p, self.v6p)
        return (r[0], r[1]) if r else (a, False)

    def line(self, t, addr=None, seq=None, ua="ua"):
        """A new line (bytes, no newline) at time t; its address from a
        pool of 4096 random ones (IPv4, IPv6 of several forms, a few host
        names) unless given."""
        if seq is None:
            seq = self.next
            self.next += 1
        if addr is None:
            if not hasattr(self, "pool"):
                self.pool = []
                for _ in range(4096):
                    a = self.addr()
                    self.pool.append((a,) + self._masked(a))
            a, ma, full = self.pool[self.rng.randrange(len(self.pool))]
        else:
            a = addr
            ma, full = self._masked(a)
        tail = ' - - [%s] "GET /seq/%d HTTP/1.1" 200 5 "-" "%s"' % (
            clf(t), seq, ua)
        orig = (a + tail).encode()
        masked = (ma + tail).encode()
        self.recs[seq] = Rec(seq, int(t), orig, masked, full)
        return orig

    def lines(self, t0, t1, n, ua="ua"):
        """n lines with times spread evenly over [t0, t1] (in order)."""
        if n == 1:
            return [self.line(t0, ua=ua)]
        step = (t1 - t0) / float(n - 1)
        return [self.line(int(t0 + i * step), ua=ua) for i in range(n)]

    def text(self, lines, masked_before=None, final_newline=True):
        """Bytes of lines; those with time <= masked_before masked (a file
        as lethe would have left it after masking through that time)."""
        out = []
        for b in lines:
            rec = self.recs[int(SEQ_RE.search(b).group(1))]
            if masked_before is not None and rec.time <= masked_before:
                out.append(rec.masked)
            else:
                out.append(rec.orig)
        data = b"\n".join(out)
        if out and final_newline:
            data += b"\n"
        return data

    def seqs(self, lines):
        return [int(SEQ_RE.search(b).group(1)) for b in lines]


def write_file(path, data, gz=False, mtime=None, mode=0o640, level=6):
    if gz:
        data = gzip.compress(data, level, mtime=0)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def lethe_gzip(data, comment=b"lethe", mtime=0):
    """gzip bytes whose header carries a comment (FCOMMENT), as lethe
    writes them; python's gzip module cannot write one."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = c.compress(data) + c.flush()
    hdr = b"\x1f\x8b\x08\x10" + mtime.to_bytes(4, "little") + b"\x00\x03"
    hdr += comment + b"\x00"
    tr = (zlib.crc32(data) & 0xffffffff).to_bytes(4, "little") + \
        (len(data) & 0xffffffff).to_bytes(4, "little")
    return hdr + body + tr


def read_any(path):
    """(data, is_gzip, error or None).  gzip by its magic; a damaged gzip
    gives what could be read and the error."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] != b"\x1f\x8b":
        return raw, False, None
    try:
        return gzip.decompress(raw), True, None
    except (OSError, EOFError, zlib.error) as e:
        # what a streaming reader gets before the damage
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            part = d.decompress(raw)
        except zlib.error:
            part = b""
        return part, True, "%s: %s" % (type(e).__name__, e)


# lines (the last one may lack its newline) and whether it had one
split = L.split_lines


class Census:
    """What the independent reader found in a set of directories."""

    def __init__(self):
        self.seen = {}          # seq -> [file names]
        self.full_past = []     # (file, seq, time, address)
        self.masked_early = []  # (file, seq, time)
        self.changed = []       # (file, line): neither original nor masked
        self.foreign = []       # (file, line): no sequence number
        self.unreadable = []    # (file, error)
        self.files = []
        self.no_newline = []    # files whose last line has no newline
        self.lines = 0
        self.oldest_full = {}   # file -> time of its oldest full address

    def lost(self, expected):
        return sorted(s for s in expected if s not in self.seen)

    def doubled(self):
        return {s: v for s, v in self.seen.items() if len(v) > 1}

    def summary(self, expected=None, gone_ok=()):
        s = "%d files, %d lines" % (len(self.files), self.lines)
        if expected is not None:
            s += ", lost %d" % len(self.lost(expected))
        s += ", doubled %d, full past the window %d" % (
            len(self.doubled()), len(self.full_past))
        return s


def first_field_addr(line):
    sp = line.find(b" ")
    return line[:sp].decode("latin-1") if sp > 0 else ""


def census(dirs, corpus=None, cut=None, early=None, v4p=16, v6p=32,
           skip=(), only=None):
    """Read every visible regular file of dirs.  cut: a line older than
    cut (time < cut) must hold no full address; early: a line masked by
    lethe must have time <= early (mask_early's promise to keep full
    addresses that long).  corpus: lines it knows must be their original
    or their masked form, byte for byte."""
    c = Census()
    tcache, acache = {}, {}
    for d in dirs:
        for name in sorted(os.listdir(d)):
            p = os.path.join(d, name)
            if name.startswith(".") or name in skip or \
                    os.path.islink(p) or not os.path.isfile(p):
                continue
            rel = os.path.relpath(p, os.path.dirname(d)) \
                if len(dirs) > 1 else name
            if only is not None and rel not in only:
                continue
            try:
                data, _, err = read_any(p)
            except FileNotFoundError:
                continue        # removed while we read the directory
            c.files.append(rel)
            if err:
                c.unreadable.append((rel, err))
            lines, nl = split(data)
            if lines and not nl:
                c.no_newline.append(rel)
            prev = None
            for ln in lines:
                c.lines += 1
                # the time: "[dd/Mon/yyyy:hh:mm:ss +zzzz]", cached by text
                i = ln.find(b" [")
                ts = ln[i + 1:i + 29] if i >= 0 else b""
                t = tcache.get(ts, False)
                if t is False:
                    m = TIME_RE.search(ln)
                    t = L.parse_clf_time(m.group(0)) if m else None
                    if len(ts) == 28 and m and m.group(0) == ts:
                        tcache[ts] = t
                if t is None:
                    t = prev
                prev = t
                i = ln.find(b"GET /seq/")
                j = ln.find(b" ", i + 9) if i >= 0 else -1
                try:
                    seq = int(ln[i + 9:j]) if j > i + 9 else None
                except ValueError:
                    seq = None
                if seq is None:
                    c.foreign.append((rel, ln[:100]))
                    continue
                c.seen.setdefault(seq, []).append(rel)
                a = first_field_addr(ln)
                full = acache.get(a)
                if full is None:
                    r = L.mask_token(a, v4p, v6p)
                    full = acache[a] = bool(r and r[1])
                rec = corpus.recs.get(seq) if corpus is not None else None
                if rec is not None and ln != rec.orig and ln != rec.masked:
                    c.changed.append((rel, ln[:160]))
                if full and t is not None and t < c.oldest_full.get(
                        rel, t + 1):
                    c.oldest_full[rel] = t
                if full and cut is not None and t is not None and t < cut:
                    c.full_past.append((rel, seq, t, a))
                if rec is not None and early is not None and \
                        ln == rec.masked and rec.masked != rec.orig and \
                        rec.time > early:
                    c.masked_early.append((rel, seq, rec.time))
    return c


def hidden_lethe(dirs):
    """Names like ".NAME.lethe-XXXXXX" (temp or claim files) left behind."""
    out = []
    for d in dirs:
        for n in os.listdir(d):
            if n.startswith(".") and "lethe" in n:
                out.append(os.path.join(os.path.basename(d), n))
    return sorted(out)


def ranges(xs, limit=8):
    """[1,2,3,7] -> "1-3, 7": daemonlib.ranges, at most 8 shown."""
    return D.ranges(xs, limit)


def copy_tree(src, dst):
    """A fresh copy of a fixture (modes and times kept)."""
    if os.path.exists(dst):
        shutil.rmtree(dst)
    shutil.copytree(src, dst, symlinks=True)


def conf(path, state, sets, extra_global=""):
    """Write an INI config: sets is [(name, {key: value})]."""
    s = "[global]\nstate_dir = %s\n%s\n" % (state, extra_global)
    for name, kv in sets:
        s += "[%s]\n" % name
        for k, v in kv.items():
            if v is not None:
                s += "%s = %s\n" % (k, v)
        s += "\n"
    with open(path, "w") as f:
        f.write(s)
    return path


class Inotify:
    """inotify on one directory (ctypes), with a blocking wait."""

    IN_ACCESS = 0x1
    IN_OPEN = 0x20
    IN_CREATE = 0x100

    def __init__(self, path, mask):
        import ctypes
        import struct
        self.struct = struct
        self.libc = ctypes.CDLL("libc.so.6", use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if self.libc.inotify_add_watch(self.fd, path.encode(), mask) < 0:
            raise OSError(ctypes.get_errno(), "inotify_add_watch")

    def wait(self, pred, timeout, alive=None):
        """The first (mask, name) for which pred is true, or None after
        timeout or when alive() turns false."""
        import select
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0 or (alive is not None and not alive()):
                return None
            r, _, _ = select.select([self.fd], [], [], min(left, 0.05))
            if not r:
                continue
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                continue
            i = 0
            while i + 16 <= len(buf):
                wd, mask, cookie, ln = self.struct.unpack_from("iIII", buf, i)
                name = buf[i + 16:i + 16 + ln].rstrip(b"\0").decode(
                    "utf-8", "replace")
                i += 16 + ln
                if pred(mask, name):
                    return mask, name

    def close(self):
        os.close(self.fd)


def kill_proc(p):
    if p is not None and p.poll() is None:
        try:
            p.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            pass


# ------------------------------------------------------------ the shift rig

SHIFT_SCENARIOS = ("compress", "gzmask", "delete", "plainmask")


class ShiftScenario:
    """The files of one shift scenario (89-shift, 90-logrotate), laid out
    for --now L.NOW in a pristine directory that every run copies.  must:
    seqs that must be on disk exactly once at the end; gone: seqs of the
    file past retain (there or not after the first once, gone after the
    second); target: the file once works on when the shift comes."""

    def __init__(self, rig, name, nlines, gzlevel):
        self.rig = rig
        self.name = name
        self.nlines = nlines
        self.must = set()
        self.gone = set()
        c = rig.corpus
        now = L.NOW
        self.base = os.path.join(rig.root, "pristine-%s-%d" % (name, nlines))
        self.logs = os.path.join(self.base, "logs")
        os.makedirs(self.logs)
        os.chmod(self.logs, 0o755)
        self.gzlevel = gzlevel
        self.add("access.log", c.lines(now - 50 * 60, now - 120, 1000),
                 now - 120)
        # a day's worth of lines over two hours: few distinct times, so
        # the reader's time cache works on large files
        old = (now - 9 * DAY, now - 9 * DAY + 7200)
        self.compress_after = "1h"
        if name == "compress":
            self.add("access.log.1", c.lines(old[0], old[1], nlines), old[1])
            self.target = "access.log.1"
        elif name == "gzmask":
            self.add("access.log.1.gz", c.lines(old[0], old[1], nlines),
                     old[1], gz=True)
            self.target = "access.log.1.gz"
        elif name == "delete":
            self.add("access.log.1.gz", c.lines(now - 3 * DAY, now - 2 * DAY,
                                                300), now - 2 * DAY, gz=True)
            old = (now - 25 * DAY, now - 25 * DAY + 7200)
            self.add("access.log.2.gz", c.lines(old[0], old[1], nlines),
                     old[1], gz=True, gone=True)
            self.target = "access.log.2.gz"
        elif name == "plainmask":
            # a plain rewrite is fast: longer lines (a 200-byte user
            # agent) give a real-timing race the time to land
            self.compress_after = "off"
            self.add("access.log.1", c.lines(old[0], old[1], nlines, ua=(
                "Mozilla/5.0 (X11; Linux x86_64) " * 7)[:200]), old[1])
            self.target = "access.log.1"
        else:
            raise ValueError(name)
        # what the server writes to the new live file after the shift
        self.new_lines = c.lines(now - 60, now, 10)

    def add(self, fname, lines, mtime, gz=False, gone=False):
        write_file(os.path.join(self.logs, fname), self.rig.corpus.text(lines),
                   gz=gz, mtime=mtime, level=self.gzlevel)
        (self.gone if gone else self.must).update(self.rig.corpus.seqs(lines))

    def fresh(self, tag):
        d = os.path.join(self.rig.root, "run-%s-%s" % (self.name, tag))
        copy_tree(self.base, d)
        os.mkdir(os.path.join(d, "state"), 0o700)
        cf = conf(os.path.join(d, "lethe.conf"), os.path.join(d, "state"), [
            ("web", {"logs": os.path.join(d, "logs", "access.log"),
                     "format": "combined", "rotate": "off", "window": "7d",
                     "mask_early": "1h",
                     "compress_after": self.compress_after,
                     "retain": "20d", "ipv4_prefix": "16",
                     "ipv6_prefix": "32"})])
        return d, os.path.join(d, "logs"), cf


class ShiftRig:
    """Runs the shift scenarios with a shifter(scn, d, logs, probe) that
    renames the files as logrotate does and creates the new live file
    (calling probe() once its renames are done); the rig then appends the
    server's new lines to the new live file."""

    WINDOW = 7 * DAY
    MASK_EARLY = HOUR

    def __init__(self, t, root, fault, shifter, seed, prepare=None):
        self.t = t
        self.root = root
        self.fault = fault
        self.shifter = shifter
        self.prepare = prepare      # prepare(scn, d, logs): before lethe
        self.corpus = Corpus(seed)
        self.figures = []
        self.shown = 0

    def once(self, binary, cf, env=None):
        return run(binary, ["-c", cf, "--now", L.NOW_ISO, "once"], env=env,
                   timeout=120)

    def shift(self, scn, d, logs, probe=None):
        done = self.shifter(scn, d, logs, probe)
        with open(os.path.join(logs, "access.log"), "ab") as f:
            f.write(self.corpus.text(scn.new_lines))
        return done

    def check(self, scn, logs, what, final, shifted, results):
        """The independent reader over logs; (lost, doubled, full, c)."""
        t = self.t
        now = L.NOW
        c = census([logs], self.corpus, cut=now - self.WINDOW,
                   early=now - self.WINDOW + self.MASK_EARLY)
        must = set(scn.must)
        if shifted:
            must.update(self.corpus.seqs(scn.new_lines))
        lost = c.lost(must)
        dbl = c.doubled()
        nfail = t.failures
        t.check(not lost, "%s: %d lines lost (seq %s)" % (
            what, len(lost), ranges(lost)), kind="lost")
        t.check(not dbl, "%s: %d lines doubled (seq %s, e.g. in %s)" % (
            what, len(dbl), ranges(dbl), next(iter(dbl.values()))
            if dbl else ""), kind="doubled")
        t.check(not c.changed, "%s: lines that are neither the original "
                "nor its masked form: %s" % (what, c.changed[:2]),
                kind="changed")
        t.check(not c.foreign, "%s: lines without a sequence number: %s" % (
            what, c.foreign[:2]), kind="foreign")
        t.check(not c.unreadable, "%s: unreadable files: %s" % (
            what, c.unreadable), kind="unreadable")
        t.check(not c.masked_early, "%s: %d lines masked before NOW - "
                "window + mask_early (e.g. %s)" % (
                    what, len(c.masked_early), c.masked_early[:1]),
                kind="masked early")
        full = len(c.full_past)
        if final:
            t.check(not full, "%s: %d full addresses on lines past the "
                    "window (e.g. in %s, a line of %s)" % (
                        what, full, c.full_past[0][0] if full else "",
                        iso(c.full_past[0][2]) if full else ""),
                    kind="full past window")
            left = [s for s in scn.gone if s in c.seen]
            t.check(not left, "%s: %d lines of the file past retain still "
                    "on disk (in %s): the later run did not finish the "
                    "deletion" % (what, len(left), sorted(set(
                        f for s in left for f in c.seen[s]))),
                    kind="not deleted")
            hid = hidden_lethe([logs])
            t.check(not hid, "%s: hidden lethe files left after the second "
                    "once: %s" % (what, hid), kind="hidden")
        if t.failures > nfail and self.shown < 6:
            # lethe's own words, for the first runs that went wrong
            self.shown += 1
            print("  files now: %s" % sorted(os.listdir(logs)))
            for r in results:
                if r is not None:
                    print(L.indent(r.show(1200), "    "))
        return len(lost), len(dbl), full, c

    def abandoned_said(self, scn, what, c1, r1, before=None):
        """A step left undone by the first once (full addresses past the
        window, or the file past retain still there) must be in its
        log (stderr names the file).  before: when once ended before the
        shift, the names there when the shift began; a file the shift
        made later (logrotate's gzip of the inode it had read before
        lethe replaced it) is a copy this once could not see: the next
        run masks it, which the final check asserts."""
        full = c1.full_past
        if before is not None:
            late = sorted(set(f[0] for f in full if f[0] not in before))
            if late:
                self.t.note("%s: full addresses past the window in %s, "
                            "made by the shift after once ended (a copy "
                            "of what it had read before lethe's rewrite)"
                            % (what, late))
            full = [f for f in full if f[0] in before]
        left = full or any(s in c1.seen for s in scn.gone)
        if left:
            self.t.check("access.log" in r1.err, "%s: the first once left "
                         "its step undone (%s) but said nothing about it on "
                         "stderr (e.g. in %s)\n%s" % (
                             what, "the file past retain kept"
                             if any(s in c1.seen for s in scn.gone) else
                             "full addresses past the window",
                             sorted(set(f[0] for f in c1.full_past))[:4],
                             r1.show(1200)),
                         kind="abandoned silently")

    def real_timing(self, scn, label):
        """The large file; the shift when lethe's temp file appears (delete:
        when it first reads the file to delete)."""
        t = self.t
        d, logs, cf = scn.fresh("real")
        ino = Inotify(logs, Inotify.IN_CREATE | Inotify.IN_ACCESS)
        if scn.name == "delete":
            # its name, or a private name lethe may claim it under first
            def trigger(mask, name):
                return mask & Inotify.IN_ACCESS and (
                    name == scn.target or (name.startswith(".") and
                                           scn.target in name))
            why = "read %s" % scn.target
        else:
            def trigger(mask, name):
                return mask & Inotify.IN_CREATE and name.startswith(".") \
                    and ".lethe" in name
            why = "created a temp file"
        if self.prepare is not None:
            self.prepare(scn, d, logs)
        argv = [LETHE, "-c", cf, "--now", L.NOW_ISO, "once"]
        p = subprocess.Popen(argv, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=clean_env(),
                             stdin=subprocess.DEVNULL)
        ev = ino.wait(trigger, 60, alive=lambda: p.poll() is None)
        alive = []
        shifted = []
        before = set(os.listdir(logs))
        if ev is not None:
            shifted = self.shift(scn, d, logs, lambda: alive.append(
                p.poll() is None))
        ino.close()
        out, err = p.communicate(timeout=120)
        r1 = L.Result(argv, p.returncode, out.decode(errors="replace"),
                      err.decode(errors="replace"))
        what = "%s, real timing (%s)" % (scn.name, label)
        if ev is None:
            t.fail("%s: lethe never %s (the trigger of the shift)\n%s" % (
                what, why, r1.show()))
            return
        landed = bool(alive and alive[0])
        t.check(r1.rc in (0, 1), "%s: the first once exited %s\n%s" % (
            what, r1.rc, r1.show()))
        if not landed:
            t.note("%s: once ended before the shift's renames were done "
                   "(lethe was too fast for %d lines): no race this time" % (
                       what, scn.nlines))
        l1, d1, _, c1 = self.check(scn, logs, what + ", after the first once",
                                   False, True, [r1])
        self.abandoned_said(scn, what, c1, r1,
                            None if landed else before)
        r2 = self.once(LETHE, cf)
        t.check(r2.rc == 0, "%s: the second once exited %s\n%s" % (
            what, r2.rc, r2.show()))
        l2, d2, f2, _ = self.check(scn, logs, what + ", after the second "
                                   "once", True, True, [r1, r2])
        self.figures.append(
            "%-9s real timing, %d lines, shift %s: after the 1st once lost "
            "%d, doubled %d; after the 2nd lost %d, doubled %d, full "
            "addresses past the window %d" % (
                scn.name, scn.nlines, "during once" if landed else
                "AFTER once (no race)", l1, d1, l2, d2, f2))
        if not os.environ.get("E2E_KEEP"):
            shutil.rmtree(d)

    def pause_walk(self, scn, label):
        """Count the run's renames, unlinks and links; then pause before
        each in turn and shift while lethe waits."""
        t = self.t
        d, logs, cf = scn.fresh("count")
        cnt = os.path.join(d, "count")
        r = self.once(self.fault, cf, env={"LETHE_FAULT_COUNT": cnt})
        counts = read_counts(cnt) or {}
        t.check(r.rc == 0 and counts, "%s: the counting run (fault build, "
                "LETHE_FAULT_COUNT) failed or wrote no counts\n%s" % (
                    scn.name, r.show()))
        shutil.rmtree(d)
        points = [(op, n) for op in PAUSE_OPS
                  for n in range(1, counts.get(op, 0) + 1)]
        t.check(points, "%s: the counting run made no rename, unlink or link"
                % scn.name)
        reached = 0
        worst = [0, 0, 0]
        for op, n in points:
            d, logs, cf = scn.fresh("%s%d" % (op, n))
            pp = os.path.join(d, "pause")
            what = "%s (%s), LETHE_PAUSE=%s:%d" % (scn.name, label, op, n)
            p = Pause(self.fault, ["-c", cf, "--now", L.NOW_ISO, "once"],
                      op, n, pp)
            st = p.wait_paused(60)
            shifted = []
            if st == "paused":
                reached += 1
                shifted = self.shift(scn, d, logs)
            elif st == "timeout":
                t.fail("%s: neither paused nor ended within 60 s" % what)
            r1 = p.finish(120)
            t.check(r1.rc in (0, 1), "%s: the first once exited %s\n%s" % (
                what, r1.rc, r1.show()))
            l1, d1, _, c1 = self.check(
                scn, logs, "%s (shift: %s), after the first once" % (
                    what, ", ".join(shifted) or "none"), False,
                bool(shifted), [r1])
            self.abandoned_said(scn, what, c1, r1)
            r2 = self.once(LETHE, cf)
            t.check(r2.rc == 0, "%s: the second once exited %s\n%s" % (
                what, r2.rc, r2.show()))
            l2, d2, f2, _ = self.check(scn, logs, what + ", after the second "
                                       "once", True, bool(shifted), [r1, r2])
            worst = [max(worst[0], l1, l2), max(worst[1], d1, d2),
                     max(worst[2], f2)]
            if not os.environ.get("E2E_KEEP"):
                shutil.rmtree(d)
        self.figures.append(
            "%-9s pause walk: %d points (%s), paused at %d; worst run: lost "
            "%d, doubled %d, full addresses past the window %d" % (
                scn.name, len(points), ", ".join(
                    "%s %d" % (op, counts.get(op, 0)) for op in PAUSE_OPS),
                reached, worst[0], worst[1], worst[2]))

    def run_all(self, big, label, seam_ok, seam_why):
        """Every scenario in real timing (big lines), then as a pause walk
        (300 lines) when the pause seam works (seam_ok, seam_why: what
        pause_seam_works said); then the figures, as info lines."""
        for name in SHIFT_SCENARIOS:
            self.real_timing(ShiftScenario(self, name, big, 1), label)
        if not seam_ok:
            self.t.fail("pause walk not run: %s" % seam_why)
        else:
            if seam_why:
                self.t.fail(seam_why)
            for name in SHIFT_SCENARIOS:
                self.pause_walk(ShiftScenario(self, name, 300, 6), label)
        for f in self.figures:
            self.t.info(f)


def daemon_line(dm, pattern, start=0):
    """(real arrival time, text) of the first line of a daemonlib.Daemon
    that matches pattern, or None."""
    rx = re.compile(pattern)
    with dm.cond:
        for tm, s in dm.lines[start:]:
            if rx.search(s):
                return tm, s
    return None


class DaemonClock:
    """Bounds on a daemon's clock (lethe run --now BASE, rate R), from the
    test's side: it started after popen_at (real), so its clock is at
    most BASE + (r - popen_at) * R; its "running: ... clock at ISO" line
    (ISO <= its clock when it wrote the line, which was before the line
    arrived at arrival) makes it at least ISO + (r - arrival) * R."""

    def __init__(self, base, rate, popen_at, dm):
        self.base = base
        self.rate = float(rate)
        self.popen_at = popen_at
        got = daemon_line(dm, r"^running: .*clock at (\S+Z)")
        if got is None:
            raise ValueError("no running: line")
        self.arrival = got[0]
        m = re.search(r"clock at (\S+Z)", got[1])
        try:
            self.anchor = epoch(m.group(1))
        except ValueError:
            self.anchor = base
        self.anchor = max(self.anchor, base)

    def low(self, r=None):
        r = time.monotonic() if r is None else r
        return self.anchor + (r - self.arrival) * self.rate

    def high(self, r=None):
        r = time.monotonic() if r is None else r
        return self.base + (r - self.popen_at) * self.rate

    def slack(self):
        """The width of the bounds (fake seconds)."""
        return self.high(self.arrival) - self.low(self.arrival)
