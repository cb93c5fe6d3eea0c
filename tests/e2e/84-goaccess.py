#!/usr/bin/env python3
"""GoAccess reads what lethe writes: 100% of the lines parse, and its
visitors/hosts panel holds only masked addresses.

Three logs, each a few thousand lines of realistic traffic (IPv4 and IPv6
clients in every textual form, methods, query strings, HTTP/1.0 to
HTTP/2.0, referers, browser and bot user agents with version strings,
some of which look like addresses and must stay untouched):

  1. combined, masked by `lethe mask --format combined`;
  2. vhost_combined, masked by `lethe mask --format vhost_combined`;
  3. combined, as a rotated copy (access.log.1) handled by
     `lethe once --now <past the window>` (format combined, window 1d,
     rotate off, compress_after 1h): it must become access.log.1.gz,
     read back with zcat.

Each output is first compared byte for byte with the masked form computed
here with python's ipaddress module (/16, /32).  Then GoAccess (installed
with apt-get when missing; the test fails, never skips, when it cannot be
had) reads it (`--log-format=COMBINED` / `VCOMBINED`, the gzip one through
`zcat F | goaccess -`) and writes JSON: general.total_requests and
valid_requests must equal the number of lines, failed_requests must be 0,
and the hosts panel must list exactly the expected masked networks (host
bits zero), with the expected hit counts; no full client address may appear
anywhere in the report.  GoAccess also reads each unmasked original, as a
control that the generated lines themselves are valid for it.

    LETHE=/abs/path/to/lethe python3 tests/e2e/84-goaccess.py
"""

import collections
import ipaddress
import json
import os
import random
import shutil
import subprocess
import sys

NAME = "84-goaccess"
HERE = os.path.dirname(os.path.abspath(__file__))
if not os.environ.get("LETHE"):
    os.environ["LETHE"] = os.path.normpath(
        os.path.join(HERE, "..", "..", "build", "lethe"))
sys.path.insert(0, HERE)
import lethelib as L  # noqa: E402

N_LINES = 4000          # per log
N_CLIENTS = 600         # distinct client addresses (repeated visits)
V4P, V6P = 16, 32


def cannot_run(why):
    print("%s: cannot run: %s" % (NAME, why))
    sys.exit(1)


def ensure_goaccess():
    if shutil.which("goaccess"):
        return shutil.which("goaccess")
    if os.geteuid() != 0:
        cannot_run("goaccess is not installed and we are not root")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        for argv in (["apt-get", "install", "-y", "goaccess"],
                     ["apt-get", "update"],
                     ["apt-get", "install", "-y", "goaccess"]):
            if argv[1] == "update" and shutil.which("goaccess"):
                break
            p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=600)
            if argv[1] == "install" and p.returncode == 0:
                break
    except (OSError, subprocess.TimeoutExpired) as e:
        cannot_run("apt-get failed: %s" % e)
    if not shutil.which("goaccess"):
        cannot_run("apt-get install -y goaccess did not install it: %s" %
                   (p.stderr.decode(errors="replace")[-500:]))
    return shutil.which("goaccess")


# ------------------------------------------------------------ traffic

UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Chrome/120.0.6099.130 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Chrome/119.0.0.0 Safari/537.36 Edg/119.0.2151.97",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.2 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) "
    "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 "
    "Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "curl/8.4.0",
    "Wget/1.21.3",
    "python-requests/2.31.0",
    "Go-http-client/1.1",
    # look like addresses, must pass through untouched
    "Scanner 1.2.3.4 (compatible; probe/10.0.0.1)",
    "Monitor/2.0 (check from 192.0.2.55; +http://198.51.100.7/about)",
    "-",
]
PATHS = ["/", "/index.html", "/about/", "/blog/2026/11/lethe-1.2.html",
         "/api/v1/items?id=42&sort=desc", "/api/v2/users/1234/orders",
         "/lookup?ip=203.0.113.9", "/ip/2001:db8::1/info",
         "/static/app-1.2.3.4.js", "/static/css/site.min.css?v=20261129",
         "/images/logo@2x.png", "/favicon.ico", "/robots.txt",
         "/wp-login.php", "/.env", "/search?q=%E2%9C%93+privacy",
         "/download/lethe-0.9.1.tar.gz", "/feed.xml"]
METHODS = ["GET"] * 12 + ["POST"] * 3 + ["HEAD", "PUT", "DELETE", "OPTIONS"]
PROTOS = ["HTTP/1.1"] * 6 + ["HTTP/2.0"] * 3 + ["HTTP/1.0"]
STATUS = [200] * 10 + [206, 301, 302, 304, 304, 400, 403, 404, 404, 500, 503]
REFERERS = ["-"] * 5 + [
    "https://example.com/", "https://www.google.com/search?q=lethe+logs",
    "http://198.51.100.3/admin", "https://[2001:db8::7]/page",
    "https://news.example.org/item?id=123456", "android-app://com.slack/"]
USERS = ["-"] * 9 + ["alice"]
VHOSTS = ["www.example.com:443", "www.example.com:80", "api.example.com:443",
          "shop.example.org:443"]
V6FORMS = ["compressed", "compressed", "exploded", "upper", "leading0",
           "mapped", "sparse", "nat64"]


def client_pool(rng, avoid):
    pool = []
    seen = set()
    while len(pool) < N_CLIENTS:
        a = L.rand_v4(rng) if rng.random() < 0.55 else \
            L.rand_v6(rng, rng.choice(V6FORMS))
        if a in seen or a in avoid:
            continue
        seen.add(a)
        pool.append(a)
    return pool


def gen_log(rng, fmt, pool, t0, n):
    """Lines (orig, masked, client) of format combined or vhost_combined;
    times increasing from t0, at +0100."""
    out = []
    t = t0
    weights = [1.0 / (i + 1) ** 0.8 for i in range(len(pool))]
    clients = rng.choices(pool, weights, k=n)
    for ra in clients:
        t += rng.randrange(0, 40)
        status = rng.choice(STATUS)
        size = "-" if status in (304,) or rng.random() < 0.03 else \
            str(rng.randrange(0, 250000))
        req = "%s %s %s" % (rng.choice(METHODS), rng.choice(PATHS),
                            rng.choice(PROTOS))
        rest = ' - %s [%s] "%s" %s %s "%s" "%s"' % (
            rng.choice(USERS), L.time_local(t, 60), req, status, size,
            rng.choice(REFERERS), rng.choice(UAS))
        r = L.mask_token(ra, V4P, V6P)
        assert r is not None, ra
        masked = r[0]
        pre = rng.choice(VHOSTS) + " " if fmt == "vhost_combined" else ""
        out.append(((pre + ra + rest).encode(),
                    (pre + masked + rest).encode(), ra))
    return out


def is_masked(text):
    """True when text is an address whose host bits are zero (/16, /32;
    IPv4-mapped: the IPv4 prefix)."""
    try:
        a = ipaddress.ip_address(text)
    except ValueError:
        return False
    if a.version == 6 and a.ipv4_mapped is not None:
        a4 = a.ipv4_mapped
        return int(a4) & ((1 << (32 - V4P)) - 1) == 0
    bits = (32 - V4P) if a.version == 4 else (128 - V6P)
    return int(a) & ((1 << bits) - 1) == 0


def norm(text):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return text


# ------------------------------------------------------------ checks

def check_bytes(t, what, got, lines):
    exp = b"".join(m + b"\n" for _, m, _ in lines)
    if got == exp:
        return True
    gl = got.split(b"\n")
    el = exp.split(b"\n")
    t.fail("%s: output differs from the expected masked log: %d lines, "
           "expected %d" % (what, len(gl) - 1, len(el) - 1))
    for i, (g, e) in enumerate(zip(gl, el)):
        if g != e:
            t.fail("%s: line %d: %s" % (what, i + 1, L.describe_diff(g, e)),
                   kind="%s changed line" % what)
    return False


def run_goaccess(t, goaccess, what, logfmt, out_json, path=None, gz=None):
    argv = [goaccess, path if path else "-", "--log-format=" + logfmt,
            "-o", out_json, "--max-items=1000000", "--no-progress"]
    try:
        if gz is None:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=180)
            rc, err = p.returncode, p.stderr
            zrc = 0
        else:
            z = subprocess.Popen(["zcat", gz], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
            try:
                p = subprocess.run(argv, stdin=z.stdout, capture_output=True,
                                   timeout=180)
                z.stdout.close()
                zrc = z.wait(timeout=60)
                rc, err = p.returncode, p.stderr + z.stderr.read()
            finally:
                if z.poll() is None:
                    z.kill()
                    z.wait()
    except subprocess.TimeoutExpired:
        t.fail("%s: goaccess timed out" % what)
        return None
    if rc != 0 or zrc != 0:
        t.fail("%s: %s exited %s (zcat %s): %s" % (
            what, " ".join(argv), rc, zrc, err.decode(errors="replace")[-800:]))
        return None
    try:
        with open(out_json) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        t.fail("%s: cannot read goaccess's JSON %s: %s" % (what, out_json, e))
        return None


def check_report(t, what, rep, lines, masked=True):
    g = rep.get("general", {})
    n = len(lines)
    total = g.get("total_requests")
    valid = g.get("valid_requests")
    failed = g.get("failed_requests", g.get("failed"))
    hosts = rep.get("hosts", {}).get("data", [])
    t.info("%-28s lines %5d  total_requests %5s  valid %5s  failed %s  "
           "hosts %4d  unique_visitors %s" % (
               what, n, total, valid, failed, len(hosts),
               g.get("unique_visitors")))
    t.check(total == n, "%s: goaccess total_requests %r, expected %d" % (
        what, total, n))
    t.check(valid == n, "%s: goaccess valid_requests %r, expected %d" % (
        what, valid, n))
    t.check(failed == 0, "%s: goaccess failed_requests %r, expected 0 (not "
            "every line parsed)" % (what, failed))
    if not masked:
        return
    # hosts panel: exactly the expected masked networks with their hits
    exp = collections.Counter(norm(L.mask_token(c, V4P, V6P)[0])
                              for _, _, c in lines)
    got = collections.Counter()
    bad = []
    for item in hosts:
        d = item.get("data")
        hits = item.get("hits", {}).get("count")
        if not is_masked(d):
            bad.append(d)
        got[norm(d)] += hits if isinstance(hits, int) else 0
    t.check(not bad, "%s: hosts panel holds %d address(es) with host bits "
            "set (first: %s)" % (what, len(bad), bad[:5]))
    nv4 = sum(1 for a in got if isinstance(a, ipaddress.IPv4Address))
    t.info("%-28s hosts panel: %d networks (%d IPv4, %d IPv6), every one "
           "masked: %s; hits sum %d" % (
               "", len(got), nv4, len(got) - nv4, not bad,
               sum(got.values())))
    if got != exp:
        missing = [str(a) for a in exp if a not in got][:5]
        extra = [str(a) for a in got if a not in exp][:5]
        wrong = [(str(a), got[a], exp[a]) for a in exp
                 if a in got and got[a] != exp[a]][:5]
        t.fail("%s: hosts panel differs from the expected masked clients: "
               "%d networks, expected %d; missing %s, unexpected %s, wrong "
               "hit counts (addr, got, expected) %s" % (
                   what, len(got), len(exp), missing, extra, wrong))
    text = json.dumps(rep)
    fulls = sorted({c for _, _, c in lines
                    if L.mask_token(c, V4P, V6P)[1]})
    leaked = L.leaked_addresses(text, fulls)
    t.check(not leaked, "%s: %d full client address(es) in goaccess's "
            "report (first: %s)" % (what, len(leaked), leaked[:3]))


def main():
    t = L.Test(NAME)
    goaccess = ensure_goaccess()
    ver = subprocess.run([goaccess, "--version"], capture_output=True,
                         stdin=subprocess.DEVNULL, timeout=30)
    t.info("using %s (%s)" % (goaccess, ver.stdout.decode(
        errors="replace").split("\n")[0].strip()))
    tmp = t.mkdtemp()
    seed = int(os.environ.get("E2E_SEED", "84"))
    rng = random.Random(seed)
    avoid = {"203.0.113.9", "198.51.100.3", "198.51.100.7", "192.0.2.55",
             "1.2.3.4", "10.0.0.1"}
    pool = client_pool(rng, avoid)
    t0 = L.iso_to_epoch("2026-11-20T00:00:00Z")
    comb = gen_log(rng, "combined", pool, t0, N_LINES)
    vhost = gen_log(rng, "vhost_combined", pool, t0, N_LINES)
    arch = gen_log(rng, "combined", pool, t0, N_LINES)
    nfull = sum(1 for _, _, c in comb if L.mask_token(c, V4P, V6P)[1])
    t.info("%d clients (%d IPv4, %d IPv6 in forms %s); %d lines per log, "
           "%d of the combined ones with a full address" % (
               len(pool), sum(1 for a in pool if ":" not in a),
               sum(1 for a in pool if ":" in a), ",".join(sorted(set(
                   V6FORMS))), N_LINES, nfull))

    def write(name, lines, masked=False):
        p = os.path.join(tmp, name)
        with open(p, "wb") as f:
            for o, m, _ in lines:
                f.write((m if masked else o) + b"\n")
        return p

    reports = []
    # 1, 2: lethe mask
    for what, fmt, lines, gofmt in [
            ("combined", "combined", comb, "COMBINED"),
            ("vhost_combined", "vhost_combined", vhost, "VCOMBINED")]:
        src = write(what + ".orig.log", lines)
        with open(src, "rb") as f:
            data = f.read()
        # through a pipe (stdout not a regular file: flushed per line)
        r = L.run(["mask", "--format", fmt], stdin=data, timeout=120)
        if t.check(r.rc == 0 and not r.timed_out,
                   "%s: lethe mask through a pipe failed:\n%s" % (
                       what, r.show())):
            check_bytes(t, "lethe mask --format %s (pipe)" % fmt,
                        r.out.encode(), lines)
        # to a regular file: what goaccess reads
        out = os.path.join(tmp, what + ".masked.log")
        with open(src, "rb") as fi, open(out, "wb") as fo:
            p = subprocess.run([L.LETHE, "mask", "--format", fmt], stdin=fi,
                               stdout=fo, stderr=subprocess.PIPE, timeout=120)
        t.check(p.returncode == 0, "%s: lethe mask to a file exited %d: %s"
                % (what, p.returncode, p.stderr.decode(errors="replace")))
        with open(out, "rb") as f:
            got = f.read()
        same = check_bytes(t, "lethe mask --format " + fmt, got, lines)
        t.info("lethe mask --format %-15s %d lines in, %d out, identical to "
               "the expected masked log: %s" % (
                   fmt, len(lines), got.count(b"\n"), same))
        reports.append((what + " (lethe mask)", gofmt, out, None, lines))
        reports.append((what + " (original)", gofmt, src, None, lines))

    # 3: lethe once on a rotated copy, past the window -> gzip
    logs = os.path.join(tmp, "logs")
    state = os.path.join(tmp, "state")
    os.mkdir(logs, 0o755)
    os.mkdir(state, 0o700)
    open(os.path.join(logs, "access.log"), "wb").close()
    rot = os.path.join(logs, "access.log.1")
    with open(rot, "wb") as f:
        for o, _, _ in arch:
            f.write(o + b"\n")
    conf = L.write_conf(os.path.join(tmp, "lethe.conf"), state, [
        ("web", {"logs": os.path.join(logs, "access.log"),
                 "format": "combined", "window": "1d", "rotate": "off",
                 "compress_after": "1h", "retain": "90d",
                 "ipv4_prefix": str(V4P), "ipv6_prefix": str(V6P)})])
    now = L.epoch_to_iso(L.iso_to_epoch("2026-11-20T00:00:00Z") + 10 * L.DAY)
    r = L.run(["-c", conf, "--now", now, "once"], timeout=120)
    t.check(r.rc == 0, "lethe once failed:\n%s" % r.show())
    exp_line = "mask+compress %s -> %s.gz" % (rot, rot)
    t.check(exp_line in r.lines(), "lethe once: expected the action %r:\n%s"
            % (exp_line, r.show()))
    gz = rot + ".gz"
    t.check(not os.path.exists(rot), "lethe once left %s in place" % rot)
    if t.check(os.path.exists(gz), "lethe once made no %s:\n%s" % (
            gz, r.show())):
        z = subprocess.run(["zcat", gz], capture_output=True, timeout=60)
        t.check(z.returncode == 0, "zcat %s exited %d: %s" % (
            gz, z.returncode, z.stderr.decode(errors="replace")))
        same = check_bytes(t, "lethe once (zcat)", z.stdout, arch)
        t.info("lethe once --now %s: %r; zcat reads %d lines, identical to "
               "the expected masked log: %s" % (
                   now, r.lines(), z.stdout.count(b"\n"), same))
        reports.append(("combined gzip (lethe once)", "COMBINED", None, gz,
                        arch))

    # GoAccess on each
    for i, (what, gofmt, path, gzp, lines) in enumerate(reports):
        rep = run_goaccess(t, goaccess, what, gofmt,
                           os.path.join(tmp, "report%d.json" % i), path, gzp)
        if rep is not None:
            check_report(t, what, rep, lines,
                         masked=not what.endswith("(original)"))
    t.done()


if __name__ == "__main__":
    main()
