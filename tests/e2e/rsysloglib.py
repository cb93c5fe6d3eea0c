"""A real rsyslogd as the receiver of lethe's forwarded stream, for the
end-to-end tests (56-sender); python3 stdlib only.

Rsyslog(root, relp=..., tcp=..., unix=..., tls=...) writes a config of its
own under root/rsyslog/ and runs `rsyslogd -n -f CONF -i PIDFILE` with its
own work directory: no system config, no imuxsock or imklog, only the
inputs asked for, each on 127.0.0.1 and a free port (or a unix socket in
root/rsyslog/):

- imrelp (RELP; with tls=(ca, cert, key, peer), RELP over TLS that wants
  a client certificate naming peer),
- imtcp (RFC 6587 octet counting is on by default),
- imptcp on a unix stream socket (path; unlinked at start, so a restart
  after SIGKILL binds again).

The main queue is Direct: rsyslog runs the output action in the thread
that received the message, so when imrelp acknowledges a frame the line
is written out (omfile flushes at the end of each transaction), and a
SIGKILL loses nothing that was acknowledged.  Every message becomes one
JSON line in root/rsyslog/out.log (MSGID, structured data, APP-NAME,
HOSTNAME, PRI, the timestamp, the message, the input); messages() parses
them and the structured data's file and seq.

Readiness is state, not sleep: the process is alive, its pidfile names it,
and the kernel lists each port in LISTEN (/proc/net/tcp, tcp6) and the
unix socket as listening (/proc/net/unix).  kill(sig) signals it and waits
for the exit; start() again restarts it on the same ports.  Every wait is
bounded.
"""

import json
import os
import re
import signal
import socket
import subprocess

from proclib import Fail, start, wait_until

RSYSLOGD = "/usr/sbin/rsyslogd"

SD_RE = re.compile(r'\[lethe@32473((?: [a-z]+="(?:[^"\\]|\\.)*")*)\]')
PARAM_RE = re.compile(r' ([a-z]+)="((?:[^"\\]|\\.)*)"')

TEMPLATE = """\
template(name="lethe_json" type="list" option.jsonf="on") {
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="sd" name="structured-data" format="jsonf")
  property(outname="app" name="app-name" format="jsonf")
  property(outname="host" name="hostname" format="jsonf")
  property(outname="pri" name="pri" format="jsonf")
  property(outname="ts" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="procid" name="procid" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
  property(outname="input" name="inputname" format="jsonf")
}
"""


def available():
    """None when rsyslogd and the modules are here, else why not."""
    if not os.access(RSYSLOGD, os.X_OK):
        return "rsyslogd missing (apt-get install rsyslog)"
    for d in ("/usr/lib/x86_64-linux-gnu/rsyslog", "/usr/lib/rsyslog",
              "/usr/lib/aarch64-linux-gnu/rsyslog"):
        if os.path.exists(os.path.join(d, "imrelp.so")):
            return None
    return "rsyslog's imrelp missing (apt-get install rsyslog-relp)"


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def listening_ports():
    """Local TCP ports in LISTEN, from /proc/net/tcp and tcp6."""
    ports = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "0A":
                        ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        except FileNotFoundError:
            pass
    return ports


def listening_unix(path):
    """Whether a unix stream socket is listening at path."""
    with open("/proc/net/unix") as f:
        next(f)
        for line in f:
            fields = line.split()
            # Flags 00010000: __SO_ACCEPTCON (listening); type 0001: stream
            if (len(fields) >= 8 and fields[7] == path and
                    fields[4] == "0001" and int(fields[3], 16) & 0x10000):
                return True
    return False


def sd_params(sd):
    """{name: value} of lethe's SD element in an SD string, unescaped
    (RFC 5424 6.3.3: \\" \\\\ \\] stand for the character)."""
    m = SD_RE.search(sd)
    if not m:
        return None
    return {k: re.sub(r'\\(["\\\]])', r"\1", v)
            for k, v in PARAM_RE.findall(m.group(1))}


class Rsyslog:
    def __init__(self, root, relp=True, tcp=True, unix=True, tls=None,
                 name="rsyslog"):
        self.dir = os.path.join(root, name)
        os.makedirs(os.path.join(self.dir, "work"), exist_ok=True)
        self.conf = os.path.join(self.dir, "rsyslog.conf")
        self.pidfile = os.path.join(self.dir, "rsyslogd.pid")
        self.out = os.path.join(self.dir, "out.log")
        self.log = os.path.join(self.dir, "rsyslogd.log")
        self.relp_port = free_port() if relp else None
        self.tcp_port = free_port() if tcp else None
        self.sock = os.path.join(self.dir, "lethe.sock") if unix else None
        self.tls = tls
        self.proc = None
        self.starts = 0
        self._write_conf()

    def urls(self):
        u = {}
        if self.relp_port:
            u["relp"] = "relp://127.0.0.1:%d" % self.relp_port
        if self.tcp_port:
            u["tcp"] = "tcp://127.0.0.1:%d" % self.tcp_port
        if self.sock:
            u["unix"] = "unix:" + self.sock
        return u

    def _write_conf(self):
        c = ['global(workDirectory="%s" maxMessageSize="64k" '
             'parser.escapeControlCharactersOnReceive="off")'
             % os.path.join(self.dir, "work"),
             'main_queue(queue.type="Direct")']
        if self.relp_port:
            c.append('module(load="imrelp")')
        if self.tcp_port:
            c.append('module(load="imtcp")')
        if self.sock:
            c.append('module(load="imptcp")')
        c.append(TEMPLATE)
        c.append('ruleset(name="lethe") {\n  action(type="omfile" '
                 'file="%s" template="lethe_json")\n}' % self.out)
        # rsyslogd's own messages, for the diagnosis of a failed test
        c.append('*.* action(type="omfile" file="%s")' % self.log)
        if self.relp_port:
            tls = ""
            if self.tls:
                ca, cert, key, peer = self.tls
                tls = (' tls="on" tls.cacert="%s" tls.mycert="%s" '
                       'tls.myprivkey="%s" tls.authmode="name" '
                       'tls.permittedpeer=["%s"]' % (ca, cert, key, peer))
            c.append('input(type="imrelp" address="127.0.0.1" port="%d" '
                     'ruleset="lethe"%s)' % (self.relp_port, tls))
        if self.tcp_port:
            c.append('input(type="imtcp" address="127.0.0.1" port="%d" '
                     'ruleset="lethe")' % self.tcp_port)
        if self.sock:
            c.append('input(type="imptcp" path="%s" unlink="on" '
                     'ruleset="lethe")' % self.sock)
        with open(self.conf, "w") as f:
            f.write("\n".join(c) + "\n")

    def _ready(self):
        if self.proc.poll() is not None:
            raise Fail("rsyslogd exited with %s at start:\n%s" % (
                self.proc.returncode, self.tail()))
        try:
            with open(self.pidfile) as f:
                if int(f.read().strip() or 0) != self.proc.pid:
                    return False
        except (FileNotFoundError, ValueError):
            return False
        ports = listening_ports()
        for p in (self.relp_port, self.tcp_port):
            if p and p not in ports:
                return False
        if self.sock and not listening_unix(self.sock):
            return False
        return True

    def start(self, timeout=20):
        """Start rsyslogd (again) and wait until every input listens."""
        if self.proc is not None and self.proc.poll() is None:
            raise Fail("rsyslogd is already running")
        try:
            os.unlink(self.pidfile)
        except FileNotFoundError:
            pass
        with open(os.path.join(self.dir, "rsyslogd.out"), "ab") as f:
            self.proc = start([RSYSLOGD, "-n", "-f", self.conf, "-i",
                               self.pidfile], stdin=subprocess.DEVNULL,
                              stdout=f, stderr=f)
        self.starts += 1
        wait_until(self._ready, timeout, "rsyslogd listening (%s)" %
                   ", ".join(self.urls().values()))
        return self

    def kill(self, sig=signal.SIGKILL, timeout=20):
        """Signal rsyslogd and wait until it is gone; its exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise Fail("rsyslogd did not exit in %d s after signal %d" % (
                timeout, sig))

    def stop(self):
        return self.kill(signal.SIGTERM)

    def restart(self, sig=signal.SIGKILL):
        self.kill(sig)
        return self.start()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def count(self):
        """Lines written so far (cheap: for waiting mid-stream)."""
        try:
            with open(self.out, "rb") as f:
                return f.read().count(b"\n")
        except FileNotFoundError:
            return 0

    def wait_count(self, n, timeout, what=None):
        return wait_until(lambda: self.count() >= n, timeout,
                          what or "%d messages at rsyslog" % n, 0.005)

    def messages(self):
        """Every message received, in order: dicts of the JSON line, with
        "file" and "seq" (int) from lethe's structured data (None when
        absent), "bad" when the line is not JSON."""
        out = []
        try:
            f = open(self.out, "rb")
        except FileNotFoundError:
            return out
        with f:
            for raw in f:
                try:
                    m = json.loads(raw.decode("utf-8", "replace"))
                except ValueError:
                    out.append({"bad": raw[:200]})
                    continue
                p = sd_params(m.get("sd", "")) or {}
                m["file"] = p.get("file")
                m["seq"] = int(p["seq"]) if "seq" in p else None
                out.append(m)
        return out

    def cpu(self):
        """rsyslogd's user + system CPU seconds so far (/proc)."""
        try:
            with open("/proc/%d/stat" % self.proc.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / \
                os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return None

    def tail(self, n=20):
        lines = []
        for name in ("rsyslogd.out", "rsyslogd.log"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") \
                        as f:
                    lines += ["    %s: %s" % (name, l.rstrip())
                              for l in f.readlines()[-n:]]
            except FileNotFoundError:
                pass
        return "\n".join(lines)
