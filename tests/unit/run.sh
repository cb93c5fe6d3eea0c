#!/bin/sh
# Run every unit test binary; print each one's result and a total line.
set -u
p=0; f=0
for t in "$@"; do
	out=$("$t" 2>&1); rc=$?
	last=$(printf '%s\n' "$out" | tail -n 1)
	np=$(printf '%s' "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
	nf=$(printf '%s' "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
	if [ -z "$np" ] || [ $rc -ne 0 ]; then
		printf '%s\n' "$out" | tail -n 30
		echo "unit: $(basename "$t") FAILED (exit $rc)"
		f=$((f + ${nf:-1}))
		p=$((p + ${np:-0}))
	else
		echo "unit: $(basename "$t"): $last"
		p=$((p + np)); f=$((f + nf))
	fi
done
echo "unit: $p passed, $f failed"
[ $f -eq 0 ]
