#!/bin/sh
# lethe's throughput next to the standard tools, on one synthetic log.
# Run by "make bench" (LETHE set); plain POSIX sh, python3 only generates.
#   BENCH_SIZE=200M  size of the generated log (K, M, G)
#   BENCH_RUNS=3     runs per command; the median is shown
#   BENCH_SEED=1     generator seed
#   BENCH_DIR=/tmp   where the temp dir goes (needs ~3x BENCH_SIZE)
# MB/s and lines/s are of the uncompressed log in every row.
set -u
if [ -z "${LETHE:-}" ] || [ ! -x "$LETHE" ]; then
	echo "bench: LETHE must name the lethe binary" >&2
	exit 1
fi
SIZE=${BENCH_SIZE:-200M}
RUNS=${BENCH_RUNS:-3}
SEED=${BENCH_SEED:-1}
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d "${BENCH_DIR:-/tmp}/lethe-bench.XXXXXX") || exit 1
chmod 700 "$dir"
trap 'rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM

src=$dir/src.log
echo "bench: generating $SIZE (format main, seed $SEED) in $dir"
python3 "$here/gen.py" --seed "$SEED" --size "$SIZE" --out "$src" || exit 1
gzip -6 -c "$src" >"$src.gz" || exit 1
bytes=$(wc -c <"$src")
lines=$(wc -l <"$src")
echo "bench: $bytes bytes, $lines lines; gzip -6: $(wc -c <"$src.gz") bytes;" \
    "$RUNS runs each, median"

# A set whose every line is past the window (lines from 2026-11-01/02;
# --now 2026-12-30), never deleted (retain 365d).  $1: compress_after.
NOW=2026-12-30T00:00:00Z
w=$dir/w
mkconf() {
	cat >"$dir/lethe-$1.conf" <<EOC
[global]
state_dir = $w/state

[bench]
logs = $w/logs/access.log
format = main
window = 7d
ipv4_prefix = 16
ipv6_prefix = 32
rotate = off
compress_after = $1
mask_early = 1h
retain = 365d
EOC
}
mkconf off
mkconf 1h
# fresh copy of the input as the rotated file $1 (not timed)
fresh() {
	rm -rf "$w"
	mkdir -p "$w/logs" "$w/state"
	chmod 700 "$w/state"
	: >"$w/logs/access.log"
	cp "$2" "$w/logs/$1"
	sync
}

printf '%-34s %9s %9s %12s\n' "command" "seconds" "MB/s" "lines/s"
row() {	# name seconds [note]
	awk -v n="$1" -v s="$2" -v b="$bytes" -v l="$lines" -v x="${3:-}" 'BEGIN {
		if (s <= 0) s = 0.001
		printf "%-34s %9.2f %9.1f %12.0f %s\n", n, s, b / s / 1e6, l / s, x
	}'
}
# bench NAME PREP CMD: median of RUNS timed runs of CMD, PREP before each
bench() {
	i=0; ts=""; note=""
	while [ $i -lt "$RUNS" ]; do
		[ -n "$2" ] && eval "$2"
		t0=$(date +%s.%N)
		eval "$3"
		rc=$?
		t1=$(date +%s.%N)
		[ $rc -ne 0 ] && note="(exit $rc)"
		ts="$ts $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
		i=$((i + 1))
	done
	med=$(printf '%s\n' $ts | sort -n | awk '{ v[NR] = $1 }
	    END { print v[int((NR + 1) / 2)] }')
	row "$1" "$med" "$note"
}

cat "$src" "$src.gz" >/dev/null		# warm the page cache
bench "cat > /dev/null" "" 'cat "$src" >/dev/null'
bench "wc -l" "" 'wc -l <"$src" >/dev/null'
bench "sed -E (IPv4 /16 only)" "" \
    'LC_ALL=C sed -E "s/^([0-9]+\.[0-9]+)\.[0-9]+\.[0-9]+/\1.0.0/" "$src" >/dev/null'
bench "gzip -6 -c" "" 'gzip -6 -c "$src" >/dev/null'
bench "zcat | gzip -6" "" 'zcat "$src.gz" | gzip -6 >/dev/null'
bench "zcat > /dev/null" "" 'zcat "$src.gz" >/dev/null'
bench "lethe mask --format main" "" \
    '"$LETHE" mask --format main <"$src" >/dev/null'
bench "lethe once: plain -> masked" 'fresh access.log.1 "$src"' \
    '"$LETHE" -c "$dir/lethe-off.conf" --now $NOW once >/dev/null'
bench "lethe once: plain -> masked gzip" 'fresh access.log.1 "$src"' \
    '"$LETHE" -c "$dir/lethe-1h.conf" --now $NOW once >/dev/null'
bench "lethe once: gzip -> masked gzip" 'fresh access.log.1.gz "$src.gz"' \
    '"$LETHE" -c "$dir/lethe-1h.conf" --now $NOW once >/dev/null'
fresh access.log.1.gz "$src.gz"
bench "lethe audit (gzip, unmasked)" "" \
    '"$LETHE" -c "$dir/lethe-1h.conf" --now $NOW audit >/dev/null'
# sanity: the last once left a masked gzip that audit finds clean
fresh access.log.1 "$src"
"$LETHE" -c "$dir/lethe-1h.conf" --now $NOW once >/dev/null
if "$LETHE" -c "$dir/lethe-1h.conf" --now $NOW audit >/dev/null; then
	echo "bench: after once, audit finds the set clean"
else
	echo "bench: WARNING: after once, audit still finds full addresses"
fi
