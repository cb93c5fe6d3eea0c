#!/bin/sh
# lethe's throughput next to the standard tools, on synthetic logs, with the
# ratios the performance targets are stated in.  Run by "make bench" (LETHE
# set); plain POSIX sh, python3 only generates.
#   BENCH_SIZE=200M  size of each generated log (K, M, G)
#   BENCH_RUNS=3     runs per slow command (gzip); fast ones run at least 5
#                    times; the median is shown
#   BENCH_SEED=1     generator seed
#   BENCH_DIR=/tmp   where the temp dir goes (needs ~4x BENCH_SIZE)
# MB/s and lines/s are of the uncompressed log in every row.  The input is
# nginx's "main" (combined plus a quoted X-Forwarded-For list), and the same
# requests as nginx's escape=json log for the json row; the regex row reads
# the main log through a PCRE2 pattern equivalent to the main format.
set -u
if [ -z "${LETHE:-}" ] || [ ! -x "$LETHE" ]; then
	echo "bench: LETHE must name the lethe binary" >&2
	exit 1
fi
SIZE=${BENCH_SIZE:-200M}
RUNS=${BENCH_RUNS:-3}
FAST=$((RUNS > 5 ? RUNS : 5))
SEED=${BENCH_SEED:-1}
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d "${BENCH_DIR:-/tmp}/lethe-bench.XXXXXX") || exit 1
chmod 700 "$dir"
trap 'rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM

src=$dir/src.log
js=$dir/src.json
echo "bench: generating $SIZE (main and json, seed $SEED) in $dir"
python3 "$here/gen.py" --seed "$SEED" --size "$SIZE" --out "$src" || exit 1
python3 "$here/gen.py" --seed "$SEED" --size "$SIZE" --format json \
    --out "$js" || exit 1
gzip -6 -c "$src" >"$src.gz" || exit 1
bytes=$(wc -c <"$src")
lines=$(wc -l <"$src")
jbytes=$(wc -c <"$js")
jlines=$(wc -l <"$js")
echo "bench: main $bytes bytes, $lines lines (gzip -6: $(wc -c <"$src.gz")" \
    "bytes); json $jbytes bytes, $jlines lines"
echo "bench: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg);" \
    "$FAST runs (gzip rows $RUNS), median"

# main's fields as a PCRE2 pattern (JIT): remote_addr, time, the XFF list.
RE='^(?<addr>\S+) \S+ \S+ \[(?<time>[^\]]+)\] "(?:[^"\\]|\\.)*" \d+ \d+ '
RE=$RE'"(?:[^"\\]|\\.)*" "(?:[^"\\]|\\.)*" "(?<addr2>[^"]*)"$'
JSONF=remote_addr,http_x_forwarded_for

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

printf '%-34s %8s %8s %10s  %s\n' "command" "seconds" "MB/s" "lines/s" \
    "ratio (target)"
# row NAME SECONDS BYTES LINES [RATIO-TEXT]
row() {
	awk -v n="$1" -v s="$2" -v b="$3" -v l="$4" -v x="${5:-}" 'BEGIN {
		if (s <= 0) s = 0.001
		printf "%-34s %8.3f %8.1f %10.0f  %s\n", n, s, b / s / 1e6,
		    l / s, x
	}'
}
# ratio A B OP LIMIT TEXT: "A/B = r (OP LIMIT) ok|MISSED"
ratio() {
	awk -v a="$1" -v b="$2" -v op="$3" -v lim="$4" -v t="$5" 'BEGIN {
		if (b <= 0) b = 0.001
		r = a / b
		ok = op == ">=" ? r >= lim : r <= lim
		printf "%s %.2f (%s %s) %s", t, r, op, lim, ok ? "ok" : "MISSED"
	}'
}
# now: seconds since the epoch, to the nanosecond
now() { date +%s.%N; }
# bench KEY RUNS PREP CMD: median seconds of RUNS timed runs of CMD (PREP
# before each, not timed) into t_KEY; exit statuses other than 0 into x_KEY
bench() {
	i=0; ts=""; note=""
	while [ "$i" -lt "$2" ]; do
		[ -n "$3" ] && eval "$3"
		t0=$(now)
		eval "$4"
		rc=$?
		t1=$(now)
		[ $rc -ne 0 ] && note="(exit $rc)"
		ts="$ts $(awk -v a="$t0" -v b="$t1" \
		    'BEGIN { printf "%.4f", b - a }')"
		i=$((i + 1))
	done
	med=$(printf '%s\n' $ts | sort -n | awk '{ v[NR] = $1 }
	    END { print v[int((NR + 1) / 2)] }')
	eval "t_$1=$med; x_$1='$note'"
}

cat "$src" "$src.gz" "$js" >/dev/null		# warm the page cache
bench cat "$FAST" "" 'cat "$src" >/dev/null'
bench wc "$FAST" "" 'wc -l <"$src" >/dev/null'
SED='s/^([0-9]+\.[0-9]+)\.[0-9]+\.[0-9]+/\1.0.0/'
bench sed "$FAST" "" 'LC_ALL=C sed -E "$SED" "$src" >/dev/null'
bench gzip "$RUNS" "" 'gzip -6 -c "$src" >/dev/null'
bench zgzip "$RUNS" "" 'zcat "$src.gz" | gzip -6 >/dev/null'
bench zcat "$FAST" "" 'zcat "$src.gz" >/dev/null'
bench mask "$FAST" "" '"$LETHE" mask --format main <"$src" >/dev/null'
bench json "$FAST" "" \
    '"$LETHE" mask --format json --addresses $JSONF <"$js" >/dev/null'
bench regex "$FAST" "" '"$LETHE" mask --format regex --regex "$RE" \
    --addresses addr,addr2 <"$src" >/dev/null'
bench once "$RUNS" 'fresh access.log.1 "$src"' \
    '"$LETHE" -c "$dir/lethe-off.conf" --now $NOW once >/dev/null'
bench oncegz "$RUNS" 'fresh access.log.1 "$src"' \
    '"$LETHE" -c "$dir/lethe-1h.conf" --now $NOW once >/dev/null'
bench gzgz "$RUNS" 'fresh access.log.1.gz "$src.gz"' \
    '"$LETHE" -c "$dir/lethe-1h.conf" --now $NOW once >/dev/null'
fresh access.log.1.gz "$src.gz"
# audit exits 1 here: it finds the full addresses, as it should
bench audit "$FAST" "" \
    '"$LETHE" -c "$dir/lethe-1h.conf" --now $NOW audit >/dev/null'
# find over a month of gzip archives: the same lines as 30 daily files
rm -rf "$w"
mkdir -p "$w/logs" "$w/state"
chmod 700 "$w/state"
: >"$w/logs/access.log"
(cd "$w/logs" && split -n l/30 -d -a 2 "$src" day. &&
    for f in day.*; do gzip -6 "$f" && mv "$f.gz" "access.log.${f#day.}.gz"
    done)
FINDADDR=$(head -n 1 "$src" | cut -d' ' -f1)
cat "$w"/logs/*.gz >/dev/null
bench mzcat "$FAST" "" 'zcat "$w"/logs/*.gz >/dev/null'
bench find "$FAST" "" \
    '"$LETHE" -c "$dir/lethe-1h.conf" --now $NOW find "$FINDADDR" >/dev/null'

# json has other bytes and lines (longer ones): compared per byte (the
# target), and per line.
tb_mask=$(awk -v t="$t_mask" -v b="$bytes" 'BEGIN { print t / b * 1e9 }')
tb_json=$(awk -v t="$t_json" -v b="$jbytes" 'BEGIN { print t / b * 1e9 }')
tl_mask=$(awk -v t="$t_mask" -v l="$lines" 'BEGIN { print t / l * 1e9 }')
tl_json=$(awk -v t="$t_json" -v l="$jlines" 'BEGIN { print t / l * 1e9 }')
row "cat > /dev/null" "$t_cat" "$bytes" "$lines"
row "wc -l" "$t_wc" "$bytes" "$lines"
row "sed -E (IPv4 /16 only, LC_ALL=C)" "$t_sed" "$bytes" "$lines"
row "gzip -6 -c" "$t_gzip" "$bytes" "$lines"
row "zcat | gzip -6" "$t_zgzip" "$bytes" "$lines"
row "zcat > /dev/null" "$t_zcat" "$bytes" "$lines"
row "lethe mask (main)" "$t_mask" "$bytes" "$lines" \
    "$(ratio "$t_sed" "$t_mask" ">=" 10 "sed/mask") $x_mask"
row "" "$t_mask" "$bytes" "$lines" \
    "$(ratio "$t_wc" "$t_mask" ">=" 0.333 "speed vs wc -l")"
row "lethe mask (json)" "$t_json" "$jbytes" "$jlines" \
    "$(ratio "$tb_json" "$tb_mask" "<=" 2 "per byte vs main") $x_json"
row "" "$t_json" "$jbytes" "$jlines" \
    "$(ratio "$tl_json" "$tl_mask" "<=" 2 "per line vs main")"
row "lethe mask (regex, PCRE2 JIT)" "$t_regex" "$bytes" "$lines" \
    "$(ratio "$t_regex" "$t_mask" "<=" 3 "vs main") $x_regex"
row "lethe once: plain -> masked" "$t_once" "$bytes" "$lines" "$x_once"
row "lethe once: plain -> masked gzip" "$t_oncegz" "$bytes" "$lines" \
    "$(ratio "$t_oncegz" "$t_gzip" "<=" 1.05 "vs gzip -6") $x_oncegz"
row "lethe once: gzip -> masked gzip" "$t_gzgz" "$bytes" "$lines" \
    "$(ratio "$t_gzgz" "$t_zgzip" "<=" 1.10 "vs zcat|gzip -6") $x_gzgz"
row "lethe audit (gzip, unmasked)" "$t_audit" "$bytes" "$lines" \
    "$(ratio "$t_audit" "$t_zcat" "<=" 1.2 "vs zcat")"
row "zcat (30 gzip files)" "$t_mzcat" "$bytes" "$lines"
row "lethe find ADDR (30 gzip files)" "$t_find" "$bytes" "$lines" \
    "$(ratio "$t_find" "$t_mzcat" "<=" 1.2 "vs zcat") $x_find"

# sanity: the regex reads main as main does; a masked gzip audits clean
"$LETHE" mask --format main <"$src" >"$dir/m1"
"$LETHE" mask --format regex --regex "$RE" --addresses addr,addr2 \
    <"$src" >"$dir/m2"
if cmp -s "$dir/m1" "$dir/m2"; then
	echo "bench: mask main and mask regex give the same output"
else
	echo "bench: WARNING: mask main and mask regex differ"
fi
rm -f "$dir/m1" "$dir/m2"
fresh access.log.1 "$src"
"$LETHE" -c "$dir/lethe-1h.conf" --now $NOW once >/dev/null
if "$LETHE" -c "$dir/lethe-1h.conf" --now $NOW audit >/dev/null; then
	echo "bench: after once, audit finds the set clean"
else
	echo "bench: WARNING: after once, audit still finds full addresses"
fi

# The forwarded stream's transport (daemon/sender.c) to a real rsyslogd:
# the sender-drive that make bench builds next to $LETHE.
if [ -x "$(dirname "$LETHE")/sender-drive" ]; then
	python3 "$here/forward.py" --runs "$FAST"
else
	echo "bench: forward rows skipped: no $(dirname "$LETHE")/sender-drive"
fi

# The daemon following a live file at 100,000 lines/s, with the mirror,
# forwarding (relp, tcp, unix) or both: its CPU per 100,000 lines/s.
python3 "$here/daemon_stream.py"
