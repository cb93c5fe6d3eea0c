#!/usr/bin/env python3
"""format = json with addresses = remote_addr, request.client_ip,
http_x_forwarded_for: once masks exactly those keys (nested path, list in a
string) on lines past the window, and nothing else (other keys holding
addresses, the URI, version strings); the time comes from time_iso8601,
time_local or a float ts."""

import json
import os

import lethelib as L

t = L.Test("55-json")
L.require_root(t)
root = t.mkdtemp()
rng = L.random.Random(55)
now = L.NOW
logs = os.path.join(root, "logs")
state = os.path.join(root, "state")
os.mkdir(logs, 0o755)
os.mkdir(state, 0o700)


def mk(tt, style):
    ra = L.rand_ra(rng)
    ci = L.rand_v6(rng) if rng.random() < 0.5 else L.rand_v4(rng)
    xff = L.rand_xff(rng)
    other = L.rand_v4(rng)
    rec = {}
    if style == 0:
        rec["time_iso8601"] = L.epoch_to_iso(tt).replace("Z", "+00:00")
    elif style == 1:
        rec["time_local"] = L.time_local(tt, 60)
    else:
        rec["ts"] = tt + 0.123
    rec["remote_addr"] = ra
    rec["request"] = {"method": "GET", "uri": "/lookup?ip=%s" % other,
                      "client_ip": ci}
    rec["http_x_forwarded_for"] = xff
    rec["http_user_agent"] = "Mozilla/5.0 Chrome/120.0.0.0 Safari/537.36"
    rec["upstream_addr"] = other + ":8080"
    m = json.loads(json.dumps(rec))
    full = []
    for k, sub in (("remote_addr", None), ("client_ip", "request")):
        d = m[sub] if sub else m
        r = L.mask_token(d[k])
        if r:
            d[k] = r[0]
            if r[1]:
                full.append(rec[sub][k] if sub else rec[k])
    xm, xf = L.mask_xff(xff, 16, 32)
    m["http_x_forwarded_for"] = xm
    full += xf
    sep = (",", ":") if style != 2 else (", ", ": ")
    o = json.dumps(rec, separators=sep).encode()
    mm = json.dumps(m, separators=sep).encode()
    return L.Line(o, mm, tt, True, full, "json-%d" % style)


a0 = now - 12 * L.DAY
lines = [mk(int(a0 + i * 600), i % 3) for i in range(60)]
spec = L.FileSpec("app.json.1", lines)
spec.write(logs)
L.FileSpec("app.json", [mk(now - 100, 0)], live=True).write(logs)
conf = L.write_conf(os.path.join(root, "lethe.conf"), state, [
    ("app", L.set_conf(os.path.join(logs, "app.json"), fmt="json",
                       addresses="remote_addr, request.client_ip, "
                                 "http_x_forwarded_for"))])
r = L.run(["-c", conf, "check"])
t.check(r.rc == 0, "check of the json config\n%s" % r.show())
r = L.run(["-c", conf, "--now", L.NOW_ISO, "audit"])
n = sum(l.nfull for l in lines)
p1 = os.path.join(logs, "app.json.1")
want = "%s: %d full addresses past the window, first at line 1" % (p1, n)
t.check(r.rc == 1 and want in r.lines(), "audit: expected %r\n%s" % (
    want, r.show()))
r = L.run(["-c", conf, "--now", L.NOW_ISO, "once"])
t.check(r.rc == 0, "once: exit %s\n%s" % (r.rc, r.show()))
w = "mask+compress %s -> %s.gz" % (p1, p1)
t.check(r.lines() == [w], "once printed %r, expected %r" % (r.lines(), [w]))
fp = p1 + ".gz"
if os.path.exists(fp):
    L.check_lines(t, "app.json.1.gz", L.read_content(fp)[0], spec, now,
                  L.WINDOW, L.MASK_EARLY)
else:
    t.fail("app.json.1.gz missing after once\n%s" % r.show())
t.done()
