"""Which pass runs the end-to-end tests, and how much each test runs in it
(python3 stdlib only; the shell tests read $E2E_SANITIZE themselves).

.ci/run runs `make test`, then `make SANITIZE=address,undefined test`:
the same tests again, against a sanitizer build.  The Makefile hands
SANITIZE down as E2E_SANITIZE and run.sh says which pass it is.  The
project's rule: repeated seeds and long soaks run in one pass, not in
both.  So

- the normal pass (E2E_SANITIZE empty) runs every test at its full
  figures;
- the sanitizer pass runs the same checks on fewer repetitions (count:
  fewer seeds, cycles, runs, a smaller budget or size), each said in a
  "NOTE: sanitizer pass" line that run.sh shows; a test that runs no code
  of the sanitizer build (82-man, 83-deb) skips itself there, visibly
  (exit 77, the reason on its last line).

A knob set in the environment (CRASH_CYCLES=...) wins in both passes.
"""

import os

SANITIZE = os.environ.get("E2E_SANITIZE", "")


def sanitizer_pass():
    return bool(SANITIZE)


def count(full, short, what, env=None):
    """full in the normal pass, short in the sanitizer pass (said on
    stdout); the value of env when it is set.  what: what is counted."""
    if env and os.environ.get(env):
        return type(full)(os.environ[env])
    if not SANITIZE:
        return full
    f = "%g" if isinstance(full, float) else "%d"
    print(("NOTE: sanitizer pass (%s): %s " + f + ", the normal pass " + f) %
          (SANITIZE, what, short, full), flush=True)
    return short

