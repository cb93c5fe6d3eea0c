#!/usr/bin/env python3
"""Check addr_mask() against Python's ipaddress module.

usage: addr_equiv.py DRIVER [-n N] [--seed S] [--cases FILE]

DRIVER is build/test_addr; it runs as "DRIVER --filter", reading lines
"INPUT\tV4\tV6" and printing "OUTPUT\tFULL" or "-1" for each.  N random
addresses (fixed seed) in varied forms (IPv4, IPv6 compressed, full, upper
case, leading zeros, partly compressed, embedded IPv4, mapped; zones, ports,
brackets), a quarter of them mangled by random edits, at random prefixes,
are masked by the driver and by a reference built on ipaddress, and the
results compared.  With --cases, the expectations of the golden table are
checked against the reference too.  Prints "N passed, N failed" last and
exits 1 on any mismatch.
"""

import argparse
import ipaddress
import random
import re
import subprocess
import sys

ZONE_RE = re.compile(r"[A-Za-z0-9_.-]{1,32}")
PORT_RE = re.compile(r"[0-9]{1,5}")
EDIT_CHARS = "0123456789abcdefABCDEFg:.%[]-_/x "


def norm_v4(text):
    """A dotted quad with leading zeros read as decimal (as lethe masks
    192.000.002.054: the host bits go either way), else None."""
    m = re.fullmatch(r"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})",
                     text)
    if not m or any(int(x) > 255 for x in m.groups()):
        return None
    return ".".join(str(int(x)) for x in m.groups())


def ref_v4(text):
    if not re.fullmatch(r"[0-9.]+", text) or norm_v4(text) is None:
        return None
    return ipaddress.IPv4Address(norm_v4(text))


def ref_v6(text):
    if not re.fullmatch(r"[0-9A-Fa-f:.]+", text):
        return None
    if "." in text:
        head, _, quad = text.rpartition(":")
        if norm_v4(quad) is None:
            return None
        text = head + ":" + norm_v4(quad)
    try:
        return ipaddress.IPv6Address(text)
    except ValueError:
        return None


def ref_port(text):
    return PORT_RE.fullmatch(text) is not None and int(text) <= 65535


def mask4(addr, p4):
    net = ipaddress.ip_network(f"{addr}/{p4}", strict=False)
    return net.network_address, int(net.network_address != addr)


def mask6_text(core, zone, p4, p6):
    """Masked text of an IPv6 core address (zone kept), and full."""
    if core.ipv4_mapped is not None:
        v4, full = mask4(core.ipv4_mapped, p4)
        text = f"::ffff:{v4}"
    else:
        net = ipaddress.ip_network(f"{core}/{p6}", strict=False)
        full = int(net.network_address != core)
        text = str(net.network_address)
    if zone is not None:
        text += "%" + zone
    return text, full


def split_zone(inner):
    if "%" not in inner:
        return inner, None
    core, zone = inner.split("%", 1)
    if not ZONE_RE.fullmatch(zone):
        return None, None
    return core, zone


def ref_mask(s, p4, p6):
    """(output, full) as addr_mask() must produce, or None to reject."""
    if s.startswith("["):
        m = re.fullmatch(r"\[([^\]]*)\](.*)", s, re.S)
        if m is None:
            return None
        rest = m.group(2)
        if rest and not (rest[0] == ":" and ref_port(rest[1:])):
            return None
        core, zone = split_zone(m.group(1))
        if core is None or (a := ref_v6(core)) is None:
            return None
        text, full = mask6_text(a, zone, p4, p6)
        return f"[{text}]{rest}", full
    if (a := ref_v4(s)) is not None:
        v4, full = mask4(a, p4)
        return str(v4), full
    if ":" in s:
        head, port = s.rsplit(":", 1)
        if (a := ref_v4(head)) is not None and ref_port(port):
            v4, full = mask4(a, p4)
            return f"{v4}:{port}", full
    core, zone = split_zone(s)
    if core is None or (a := ref_v6(core)) is None:
        return None
    return mask6_text(a, zone, p4, p6)


def rand_v4(rng):
    if rng.random() < 0.1:
        return ipaddress.IPv4Address(rng.choice([0, 0xFFFFFFFF,
                                                 rng.getrandbits(8) << 24]))
    return ipaddress.IPv4Address(rng.getrandbits(32))


def rand_v6_int(rng):
    groups = [0 if rng.random() < 0.45 else rng.getrandbits(rng.choice(
        [4, 8, 16])) for _ in range(8)]
    return sum(g << (16 * (7 - i)) for i, g in enumerate(groups))


def is_zero(tok):
    return "." not in tok and int(tok, 16) == 0


def compress_some(toks, rng):
    """Compress one run of zero groups chosen at random (any, not only
    the longest; a single group too)."""
    runs, i = [], 0
    while i < len(toks):
        j = i
        while j < len(toks) and is_zero(toks[j]):
            j += 1
        if j > i:
            runs.append((i, j))
        i = max(j, i + 1)
    if not runs:
        return ":".join(toks)
    i, j = rng.choice(runs)
    return ":".join(toks[:i]) + "::" + ":".join(toks[j:])


def v6_text(value, rng):
    """value as IPv6 text: minimal, full or randomly padded groups, with or
    without one "::", maybe the last 32 bits as a dotted quad, maybe in
    upper case."""
    groups = [(value >> (16 * (7 - i))) & 0xFFFF for i in range(8)]
    tail = None
    if rng.random() < 0.2:
        tail = str(ipaddress.IPv4Address(value & 0xFFFFFFFF))
        groups = groups[:6]
    form = rng.randrange(4)
    if form == 0 and tail is None:
        text = str(ipaddress.IPv6Address(value))
    else:
        if form <= 1:
            toks = ["%x" % g for g in groups]
        elif form == 2:
            toks = ["%04x" % g for g in groups]
        else:
            toks = ["0" * rng.randint(0, 4 - len("%x" % g)) + "%x" % g
                    for g in groups]
        if tail is not None:
            toks.append(tail)
        if rng.random() < 0.7:
            text = compress_some(toks, rng)
        else:
            text = ":".join(toks)
    if rng.random() < 0.3:
        text = text.upper()
    return text


def rand_v6(rng):
    kind = rng.random()
    if kind < 0.25:
        value = (0xFFFF << 32) | rand_v4(rng)._ip
        if rng.random() < 0.5:
            return rng.choice(["::ffff:", "::FFFF:", "0:0:0:0:0:ffff:",
                               "0000:0000:0000:0000:0000:ffff:"]) + \
                str(ipaddress.IPv4Address(value & 0xFFFFFFFF))
        return v6_text(value, rng)
    if kind < 0.3:
        return rng.choice(["64:ff9b::", "::"]) + str(rand_v4(rng))
    return v6_text(rand_v6_int(rng), rng)


def wrap(text, v6, rng):
    port = str(rng.choice([rng.randrange(65536), rng.randrange(100), 443]))
    if rng.random() < 0.05:
        port = port.zfill(5)
    if not v6:
        return text + ":" + port if rng.random() < 0.3 else text
    zone = None
    if rng.random() < 0.15:
        zone = rng.choice(["eth0", "en0", "1", "wlan0.100", "br-lan_2",
                           "x" * 32])
        text += "%" + zone
    r = rng.random()
    if r < 0.2:
        return f"[{text}]"
    if r < 0.4:
        return f"[{text}]:{port}"
    return text


def mangle(s, rng):
    s = list(s)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(3)
        pos = rng.randrange(len(s) + 1)
        if op == 0 or not s:
            s.insert(pos, rng.choice(EDIT_CHARS))
        elif op == 1:
            del s[min(pos, len(s) - 1)]
        else:
            s[min(pos, len(s) - 1)] = rng.choice(EDIT_CHARS)
    return "".join(s)


def rand_prefix(rng, top, common):
    return rng.choice(common) if rng.random() < 0.5 else rng.randint(0, top)


def generate(n, seed):
    rng = random.Random(seed)
    cases = []
    for _ in range(n):
        if rng.random() < 0.4:
            s = wrap(str(rand_v4(rng)), False, rng)
        else:
            s = wrap(rand_v6(rng), True, rng)
        if rng.random() < 0.25:
            s = mangle(s, rng)
        p4 = rand_prefix(rng, 32, [0, 8, 16, 24, 32])
        p6 = rand_prefix(rng, 128, [0, 32, 48, 56, 64, 128])
        cases.append((s, p4, p6))
    return cases


def read_cases(path):
    cases = []
    with open(path, encoding="ascii") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            s, p4, p6, want, full = line.split("\t")
            cases.append((s, int(p4), int(p6), want, full))
    return cases


def check_table(path):
    passed = failed = 0
    for s, p4, p6, want, full in read_cases(path):
        ref = ref_mask(s, p4, p6)
        got = "-1\t-" if ref is None else f"{ref[0]}\t{ref[1]}"
        if got == f"{want}\t{full}":
            passed += 1
        else:
            failed += 1
            print(f"table: {s!r} /{p4} /{p6}: table says {want} {full}, "
                  f"ipaddress says {got}", file=sys.stderr)
    return passed, failed


def check_driver(driver, cases):
    data = "".join(f"{s}\t{p4}\t{p6}\n" for s, p4, p6 in cases)
    res = subprocess.run([driver, "--filter"], input=data, text=True,
                         capture_output=True, check=True)
    lines = res.stdout.split("\n")[:-1]
    if len(lines) != len(cases):
        print(f"driver printed {len(lines)} lines for {len(cases)} inputs",
              file=sys.stderr)
        return 0, len(cases)
    passed = failed = 0
    accepted = 0
    for (s, p4, p6), got in zip(cases, lines):
        ref = ref_mask(s, p4, p6)
        want = "-1" if ref is None else f"{ref[0]}\t{ref[1]}"
        accepted += ref is not None
        if got == want:
            passed += 1
        else:
            failed += 1
            if failed <= 20:
                print(f"mismatch: {s!r} /{p4} /{p6}: got {got!r}, "
                      f"want {want!r}", file=sys.stderr)
    print(f"random: {accepted} accepted, {len(cases) - accepted} rejected "
          f"by the reference")
    return passed, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("driver")
    ap.add_argument("-n", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=5952)
    ap.add_argument("--cases")
    args = ap.parse_args()
    passed, failed = check_driver(args.driver, generate(args.n, args.seed))
    if args.cases:
        p, f = check_table(args.cases)
        print(f"table: {p} rows agree with ipaddress, {f} do not")
        passed += p
        failed += f
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
