#!/bin/sh
# Run every libFuzzer target (build-fuzz/fuzz_*) for $1 seconds (default
# 60) on a temp copy of its seed corpus; a crash fails the run and leaves
# the crashing input in build-fuzz/.
set -u
secs=${1:-60}
[ -n "$secs" ] || secs=60
p=0; f=0
for bin in build-fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	corpus=$(mktemp -d)
	cp tests/fuzz/corpus/"${name#fuzz_}"/* "$corpus"/ 2>/dev/null
	if "$bin" -max_total_time="$secs" -print_final_stats=1 \
	    -artifact_prefix=build-fuzz/"$name"- "$corpus" \
	    >build-fuzz/"$name".log 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
		    build-fuzz/"$name".log)
		echo "fuzz: $name: ${runs:-?} runs in ${secs}s, no crash"
		p=$((p + 1))
	else
		tail -n 30 build-fuzz/"$name".log
		echo "fuzz: $name FAILED (see build-fuzz/$name.log)"
		f=$((f + 1))
	fi
	rm -rf "$corpus"
done
echo "fuzz: $p passed, $f failed"
[ $f -eq 0 ]
