#!/usr/bin/env python3
"""The corpus of issue 10, read back by an independent reader.

Layouts of nginx, Apache, Caddy, Traefik, HAProxy, IIS, Envoy, Cloudflare,
RFC 7239 and generic JSON and regex logs (tests/corpus/ holds the
documentation-derived lines and their ground truth; corpuslib.py makes the
larger files and knows every address it put in them).  For each layout:

 a. lethe mask with each view's flags: understood lines byte for byte;
    lines not understood masked by the free scan (every address the scan
    admits masked, nothing else changed); the count on stderr;
 b. a config per layout and once --now, with files past and inside the
    window: past lines masked, inside lines as written, the summary of
    lines not understood per file; then audit, which must fail exactly the
    files with lines not understood past the window;
 c. the nginx $remote_user lines [1000000000] and [4102444800] under
    combined, common, vhost_combined and main: masked on the real time
    (not early, not never), and no early rotation of a live file;
plus: $binary_remote_addr refused by check, a line over 16 MiB.

    python3 tests/e2e/68-corpus.py --selftest    checks the reader itself
"""

import gzip
import os
import random
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import corpuslib as C           # noqa: E402
import lethelib as L            # noqa: E402

os.environ["TZ"] = "UTC"        # lethe's "local" time, for every child
SELFTEST = "--selftest" in sys.argv[1:]


def run_mask(args, data, timeout=60):
    try:
        # --now: so that no corpus line is "more than a day after now"
        p = subprocess.run([L.LETHE, "--now", C.NOW_ISO, "mask"] + args,
                           input=data,
                           capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, b"", "timed out"
    return p.returncode, p.stdout, p.stderr.decode("utf-8",
                                                   "backslashreplace")


def conf_text(state, sets):
    """sets: [(name, {key: value})]; a value that is a list is written as
    continuation lines (indented), as a pasted nginx directive."""
    s = "[global]\nstate_dir = %s\n\n" % state
    lines = {}
    n = 4
    for name, kv in sets:
        s += "[%s]\n" % name
        n += 1
        for k, v in kv.items():
            if isinstance(v, list):
                s += "%s = %s\n" % (k, v[0])
                lines[(name, k)] = n
                n += 1
                for c in v[1:]:
                    s += "    %s\n" % c
                    n += 1
            else:
                s += "%s = %s\n" % (k, v)
                lines[(name, k)] = n
                n += 1
        s += "\n"
        n += 1
    return s, lines


SET_DEFAULTS = {"window": "7d", "mask_early": "1h", "rotate": "off",
                "compress_after": "off", "retain": "90d",
                "ipv4_prefix": "16", "ipv6_prefix": "32"}


def write_file(path, lines, gz, mtime):
    data = C.file_bytes(lines)
    if gz:
        data = gzip.compress(data, 6, mtime=0)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o640)
    os.utime(path, (mtime, mtime))


# ------------------------------------------------------------ a. mask

class Results:
    """Failures per layout (printed after the figures, a few per layout)
    and one line of figures per layout."""

    def __init__(self):
        self.fails = []
        self.figs = {}

    def fail(self, layout, msg):
        self.fails.append((layout, msg))

    def check(self, layout, cond, msg):
        if not cond:
            self.fail(layout, msg)
        return cond

    def fig(self, layout, s):
        self.figs.setdefault(layout, []).append(s)


def part_mask(res, corpus):
    for name, (lay, doc, files) in corpus.items():
        gen = [ln for k in sorted(files, key=order) for ln in files[k]]
        for view in lay.views:
            figs = []
            for label, lines in (("doc", doc), ("gen", gen)):
                if not lines:
                    continue
                what = "mask [%s] %s" % (view.key, label)
                rc, out, err = run_mask(view.mask_args(),
                                        C.file_bytes(lines))
                fails, st = C.check_mask_run(what, lines, view, rc, out, err)
                for f in fails:
                    res.fail(name, f)
                lk = C.leaks(err, C.full_texts(lines))
                res.check(name, not lk, "%s: stderr names addresses %s" % (
                    what, lk[:3]))
                lo, hi = st.nu_expected
                figs.append("%s %d/%d nu %s/%s" % (
                    label, st.masked, st.expected,
                    "-" if st.nu_reported is None else st.nu_reported,
                    lo if lo == hi else "%d..%d" % (lo, hi)))
            res.fig(name, "mask[%s] %s" % (view.key, ", ".join(figs)))


def order(fname):
    """.2.gz, then .1, then the live file."""
    if fname.endswith(".2.gz"):
        return 0
    if fname.endswith(".1"):
        return 1
    return 2


# ------------------------------------------------------------ b. once

def part_once(res, root, corpus, attack):
    for name, (lay, doc, files) in corpus.items():
        d = os.path.join(root, name)
        os.mkdir(d, 0o755)
        state = os.path.join(root, "state-" + name)
        os.mkdir(state, 0o700)
        paths = {}
        for fname, lines in files.items():
            p = os.path.join(d, fname)
            ts = [ln.t for ln in lines if ln.t is not None and
                  ln.t < C.NOW + C.DAY]
            write_file(p, lines, fname.endswith(".gz"), max(ts))
            paths[p] = lines
        live_path = os.path.join(d, name + ".log")
        kv = {"logs": live_path}
        kv.update(lay.conf)
        kv.update(SET_DEFAULTS)
        text, _ = conf_text(state, [(name, kv)])
        conf = os.path.join(root, name + ".conf")
        with open(conf, "w") as f:
            f.write(text)
        addrs = sorted({a for v in files.values() for a in C.full_texts(v)})
        r = L.run(["-c", conf, "check"])
        res.check(name, r.rc == 0 and "configuration OK" in r.out,
                  "check of its config failed:\n%s\n  the config:\n%s" % (
                      r.show(400), L.indent(text)))
        r = L.run(["-c", conf, "--now", C.NOW_ISO, "audit"])
        lk = C.leaks(r.out + r.err, addrs)
        res.check(name, not lk, "audit before once printed addresses %s" %
                  lk[:3])
        res.check(name, r.rc == 1, "audit before once: exit %s, though the "
                  "rotated files hold full addresses past the window" % r.rc)
        r = L.run(["-c", conf, "--now", C.NOW_ISO, "once"])
        lk = C.leaks(r.out + r.err, addrs)
        res.check(name, not lk, "once printed addresses %s" % lk[:3])
        res.check(name, r.rc == 0, "once: exit %s, stderr %r" % (
            r.rc, r.err[:300]))
        want = sorted("mask %s" % p for p in paths if p != live_path)
        res.check(name, sorted(r.lines()) == want, "once printed %r, "
                  "expected %r" % (r.lines()[:4], want))
        for f in C.check_once_stderr("once", paths, r.err):
            res.fail(name, f)
        tot = C.Stats()
        for p, lines in sorted(paths.items(), key=lambda kv: order(kv[0])):
            live = p == live_path
            if not os.path.exists(p):
                res.fail(name, "%s is gone after once" % p)
                continue
            data, was_gz = L.read_content(p)
            res.check(name, was_gz == p.endswith(".gz"), "%s is %s after "
                      "once" % (p, "gzip" if was_gz else "plain"))
            fails, st = C.check_once_file("once: %s" % os.path.basename(p),
                                          lines, data, live, 16, 32, lay.mh)
            for f in fails:
                res.fail(name, f)
            tot.masked += st.masked
            tot.expected += st.expected
            for g, ln in zip(C.split_out(data), lines):
                if ln.kind.startswith("attack-") and not live:
                    past = ln.eff < C.EARLY
                    ok = g == (ln.expect() if past else ln.orig())
                    k = (lay.name, ln.kind, "past" if past else "inside")
                    a = attack.setdefault(k, [0, 0])
                    a[0] += ok
                    a[1] += 1
        r = L.run(["-c", conf, "--now", C.NOW_ISO, "audit"])
        lk = C.leaks(r.out + r.err, addrs)
        res.check(name, not lk, "audit printed addresses %s" % lk[:3])
        fails, exp, seen = C.check_audit("audit after once", paths, r.rc,
                                         r.out)
        for f in fails:
            res.fail(name, f)
        warn = [l for l in r.lines() if ": warning: " in l]
        per = "/".join(str(C.nu_summary(paths[p], "")[0])
                       for p in sorted(paths, key=order))
        res.fig(name, "once %d/%d, nu per file %s, audit fails %d of %d "
                "files (expected %d)%s" % (
                    tot.masked, tot.expected, per, len(seen), len(paths),
                    len(exp), ", %d warnings" % len(warn) if warn else ""))


# ------------------------------------------------------------ c. rotation

def part_rotation(res, root):
    """A live file with $remote_user time bait must not be rotated early:
    rotate = 1h, every line after the last hour boundary."""
    now = C.NOW + 40 * 60                       # 12:40
    rng = random.Random(971)
    d = os.path.join(root, "rot")
    os.mkdir(d, 0o755)
    state = os.path.join(root, "state-rot")
    os.mkdir(state, 0o700)
    sets = []
    for fmt in ("combined", "common", "vhost_combined", "main"):
        lines = []
        for i, tt in enumerate(sorted(rng.uniform(now - 9 * 60, now - 30)
                                      for _ in range(12))):
            u = ["-", "[1000000000]", "[4102444800]"][i % 3]
            lines.append(C.CLine(C.ng_line(rng, tt, fmt, usr=u), tt))
        p = os.path.join(d, fmt + ".log")
        write_file(p, lines, False, now - 30)
        sets.append((fmt, {"logs": p, "format": fmt, "window": "7d",
                           "rotate": "1h", "reopen": "command /bin/true",
                           "compress_after": "off", "retain": "90d"}))
    # and a rotated file past retain whose $remote_user says 2100
    p = os.path.join(d, "old.log")
    write_file(p, [C.CLine(C.ng_line(rng, now - 60, "combined"), now - 60)],
               False, now - 60)
    old = []
    for i, tt in enumerate(sorted(rng.uniform(now - 100 * C.DAY,
                                              now - 99 * C.DAY)
                                  for _ in range(10))):
        u = ["-", "[4102444800]"][i % 2]
        old.append(C.CLine(C.ng_line(rng, tt, "combined", usr=u), tt))
    write_file(p + ".1", old, False, now - 99 * C.DAY)
    sets.append(("old", {"logs": p, "format": "combined", "window": "7d",
                         "rotate": "off", "compress_after": "off",
                         "retain": "90d"}))
    text, _ = conf_text(state, sets)
    conf = os.path.join(root, "rot.conf")
    with open(conf, "w") as f:
        f.write(text)
    iso = L.epoch_to_iso(now)
    r = L.run(["-c", conf, "--now", iso, "once"])
    rot = [l for l in r.lines() if "rotate" in l]
    res.check("rotation", r.rc == 0 and not rot, "once at %s rotated live "
              "files whose lines all lie after %s (their $remote_user "
              "[1000000000] chose the time?): exit %s, %s" % (
                  iso, L.epoch_to_iso(now - 40 * 60), r.rc, rot))
    gone = not os.path.exists(p + ".1")
    res.check("rotation", gone and "delete %s.1" % p in r.lines(),
              "%s.1 (lines 99 to 100 days old, retain = 90d, some with "
              "$remote_user [4102444800]) was not deleted by once: %s" % (
                  p, r.lines()))
    res.fig("rotation", "live files with $remote_user [1000000000] and "
            "[4102444800], rotate = 1h: %d rotations by once (expected 0); "
            "a file past retain with [4102444800]: %s" % (
                len(rot), "deleted" if gone else "NOT deleted"))


# ------------------------------------------------------------ extras

def part_check_binary(res, root):
    state = os.path.join(root, "state-bin")
    os.mkdir(state, 0o700)
    d = os.path.join(root, "bin")
    os.mkdir(d, 0o755)
    open(os.path.join(d, "access.log"), "w").close()
    text, lines = conf_text(state, [("bin", {
        "logs": os.path.join(d, "access.log"),
        "log_format": C.LF_BINARY, "rotate": "off"})])
    conf = os.path.join(root, "bin.conf")
    with open(conf, "w") as f:
        f.write(text)
    r = L.run(["-c", conf, "check"])
    where = "%s:%d:" % (conf, lines[("bin", "log_format")])
    ok = res.check("check", r.rc not in (0, None) and
                   where in r.out + r.err and
                   "binary_remote_addr" in r.out + r.err,
                   "check of a log_format with $binary_remote_addr: "
                   "expected exit 1 and %r naming $binary_remote_addr; "
                   "exit %s, %r" % (where, r.rc, (r.out + r.err)[:300]))
    res.fig("check", "$binary_remote_addr in log_format: %s" % (
        "refused with file:line" if ok else "NOT refused as expected"))


def part_long_line(res):
    """A line over 16 MiB: masked whole, or reported not understood."""
    rng = random.Random(972)
    size = 17 << 20
    q = ("abcdefghij0123456789&=" * (size // 22 + 1))[:size]
    head = C.v4(rng)
    x1, x2 = C.v4(rng), C.v6(rng)
    ln = C.CLine([head, ' - - [29/Nov/2026:11:00:00 +0000] "GET /?q=', q,
                  ' HTTP/1.1" 200 5 "-" "curl/8.4.0" "', x1, ", ", x2, '"'],
                 C.NOW - 3600, False, "long line")
    rc, out, err = run_mask(["--format", "main"], ln.orig() + b"\n", 120)
    got = C.split_out(out)
    reported = bool(re.search(r"mask: 1 of 1 lines not understood", err))
    if rc == 0 and got == [ln.expect()] and not reported:
        res.fig("long line", "a 17 MiB main line: masked whole")
        return
    if rc == 0 and reported and len(got) == 1 and \
            C.match_free(got[0], ln, 16, 32, False, allow_full=True)[0]:
        res.fig("long line", "a 17 MiB main line: reported not understood")
        return
    left = [a.text for a in (x1, x2) if got and a.text.encode() in got[0]]
    res.fail("long line", "a 17 MiB line (--format main): neither masked "
             "whole nor reported as not understood: exit %s, %d lines out, "
             "addresses left full %s, stderr %r" % (rc, len(got), left,
                                                    err[:200]))
    res.fig("long line", "a 17 MiB main line: addresses left full %s, not "
            "reported" % left)


def corpus_report(corpus):
    out = []
    tot = 0
    fams = {}
    sp = {}
    nu = 0
    for name, (lay, doc, files) in corpus.items():
        n = sum(len(v) for v in files.values()) + len(doc or [])
        tot += n
        fams[lay.family] = fams.get(lay.family, 0) + n
        for ln in (doc or []) + [x for v in files.values() for x in v]:
            nu += bool(ln.nu_for(""))
            for k, v in C.spelling_counts([ln]).items():
                sp[k] = sp.get(k, 0) + v
    out.append("corpus: %d lines in %d layouts (%d not understood under "
               "their own config); per family: %s" % (
                   tot, len(corpus), nu, ", ".join(
                       "%s %d" % kv for kv in sorted(fams.items()))))
    out.append("addresses per spelling: " + ", ".join(
        "%s %d" % kv for kv in sorted(sp.items())))
    return out


def layout_line(name, lay, doc, files):
    sizes = "+".join(str(len(files[k])) for k in sorted(files, key=order))
    return "%s (doc %d, files %s)" % (name, len(doc or []), sizes)


# ------------------------------------------------------------ self-test

def selftest():
    """The reader against a perfect lethe made of the ground truth, then
    against planted bugs, each of which it must catch."""
    bad = 0
    corpus = C.build()

    def perfect(lines, view):
        out = []
        for ln in lines:
            nu = view.nu(ln)
            out.append(ln.free_masked(view.p4, view.p6) if nu is True else
                       ln.expect(view.p4, view.p6))
        nn = sum(1 for ln in lines if view.nu(ln) is True)
        first = next((i + 1 for i, ln in enumerate(lines)
                      if view.nu(ln) is True), None)
        err = "mask: %d of %d lines not understood (first at line %d)\n" % (
            nn, len(lines), first) if nn else ""
        return b"".join(x + b"\n" for x in out), err

    checked = 0
    for name, (lay, doc, files) in corpus.items():
        gen = [ln for k in sorted(files, key=order) for ln in files[k]]
        for view in lay.views:
            for lines in (doc, gen):
                if not lines:
                    continue
                out, err = perfect(lines, view)
                fails, st = C.check_mask_run(name, lines, view, 0, out, err)
                checked += len(lines)
                if fails or st.masked != st.expected:
                    bad += 1
                    print("selftest: the perfect output fails %s [%s]: %s"
                          % (name, view.key, fails[:2]))
        for fname, lines in files.items():
            live = not (fname.endswith(".1") or fname.endswith(".gz"))
            want = C.expected_file(lines, live)
            data = b"".join((ln.expect(16, 32, lay.mh) if w and
                             not ln.nu_for("") else
                             ln.free_masked() if w else ln.orig()) + b"\n"
                            for ln, w in zip(lines, want))
            fails, _ = C.check_once_file(fname, lines, data, live, 16, 32,
                                         lay.mh)
            if fails:
                bad += 1
                print("selftest: the perfect once output fails %s: %s" % (
                    fname, fails[:2]))
    print("selftest: the perfect output passes (%d lines read back)" %
          checked)

    def expect_caught(what, fails):
        nonlocal bad
        if fails:
            print("selftest: caught %s: %s" % (what, " | ".join(
                x.strip() for x in fails[0].split("\n"))[:220]))
        else:
            bad += 1
            print("selftest: NOT caught: %s" % what)

    lay, doc, files = corpus["nginx-main"]
    view = lay.views[0]
    lines = files["nginx-main.log.1"]
    out, err = perfect(lines, view)
    outl = C.split_out(out)

    def planted(i, new):
        o = list(outl)
        o[i] = new
        return b"".join(x + b"\n" for x in o)

    # 1. an address field left full in an understood line
    i = next(k for k, ln in enumerate(lines) if not ln.nu_for("") and
             any(a.field and a.is_full() for a in ln.addrs()))
    ln = lines[i]
    a = next(a for a in ln.addrs() if a.field and a.is_full())
    g = ln.expect().replace(a.masked().encode(), a.text.encode(), 1)
    expect_caught("an unmasked address (%s) in an understood line" % a.text,
                  C.check_mask_run("plant", lines, view, 0, planted(i, g),
                                   err)[0])
    # 2. one changed byte in an understood line
    g = bytearray(ln.expect())
    k = g.index(b'"')
    g[k + 1] ^= 0x20
    expect_caught("a changed byte in an understood line",
                  C.check_mask_run("plant", lines, view, 0,
                                   planted(i, bytes(g)), err)[0])
    # 3. a line not understood: an admitted address left full
    j = next(k for k, ln in enumerate(lines) if ln.nu_for("") and
             any(a.must(16, 32) for a in ln.addrs()))
    ln = lines[j]
    a = next(a for a in ln.addrs() if a.must(16, 32))
    g = ln.free_masked().replace(a.masked().encode(), a.text.encode(), 1)
    expect_caught("an unmasked address (%s) in a line not understood" %
                  a.text, C.check_mask_run("plant", lines, view, 0,
                                           planted(j, g), err)[0])
    # 4. a line not understood: a changed byte
    g = bytearray(ln.free_masked())
    g[-2] ^= 0x01
    expect_caught("a changed byte in a line not understood",
                  C.check_mask_run("plant", lines, view, 0,
                                   planted(j, bytes(g)), err)[0])
    # 5. a free scan that masks a version string
    ln = C.CLine(["x ", C.v4(random.Random(1)), ' "Mozilla/5.0 Chrome/'
                  '121.5.6.7 Safari/537.36"'], None, True, "plant")
    g = ln.free_masked().replace(b"121.5.6.7", b"121.5.0.0")
    expect_caught("Chrome/121.5.6.7 masked by the free scan",
                  [m for m in [C.check_line(g, ln, True, True)] if m])
    # 6. the count of lines not understood
    n = sum(1 for ln in lines if ln.nu_for(""))
    e2 = err.replace("mask: %d of" % n, "mask: %d of" % (n + 1))
    expect_caught("a wrong count on stderr",
                  C.check_mask_run("plant", lines, view, 0, out, e2)[0])
    expect_caught("no count on stderr",
                  C.check_mask_run("plant", lines, view, 0, out, "")[0])
    # 7. once: a line inside the window masked, a past line left full
    want = C.expected_file(lines, False)
    base = [ln.expect() if w and not ln.nu_for("") else
            ln.free_masked() if w else ln.orig()
            for ln, w in zip(lines, want)]
    k = next(x for x, (ln, w) in enumerate(zip(lines, want)) if not w and
             ln.expect() != ln.orig())
    o = list(base)
    o[k] = lines[k].expect()
    expect_caught("once: a line inside the window masked (early)",
                  C.check_once_file("plant", lines, b"".join(
                      x + b"\n" for x in o), False, 16, 32, False)[0])
    k = next(x for x, (ln, w) in enumerate(zip(lines, want)) if w and
             ln.expect() != ln.orig() and not ln.nu_for(""))
    o = list(base)
    o[k] = lines[k].orig()
    expect_caught("once: a line past the window left full",
                  C.check_once_file("plant", lines, b"".join(
                      x + b"\n" for x in o), False, 16, 32, False)[0])
    # 8. audit: a missing failure, and a line with an address in it
    paths = {"/x/nginx-main.log.1": lines}
    exp = C.audit_expect(paths)
    good = "".join("%s: %d lines not understood past the window, first at "
                   "line %d\n" % (p, v[0], v[1]) for p, v in exp.items())
    f, _, _ = C.check_audit("plant", paths, 1, good)
    if f:
        bad += 1
        print("selftest: the right audit output fails: %s" % f[:2])
    expect_caught("audit passes a file with lines not understood",
                  C.check_audit("plant", paths, 0, "audit: 1 files clean\n")
                  [0])
    expect_caught("audit prints a line's text",
                  C.check_audit("plant", paths, 1, good +
                                "/x/nginx-main.log.1: 192.0.2.1 - -\n")[0])
    # 9. the corpus verifier: an address field marked as free text, and a
    # line that does not fit its log_format
    lay, doc, files = corpus["nginx-combined"]
    ln = next(x for x in files["nginx-combined.log.1"] if x.addrs() and
              not x.nu_for(""))
    a = ln.addrs()[0]
    a.field = False
    expect_caught("the corpus marks an address field as free text",
                  C.verify_lines(lay, [ln]))
    a.field = True
    ln2 = C.CLine([ln.orig().decode()[:-1]], ln.t)     # the last quote
    expect_caught("a corpus line that does not fit its log_format",
                  C.verify_lines(lay, [ln2]))
    print("selftest: %s" % ("all checks passed" if not bad else
                            "%d failures" % bad))
    return 0 if not bad else 1


# ------------------------------------------------------------ main

def main():
    if SELFTEST:
        return selftest()
    t0 = time.time()
    t = L.Test("68-corpus")
    # CORPUS_VERBOSE=1: every failure, not two per layout
    t.MAX_PER_KIND = 10 ** 6 if os.environ.get("CORPUS_VERBOSE") else 2
    root = t.mkdtemp()
    corpus = C.build()
    for l in corpus_report(corpus):
        t.info(l)
    res = Results()
    part_mask(res, corpus)
    attack = {}
    part_once(res, root, corpus, attack)
    part_rotation(res, root)
    part_check_binary(res, root)
    part_long_line(res)
    for (lname, kind, side), (ok, n) in sorted(attack.items()):
        res.fig("attack", "%s %s %s the window: %d/%d %s" % (
            lname, kind, side, ok, n, "masked" if side == "past" else
            "kept full"))
        if ok != n:
            res.fail("attack", "%s: %d of %d %s lines %s the window %s" % (
                lname, n - ok, n, kind, side, "not masked on their real "
                "time" if side == "past" else "masked early"))
    print("figures (masked/expected full addresses; nu: lines not "
          "understood, reported/expected):")
    for name, figs in res.figs.items():
        if name in corpus:
            lay, doc, files = corpus[name]
            t.info(layout_line(name, lay, doc, files) + ": " +
                   "; ".join(figs))
        else:
            for f in figs:
                t.info("%s: %s" % (name, f))
    bad = {}
    for name, msg in res.fails:
        bad[name] = bad.get(name, 0) + 1
    print("failures: %d in %d of %d layouts and checks" % (
        len(res.fails), len(bad), len(corpus) + 4))
    for name, msg in res.fails:
        lines = msg.split("\n")
        keep = None if os.environ.get("CORPUS_VERBOSE") else 3
        t.fail("%s: %s" % (name, "\n      ".join(
            l[:300] for l in lines[:keep])), kind=name)
    t.info("%.1f s" % (time.time() - t0))
    t.done()


if __name__ == "__main__":
    sys.exit(main())
