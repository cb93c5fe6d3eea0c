#!/bin/sh
# Replay every fuzz target's seed corpus (tests/fuzz/corpus/NAME) with the
# replay build in $1; a crash or a sanitizer report fails the run.
set -u
O=$1
p=0; f=0
for bin in "$O"/fuzz_*-replay; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin" -replay)
	dir=tests/fuzz/corpus/${name#fuzz_}
	if [ ! -d "$dir" ]; then
		echo "fuzz-replay: $name: no corpus in $dir"
		f=$((f + 1))
		continue
	fi
	if out=$("$bin" "$dir" 2>&1); then
		echo "fuzz-replay: $name: $(printf '%s\n' "$out" | tail -n 1)"
		p=$((p + 1))
	else
		printf '%s\n' "$out" | tail -n 20
		echo "fuzz-replay: $name FAILED"
		f=$((f + 1))
	fi
done
echo "fuzz-replay: $p passed, $f failed"
[ $f -eq 0 ]
