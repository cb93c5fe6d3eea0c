#!/usr/bin/env python3
"""Fill the demo directory with the last few minutes of nginx-style logs.

Usage: demo_gen.py DIR NOW_EPOCH MINUTES

One lethe segment per past minute (access.log-YYYYMMDDTHHMMZ, the older
ones already gzip, as lethe leaves them), each holding 60 lines of its
minute with full addresses, and the live access.log with the current
minute.  With the demo's short durations the daemon, once started,
deletes the oldest, masks the next, compresses the plain ones, and then
keeps rotating the live file every minute.
"""
import gzip
import os
import random
import sys
import time


def line(rng, t):
    if rng.random() < 0.3:
        addr = "2001:db8:%x:%x::%x" % (rng.randrange(65536),
                                        rng.randrange(65536),
                                        rng.randrange(1, 65536))
    else:
        addr = "203.0.%d.%d" % (rng.randrange(256), rng.randrange(1, 255))
    xff = "198.51.100.%d, unknown" % rng.randrange(1, 255)
    stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(t))
    path = rng.choice(["/", "/index.html", "/login", "/api/items?id=%d"
                       % rng.randrange(1000)])
    return ('%s - - [%s] "GET %s HTTP/1.1" 200 %d "-" '
            '"Mozilla/5.0 Chrome/120.0.0.0" "%s"\n'
            % (addr, stamp, path, rng.randrange(100, 9000), xff))


def main():
    d, now, minutes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(7)
    os.makedirs(d, mode=0o755, exist_ok=True)
    cur = now - now % 60
    for age in range(minutes, -1, -1):
        start = cur - age * 60
        end = now if age == 0 else start + 60
        text = "".join(line(rng, t) for t in range(start, end)).encode()
        if age == 0:
            name = "access.log"
        else:
            name = "access.log-%s" % time.strftime(
                "%Y%m%dT%H%MZ", time.gmtime(start + 60))
            if age > 2:
                name += ".gz"
        path = os.path.join(d, name)
        with (gzip.open(path, "wb") if name.endswith(".gz")
              else open(path, "wb")) as f:
            f.write(text)
        os.chmod(path, 0o640)
        os.utime(path, (end, end))


if __name__ == "__main__":
    main()
