#!/usr/bin/env python3
"""lethe check: the reference conf/lethe.conf (paths moved into a temp dir)
is OK; a config with three mistakes on known lines reports each as
CONF:LINE and exits 1; other errors the design names (window longer than
retain, overlapping sets, unknown format); a warning for a prefix that keeps
too much."""

import os
import re

import lethelib as L

t = L.Test("60-check")
root = t.mkdtemp()
here = os.path.dirname(os.path.abspath(__file__))
ref = os.path.normpath(os.path.join(here, "..", "..", "conf", "lethe.conf"))


def msgs(r, conf):
    """{line number: [messages]} of every CONF:LINE: line (stdout or
    stderr, an optional "lethe: " prefix tolerated)."""
    out = {}
    pat = re.compile(r"^(?:lethe: )?" + re.escape(conf) + r":(\d+): (.*)$")
    for l in r.lines() + r.errlines():
        m = pat.match(l)
        if m:
            out.setdefault(int(m.group(1)), []).append(m.group(2))
    return out


def check(conf):
    return L.run(["-c", conf, "check"], timeout=30)


# ---- 1. the reference config, paths moved under the temp dir
if not os.path.exists(ref):
    t.fail("reference config %s is missing" % ref)
else:
    text = open(ref).read()
    out = []
    for line in text.split("\n"):
        s = line.lstrip()
        if s.startswith("#") or s.startswith(";") or "=" not in line:
            out.append(line)
            continue
        k, v = line.split("=", 1)
        words = []
        for w in v.split():
            if w.startswith("/"):
                nw = root + "/ref" + w
                key = k.strip()
                if key == "logs":
                    os.makedirs(os.path.dirname(nw), exist_ok=True)
                    open(nw.replace("*", ""), "a").close()
                elif key == "state_dir":
                    os.makedirs(nw, exist_ok=True)
                else:
                    os.makedirs(os.path.dirname(nw), exist_ok=True)
                w = nw
            words.append(w)
        out.append("%s= %s" % (k, " ".join(words)))
    conf = os.path.join(root, "reference.conf")
    with open(conf, "w") as f:
        f.write("\n".join(out))
    r = check(conf)
    t.check(r.rc == 0 and "configuration OK" in r.out, "check of the "
            "reference config (paths moved to %s/ref): expected "
            "'configuration OK' and exit 0\n%s" % (root, r.show()))
    # and the unmodified file names only absent paths, never a syntax error
    r = check(ref)
    bad = [l for n, ls in msgs(r, ref).items() for l in ls
           if not re.search(r"exist|no such|not found|director|state",
                            l, re.I)]
    if r.rc != 0 and bad:
        t.note("check of the reference config as shipped: %s" % bad)

# ---- 2. three mistakes on known lines
logs = os.path.join(root, "logs")
state = os.path.join(root, "state")
os.mkdir(logs, 0o755)
os.mkdir(state, 0o700)
open(os.path.join(logs, "access.log"), "w").close()
BROKEN = """[global]
state_dir = %(state)s

[web]
logs = %(logs)s/access.log
format = combined
windw = 7d
ipv4_prefix = 40
rotate = off
compress_after = 1x
retain = 90d
""" % {"state": state, "logs": logs}
conf = os.path.join(root, "broken.conf")
with open(conf, "w") as f:
    f.write(BROKEN)
r = check(conf)
t.check(r.rc == 1, "check of a config with 3 mistakes: exit %s, expected 1"
        "\n%s" % (r.rc, r.show()))
t.check("configuration OK" not in r.out, "check printed 'configuration OK' "
        "for a broken config")
found = msgs(r, conf)
for line, what in ((7, "unknown key windw"), (8, "ipv4_prefix = 40"),
                   (10, "compress_after = 1x")):
    t.check(line in found, "check: no '%s:%d: ...' line for the %s\n%s" % (
        conf, line, what, r.show()))
for line in sorted(set(found) - {7, 8, 10}):
    t.fail("check: message for a line without a mistake: %s:%d: %s" % (
        conf, line, found[line]))
if any(l.startswith("lethe: " + conf) for l in r.lines() + r.errlines()):
    t.note("check prefixes its CONF:LINE messages with 'lethe: '")


# ---- 3. more errors the design names, one config each
def one(name, body, lines, desc, rc=1):
    c = os.path.join(root, name)
    with open(c, "w") as f:
        f.write(body % {"state": state, "logs": logs})
    r = check(c)
    f = msgs(r, c)
    t.check(r.rc == rc, "check (%s): exit %s, expected %d\n%s" % (
        desc, r.rc, rc, r.show()))
    if lines:
        t.check(any(n in f for n in lines), "check (%s): no %s:LINE message "
                "for line(s) %s\n%s" % (desc, c, lines, r.show()))
    return r


HEAD = "[global]\nstate_dir = %(state)s\n\n"
SET = ("[web]\nlogs = %(logs)s/access.log\nformat = combined\n"
       "rotate = off\n")
one("window-retain.conf", HEAD + SET + "window = 30d\nretain = 10d\n",
    [8, 9], "window longer than retain")
one("format.conf", HEAD + SET.replace("combined", "nosuch"), [6],
    "unknown format")
one("overlap.conf", HEAD + SET + "\n" + SET.replace("[web]", "[web2]"),
    [4, 5, 10, 11], "two sets with the same log")
one("nosection.conf", "[global]\nstate_dir = %(state)s\nbogus = 1\n", [3],
    "unknown key in [global]")
r = one("prefix-warn.conf", HEAD + SET + "ipv4_prefix = 28\n", [8],
        "ipv4_prefix 28 keeps more than /24: a warning", rc=0)
t.check("configuration OK" in r.out, "check with only a warning: no "
        "'configuration OK'\n%s" % r.show())
r = check(os.path.join(root, "no-such.conf"))
t.check(r.rc not in (0, None) and "configuration OK" not in r.out,
        "check of a missing config file: exit %s\n%s" % (r.rc, r.show()))
t.done()
