#!/usr/bin/env python3
"""Fill a demo directory with a month of nginx-style logs ending at NOW.

Usage: demo_gen.py DIR NOW_EPOCH

The live access.log holds the last day, access.log.1 the day before
(plain, as logrotate's delaycompress leaves it), access.log.2.gz up to
access.log.13.gz the days before that, and access.log-YYYYMMDD.gz (a
dateext leftover) the oldest days, past the demo's 20-day retention.
"""
import gzip
import os
import random
import sys
import time

DAY = 86400


def line(rng, t):
    if rng.random() < 0.3:
        addr = "2001:db8:%x:%x::%x" % (rng.randrange(65536),
                                        rng.randrange(65536),
                                        rng.randrange(1, 65536))
    else:
        addr = "%d.%d.%d.%d" % (rng.randrange(1, 224), rng.randrange(256),
                                rng.randrange(256), rng.randrange(1, 255))
    xff = "%d.%d.%d.%d, unknown" % (rng.randrange(1, 224), rng.randrange(256),
                                    rng.randrange(256), rng.randrange(1, 255))
    stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(t))
    path = rng.choice(["/", "/index.html", "/login", "/api/items?id=%d"
                       % rng.randrange(1000)])
    return ('%s - - [%s] "GET %s HTTP/1.1" 200 %d "-" '
            '"Mozilla/5.0 Chrome/120.0.0.0" "%s"\n'
            % (addr, stamp, path, rng.randrange(100, 9000), xff))


def day_lines(rng, start):
    return "".join(line(rng, start + i * 600) for i in range(144))


def main():
    d, now = sys.argv[1], int(sys.argv[2])
    rng = random.Random(7)
    os.makedirs(d, mode=0o755, exist_ok=True)
    for age in range(30, -1, -1):
        start = now - (age + 1) * DAY
        text = day_lines(rng, start).encode()
        if age == 0:
            name = "access.log"
        elif age == 1:
            name = "access.log.1"
        elif age < 14:
            name = "access.log.%d.gz" % age
        else:
            name = "access.log-%s.gz" % time.strftime(
                "%Y%m%d", time.gmtime(start + DAY))
        path = os.path.join(d, name)
        if name.endswith(".gz"):
            with gzip.open(path, "wb", compresslevel=6) as f:
                f.write(text)
        else:
            with open(path, "wb") as f:
                f.write(text)
        os.chmod(path, 0o640)
        os.utime(path, (start + DAY, start + DAY))


if __name__ == "__main__":
    main()
