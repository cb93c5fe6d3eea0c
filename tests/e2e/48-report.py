#!/usr/bin/env python3
"""lethe report: text, JSON and the HTML page a DPO reads.

A set of five files (live and four rotated, plain and gzip, one of them
with full addresses past the window), a hold and a pending erasure.  What
the report says of each file is checked against what an independent
reader (python gzip, ipaddress, re) finds in it: the span of its lines,
from when it holds full addresses, when those are masked, when the file
is deleted, and the one file that is overdue.  The HTML page must be one
self-contained file (no script, no external asset); it is rendered in
headless Chromium (Debian's chromium package): the screenshot must not be
blank and must show the three colours of the timeline (masked, full, full
past the window), and the page's text must name every file.
"""
import gzip
import ipaddress
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lethelib import (DAY, LETHE, Test, epoch_to_iso, iso_to_epoch,  # noqa
                      run, time_local)

NOW_ISO = "2026-12-01T12:00:00Z"
NOW = iso_to_epoch(NOW_ISO)
WINDOW = 7 * DAY
RETAIN = 60 * DAY
HELD = "198.51.100.77"
ERASED = "203.0.113.200"

COLOURS = {"masked": (0x5b, 0x7f, 0xa8), "full": (0xe8, 0xa3, 0x3d),
           "overdue": (0xd0, 0x02, 0x1b)}


def line(addr, t, path="/"):
    return ('%s - - [%s] "GET %s HTTP/1.1" 200 512 "-" "curl/8.0"\n'
            % (addr, time_local(t), path))


def masked16(a):
    ip = ipaddress.ip_address(a)
    if ip.version == 4:
        return str(ipaddress.ip_network(a + "/16", strict=False)
                   .network_address)
    return str(ipaddress.ip_network(a + "/32", strict=False)
               .network_address)


def build(logs):
    """The files, as (name, lines, gzip); addresses full or masked."""
    files = {}

    def span(t0, n, full, extra=()):
        out = []
        for i in range(n):
            a = "192.0.%d.%d" % (2 + i % 50, 1 + i % 200)
            out.append(line(a if full else masked16(a), t0 + i * 600))
        for a, t in extra:
            out.append(line(a, t))
        return out

    # live: the last day, full
    files["access.log"] = (span(NOW - DAY, 100, True,
                                [(ERASED, NOW - 3600)]), False)
    # 3 days old, full, plain
    files["access.log.1"] = (span(NOW - 4 * DAY, 100, True), False)
    # 10 days old, FULL past the window (lethe was not running): overdue
    files["access.log.2.gz"] = (span(NOW - 11 * DAY, 50, True), True)
    # 20 days old, masked, but a held address stays full
    files["access.log.3.gz"] = (span(NOW - 21 * DAY, 80, False,
                                     [(HELD, NOW - 20 * DAY)]), True)
    # 40 days old, masked
    files["access.log.4.gz"] = (span(NOW - 41 * DAY, 60, False), True)
    for name, (lines, gz) in files.items():
        data = "".join(lines).encode()
        p = os.path.join(logs, name)
        if gz:
            with gzip.open(p, "wb") as f:
                f.write(data)
        else:
            with open(p, "wb") as f:
                f.write(data)
    return files


CLF = re.compile(r'^(\S+) \S+ \S+ \[([^\]]+)\] ')


def clf_time(s):
    import calendar
    import time
    tt = time.strptime(s[:20], "%d/%b/%Y:%H:%M:%S")
    return calendar.timegm(tt)


def expected(logs, name):
    """What an independent reader finds in one file."""
    p = os.path.join(logs, name)
    with open(p, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    first = last = oldest_full = None
    held = 0
    for ln in data.decode().splitlines():
        m = CLF.match(ln)
        t = clf_time(m.group(2))
        first = t if first is None else min(first, t)
        last = t if last is None else max(last, t)
        ip = ipaddress.ip_address(m.group(1))
        net = ipaddress.ip_network(m.group(1) + "/16", strict=False)
        if ip != net.network_address:
            if m.group(1) == HELD and t < NOW - WINDOW:
                held += 1
                continue
            oldest_full = t if oldest_full is None else min(oldest_full, t)
    return first, last, oldest_full, held


def iso(t):
    return None if t is None else epoch_to_iso(t)


# ------------------------------------------------------------ PNG, by hand

def png_pixels(path):
    """(width, height, rows of RGB tuples) of an 8-bit PNG."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError("PNG form not read here: depth %d type %d"
                         % (depth, ctype))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev, p = [], bytearray(stride), 0
    for _ in range(h):
        ft = raw[p]
        cur = bytearray(raw[p + 1:p + 1 + stride])
        p += 1 + stride
        for i in range(stride):
            a = cur[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ft == 1:
                cur[i] = (cur[i] + a) & 255
            elif ft == 2:
                cur[i] = (cur[i] + b) & 255
            elif ft == 3:
                cur[i] = (cur[i] + (a + b) // 2) & 255
            elif ft == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                cur[i] = (cur[i] + pr) & 255
        rows.append([tuple(cur[i:i + 3]) for i in range(0, stride, bpp)])
        prev = cur
    return w, h, rows


def find_chromium(t):
    for c in ("chromium", "chromium-browser"):
        p = shutil.which(c)
        if p:
            return p
    if os.geteuid() == 0:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for update in (False, True):
            if update:
                subprocess.run(["apt-get", "update", "-q"], env=env,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=900)
            subprocess.run(["apt-get", "install", "-y", "-q", "chromium"],
                           env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=1800)
            if shutil.which("chromium"):
                return shutil.which("chromium")
    if os.environ.get("CI"):
        t.fail("chromium is not installed and could not be installed")
        return None
    t.note("SKIPPED the rendering: chromium is not installed (needs root "
           "to install Debian's chromium package)")
    return None


def chromium(t, exe, tmp, args, timeout=120):
    prof = os.path.join(tmp, "chromium-profile")
    argv = [exe, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--no-first-run",
            "--user-data-dir=" + prof] + args
    return subprocess.run(argv, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout,
                          cwd=tmp)


def check_files(t, rep, logs, files):
    """The report's facts of every file against the reader's."""
    got = {os.path.basename(f["path"]): f for s in rep["sets"]
           for f in s["files"]}
    t.check(set(got) == set(files), "report lists %s, the directory holds %s"
            % (sorted(got), sorted(files)))
    overdue = []
    for name in sorted(files):
        first, last, oldest_full, held = expected(logs, name)
        g = got.get(name, {})
        t.check(g.get("first") == iso(first) and g.get("last") == iso(last),
                "%s: span %s..%s, reader %s..%s" % (
                    name, g.get("first"), g.get("last"), iso(first),
                    iso(last)))
        if held == 0 and oldest_full is not None:
            t.check(g.get("full_from") == iso(oldest_full) and
                    g.get("masked_by") == iso(oldest_full + WINDOW),
                    "%s: full from %s masked by %s, reader %s" % (
                        name, g.get("full_from"), g.get("masked_by"),
                        iso(oldest_full)))
        if held == 0 and oldest_full is None:
            t.check(g.get("full_from") is None and g.get("state") ==
                    "masked", "%s: no full address, report says %s / %s"
                    % (name, g.get("full_from"), g.get("state")))
        t.check(g.get("held") == held, "%s: held %s, reader %d" % (
            name, g.get("held"), held))
        want_del = None if name == "access.log" else iso(last + RETAIN)
        t.check(g.get("delete_at") == want_del, "%s: deleted at %s, want %s"
                % (name, g.get("delete_at"), want_del))
        if oldest_full is not None and oldest_full < NOW - WINDOW:
            overdue.append(name)
            t.check(g.get("state") == "FULL PAST THE WINDOW",
                    "%s: overdue, report says %s" % (name, g.get("state")))
    t.check(rep["overdue"] == len(overdue), "overdue: report %s, reader %s"
            % (rep["overdue"], overdue))
    return overdue


def check_html(t, tmp, base, logs, files):
    html = os.path.join(tmp, "report.html")
    r = run(base + ["report", "--html", html])
    t.check(r.rc == 0 and os.path.exists(html),
            "report --html: exit %s: %s" % (r.rc, r.err))
    page = open(html, encoding="utf-8").read()
    for bad in ("<script", "<link", "<img", "@import", "url(", "src="):
        t.check(bad not in page, "the page is not self-contained: %r" % bad)
    for ref in re.findall(r'https?://[^"\s]+', page):
        t.check(ref == "http://www.w3.org/2000/svg",
                "the page refers to %s" % ref)
    t.check(page.count("<svg") == 1, "one SVG timeline per set (1 set): %d"
            % page.count("<svg"))
    t.check(HELD not in page and ERASED not in page,
            "the page prints a held or erased address")
    exe = find_chromium(t)
    if not exe:
        return
    png = os.path.join(tmp, "shot.png")
    c = chromium(t, exe, tmp, ["--screenshot=" + png,
                               "--window-size=1200,1000", "file://" + html])
    t.check(os.path.exists(png), "chromium wrote no screenshot: %s"
            % c.stderr.decode(errors="replace")[-400:])
    if os.path.exists(png):
        seen = colours(png)
        t.check(len(seen) > 20, "the screenshot is blank: %d colours"
                % len(seen))
    # The timeline alone (the legend's swatches have the colours too).
    svg = os.path.join(tmp, "timeline.html")
    with open(svg, "w", encoding="utf-8") as f:
        style = page[page.index("<style>"):page.index("</style>") + 8]
        f.write("<!DOCTYPE html><html><head>%s</head><body>%s</body></html>"
                % (style, page[page.index("<svg"):page.index("</svg>") + 6]))
    png = os.path.join(tmp, "timeline.png")
    chromium(t, exe, tmp, ["--screenshot=" + png, "--window-size=1000,300",
                           "file://" + svg])
    if t.check(os.path.exists(png), "no screenshot of the timeline"):
        seen = colours(png)
        for what, rgb in COLOURS.items():
            n = sum(v for k, v in seen.items()
                    if all(abs(k[i] - rgb[i]) <= 6 for i in range(3)))
            t.check(n >= 20, "timeline: %d pixels of the %s colour %s"
                    % (n, what, rgb))
            t.info("timeline: %d pixels %s" % (n, what))
    c = chromium(t, exe, tmp, ["--dump-dom", "file://" + html])
    text = re.sub(r"<[^>]+>", " ", c.stdout.decode(errors="replace"))
    for name in files:
        t.check(os.path.join(logs, name) in text,
                "the rendered page does not name %s" % name)
    t.check("files hold full addresses past the window" in text,
            "the rendered page does not say a file is overdue")


def colours(png):
    seen = {}
    for row in png_pixels(png)[2]:
        for px in row:
            seen[px] = seen.get(px, 0) + 1
    return seen


def main():
    t = Test("48-report")
    tmp = t.mkdtemp()
    logs = os.path.join(tmp, "logs")
    state = os.path.join(tmp, "state")
    os.mkdir(logs)
    conf = os.path.join(tmp, "lethe.conf")
    with open(conf, "w") as f:
        f.write("[global]\nstate_dir = %s\n\n[web]\nlogs = %s/access.log\n"
                "format = combined\nwindow = 7d\nretain = 60d\n"
                "compress_after = 1h\n" % (state, logs))
    files = build(logs)
    base = ["-c", conf, "--now", NOW_ISO]
    r = run(base + ["hold", HELD, "--until", "+30d", "--reason",
                    "incident 7"])
    t.check(r.rc == 0, "hold: exit %s: %s" % (r.rc, r.err))

    # 1. As the files are: one of them is overdue.
    r = run(base + ["report", "--json"])
    t.check(r.rc == 0, "report --json: exit %s: %s" % (r.rc, r.err))
    rep = json.loads(r.out)
    check_files(t, rep, logs, files)
    t.check(len(rep["holds"]) == 1 and rep["holds"][0]["reason"] ==
            "incident 7", "holds: %s" % rep["holds"])
    t.check(HELD not in r.out, "the report prints a held address")
    r = run(base + ["report"])
    t.check(r.rc == 0 and "FULL ADDRESSES PAST THE WINDOW" in r.out,
            "text report: exit %s, no overdue headline" % r.rc)
    for name in files:
        t.check(name in r.out, "text report does not name %s" % name)
    check_html(t, tmp, base, logs, files)

    # 2. An erasure the set cannot finish (rotate = off, the live file
    # holds it): pending; the erase also did what once does (masked the
    # overdue file), the held lines stay full.
    r = run(base + ["erase", "--reason", "request 9", ERASED])
    t.check(r.rc == 3, "erase with rotate = off: exit %s, want 3" % r.rc)
    files = sorted(os.listdir(logs))
    r = run(base + ["report", "--json"])
    rep = json.loads(r.out)
    check_files(t, rep, logs, files)
    t.check(rep["overdue"] == 0, "after once: overdue %s" % rep["overdue"])
    t.check(len(rep["pending_erasures"]) == 1, "pending erasures: %s"
            % rep["pending_erasures"])
    t.check(ERASED not in r.out, "the report prints an erased address")
    t.done()


if __name__ == "__main__":
    main()
