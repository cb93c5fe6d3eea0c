#!/usr/bin/env python3
"""lethe mask: stdin to stdout for the formats combined, main, common and
vhost_combined; other prefixes; idempotence (mask | mask == mask); long
lines and odd bytes; each line flushed at once when stdout is a pipe."""

import os
import select
import subprocess
import time

import lethelib as L

t = L.Test("50-mask")
root = t.mkdtemp()
rng = L.random.Random(50)

# Golden table, written by hand: it checks the test's own masker too.
GOLDEN = [
    # token, v4 prefix, v6 prefix, masked
    ("203.0.113.77", 16, 32, "203.0.0.0"),
    ("203.0.113.77", 24, 48, "203.0.113.0"),
    ("198.51.100.7:5678", 16, 32, "198.51.0.0:5678"),
    ("2001:db8:1:2::5", 16, 32, "2001:db8::"),
    ("2001:db8:1:2::5", 16, 48, "2001:db8:1::"),
    ("2001:0DB8:0001:0002:0000:0000:0000:0005", 16, 32, "2001:db8::"),
    ("[2001:db8:abcd::1]:443", 16, 32, "[2001:db8::]:443"),
    ("[2001:db8:abcd::1]", 16, 32, "[2001:db8::]"),
    ("::ffff:203.0.113.9", 16, 32, "::ffff:203.0.0.0"),
    ("::FFFF:203.0.113.9", 24, 32, "::ffff:203.0.113.0"),
    ("2001:0:0:1:2:3:4:5", 16, 80, "2001:0:0:1:2::"),
    ("2001:db8:0:1:1:1:1:1", 16, 64, "2001:db8:0:1::"),
    ("2a00:1450:4001:82b::200e", 16, 32, "2a00:1450::"),
    ("64:ff9b::192.0.2.33", 16, 32, "64:ff9b::"),
    ("fe80::1%eth0", 16, 32, "fe80::%eth0"),
]
for tok, p4, p6, want in GOLDEN:
    got = L.mask_token(tok, p4, p6)
    if got is None or got[0] != want:
        print("test bug: mask_token(%r, %d, %d) = %r, golden %r" % (
            tok, p4, p6, got, want))
        raise SystemExit(2)
for tok in ("unknown", "-", "proxy.example.net", "Chrome/120.0.0.0",
            "1.2.3", "203.0.113.256", "2001:db8::1::2"):
    assert L.mask_token(tok) is None, tok


def mask(args, data, timeout=60):
    return L.run(["mask"] + args, stdin=data, timeout=timeout)


def masked_out(r):
    return r.out.encode("utf-8", "surrogateescape")


def run_bytes(args, data, timeout=60):
    """Like mask() but keeps stdout as bytes."""
    argv = [L.LETHE, "mask"] + args
    try:
        p = subprocess.run(argv, input=data, capture_output=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, b"", b"timed out"
    return p.returncode, p.stdout, p.stderr


def compare(what, got, lines):
    exp = b"".join(l.masked + b"\n" for l in lines)
    if got == exp:
        return True
    gl = got.split(b"\n")
    el = exp.split(b"\n")
    if len(gl) != len(el):
        t.fail("%s: %d lines out, expected %d" % (what, len(gl) - 1,
                                                  len(el) - 1))
    for i, (g, e) in enumerate(zip(gl, el)):
        if g != e:
            left = L.full_addresses_main(g)
            t.fail("%s: line %d (%s): %s%s" % (
                what, i + 1, lines[i].kind if i < len(lines) else "?",
                L.describe_diff(g, e),
                "; full addresses left: %s" % left if left else ""),
                kind="mask " + what)
    return False


# ---- 1. hand-written lines, each format
T = "[29/Nov/2026:10:00:00 +0000]"
CASES = [
    ("combined", [],
     b'203.0.113.77 - frank ' + T.encode() + b' "GET /lookup?ip=198.51.100.9 '
     b'HTTP/1.1" 200 512 "http://192.0.2.1/" "Mozilla/5.0 (X11) '
     b'Chrome/120.0.0.0 Safari/537.36"',
     b'203.0.0.0 - frank ' + T.encode() + b' "GET /lookup?ip=198.51.100.9 '
     b'HTTP/1.1" 200 512 "http://192.0.2.1/" "Mozilla/5.0 (X11) '
     b'Chrome/120.0.0.0 Safari/537.36"'),
    ("combined", [],
     b'2001:db8:1:2::5 - - ' + T.encode() + b' "GET / HTTP/1.1" 200 5 "-" '
     b'"Scanner 1.2.3.4 (probe/10.0.0.1)"',
     b'2001:db8:: - - ' + T.encode() + b' "GET / HTTP/1.1" 200 5 "-" '
     b'"Scanner 1.2.3.4 (probe/10.0.0.1)"'),
    ("main", [],
     b'::ffff:203.0.113.9 - - ' + T.encode() + b' "GET / HTTP/1.1" 200 5 '
     b'"-" "curl/8.4.0" "198.51.100.7, 2001:db8:1::9, unknown, -, '
     b'proxy.example.net, [2001:db8:abcd::1]:443, 192.0.2.44:5678"',
     b'::ffff:203.0.0.0 - - ' + T.encode() + b' "GET / HTTP/1.1" 200 5 '
     b'"-" "curl/8.4.0" "198.51.0.0, 2001:db8::, unknown, -, '
     b'proxy.example.net, [2001:db8::]:443, 192.0.0.0:5678"'),
    ("main", ["--ipv4-prefix", "24", "--ipv6-prefix", "48"],
     b'203.0.113.77 - - ' + T.encode() + b' "GET / HTTP/1.1" 200 5 "-" '
     b'"curl/8.4.0" "2001:db8:1:2::5"',
     b'203.0.113.0 - - ' + T.encode() + b' "GET / HTTP/1.1" 200 5 "-" '
     b'"curl/8.4.0" "2001:db8:1::"'),
    ("common", [],
     b'203.0.113.77 - - ' + T.encode() + b' "GET / HTTP/1.0" 200 2326',
     b'203.0.0.0 - - ' + T.encode() + b' "GET / HTTP/1.0" 200 2326'),
    ("vhost_combined", [],
     b'www.example.com:443 198.51.100.23 - - ' + T.encode() +
     b' "GET / HTTP/1.1" 200 512 "-" "curl/8.4.0"',
     b'www.example.com:443 198.51.0.0 - - ' + T.encode() +
     b' "GET / HTTP/1.1" 200 512 "-" "curl/8.4.0"'),
]
for fmt, extra, inp, want in CASES:
    rc, out, err = run_bytes(["--format", fmt] + extra, inp + b"\n")
    t.check(rc == 0 and out == want + b"\n", "mask --format %s %s:\n  in:   "
            "%r\n  out:  %r\n  want: %r\n  exit %s, stderr %r" % (
                fmt, " ".join(extra), inp, out, want + b"\n", rc, err[:300]))
# every golden token, as remote_addr and as an XFF element
for tok, p4, p6, want in GOLDEN:
    for inp, exp in (
            ("%s - - %s \"GET / HTTP/1.1\" 200 5 \"-\" \"c\" \"-\"" % (tok, T),
             "%s - - %s \"GET / HTTP/1.1\" 200 5 \"-\" \"c\" \"-\"" % (want,
                                                                    T)),
            ("192.0.0.0 - - %s \"GET / HTTP/1.1\" 200 5 \"-\" \"c\" "
             "\"unknown, %s\"" % (T, tok),
             "192.0.0.0 - - %s \"GET / HTTP/1.1\" 200 5 \"-\" \"c\" "
             "\"unknown, %s\"" % (T, want))):
        rc, out, err = run_bytes(["--format", "main", "--ipv4-prefix",
                                  str(p4), "--ipv6-prefix", str(p6)],
                                 inp.encode() + b"\n")
        t.check(rc == 0 and out == exp.encode() + b"\n",
                "mask /%d /%d of %r:\n  got  %r\n  want %r" % (
                    p4, p6, tok, out.decode("latin-1").rstrip("\n"), exp),
                kind="golden")
# default format is combined
rc, out, err = run_bytes([], CASES[0][2] + b"\n")
t.check(rc == 0 and out == CASES[0][3] + b"\n", "mask (default format "
        "combined): got %r, exit %s, stderr %r" % (out[:300], rc, err[:300]))
rc, out, err = run_bytes(["--format", "no-such-format"], b"x\n")
t.check(rc not in (0, None), "mask --format no-such-format: exit %s" % rc)

# ---- 2. generated lines: random addresses, odd bytes, no-time lines
for fmt, p4, p6 in (("combined", 16, 32), ("main", 16, 32),
                    ("main", 24, 48), ("common", 16, 32),
                    ("vhost_combined", 8, 64)):
    lines = L.gen_lines(rng, fmt, L.NOW - L.DAY, L.NOW, 2000, v4p=p4,
                        v6p=p6)
    args = ["--format", fmt, "--ipv4-prefix", str(p4), "--ipv6-prefix",
            str(p6)]
    data = b"".join(l.orig + b"\n" for l in lines)
    what = "mask %s" % " ".join(args)
    rc, out, err = run_bytes(args, data)
    t.check(rc == 0, "%s: exit %s, stderr %r" % (what, rc, err[:500]))
    if compare(what, out, lines):
        rc2, out2, err2 = run_bytes(args, out)
        t.check(rc2 == 0 and out2 == out, "%s is not idempotent: mask | "
                "mask differs from mask (%s)" % (
                    what, L.describe_diff(out2, out)))
    # the same through a regular file as stdout
    fo = os.path.join(root, "out")
    with open(fo, "wb") as f:
        p = subprocess.run([L.LETHE, "mask"] + args, input=data, stdout=f,
                           stderr=subprocess.PIPE, timeout=60)
    t.check(open(fo, "rb").read() == out, "%s: output to a regular file "
            "differs from output to a pipe" % what)

# ---- 3. long lines, and a last line without newline
lines = [L.long_line(rng, "main", L.NOW, 1 << 20),
         L.long_line(rng, "main", L.NOW, 5 << 20)]
data = b"".join(l.orig + b"\n" for l in lines)
rc, out, err = run_bytes(["--format", "main"], data, timeout=120)
t.check(rc == 0, "mask of 1 and 5 MiB lines: exit %s %r" % (rc, err[:300]))
compare("mask --format main (1 MiB and 5 MiB lines)", out, lines)
# past the 16 MiB line head (rewrite.c): informational
big = L.long_line(rng, "main", L.NOW, 17 << 20)
rc, out, err = run_bytes(["--format", "main"], big.orig + b"\n", timeout=120)
if out != big.masked + b"\n":
    t.note("a 17 MiB line keeps full addresses in its XFF field: %s" %
           L.describe_diff(out.rstrip(b"\n"), big.masked))
inp = CASES[0][2]
rc, out, err = run_bytes(["--format", "combined"], inp)
if out == CASES[0][3] + b"\n":
    t.note("mask adds a newline to a last line that had none")
else:
    t.check(out == CASES[0][3], "mask of a last line without newline: got "
            "%r" % out[:300])

# ---- 4. line flushing through a pipe
p = subprocess.Popen([L.LETHE, "mask", "--format", "main"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)
try:
    for fmt, extra, inp, want in CASES[2:3] * 3:
        p.stdin.write(inp + b"\n")
        p.stdin.flush()
        got = b""
        deadline = time.time() + 2
        while not got.endswith(b"\n") and time.time() < deadline:
            rl, _, _ = select.select([p.stdout], [], [], deadline -
                                     time.time())
            if not rl:
                break
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            got += chunk
        if not got.endswith(b"\n"):
            t.fail("mask with stdout a pipe: the masked line did not come "
                   "back within 2 s of writing it (got %r)" % got)
            break
        t.check(got == want + b"\n", "mask through a pipe: got %r, want %r"
                % (got, want))
    p.stdin.close()
    rest = p.stdout.read()
    rc = p.wait(timeout=10)
    t.check(rc == 0 and rest == b"", "mask after stdin closed: exit %s, "
            "extra output %r" % (rc, rest[:200]))
finally:
    if p.poll() is None:
        p.kill()
        p.wait()

# ---- 5. json: informational only (needs key names; see the report)
rc, out, err = run_bytes(["--format", "json"],
                         b'{"remote_addr":"203.0.113.7","msg":"x"}\n')
t.note("mask --format json: exit %s, out %r, err %r" % (rc, out[:200],
                                                          err[:200]))
t.done()
