"""Process and log helpers shared by the end-to-end tests that start
servers and writers themselves (70-nginx, 71-writer); python3 stdlib only.
"""
import gzip
import os
import signal
import subprocess
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
