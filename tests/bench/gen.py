#!/usr/bin/env python3
"""Write a synthetic web server log of about --size bytes, the same for the
same --seed, in one of the layouts lethe reads (--format):

    main            nginx's main: combined plus a quoted X-Forwarded-For list
    json            nginx's escape=json log_format (keys time_local,
                    remote_addr, request, status, body_bytes_sent,
                    http_referer, http_user_agent, http_x_forwarded_for)
    combined        Apache's (and nginx's) combined
    common          Apache's common
    vhost_combined  Debian's vhost_combined: "%v:%p " before combined
    nginx_error     nginx's error_log: ", client: ADDR" and nginx's own
                    "*N client ADDR closed keepalive connection"
    apache_error    Apache 2.4's default ErrorLogFormat, "[client ADDR:PORT]"
    w3c             IIS's W3C extended log: #Software, #Version, #Date and
                    #Fields directives, then lines of blank-separated fields

Every layout draws the same requests and addresses in the same order for a
seed (the random generator is used alike; main and json are what they
always were), so line N of one has the request and client of line N of
another, as far as both go.  Lines are spread over about one day from
--start, in time order; remote_addr is IPv4 (80%) or IPv6; a third of main's
and json's lines carry an XFF list (the other layouts have no XFF field).

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
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

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
VHOSTS = ["www.example.com:443", "www.example.com:80", "api.example.com:443",
          "static.example.net:443"]
FORMATS = ["main", "json", "combined", "common", "vhost_combined",
           "nginx_error", "apache_error", "w3c"]
# about a line's length, so that the lines span about a day (main's and
# json's as they always were)
AVG = {"main": 186, "json": 186, "combined": 171, "common": 91,
       "vhost_combined": 192, "nginx_error": 202, "apache_error": 190,
       "w3c": 172}
W3C_HEAD = ("#Software: Microsoft Internet Information Services 10.0\n"
            "#Version: 1.0\n"
            "#Date: %s\n"
            "#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query "
            "s-ip s-port cs-username cs(User-Agent) cs(Referer) sc-status "
            "sc-substatus sc-win32-status sc-bytes time-taken\n")


def parse_size(s):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if s[-1:].upper() in mult:
        return int(s[:-1]) * mult[s[-1:].upper()]
    return int(s)


def nginx_error(m, p, st, n, r, worker):
    """What nginx's error_log says of a request: the text before the
    client's address ("LEVEL] PID#TID: *", the connection number, then
    this) and after it."""
    pid = "%d#%d: *" % (worker, worker)
    req = ', server: example.com, request: "%s %s HTTP/1.1"' % (m, p)
    host = ', host: "example.com"'
    if r != "-":
        host += ', referrer: "%s"' % r
    if st == 404:
        return ("error] " + pid, ' open() "/usr/share/nginx/html%s" failed '
                "(2: No such file or directory), client: "
                % p.split("?")[0], req + host)
    if st == 500:
        return ("error] " + pid, " upstream timed out (110: Connection "
                "timed out) while reading response header from upstream, "
                "client: ", req + ', upstream: "http://127.0.0.1:8080%s"'
                % p + host)
    if st == 301:
        return ("error] " + pid, ' limiting requests, excess: 0.%03d by '
                'zone "one", client: ' % (n % 1000), req + host)
    if m == "POST":
        return ("warn] " + pid, " a client request body is buffered to a "
                "temporary file /var/cache/nginx/client_temp/%010d, "
                "client: " % n, req + host)
    if st == 304:
        return ("info] " + pid, " SSL_do_handshake() failed (SSL: "
                "error:0A00006C:SSL routines::bad key share) while SSL "
                "handshaking, client: ", ", server: 0.0.0.0:443")
    return ("info] " + pid, " client ", " closed keepalive connection")


def apache_error(m, p, st, n, r, worker):
    """Apache 2.4's error line for a request: the text after the time up
    to the client's "ADDR:", and after its port."""
    pid = "[pid %d:tid %d] [client " % (worker, 139900000000000 + n)
    ref = ", referer: " + r if r != "-" else ""
    path = p.split("?")[0]
    if st == 404:
        return ("[core:info] " + pid, "] AH00128: File does not exist: "
                "/var/www/html%s%s" % (path, ref))
    if st == 500:
        return ("[proxy_fcgi:error] " + pid, "] AH01071: Got error "
                "'Primary script unknown'" + ref)
    if st == 301:
        return ("[authz_core:error] " + pid, "] AH01630: client denied by "
                "server configuration: /var/www/html%s%s" % (path, ref))
    if m == "POST":
        return ("[php:warn] " + pid, "] PHP Warning:  Undefined variable "
                "$id in /var/www/html/index.php on line %d%s" %
                (n % 400 + 1, ref))
    return ("[ssl:info] " + pid, "] AH01964: Connection to child %d "
            "established (server example.com:443)" % (n % 64))


def w3c(m, p, st, n, r, ua):
    """The fields of an IIS line after c-ip (blanks in values are '+')."""
    stem, _, query = p.partition("?")
    return " %s %s %s 198.51.100.10 443 - %s %s %d 0 0 %d %d\n" % (
        m, stem, query or "-", ua.replace(" ", "+"), r, st, n,
        n // 2000 + 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--size", default="200M")
    ap.add_argument("--out", required=True)
    ap.add_argument("--start", default="2026-11-01T00:00:00Z")
    ap.add_argument("--format", choices=FORMATS, default="main")
    a = ap.parse_args()
    size = parse_size(a.size)
    rng = random.Random(a.seed)
    start = calendar.timegm(time.strptime(a.start, "%Y-%m-%dT%H:%M:%SZ"))
    kind = a.format

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
    for i in range(4000):
        p = rng.choice(PATHS)
        if "%d" in p:
            p = p % rng.randrange(100000)
        r = rng.choice(REFS)
        if "%d" in r:
            r = r % rng.randrange(1000)
        m = rng.choice(["GET", "GET", "GET", "POST", "HEAD"])
        st = rng.choice([200, 200, 200, 304, 404, 301, 500])
        n = rng.randrange(0, 200000)
        ua = rng.choice(UAS)
        if kind == "json":
            tails.append('","request":"%s %s HTTP/1.1","status":%d,'
                         '"body_bytes_sent":%d,"http_referer":"%s",'
                         '"http_user_agent":"%s","http_x_forwarded_for":"'
                         % (m, p, st, n, r, ua))
        elif kind == "main":
            tails.append('] "%s %s HTTP/1.1" %d %d "%s" "%s" "'
                         % (m, p, st, n, r, ua))
        elif kind in ("combined", "vhost_combined"):
            tails.append('] "%s %s HTTP/1.1" %d %d "%s" "%s"\n'
                         % (m, p, st, n, r, ua))
        elif kind == "common":
            tails.append('] "%s %s HTTP/1.1" %d %d\n' % (m, p, st, n))
        elif kind == "nginx_error":
            tails.append(nginx_error(m, p, st, n, r, 1234 + i % 4))
        elif kind == "apache_error":
            tails.append(apache_error(m, p, st, n, r, 35700 + i % 8))
        else:
            tails.append(w3c(m, p, st, n, r, ua))
    end = '"}\n' if kind == "json" else '"\n'

    n = max(1, size // AVG[kind])
    step = 86400.0 / n
    written = 0
    t = float(start)
    tcache = (None, None)
    choice = rng.choice
    k = 0                           # lines so far
    head = ""
    if kind == "w3c":
        g = time.gmtime(start)
        head = W3C_HEAD % time.strftime("%Y-%m-%d %H:%M:%S", g)
    with open(a.out, "wb", buffering=0) as f:
        while written < size:
            buf = [head]
            head = ""
            for _ in range(20000):
                sec = int(t)
                if sec != tcache[0]:
                    g = time.gmtime(sec)
                    if kind == "json":
                        ts = '{"time_local":"%02d/%s/%04d:%02d:%02d:%02d ' \
                            '+0000","remote_addr":"'
                    elif kind == "nginx_error":
                        ts = "%04d/%02d/%02d %02d:%02d:%02d ["
                    elif kind == "apache_error":
                        ts = "[%s %s %02d %02d:%02d:%02d.%%06d %04d] "
                    elif kind == "w3c":
                        ts = "%04d-%02d-%02d %02d:%02d:%02d "
                    else:
                        ts = " - - [%02d/%s/%04d:%02d:%02d:%02d +0000"
                    if kind == "nginx_error" or kind == "w3c":
                        ts = ts % (g.tm_year, g.tm_mon, g.tm_mday,
                                   g.tm_hour, g.tm_min, g.tm_sec)
                    elif kind == "apache_error":
                        ts = ts % (DAYS[g.tm_wday], MONTHS[g.tm_mon - 1],
                                   g.tm_mday, g.tm_hour, g.tm_min, g.tm_sec,
                                   g.tm_year)
                    else:
                        ts = ts % (g.tm_mday, MONTHS[g.tm_mon - 1],
                                   g.tm_year, g.tm_hour, g.tm_min, g.tm_sec)
                    tcache = (sec, ts)
                # the same draws, in the same order, for every layout
                ra = choice(ras)
                tail = choice(tails)
                xff = choice(xffs)
                if kind == "main":
                    buf.append(ra + tcache[1] + tail + xff + end)
                elif kind == "json":
                    buf.append(tcache[1] + ra + tail + xff + end)
                elif kind == "combined" or kind == "common":
                    buf.append(ra + tcache[1] + tail)
                elif kind == "vhost_combined":
                    buf.append(VHOSTS[k & 3] + " " + ra + tcache[1] + tail)
                elif kind == "nginx_error":
                    buf.append(tcache[1] + tail[0] + str(k + 1) + tail[1] +
                               ra + tail[2] + "\n")
                elif kind == "apache_error":
                    us = int((t - tcache[0]) * 1e6)
                    buf.append(tcache[1] % us + tail[0] + ra + ":" +
                               str(32768 + (k * 7919) % 28000) + tail[1] +
                               "\n")
                else:
                    buf.append(tcache[1] + ra + tail)
                k += 1
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
