"""A real nginx for the end-to-end tests that run one (69-nginx-user,
70-nginx); python3 stdlib only.

- NGINX_CONF: the config, with {run}, {logs} and {port}: in the foreground,
  log_format main as nginx documents it into {logs}/access.log, the
  realip module trusting 127.0.0.1 for X-Forwarded-For, every request
  answered 200 "ok";
- ensure_nginx: nginx's path, installed with apt-get when missing;
- Nginx: nginx started on a free port of 127.0.0.1 in a temp dir, up
  (listening, its pidfile and access log there) or Fail.
"""

import os
import shutil
import socket
import subprocess
import sys

from proclib import Fail, start, wait_until

NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 2;
user root root;
pid {run}/nginx.pid;
error_log {run}/nginx-error.log notice;
events {{ worker_connections 256; }}
http {{
    log_format main '$remote_addr - $remote_user [$time_local] "$request" '
                    '$status $body_bytes_sent "$http_referer" '
                    '"$http_user_agent" "$http_x_forwarded_for"';
    access_log {logs}/access.log main;
    client_body_temp_path {run}/body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200 "ok"; }}
    }}
}}
"""

def find_nginx():
    for p in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if p and os.access(p, os.X_OK):
            return p
    return None


def ensure_nginx(name):
    """nginx's path; install it with apt-get when missing (name: the
    test's, for the message when that fails)."""
    if find_nginx():
        return find_nginx()
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    tried = []
    for update in (False, True):
        if update:
            r = subprocess.run(["apt-get", "update"], env=env,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=600)
            tried.append("apt-get update: exit %d" % r.returncode)
        for pkg in ("nginx-light", "nginx"):
            try:
                r = subprocess.run(["apt-get", "install", "-y", pkg],
                                   env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, timeout=600)
            except (OSError, subprocess.TimeoutExpired) as e:
                tried.append("apt-get install %s: %s" % (pkg, e))
                continue
            out = r.stdout.decode(errors="replace").strip().splitlines()
            tried.append("apt-get install %s: exit %d%s" % (
                pkg, r.returncode, ": " + out[-1] if out else ""))
            if find_nginx():
                return find_nginx()
    print("%s: cannot run: nginx is not installed and could not be "
          "installed (%s)" % (name, "; ".join(tried)), flush=True)
    sys.exit(1)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Nginx:
    """nginx with NGINX_CONF in root: run/ (pidfile, error log, temp
    paths) and logs/ (access.log), both 0755; started (proclib.start,
    stdout and stderr in root/nginx.out) after nginx -t accepts the
    config, and waited for.  proc, port, run, logs, live, pidfile."""

    def __init__(self, nginx, root):
        self.run = os.path.join(root, "run")
        self.logs = os.path.join(root, "logs")
        for d in (self.run, self.logs):
            os.makedirs(d, 0o755)
            os.chmod(d, 0o755)
        self.live = os.path.join(self.logs, "access.log")
        self.pidfile = os.path.join(self.run, "nginx.pid")
        self.port = free_port()
        nconf = os.path.join(root, "nginx.conf")
        with open(nconf, "w") as f:
            f.write(NGINX_CONF.format(run=self.run, logs=self.logs,
                                      port=self.port))
        err = os.path.join(self.run, "nginx-error.log")
        r = subprocess.run([nginx, "-t", "-q", "-e", err, "-p", root, "-c",
                            nconf], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        if r.returncode != 0:
            raise Fail("nginx -t rejects the test's config:\n%s" %
                       r.stdout.decode(errors="replace"))
        with open(os.path.join(root, "nginx.out"), "wb") as nout:
            self.proc = start([nginx, "-e", err, "-p", root, "-c", nconf],
                              stdin=subprocess.DEVNULL, stdout=nout,
                              stderr=subprocess.STDOUT)
        wait_until(self._up, 20, "nginx to listen on 127.0.0.1:%d" %
                   self.port)
        if self.proc.poll() is not None:
            raise Fail("nginx exited with %s:\n%s" % (
                self.proc.returncode, open(err, errors="replace").read()))

    def _up(self):
        if self.proc.poll() is not None:
            return True
        try:
            socket.create_connection(("127.0.0.1", self.port), 1).close()
        except OSError:
            return False
        return os.path.exists(self.pidfile) and os.path.exists(self.live)
