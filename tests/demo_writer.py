#!/usr/bin/env python3
"""A tiny web server stand-in for the demo: appends a request line to
LOG every tenth of a second, writes its pid to PIDFILE, and reopens LOG
on SIGUSR1 as nginx does.  Stops on SIGTERM or after SECONDS."""
import os
import random
import signal
import sys
import time

log, pidfile, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
reopen = False


def on_usr1(sig, frame):
    global reopen
    reopen = True


signal.signal(signal.SIGUSR1, on_usr1)
with open(pidfile, "w") as f:
    f.write("%d\n" % os.getpid())
rng = random.Random(11)
fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
end = time.time() + seconds
n = 0
while time.time() < end:
    if reopen:
        reopen = False
        os.close(fd)
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    n += 1
    stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
    os.write(fd, ('203.0.113.%d - - [%s] "GET /demo/%d HTTP/1.1" 200 512 '
                  '"-" "Mozilla/5.0 Chrome/120.0.0.0" "198.51.100.%d"\n'
                  % (rng.randrange(1, 255), stamp, n,
                     rng.randrange(1, 255))).encode())
    time.sleep(0.1)
