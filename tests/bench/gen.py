#!/usr/bin/env python3
"""Write a synthetic nginx access log (format main: combined plus a quoted
X-Forwarded-For list) of about --size bytes, the same for the same --seed.
Lines are spread over one day from --start, in time order; remote_addr is
IPv4 (80%) or IPv6; a third of the lines carry an XFF list.  With --format
json the same fields go out as nginx's escape=json log_format writes them
(keys time_local, remote_addr, request, status, body_bytes_sent,
http_referer, http_user_agent, http_x_forwarded_for).

    python3 tests/bench/gen.py --seed 1 --size 200M --out /tmp/x/access.log
    python3 tests/bench/gen.py --format json --size 200M --out /tmp/x/a.json
"""

import argparse
import calendar
import random
import sys
import time

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
          "Oct", "Nov", "Dec"]

UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) "
    "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 "
    "Safari/604.1",
    "curl/8.4.0", "Wget/1.21.3",
    "Googlebot/2.1 (+http://www.google.com/bot.html)", "-",
]
PATHS = ["/", "/index.html", "/wp-login.php", "/api/v1/items?id=%d",
         "/static/app-1.2.3.js", "/search?q=lethe+%d", "/favicon.ico",
         "/images/%d.png", "/feed.xml", "/robots.txt"]
REFS = ["-", "https://example.com/", "https://www.google.com/",
        "https://example.com/page/%d"]


def parse_size(s):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if s[-1:].upper() in mult:
        return int(s[:-1]) * mult[s[-1:].upper()]
    return int(s)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--size", default="200M")
    ap.add_argument("--out", required=True)
    ap.add_argument("--start", default="2026-11-01T00:00:00Z")
    ap.add_argument("--format", choices=["main", "json"], default="main")
    a = ap.parse_args()
    size = parse_size(a.size)
    rng = random.Random(a.seed)
    start = calendar.timegm(time.strptime(a.start, "%Y-%m-%dT%H:%M:%SZ"))

    v4 = ["%d.%d.%d.%d" % (rng.randrange(1, 224), rng.randrange(256),
                           rng.randrange(256), rng.randrange(1, 255))
          for _ in range(20000)]
    v6 = ["2001:db8:%x:%x::%x" % (rng.randrange(65536), rng.randrange(65536),
                                  rng.randrange(1, 65536))
          for _ in range(2000)] + \
         ["2a00:1450:%x:%x:%x:%x:%x:%x" % tuple(rng.randrange(65536)
                                            for _ in range(6))
          for _ in range(2000)]
    ras = v4 * 4 + v6 * 5          # about 80% IPv4
    xffs = ["-"] * 20 + ["%s, %s" % (rng.choice(v4), rng.choice(v6))
                         for _ in range(500)] + \
        [rng.choice(v4) for _ in range(500)] + \
        ["%s, unknown, %s" % (rng.choice(v4), rng.choice(v4))
         for _ in range(200)]
    xffs = ["-"] * (2 * len(xffs)) + xffs
    tails = []
    js = a.format == "json"
    for _ in range(4000):
        p = rng.choice(PATHS)
        if "%d" in p:
            p = p % rng.randrange(100000)
        r = rng.choice(REFS)
        if "%d" in r:
            r = r % rng.randrange(1000)
        fmt = ('","request":"%s %s HTTP/1.1","status":%d,'
               '"body_bytes_sent":%d,"http_referer":"%s",'
               '"http_user_agent":"%s","http_x_forwarded_for":"') if js \
            else '] "%s %s HTTP/1.1" %d %d "%s" "%s" "'
        tails.append(fmt % (
            rng.choice(["GET", "GET", "GET", "POST", "HEAD"]), p,
            rng.choice([200, 200, 200, 304, 404, 301, 500]),
            rng.randrange(0, 200000), r, rng.choice(UAS)))
    end = '"}\n' if js else '"\n'

    avg = 186
    n = max(1, size // avg)
    step = 86400.0 / n
    written = 0
    t = float(start)
    tcache = (None, None)
    choice = rng.choice
    with open(a.out, "wb", buffering=0) as f:
        while written < size:
            buf = []
            for _ in range(20000):
                sec = int(t)
                if sec != tcache[0]:
                    g = time.gmtime(sec)
                    ts = "%02d/%s/%04d:%02d:%02d:%02d +0000" % (
                        g.tm_mday, MONTHS[g.tm_mon - 1], g.tm_year, g.tm_hour,
                        g.tm_min, g.tm_sec)
                    tcache = (sec, '{"time_local":"%s","remote_addr":"' % ts
                              if js else " - - [" + ts)
                if js:
                    buf.append(tcache[1] + choice(ras) + choice(tails) +
                               choice(xffs) + end)
                else:
                    buf.append(choice(ras) + tcache[1] + choice(tails) +
                               choice(xffs) + end)
                t += step
            chunk = "".join(buf).encode()
            if written + len(chunk) > size:
                cut = chunk.rfind(b"\n", 0, size - written) + 1
                chunk = chunk[:cut] if cut > 0 else chunk[:chunk.find(b"\n")
                                                          + 1]
            f.write(chunk)
            written += len(chunk)
            if not chunk:
                break
    return 0


if __name__ == "__main__":
    sys.exit(main())
