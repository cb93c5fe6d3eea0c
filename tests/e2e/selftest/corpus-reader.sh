#!/bin/sh
# Self-test of the corpus reader of 97-corpus (python only, no lethe): it
# passes the output a perfect lethe would write and catches planted bugs
# (an address left full, a changed byte, a wrong count, an early mask, an
# audit line with an address, a corpus line its config does not describe).
#   sh tests/e2e/selftest/corpus-reader.sh
here=$(cd "$(dirname "$0")" && pwd)
exec python3 "$here/../97-corpus.py" --selftest
