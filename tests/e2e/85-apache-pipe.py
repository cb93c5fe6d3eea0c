#!/usr/bin/env python3
"""A real Apache with `lethe mask` as its piped access log, across a
graceful restart: no request lost, none duplicated, every address masked.

Apache (apt-get install apache2 when missing; the test fails, never skips,
when it cannot be had) runs in the foreground on 127.0.0.1:<free port> with
its own minimal config in the temp dir: mpm_event, authz_core, remoteip
(RemoteIPHeader X-Forwarded-For, RemoteIPTrustedProxy 127.0.0.1, so %a is
each request's own X-Forwarded-For address), children as www-data, and

    LogFormat "%a %l %u %t \\"%r\\" %>s %O \\"%{Referer}i\\" \\"%{User-Agent}i\\"" combined
    CustomLog "||/usr/bin/env LETHE_E2E_MARK=<tmp> <lethe> mask --format combined --output <tmp>/logs/access.log" combined

The piped logger form, and why:
  * "||" runs the command without a shell; `lethe mask --output FILE`
    appends to FILE itself, since Apache gives a piped logger only its
    standard input (its stdout is Apache's own, /dev/null once Apache
    daemonizes).  With --output, every line is written as soon as it is
    complete, O_APPEND: after a graceful restart the old logger (fed by
    old children finishing their requests) and the new one write to the
    same file at the same time.
  * Apache sends SIGTERM to its piped loggers at every restart and on
    stop; fed by a pipe, `lethe mask` reads on to the end of the pipe, so
    the lines the old children still write are not lost.
  * `env LETHE_E2E_MARK=<tmp>` execs lethe with a tag in its environment,
    so that the test can find (and in the end kill) its own loggers.
  * The piped logger runs as Apache's parent, root here, so it can write
    the root-owned log directory while the children run as www-data.

Four threads send REQUESTS requests over keep-alive connections, each with
its own path (/req/N/A, A the attempt: a request refused by a connection
closed under it is retried as a new attempt) and its own X-Forwarded-For
address (IPv4, then IPv6 in several textual forms, in turn).  While they
run, `apache2 -k graceful` restarts Apache GRACEFUL_AT fractions of the
way.  Then `apache2 -k graceful-stop`, and the loggers must exit by
themselves.  Checks: every request that got a response is in the log
exactly once, every N exactly once, no line is garbled, and the address of
each line equals the /16 (IPv4) or /32 (IPv6) network address of the
X-Forwarded-For address sent with it (python ipaddress).

    LETHE=/abs/path/to/lethe python3 tests/e2e/85-apache-pipe.py
    (REQUESTS=..., E2E_KEEP=1 to keep the temp dir)
"""

import http.client
import ipaddress
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

NAME = "85-apache-pipe"
HERE = os.path.dirname(os.path.abspath(__file__))
if not os.environ.get("LETHE"):
    os.environ["LETHE"] = os.path.normpath(
        os.path.join(HERE, "..", "..", "build", "lethe"))
sys.path.insert(0, HERE)
import lethelib as L  # noqa: E402

REQUESTS = int(os.environ.get("REQUESTS", "5000"))
THREADS = 4
GRACEFUL_AT = (0.35, 0.65)
V4P, V6P = 16, 32
MODULES = "/usr/lib/apache2/modules"
V6FORMS = ["compressed", "exploded", "upper", "leading0", "sparse"]

LINE = re.compile(rb'^(\S+) - - \[([^\]]+)\] "GET /req/(\d+)/(\d+) '
                  rb'HTTP/1\.1" (\d{3}) (\d+) "([^"]*)" "([^"]*)"$')

CONF = """\
ServerRoot "{root}"
ServerName localhost
Listen 127.0.0.1:{port}
PidFile "{run}/apache2.pid"
ErrorLog "{run}/error.log"
LogLevel warn
<IfModule !mpm_event_module>
  LoadModule mpm_event_module {mods}/mod_mpm_event.so
</IfModule>
<IfModule !authz_core_module>
  LoadModule authz_core_module {mods}/mod_authz_core.so
</IfModule>
<IfModule !log_config_module>
  LoadModule log_config_module {mods}/mod_log_config.so
</IfModule>
<IfModule !unixd_module>
  LoadModule unixd_module {mods}/mod_unixd.so
</IfModule>
<IfModule !remoteip_module>
  LoadModule remoteip_module {mods}/mod_remoteip.so
</IfModule>
User {user}
Group {group}
StartServers 2
ServerLimit 16
ThreadsPerChild 8
MaxRequestWorkers 64
MinSpareThreads 8
MaxSpareThreads 64
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 30
GracefulShutdownTimeout 30
DocumentRoot "{docroot}"
<Directory />
  Require all granted
  AllowOverride None
</Directory>
ErrorDocument 404 "not here"
RemoteIPHeader X-Forwarded-For
RemoteIPTrustedProxy 127.0.0.1
LogFormat "%a %l %u %t \\"%r\\" %>s %O \\"%{{Referer}}i\\" \\"%{{User-Agent}}i\\"" combined
# "||": no shell; --output: lethe appends each complete line (O_APPEND),
# old and new logger share the file after a graceful restart.
CustomLog "||/usr/bin/env LETHE_E2E_MARK={tmp} {lethe} mask --format combined --output {log}" combined
"""


def cannot_run(why):
    print("%s: cannot run: %s" % (NAME, why))
    sys.exit(1)


def ensure_apache():
    exe = shutil.which("apache2") or (
        "/usr/sbin/apache2" if os.access("/usr/sbin/apache2", os.X_OK)
        else None)
    if exe and os.path.exists(os.path.join(MODULES, "mod_remoteip.so")):
        return exe
    if os.geteuid() != 0:
        cannot_run("apache2 is not installed and we are not root")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    err = b""
    try:
        for argv in (["apt-get", "install", "-y", "apache2"],
                     ["apt-get", "update"],
                     ["apt-get", "install", "-y", "apache2"]):
            p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=600)
            err = p.stderr
            if argv[1] == "install" and p.returncode == 0:
                break
    except (OSError, subprocess.TimeoutExpired) as e:
        cannot_run("apt-get failed: %s" % e)
    # the package starts a system apache2 where it can (not in a container
    # without systemd); this test uses its own instance and port
    exe = "/usr/sbin/apache2"
    if not os.access(exe, os.X_OK):
        cannot_run("apt-get install -y apache2 did not install it: %s" %
                   err.decode(errors="replace")[-500:])
    return exe


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ------------------------------------------------------- processes

def proc_ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
        return int(s[s.rindex(")") + 2:].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def proc_start(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
        return int(s[s.rindex(")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def has_mark(pid, mark):
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            env = f.read().split(b"\0")
        return ("LETHE_E2E_MARK=" + mark).encode() in env
    except OSError:
        return False


def is_zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
        return s[s.rindex(")") + 2] == "Z"
    except (OSError, ValueError, IndexError):
        return True


def alive(pid, start):
    """pid still runs and is the same process (start time)."""
    st = proc_start(pid)
    return st is not None and st == start and not is_zombie(pid)


class Watch:
    """Records Apache's processes (children of the parent) and our
    loggers (LETHE_E2E_MARK in their environment) while they run."""

    def __init__(self, mark):
        self.mark = mark
        self.parent = None
        self.children = {}      # pid -> start time
        self.loggers = {}       # pid -> start time
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def scan(self):
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            pid = int(d)
            st = proc_start(pid)
            if st is None:
                continue
            with self.lock:
                if pid in self.loggers or pid in self.children:
                    continue
            if has_mark(pid, self.mark):
                with self.lock:
                    self.loggers[pid] = st
            elif self.parent and proc_ppid(pid) == self.parent:
                with self.lock:
                    self.children[pid] = st

    def loop(self):
        while not self.stop.wait(0.1):
            try:
                self.scan()
            except OSError:
                pass

    def live_loggers(self):
        with self.lock:
            items = list(self.loggers.items())
        return [p for p, st in items if alive(p, st)]

    def kill_all(self):
        with self.lock:
            items = list(self.children.items()) + list(self.loggers.items())
        for pid, st in items:
            if alive(pid, st):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass


# ------------------------------------------------------- clients

class Clients:
    def __init__(self, port, rng):
        self.port = port
        self.next = 0
        self.lock = threading.Lock()
        self.sent = {}          # n -> xff address text
        self.attempts = {}      # (n, a) -> "ok" status | "error: ..."
        self.errors = []
        self.abort = threading.Event()
        self.xffs = []
        for i in range(REQUESTS):
            if i % 2 == 0:
                self.xffs.append(L.rand_v4(rng))
            else:
                self.xffs.append(L.rand_v6(rng, V6FORMS[(i // 2) %
                                                        len(V6FORMS)]))

    def take(self):
        with self.lock:
            if self.next >= REQUESTS or self.abort.is_set():
                return None
            n = self.next
            self.next += 1
            return n

    def done_count(self):
        with self.lock:
            return self.next

    def worker(self, k):
        conn = None
        while True:
            n = self.take()
            if n is None:
                break
            xff = self.xffs[n]
            with self.lock:
                self.sent[n] = xff
            for a in range(1, 6):
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                      timeout=30)
                try:
                    conn.request("GET", "/req/%d/%d" % (n, a), headers={
                        "X-Forwarded-For": xff,
                        "User-Agent": "lethe-e2e/1.0 (thread %d)" % k,
                        "Referer": "http://example.com/from/%d" % n})
                    r = conn.getresponse()
                    r.read()
                    with self.lock:
                        self.attempts[(n, a)] = "ok %d" % r.status
                    if r.will_close:
                        conn.close()
                        conn = None
                    break
                except (OSError, http.client.HTTPException) as e:
                    with self.lock:
                        self.attempts[(n, a)] = "error: %r" % e
                    try:
                        conn.close()
                    except OSError:
                        pass
                    conn = None
                    time.sleep(0.05)
            else:
                with self.lock:
                    self.errors.append("request %d failed 5 times" % n)
        if conn is not None:
            conn.close()


# ------------------------------------------------------- the test

def main():
    t = L.Test(NAME)
    if os.geteuid() != 0:
        cannot_run("needs root (Apache's User directive, /proc/PID/environ)")
    apache = ensure_apache()
    tmp = t.mkdtemp()
    os.chmod(tmp, 0o711)        # www-data children: reach the docroot
    run_dir = os.path.join(tmp, "run")
    logs = os.path.join(tmp, "logs")
    docroot = os.path.join(tmp, "htdocs")
    for d, m in ((run_dir, 0o755), (logs, 0o755), (docroot, 0o755)):
        os.mkdir(d, m)
    log = os.path.join(logs, "access.log")
    port = free_port()
    conf = os.path.join(tmp, "apache2.conf")
    with open(conf, "w") as f:
        f.write(CONF.format(root=tmp, port=port, run=run_dir, mods=MODULES,
                            user="www-data", group="www-data",
                            docroot=docroot, tmp=tmp, lethe=L.LETHE,
                            log=log))
    env = dict(os.environ, APACHE_RUN_USER="www-data",
               APACHE_RUN_GROUP="www-data",
               APACHE_PID_FILE=os.path.join(run_dir, "apache2.pid"),
               APACHE_RUN_DIR=run_dir, APACHE_LOCK_DIR=run_dir,
               APACHE_LOG_DIR=logs, LANG="C")
    base = [apache, "-d", tmp, "-f", conf]
    p = subprocess.run(base + ["-t"], env=env, capture_output=True,
                       timeout=30)
    if p.returncode != 0:
        t.fail("apache2 -t refuses the test's config:\n%s" %
               (p.stdout + p.stderr).decode(errors="replace"))
        t.done()
    ver = subprocess.run([apache, "-v"], env=env, capture_output=True,
                         timeout=30).stdout.decode(errors="replace")
    t.info("%s; port %d; %d requests from %d threads; graceful restarts "
           "at %s" % (ver.split("\n")[0].strip(), port, REQUESTS, THREADS,
                      ", ".join("%d%%" % (100 * g) for g in GRACEFUL_AT)))

    watch = Watch(tmp)
    outf = open(os.path.join(run_dir, "apache.out"), "wb")
    proc = None
    rng = random.Random(int(os.environ.get("E2E_SEED", "85")))
    clients = Clients(port, rng)
    threads = []
    try:
        proc = subprocess.Popen(base + ["-DFOREGROUND"], env=env,
                                stdin=subprocess.DEVNULL, stdout=outf,
                                stderr=subprocess.STDOUT,
                                start_new_session=True)
        watch.parent = proc.pid
        watch.thread.start()
        deadline = time.time() + 20
        up = False
        while time.time() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                up = True
                break
            except OSError:
                time.sleep(0.1)
        if not up:
            t.fail("apache did not start listening (exit %s): %s" % (
                proc.poll(), read_tail(os.path.join(run_dir, "error.log"))))
            return finish(t)
        time.sleep(0.3)
        watch.scan()
        t.info("apache parent pid %d, logger(s) %s" % (
            proc.pid, watch.live_loggers()))
        t.check(len(watch.live_loggers()) >= 1,
                "no lethe mask logger process found after start")

        for k in range(THREADS):
            th = threading.Thread(target=clients.worker, args=(k,),
                                  daemon=True)
            th.start()
            threads.append(th)
        restarts = 0
        t_start = time.time()
        for frac in GRACEFUL_AT:
            while clients.done_count() < int(REQUESTS * frac) and \
                    time.time() - t_start < 240 and \
                    any(th.is_alive() for th in threads):
                time.sleep(0.005)
            before = watch.live_loggers()
            g = subprocess.run(base + ["-k", "graceful"], env=env,
                               capture_output=True, timeout=30)
            if t.check(g.returncode == 0, "apache2 -k graceful exited %d: %s"
                       % (g.returncode, (g.stdout + g.stderr).decode(
                           errors="replace"))):
                restarts += 1
            t.info("graceful restart %d after %d requests sent; loggers "
                   "before %s" % (restarts, clients.done_count(), before))
        for th in threads:
            th.join(max(1, 240 - (time.time() - t_start)))
        if any(th.is_alive() for th in threads):
            clients.abort.set()
            t.fail("the clients did not finish within 240 s")
        elapsed = time.time() - t_start
        time.sleep(0.5)
        watch.scan()
        loggers = dict(watch.loggers)
        t.info("requests done in %.1f s; logger processes seen: %d (%s)" % (
            elapsed, len(loggers), sorted(loggers)))

        # graceful stop; Apache then the loggers must exit by themselves
        g = subprocess.run(base + ["-k", "graceful-stop"], env=env,
                           capture_output=True, timeout=30)
        t.check(g.returncode == 0, "apache2 -k graceful-stop exited %d: %s"
                % (g.returncode, (g.stdout + g.stderr).decode(
                    errors="replace")))
        try:
            rc = proc.wait(timeout=60)
            t.check(rc == 0, "apache exited %s after graceful-stop" % rc)
        except subprocess.TimeoutExpired:
            t.fail("apache still runs 60 s after graceful-stop")
        deadline = time.time() + 20
        while watch.live_loggers() and time.time() < deadline:
            time.sleep(0.1)
        left = watch.live_loggers()
        t.check(not left, "lethe mask logger(s) %s still run 20 s after "
                "Apache stopped" % left)
    finally:
        clients.abort.set()
        watch.stop.set()
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except OSError:
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    pass
                proc.wait(timeout=10)
        watch.kill_all()
        outf.close()

    check_log(t, log, clients)
    err = read_tail(os.path.join(run_dir, "error.log"), 3000)
    if err.strip():
        t.note("Apache error log (last lines):\n" + L.indent(err))
    finish(t)


def read_tail(path, n=1500):
    try:
        with open(path, "rb") as f:
            return f.read()[-n:].decode(errors="replace")
    except OSError as e:
        return "(%s)" % e


def finish(t):
    t.done()


def masked_of(text):
    a = ipaddress.ip_address(text)
    p = V4P if a.version == 4 else V6P
    return ipaddress.ip_network("%s/%d" % (a, p), strict=False).network_address


def check_log(t, log, clients):
    try:
        with open(log, "rb") as f:
            data = f.read()
    except OSError as e:
        t.fail("cannot read the access log: %s" % e)
        return
    lines, nl = L.split_lines(data)
    t.check(nl, "the access log does not end with a newline")
    seen = {}
    garbled = []
    wrong_addr = []
    full = []
    for i, l in enumerate(lines):
        m = LINE.match(l)
        if not m:
            garbled.append((i + 1, l))
            continue
        addr, n, a = m.group(1).decode(), int(m.group(3)), int(m.group(4))
        seen.setdefault((n, a), []).append(i + 1)
        if n >= len(clients.xffs):
            garbled.append((i + 1, l))
            continue
        sent = clients.xffs[n]
        try:
            got = ipaddress.ip_address(addr)
        except ValueError:
            wrong_addr.append((i + 1, addr, sent))
            continue
        exp = masked_of(sent)
        if got != exp:
            wrong_addr.append((i + 1, addr, sent))
        r = L.mask_token(addr, V4P, V6P)
        if r is None or r[1]:
            full.append((i + 1, addr))
    ok = {k for k, v in clients.attempts.items() if v.startswith("ok")}
    failed_att = {k for k, v in clients.attempts.items()
                  if not v.startswith("ok")}
    lost = sorted(k for k in ok if k not in seen)
    dup = sorted(k for k, v in seen.items() if len(v) > 1)
    unknown = sorted(k for k in seen if k not in clients.attempts)
    logged_failed = sorted(k for k in failed_att if k in seen)
    per_n = {}
    for (n, a) in seen:
        per_n[n] = per_n.get(n, 0) + 1
    sent_n = set(clients.sent)
    n_twice = sorted(n for n, c in per_n.items() if c > 1)
    n_missing = sorted(n for n in sent_n if n not in per_n)
    v4 = sum(1 for l in lines if LINE.match(l) and
             b":" not in LINE.match(l).group(1))
    t.info("log: %d lines (%d IPv4, %d IPv6), %d garbled; requests sent %d, "
           "attempts answered %d, attempts refused by a closed connection "
           "%d (of which logged %d)" % (
               len(lines), v4, len(lines) - v4 - len(garbled), len(garbled),
               len(sent_n), len(ok), len(failed_att), len(logged_failed)))
    t.info("answered but not logged (lost) %d; logged twice %d; requests N "
           "missing %d, logged twice %d; wrong masked address %d; full "
           "address in the log %d" % (
               len(lost), len(dup), len(n_missing), len(n_twice),
               len(wrong_addr), len(full)))
    t.check(len(sent_n) == REQUESTS, "%d requests sent, expected %d" % (
        len(sent_n), REQUESTS))
    for e in clients.errors[:5]:
        t.fail(e, kind="client gave up")
    if lost:
        t.fail("%d answered requests are missing from the log (lost), first "
               "%s" % (len(lost), ["/req/%d/%d" % k for k in lost[:10]]))
        # where are they: around the restarts?
        ns = sorted(n for n, a in lost)
        t.info("lost request numbers range %d..%d" % (ns[0], ns[-1]))
    t.check(not dup, "%d requests logged more than once, first %s" % (
        len(dup), [("/req/%d/%d" % k, seen[k]) for k in dup[:5]]))
    t.check(not n_missing, "%d request numbers never logged, first %s" % (
        len(n_missing), n_missing[:10]))
    t.check(not n_twice, "%d request numbers logged under two attempts, "
            "first %s" % (len(n_twice), n_twice[:10]))
    t.check(not unknown, "%d logged paths were never sent: %s" % (
        len(unknown), unknown[:5]))
    t.check(not garbled, "%d garbled lines (interleaved writes?), first "
            "%s" % (len(garbled), [(i, L.show_bytes(l, 200))
                                   for i, l in garbled[:3]]))
    t.check(not wrong_addr, "%d lines whose address is not the masked "
            "X-Forwarded-For address (line, logged, sent): %s" % (
                len(wrong_addr), wrong_addr[:5]))
    t.check(not full, "%d lines with a full address: %s" % (
        len(full), full[:5]))


if __name__ == "__main__":
    main()
