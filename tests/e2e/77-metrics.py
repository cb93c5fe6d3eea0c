"""lethe run with metrics_file: the Prometheus textfile after each action.

A set with old segments (one past retain, some past the window, one plain
to compress) and a live file that a writer appends to while the daemon
rotates it (fast clock).  Checks that the file is valid exposition format
(promtool check metrics, installed from Debian's prometheus package when
missing, and our own parser), that the counters match what the daemon
logged, that the oldest-full-address gauge stays below the window once the
work is done, and that the file is replaced atomically (never seen half
written while the daemon runs).
"""
import gzip
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as dl  # noqa: E402

DAY = 86400
LINE = ('203.0.%d.%d - - [%s] "GET /m/%d HTTP/1.1" 200 5 "-" '
        '"Mozilla/5.0 Chrome/120.0.0.0"\n')
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? '
                    r'(-?[0-9.e+]+|NaN|[+-]Inf)$')
LABEL = re.compile(r'^[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"$')


def clf(t):
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(t))


JUNK = 7        # lines no format describes, in access.log.3.gz
AHEAD = 2       # lines dated 30 days ahead, in access.log.2.gz


def write_segment(path, start, n, gz, junk=0, ahead=0):
    text = "".join(LINE % (i % 250, 1 + i % 200, clf(start + i * 60), i)
                   for i in range(n))
    text += "".join("garbage %d from 198.51.100.%d, no format\n" % (i, i + 1)
                    for i in range(junk))
    text += "".join(LINE % (9, 9, clf(start + 30 * DAY), 900 + i)
                    for i in range(ahead))
    text = text.encode()
    with (gzip.open(path, "wb") if gz else open(path, "wb")) as f:
        f.write(text)
    os.utime(path, (start + n * 60, start + n * 60))


def parse(text, c):
    """Our own check of the exposition format; returns {name{labels}: v}."""
    samples, typed = {}, {}
    for ln in text.splitlines():
        if ln.startswith("# HELP "):
            continue
        if ln.startswith("# TYPE "):
            _, _, name, kind = ln.split(" ", 3)
            c.check(kind in ("counter", "gauge"), "bad TYPE line " + ln)
            typed[name] = kind
            continue
        m = SAMPLE.match(ln)
        if not c.check(m is not None, "not a sample line: %r" % ln):
            continue
        name = m.group(1)
        c.check(name in typed, "sample %s before its TYPE" % name)
        if m.group(3):
            for lab in m.group(3).split(","):
                c.check(LABEL.match(lab) is not None, "bad label %r" % lab)
        if typed.get(name) == "counter":
            c.check(name.endswith("_total"), "counter %s lacks _total"
                    % name)
        samples[name + (m.group(2) or "")] = float(m.group(4))
    return samples


def promtool(path, c):
    if shutil.which("promtool") is None and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", "prometheus"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if shutil.which("promtool") is None:
        c.note("promtool is not available: the format was checked by this "
               "test's own parser only")
        return
    with open(path, "rb") as f:
        p = subprocess.run(["promtool", "check", "metrics"], stdin=f,
                           capture_output=True, timeout=60)
    c.check(p.returncode == 0, "promtool check metrics failed: %s %s"
            % (p.stdout.decode(), p.stderr.decode()))
    c.info("promtool check metrics: ok")


def main():
    dl.need_lethe()
    c = dl.Checks("77-metrics")
    root, logs, state = dl.mkroot("77-metrics")
    prom = os.path.join(state, "lethe.prom")
    now = dl.iso_to_epoch("2026-11-29T12:00:00Z")
    clock = dl.Clock(now, rate=600)
    d = w = None
    try:
        write_segment(os.path.join(logs, "access.log.4.gz"),
                      now - 40 * DAY, 30, True)     # past retain
        write_segment(os.path.join(logs, "access.log.3.gz"),
                      now - 10 * DAY, 30, True, junk=JUNK)
        write_segment(os.path.join(logs, "access.log.2.gz"),
                      now - 9 * DAY, 30, True, ahead=AHEAD)
        write_segment(os.path.join(logs, "access.log.1"),
                      now - 2 * DAY, 30, False)     # to compress
        conf = os.path.join(root, "lethe.conf")
        text = dl.conf_text(state, [("web", {
            "logs": os.path.join(logs, "access.log"), "format": "combined",
            "window": "7d", "retain": "30d", "rotate": "1h",
            "reopen": "signal USR1 " + os.path.join(root, "writer.pid"),
            "settle": "2s", "compress_after": "1h", "mask_early": "1h"})])
        text = text.replace("sweep = 10s\n", "sweep = 10s\nmetrics_file = "
                            "%s\n" % prom)
        dl.write_conf(conf, text)
        w = dl.Writer(root, os.path.join(logs, "access.log"),
                      os.path.join(root, "writer.pid"), 200, clock)
        d = dl.Daemon(conf, now=int(clock.now()), rate=600,
                      logfile=os.path.join(root, "lethe.log"))
        d.ready()
        seen = set()
        end = time.monotonic() + 20
        while time.monotonic() < end:
            # atomic replace: every read is a whole file
            try:
                with open(prom) as f:
                    t = f.read()
                seen.add(len(t))
                c.check(t.endswith("\n") and "lethe_last_success_" in t,
                        "metrics file read half written (%d bytes)" % len(t))
            except FileNotFoundError:
                pass
            if d.count(r"^rotated ") >= 2 and d.count(r"^mask") >= 2:
                break
            time.sleep(0.05)
        d.wait_for(r"^deleted ", 10)
        time.sleep(1.0)
        w.stop()
        rc, _ = d.stop()
        c.check(rc == 0, "lethe exited %s" % rc)
        with open(prom) as f:
            text = f.read()
        promtool(prom, c)
        s = parse(text, c)
        lab = '{set="web"}'
        logged = {
            "lethe_files_rotated_total": d.count(r"^rotated "),
            "lethe_files_deleted_total": d.count(r"^deleted "),
            "lethe_files_masked_total": d.count(r"^mask(\+compress)? "),
            "lethe_files_compressed_total": d.count(r"^(mask\+)?compress "),
        }
        for name, n in logged.items():
            c.check(s.get(name + lab) == n, "%s = %s, the log says %d"
                    % (name, s.get(name + lab), n))
        masked = sum(int(m.group(1)) for m in
                     (re.search(r": (\d+) addresses masked", x)
                      for x in d.texts()) if m)
        c.check(s.get("lethe_addresses_masked_total" + lab) == masked,
                "addresses masked %s, the log says %d"
                % (s.get("lethe_addresses_masked_total" + lab), masked))
        c.check(s.get("lethe_lines_read_total" + lab, 0) > 0,
                "no lines read counted")
        # each pass over a file counts what it read (scan, then rewrite)
        for name, n in (("lethe_lines_not_understood_total", JUNK),
                        ("lethe_lines_time_refused_total", AHEAD)):
            v = s.get(name + lab)
            c.check(v is not None and v >= n and v % n == 0,
                    "%s = %s, want a multiple of the %d in the segments"
                    % (name, v, n))
        c.check(s.get("lethe_lines_long_total" + lab) == 0,
                "lethe_lines_long_total = %s, no line is that long"
                % s.get("lethe_lines_long_total" + lab))
        age = s.get("lethe_oldest_full_address_age_seconds" + lab)
        win = s.get("lethe_window_seconds" + lab)
        c.check(win == 7 * DAY, "window gauge %s" % win)
        c.check(age is not None and 0 < age < win,
                "oldest full address age %s not under the window %s"
                % (age, win))
        c.check(s.get('lethe_errors_total{kind="rewrite"}') == 0,
                "rewrite errors counted")
        for a in ("rotate", "compress", "mask", "delete"):
            c.check(s.get('lethe_last_success_timestamp_seconds'
                          '{action="%s"}' % a, 0) > now,
                    "no last success time for %s" % a)
        c.check(oct(os.stat(prom).st_mode & 0o777) == "0o644",
                "metrics file mode %o" % (os.stat(prom).st_mode & 0o777))
        c.check(not [n for n in os.listdir(state) if ".lethe-" in n],
                "temp files left in state_dir")
        c.info("rotated %d, masked %d files (%d addresses), compressed %d, "
               "deleted %d; %d distinct file sizes seen while running"
               % (logged["lethe_files_rotated_total"],
                  logged["lethe_files_masked_total"], masked,
                  logged["lethe_files_compressed_total"],
                  logged["lethe_files_deleted_total"], len(seen)))
    except dl.Fail as e:
        c.fail(str(e))
    finally:
        if w is not None:
            w.kill()
        if d is not None:
            d.kill()
    rc = c.finish()
    if rc == 0:
        shutil.rmtree(root, ignore_errors=True)
    else:
        print("kept " + root)
    return rc


if __name__ == "__main__":
    sys.exit(main())
