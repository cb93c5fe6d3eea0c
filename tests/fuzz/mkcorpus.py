#!/usr/bin/env python3
"""Write the seed corpora of fuzz_line, fuzz_gzip and the corpus-* seeds
of fuzz_parse from tests/corpus (lines written from the servers'
documentation).  Deterministic: run it again and git shows no change.

  fuzz_line   one seed per corpus file: byte 0 its number (the format,
              modulo the formats there are), byte 1 a chunk seed, then
              the file's first lines (at most 3 KiB, whole lines)
  fuzz_parse  one line of each corpus file, byte 0 its number
  fuzz_gzip   good, multi-member, padded, cut, corrupt and plain files
"""
import gzip
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "corpus")


def write(d, name, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def head(data, limit=3072):
    if len(data) <= limit:
        return data
    cut = data.rfind(b"\n", 0, limit)
    return data[:cut + 1] if cut > 0 else data[:limit]


def member(data, name=None, comment=None, mtime=0):
    """A gzip member, with FNAME and FCOMMENT when given."""
    flg = (8 if name else 0) | (16 if comment else 0)
    hdr = b"\x1f\x8b\x08" + bytes([flg]) + struct.pack("<I", mtime) + \
        b"\x00\x03"
    if name:
        hdr += name + b"\x00"
    if comment:
        hdr += comment + b"\x00"
    co = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = co.compress(data) + co.flush()
    return hdr + body + struct.pack("<II", zlib.crc32(data) & 0xffffffff,
                                    len(data) & 0xffffffff)


def main():
    logs = sorted(n for n in os.listdir(CORPUS) if n.endswith(".log"))
    line_dir = os.path.join(HERE, "corpus", "line")
    parse_dir = os.path.join(HERE, "corpus", "parse")
    for k, n in enumerate(logs):
        with open(os.path.join(CORPUS, n), "rb") as f:
            data = f.read()
        stem = n[:-4]
        write(line_dir, stem, bytes([k, 7 * k + 1]) + head(data))
        lines = [ln for ln in data.split(b"\n") if ln.strip()]
        if lines:
            write(parse_dir, "corpus-" + stem,
                  bytes([k]) + lines[len(lines) // 2])
    text = head(open(os.path.join(CORPUS, logs[0]), "rb").read())
    gz_dir = os.path.join(HERE, "corpus", "gzip")
    one = member(text)
    seeds = {
        "good": one,
        "named": member(text, b"access.log.1", b"lethe"),
        "two-members": member(text[:1000]) + member(text[1000:]),
        "empty-member": member(b"") + one,
        "padded": one + b"\x00" * 512,
        "after-padding": one + b"\x00" * 16 + b"x",
        "garbage-after": one + b"garbage",
        "cut": one[:len(one) // 2],
        "cut-trailer": one[:-3],
        "bad-crc": one[:-8] + b"\x00\x00\x00\x00" + one[-4:],
        "bad-size": one[:-4] + b"\x01\x00\x00\x00",
        "magic-only": b"\x1f\x8b",
        "plain": text,
        "empty": b"",
        "python": gzip.compress(text, mtime=0),
    }
    for name, data in seeds.items():
        write(gz_dir, name, data)


if __name__ == "__main__":
    main()
