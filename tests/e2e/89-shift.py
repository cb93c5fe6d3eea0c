#!/usr/bin/env python3
"""logrotate's shift under lethe's feet, done in python with os.rename
the way logrotate does it (issue 9, 1; DESIGN promise 1: every rename,
replace and unlink acts only on the file lethe read, checked at the act).
90-logrotate does the same with the real /usr/sbin/logrotate.

A set with rotate = off (lethe follows what another program rotates),
`once --now NOW`, and while it works the shift: every access.log.N[.gz]
to N+1 (highest first), access.log to access.log.1, a new access.log,
then ten new lines in it (the server, after its reopen).  Scenarios:

  compress   once mask+compresses a large access.log.1 (past the window
             and compress_after);
  gzmask     once masks access.log.1.gz in place;
  delete     once deletes access.log.2.gz (past retain) by retention;
             access.log.1.gz is in retention and must stay;
  plainmask  README's "Keeping logrotate" (compress_after = off, logrotate
             compress + delaycompress): once masks a plain access.log.1 in
             place, and the shift then gzips the shifted access.log.2 to
             .2.gz (write .2.gz, unlink .2) as delaycompress does.

Each scenario twice:
  real timing  200,000 lines (19 MB); the shift starts when the temp file
               ".NAME.lethe-XXXXXX" appears (inotify IN_CREATE; delete: at
               lethe's first read of access.log.2.gz, IN_ACCESS, as a
               delete has no temp file);
  pause walk   the fault build (LETHE_PAUSE=OP:N:PATH), 300 lines: first a
               count of the run's rename, unlink and link calls
               (LETHE_FAULT_COUNT), then one run paused before each of them
               in turn, the shift done while it waits.

After each run a second once (the binary under test), and the independent
reader (python gzip, ipaddress) checks: every line exactly once (none
lost, none doubled), except the lines of the file past retain, which the
later run must have deleted; no full address on a line older than NOW -
window; no line masked although newer than NOW - window + mask_early;
every line its original or its masked form, byte for byte; no hidden
".*lethe*" file left.  After the first once alone: nothing lost or
doubled, and a step it left undone (full addresses past the window, or
the file past retain kept) is named on its stderr.

Today (d4df44a), real timing: compress loses the 1000 rotated live lines
(the name access.log.1 is unlinked after the compress) and doubles the
old segment (.2 beside .1.gz); gzmask and plainmask leave the masked copy
beside the unmasked original (doubled; plainmask also loses the live
lines: the rename over access.log.1 replaces them); delete deletes the
in-retention file (300 lines lost).  The pause walk fails at once: the
fault build has no LETHE_PAUSE.

Env: SHIFT_BIG_LINES (200000), LETHE_FAULT_BIN, E2E_KEEP=1."""

import gzip
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lethelib as L  # noqa: E402
import seamlib as S  # noqa: E402

t = L.Test("89-shift")
T0 = time.monotonic()
BIG = int(os.environ.get("SHIFT_BIG_LINES", "200000"))
root = t.mkdtemp()
FAULT = S.fault_binary(t)
SEAM_OK, SEAM_WHY = S.pause_seam_works(FAULT, root)


def numbered(logs):
    """[(N, gz)] of the access.log.N[.gz] in logs."""
    out = []
    for n in os.listdir(logs):
        if not n.startswith("access.log."):
            continue
        rest = n[len("access.log."):]
        gz = rest.endswith(".gz")
        k = rest[:-3] if gz else rest
        if k.isdigit():
            out.append((int(k), gz))
    return out


def python_shift(scn, d, logs, probe):
    """logrotate's order: the numbered files up by one, highest first; the
    live file to .1; a new live file; (plainmask: delaycompress) gzip of
    the shifted .2.  Returns what it did."""
    done = []
    for k, gz in sorted(numbered(logs), reverse=True):
        ext = ".gz" if gz else ""
        a, b = "access.log.%d%s" % (k, ext), "access.log.%d%s" % (k + 1, ext)
        os.rename(os.path.join(logs, a), os.path.join(logs, b))
        done.append("%s -> %s" % (a, b))
    os.rename(os.path.join(logs, "access.log"),
              os.path.join(logs, "access.log.1"))
    done.append("access.log -> access.log.1")
    os.close(os.open(os.path.join(logs, "access.log"),
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640))
    if probe is not None:
        probe()
    p2 = os.path.join(logs, "access.log.2")
    if scn.name == "plainmask" and os.path.exists(p2):
        with open(p2, "rb") as f:
            data = f.read()
        with open(p2 + ".gz", "wb") as f:
            f.write(gzip.compress(data, 1))
        os.unlink(p2)
        done.append("gzip access.log.2")
    return done


rig = S.ShiftRig(t, root, FAULT, python_shift, 89)
rig.run_all(BIG, "python shift", SEAM_OK, SEAM_WHY)
t.info("total %.0f s" % (time.monotonic() - T0))
t.done()
