#!/bin/sh
# Self-test of the e2e tests: they pass against fake-lethe (a python model
# of the contract) and fail against it with each planted bug.
#   sh tests/e2e/selftest/run.sh      (from the repo root, as root)
set -u
here=$(cd "$(dirname "$0")" && pwd)
e2e=$(dirname "$here")
export LETHE="$here/fake-lethe"
bad=0
# the tests of the once/audit/check/mask contract (not those of "run")
for t in 10-month 20-dry-run 30-refusals 40-bad-input 50-mask 55-json \
    60-check 65-live 76-enospc; do
	if sh "$e2e/run.sh" "$t" >/tmp/lethe-selftest.$$ 2>&1; then
		echo "selftest: clean fake passes $t"
	else
		cat /tmp/lethe-selftest.$$
		echo "selftest: clean fake FAILED $t"; bad=1
	fi
done
# bug  test that must catch it
while read -r bug test; do
	if FAKE_BUG=$bug sh "$e2e/run.sh" "$test" >/tmp/lethe-selftest.$$ 2>&1
	then
		echo "selftest: planted bug $bug NOT caught by $test"; bad=1
	else
		n=$(grep -c '^    FAIL' /tmp/lethe-selftest.$$)
		echo "selftest: planted bug $bug caught by $test ($n FAIL lines)"
	fi
done <<'LIST'
missed-mask 10-month
missed-xff 10-month
lost-line 10-month
dup-line 10-month
changed-byte 10-month
mtime 10-month
live 10-month
leak 10-month
dry-run-writes 20-dry-run
follow-link 30-refusals
missed-xff 40-bad-input
lost-line 40-bad-input
missed-mask 50-mask
no-flush 50-mask
short-write 76-enospc
missed-xff 55-json
LIST
rm -f /tmp/lethe-selftest.$$
[ $bad -eq 0 ]
