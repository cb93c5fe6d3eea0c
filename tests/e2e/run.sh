#!/bin/sh
# Run every end-to-end test (tests/e2e/NN-*.py, NN-*.sh) against $LETHE,
# each under a timeout; print one line per test, the output of the failed
# ones, and a total line.  Exit 77 from a test means skipped.
#   LETHE=/abs/build/lethe sh tests/e2e/run.sh [NAME-PATTERN]
#   E2E_VERBOSE=1: print the output of passed tests too (notes)
#   E2E_KEEP=1: keep each test's temp dir
#   E2E_SANITIZE=address,...: the sanitizer pass (make SANITIZE=... e2e
#     sets it): fewer repetitions, tests that run no code of the build
#     skipped (tests/e2e/passlib.py); their "NOTE: sanitizer pass" lines
#     are shown under the test's line
set -u
dir=$(dirname "$0")
if [ -z "${LETHE:-}" ] || [ ! -x "$LETHE" ]; then
	echo "e2e: LETHE must name the lethe binary (got '${LETHE:-}')"
	exit 1
fi
export LETHE
export PYTHONDONTWRITEBYTECODE=1
export E2E_SANITIZE=${E2E_SANITIZE:-}
[ -n "$E2E_SANITIZE" ] &&
	echo "e2e: sanitizer pass ($E2E_SANITIZE): repeated loops shorter," \
	    "full figures in the normal pass"
pat=${1:-}
p=0; f=0; s=0
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT INT TERM
for t in "$dir"/[0-9][0-9]-*.py "$dir"/[0-9][0-9]-*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t"); name=${name%.*}
	case $name in *"$pat"*) ;; *) continue ;; esac
	t0=$(date +%s)
	case $t in
	*.py) timeout 600 python3 "$t" >"$out" 2>&1 ;;
	*) timeout 600 sh "$t" >"$out" 2>&1 ;;
	esac
	rc=$?
	secs=$(($(date +%s) - t0))
	if [ $rc -eq 0 ]; then
		echo "e2e: $name ok (${secs} s)"
		if [ -n "${E2E_VERBOSE:-}" ]; then
			sed 's/^/    /' "$out"
		else
			sed -n 's/^NOTE: sanitizer pass ([^)]*): /    /p' "$out"
		fi
		p=$((p + 1))
	elif [ $rc -eq 77 ]; then
		echo "e2e: $name skipped: $(tail -n 1 "$out")"
		s=$((s + 1))
	else
		if [ $rc -eq 124 ]; then
			echo "(timed out after 600 s)" >>"$out"
		else
			echo "(exit $rc)" >>"$out"
		fi
		sed 's/^/    /' "$out" | head -n 200
		echo "e2e: $name FAILED (${secs} s)"
		f=$((f + 1))
	fi
done
[ $s -gt 0 ] && echo "e2e: $s skipped"
echo "e2e: $p passed, $f failed"
[ $f -eq 0 ]
