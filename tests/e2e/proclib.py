"""Process and log helpers shared by the end-to-end tests that start
servers and writers themselves (69-nginx-user, 70-nginx, 71-writer):
start/stop, wait_until, lethe's log, start_lethe (run, up to its
"running:" line) and the tests' main; python3 stdlib only.
"""
import gzip
import os
import shutil
import signal
import subprocess
import tempfile
import time


class Fail(Exception):
    pass


procs = []      # every process start() made, for the tests' cleanup


def start(argv, **kw):
    p = subprocess.Popen(argv, start_new_session=True, **kw)
    procs.append(p)
    return p


def stop(p, sig=signal.SIGTERM, timeout=20.0):
    """Signal p and wait; when it does not stop in time, SIGKILL its
    process group (ours: it was started in a new session; for nginx, the
    master and its workers) before reaping it.  Returns the exit status,
    or None when it had to be killed."""
    if p.poll() is not None:
        return p.returncode
    try:
        p.send_signal(sig)
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(10)
        return None


def wait_until(pred, timeout, what, interval=0.05):
    end = time.monotonic() + timeout
    while True:
        r = pred()
        if r:
            return r
        if time.monotonic() >= end:
            raise Fail("timed out after %.0f s waiting for %s" % (timeout,
                                                                  what))
        time.sleep(interval)


class LetheLog:
    def __init__(self, path):
        self.path = path

    def lines(self):
        try:
            with open(self.path, "r", errors="replace") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def tail(self, n=40):
        return "\n".join("    " + l for l in self.lines()[-n:])


def read_file(path):
    """A file's bytes, gunzipped when its magic says gzip; and whether."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data), True
    return data, False


def start_lethe(argv, log, env=None):
    """`lethe ... run` (argv) in the foreground, stdout and stderr into
    log.path (a LetheLog), without the caller's NOTIFY_SOCKET,
    JOURNAL_STREAM and LETHE_TEST_CLOCK_RATE (env adds or sets
    variables); waits up to 20 s for its "running:" line.  Returns the
    process and the monotonic time it was started at; Fail when lethe
    exits first."""
    e = dict(os.environ)
    for k in ("NOTIFY_SOCKET", "JOURNAL_STREAM", "LETHE_TEST_CLOCK_RATE"):
        e.pop(k, None)
    e.update(env or {})
    with open(log.path, "wb") as errf:
        lp = start(argv, stdin=subprocess.DEVNULL, stdout=errf, stderr=errf,
                   env=e)
    t0 = time.monotonic()
    wait_until(lambda: lp.poll() is not None or any(
        l.startswith("lethe: running:") for l in log.lines()), 20,
        "lethe's \"running:\" line")
    if lp.poll() is not None:
        raise Fail("lethe exited with %s before it was ready:\n%s" % (
            lp.returncode, log.tail()))
    return lp, t0


def main(name, root_why, body):
    """A test's main: $LETHE (absolute), root (root_why: what for), a
    temp dir (0700); body(root, lethe) returns failure messages (a Fail
    raised is one).  Then every process start() made is stopped and the
    temp dir removed (E2E_KEEP=1: kept).  Prints each failure and a last
    line; returns the exit status."""
    def say(msg):
        print("%s: %s" % (name, msg), flush=True)
    lethe = os.environ.get("LETHE", "")
    if not lethe or not os.access(lethe, os.X_OK):
        say("cannot run: LETHE must name the lethe binary (got %r)" % lethe)
        return 1
    lethe = os.path.abspath(lethe)
    if os.geteuid() != 0:
        say("cannot run: needs root (%s)" % root_why)
        return 1
    root = tempfile.mkdtemp(prefix="lethe-%s-" % name.split("-")[0])
    os.chmod(root, 0o700)
    fails = []
    try:
        fails = body(root, lethe)
    except Fail as e:
        fails = [str(e)]
    finally:
        for p in procs:
            stop(p, timeout=10)
        if os.environ.get("E2E_KEEP"):
            say("kept %s" % root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    for f in fails:
        say("FAIL: " + f)
    say("%d failures" % len(fails) if fails else "all checks passed")
    return 1 if fails else 0
