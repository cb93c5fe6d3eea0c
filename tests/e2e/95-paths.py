#!/usr/bin/env python3
"""Configured paths at the edges (issue 9, 5; spec F; DESIGN promise 4:
it never follows a symlink anywhere in a configured path).

A. a symlink in a configured path is refused: no file under it is
   touched (a snapshot of the real directory: content, mode, mtime,
   inode), check and once exit 1, and a message names the link.  The
   real directory holds a live file and a segment past the window and
   compress_after, which once would mask+compress if it followed:
     mid       D/link-to-dir/logs/*.log, link-to-dir -> real (relative)
     last      D/real/sublink/*.log, sublink -> logs (refused today: the
               control)
     top       /tmp/lethe-e2e-95-top-XXXX/real/logs/*.log, that name a
               symlink to D (absolute, the first component under /tmp)
     glob      D/g/*/logs/*.log where g/a is a directory and g/b a
               symlink to ../real: g/a's files are managed (its segment
               mask+compressed), g/b is refused and named, real untouched
   (D: a directory of its own for each, with its own real/logs)
B. a glob such as /*/*/*/*/*/*/access.log does not walk /proc or /sys:
   check and once --dry-run finish within 20 s (today: minutes; stopped
   after 30 s), name no
   path under /proc or /sys, and still see what the glob matches
   elsewhere (ROOT/a/b/c/d/access.log, six directories deep, with a
   segment past the window: `would mask+compress` names it), or else say
   they refuse the glob.  Only --dry-run: a real once with such a glob
   would act on whatever the host has at that depth.

Today (d4df44a): a symlink above the last component is followed (A mid,
top, glob: the segment under the link is mask+compressed); B walks
/proc/PID/root/... for minutes.

Env: E2E_KEEP=1."""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lethelib as L  # noqa: E402
import seamlib as S  # noqa: E402

t = L.Test("95-paths")
NOW = L.NOW
NOW_ISO = L.NOW_ISO
root = os.path.realpath(t.mkdtemp())
corpus = S.Corpus(95)
top = None


def fill(logs):
    os.makedirs(logs, exist_ok=True)
    os.chmod(logs, 0o755)
    S.write_file(os.path.join(logs, "access.log"), corpus.text(
        corpus.lines(NOW - 3600, NOW - 60, 50)), mtime=NOW - 60)
    S.write_file(os.path.join(logs, "access.log.1"), corpus.text(
        corpus.lines(NOW - 9 * S.DAY, NOW - 8 * S.DAY, 200)),
        mtime=NOW - 8 * S.DAY)


def snap(d):
    out = {}
    for k, v in L.snapshot(d).items():
        out[k] = v + (os.lstat(os.path.join(d, k)).st_ino,)
    return out


def conf_for(tag, glob):
    state = os.path.join(root, "state-" + tag)
    os.makedirs(state, 0o700, exist_ok=True)
    return S.conf(os.path.join(root, "%s.conf" % tag), state, [
        ("web", {"logs": glob, "format": "combined", "rotate": "off",
                 "window": "7d", "mask_early": "1h",
                 "compress_after": "1h", "retain": "20d"})])


def refused(tag, glob, link, real, managed=None):
    """glob goes through the symlink link; nothing under real may change;
    managed: a directory the same glob reaches without a link."""
    cf = conf_for(tag, glob)
    before = snap(real)
    rc = S.run(S.LETHE, ["-c", cf, "check"], timeout=60)
    t.check(rc.rc == 1, "A %s: check of %s exited %s, expected 1 (a "
            "symlink in the path)\n%s" % (tag, glob, rc.rc, rc.show(800)))
    t.check(link in rc.out + rc.err, "A %s: check does not name the "
            "symlink %s\n%s" % (tag, link, rc.show(800)))
    ro = S.run(S.LETHE, ["-c", cf, "--now", NOW_ISO, "once"], timeout=60)
    t.check(ro.rc == 1, "A %s: once exited %s, expected 1\n%s" % (
        tag, ro.rc, ro.show(800)))
    t.check(link in ro.err, "A %s: once does not name the symlink %s on "
            "stderr\n%s" % (tag, link, ro.show(800)))
    after = snap(real)
    t.check(after == before, "A %s: files under the symlink %s changed: "
            "%s\n%s" % (tag, link, L.diff_snapshots(
                {k: v[:7] for k, v in before.items()},
                {k: v[:7] for k, v in after.items()}) or "inodes",
                ro.show(800)))
    if managed is not None:
        gz = os.path.join(managed, "access.log.1.gz")
        t.check(os.path.exists(gz), "A %s: the directory without a link "
                "(%s) was not managed beside the refused one: %s" % (
                    tag, managed, sorted(os.listdir(managed))))
    t.info("A %s: check exit %s, once exit %s, files under the link %s" % (
        tag, rc.rc, ro.rc, "untouched" if after == before else "CHANGED"))


def part_a():
    global top
    # mid: a relative symlink above the log directory
    base = os.path.join(root, "mid")
    fill(os.path.join(base, "real", "logs"))
    os.symlink("real", os.path.join(base, "link-to-dir"))
    refused("mid", os.path.join(base, "link-to-dir", "logs", "*.log"),
            os.path.join(base, "link-to-dir"),
            os.path.join(base, "real", "logs"))
    # last: the log directory itself a symlink (refused today)
    base = os.path.join(root, "last")
    fill(os.path.join(base, "real", "logs"))
    os.symlink("logs", os.path.join(base, "real", "sublink"))
    refused("last", os.path.join(base, "real", "sublink", "*.log"),
            os.path.join(base, "real", "sublink"),
            os.path.join(base, "real", "logs"))
    # top: the first component under /tmp, an absolute symlink
    base = os.path.join(root, "top")
    fill(os.path.join(base, "real", "logs"))
    top = tempfile.mktemp(prefix="lethe-e2e-95-top-",
                          dir=os.path.dirname(root))
    os.symlink(base, top)
    refused("top", os.path.join(top, "real", "logs", "*.log"), top,
            os.path.join(base, "real", "logs"))
    # glob: one match a directory, one a symlink
    base = os.path.join(root, "glob")
    fill(os.path.join(base, "real", "logs"))
    ga = os.path.join(base, "g", "a", "logs")
    fill(ga)
    os.symlink("../real", os.path.join(base, "g", "b"))
    refused("glob", os.path.join(base, "g", "*", "logs", "*.log"),
            os.path.join(base, "g", "b"), os.path.join(base, "real", "logs"),
            managed=ga)


def part_b():
    deep = os.path.join(root, "a", "b", "c", "d")
    depth = len([p for p in deep.split("/") if p])
    if depth != 6:
        t.note("B: the temp dir is not two levels under / (%s): the glob's "
               "own match is not checked" % deep)
    fill(deep)
    cf = conf_for("proc", "/*/*/*/*/*/*/access.log")
    for args in (["check"], ["--now", NOW_ISO, "once", "--dry-run"]):
        t0 = time.monotonic()
        r = S.run(S.LETHE, ["-c", cf] + args, timeout=30)
        took = time.monotonic() - t0
        what = "B: %s with logs = /*/*/*/*/*/*/access.log" % " ".join(args)
        t.check(not r.timed_out and took < 20, "%s took %s s (bound 20 s): "
                "it walks /proc or /sys?" % (what, "over 30" if r.timed_out
                                             else "%.1f" % took))
        text = r.out + r.err
        procs = [ln for ln in text.split("\n") if "/proc/" in ln or
                 "/sys/" in ln]
        t.check(not procs, "%s: names paths under /proc or /sys: %s" % (
            what, procs[:3]))
        if "once" in args and depth == 6:
            seg = os.path.join(deep, "access.log.1")
            t.check(seg in r.out or "/*/*/*/*/*/*/access.log" in r.err,
                    "%s: neither acts on %s (which the glob matches) nor "
                    "says it refuses the glob\n%s" % (what, seg,
                                                      r.show(1500)))
        t.info("%s: exit %s in %.1f s, %d lines of output" % (
            what, r.rc, took, len(text.split("\n"))))


try:
    part_a()
    part_b()
finally:
    if top is not None and os.path.islink(top):
        os.unlink(top)
t.done()
