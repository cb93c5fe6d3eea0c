#!/bin/sh
# lethe's throughput next to the standard tools, on synthetic logs, with the
# ratios the performance targets are stated in: one table, every lethe row
# for --threads 1 and --threads 2.  Run by "make bench" (LETHE set); plain
# POSIX sh, python3 only generates.
#   BENCH_SIZE=200M  size of each generated log (K, M, G)
#   BENCH_RUNS=3     runs per slow command (gzip, once, anonip); fast ones
#                    run at least 5 times; the median is shown
#   BENCH_SEED=1     generator seed
#   BENCH_DIR=/tmp   where the temp dir goes (needs ~5x BENCH_SIZE)
# MB/s and lines/s are of the uncompressed log in every row.  The reference
# is Apache's combined log; every other format has a file of its own with
# the same requests (gen.py), generated when its rows come and removed
# after them.  Only the combined and main logs get the gzip rows.
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
notes=$dir/notes		# the checks' findings, printed after the table
: >"$notes"
# check WHAT ITEM STATUS: a check's finding: STATUS 0 (passed) goes in one
# line "WHAT: ITEM ITEM ..." after the table, else a WARNING of its own
check() {
	if [ "$3" -eq 0 ]; then
		printf '%s\t%s\n' "$1" "$2" >>"$notes"
	else
		printf 'WARNING\t%s: NOT for %s\n' "$1" "$2" >>"$notes"
	fi
}

# gen FORMAT FILE: FILE is the synthetic log of FORMAT, on disk; its size
# and lines into bytes_FORMAT and lines_FORMAT
gen() {
	python3 "$here/gen.py" --seed "$SEED" --size "$SIZE" --format "$1" \
	    --out "$2" || exit 1
	sync
	cat "$2" >/dev/null		# in the page cache
	eval "bytes_$1=$(wc -c <"$2"); lines_$1=$(wc -l <"$2")"
}

src=$dir/combined.log
msrc=$dir/main.log
echo "bench: generating $SIZE of each format (seed $SEED) in $dir"
gen combined "$src"
gzip -6 -c "$src" >"$src.gz" || exit 1
bytes=$bytes_combined
lines=$lines_combined
echo "bench: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg);" \
    "$FAST runs (slow rows $RUNS), median"

# combined's fields as a PCRE2 pattern (JIT): remote_addr and the time.
RE='^(?<addr>\S+) \S+ \S+ \[(?<time>[^\]]+)\] "(?:[^"\\]|\\.)*" \d+ \d+ '
RE=$RE'"(?:[^"\\]|\\.)*" "(?:[^"\\]|\\.)*"$'
# the same layout as nginx writes it: what a set's log_format would say
LOGF='$remote_addr - $remote_user [$time_local] "$request" $status '
LOGF=$LOGF'$body_bytes_sent "$http_referer" "$http_user_agent"'
JSONF=remote_addr,http_x_forwarded_for

# A set whose every line is past the window (lines from 2026-11-01/02;
# --now 2026-12-30), never deleted (retain 365d).  $1: format, $2:
# compress_after.
NOW=2026-12-30T00:00:00Z
w=$dir/w
mkconf() {
	cat >"$dir/lethe-$1-$2.conf" <<EOC
[global]
state_dir = $w/state

[bench]
logs = $w/logs/access.log
format = $1
window = 7d
ipv4_prefix = 16
ipv6_prefix = 32
rotate = off
compress_after = $2
mask_early = 1h
retain = 365d
EOC
}
for f in combined main; do
	mkconf $f off
	mkconf $f 1h
done
# an empty set: only the live file
empty() {
	rm -rf "$w"
	mkdir -p "$w/logs" "$w/state"
	chmod 700 "$w/state"
	: >"$w/logs/access.log"
}
# fresh copy of the input $2 as the rotated file $1 (not timed)
fresh() {
	empty
	cp "$2" "$w/logs/$1"
	sync
}

# Does this lethe's once take --threads?  If not, its rows run once,
# without the flag ("-" in the threads column).
empty
OT="1 2"
if ! "$LETHE" -c "$dir/lethe-combined-1h.conf" --now $NOW once --dry-run \
    --threads 1 >/dev/null 2>&1; then
	if "$LETHE" -c "$dir/lethe-combined-1h.conf" --now $NOW once \
	    --dry-run >/dev/null 2>&1; then
		OT="-"
		echo "bench: NOTE: this lethe's once rejects --threads:" \
		    "the once rows run without it (threads -)"
	fi
fi
HAVE_PIGZ=$(command -v pigz)
HAVE_ANONIP=$(command -v anonip)
[ -n "$HAVE_PIGZ" ] && echo "bench: $(pigz --version 2>&1 | head -n 1)"
[ -n "$HAVE_ANONIP" ] &&
    echo "bench: anonip $(anonip --version 2>&1 | head -n 1)"

echo "ratio: speed = the anchor's time / lethe's; time = lethe's / the"
echo "anchor's; per byte = time per input byte / combined's at the same"
echo "threads; size = output bytes / the anchor's.  Goals stated for 2"
echo "threads have no target on the 1-thread row."
FMT='%-38s %3s %8s %8s %10s  %-20s %s\n'
printf "$FMT" "command" "thr" "seconds" "MB/s" "lines/s" "anchor" \
    "ratio (target)"
# row NAME THREADS SECONDS BYTES LINES [ANCHOR RATIO-TEXT]
row() {
	awk -v n="$1" -v th="$2" -v s="$3" -v b="$4" -v l="$5" \
	    -v a="${6:-}" -v x="${7:-}" 'BEGIN {
		if (s <= 0) s = 0.001
		r = sprintf("%-38s %3s %8.3f %8.1f %10.0f  %-20s %s", n, th, s,
		    b / s / 1e6, l / s, a, x)
		sub(/ +$/, "", r)
		print r
	}'
}
# more ANCHOR RATIO-TEXT: a further ratio of the row above
more() { printf "$FMT" "" "" "" "" "" "$1" "$2"; }
# line TEXT: a line of the table that is no measurement
line() { echo "$*"; }
# ratio A B OP LIMIT TEXT: "TEXT A/B (OP LIMIT) ok|MISSED"; OP "": no
# target, just the ratio
ratio() {
	awk -v a="$1" -v b="$2" -v op="$3" -v lim="$4" -v t="$5" 'BEGIN {
		if (b <= 0) b = 0.001
		r = a / b
		if (op == "") {
			printf "%s %.2f", t, r
			exit
		}
		ok = op == ">=" ? r >= lim : r <= lim
		printf "%s %.2f (%s %s) %s", t, r, op, lim, ok ? "ok" : "MISSED"
	}'
}
# goal T OP LIMIT: OP when T is 2 threads (or once's default), else ""
goal() { case $1 in 2|-) echo "$2";; *) echo "";; esac; }
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
# val NAME: the value of the variable NAME
val() { eval "echo \"\${$1}\""; }

# mask KEY FILE ARGS: "lethe mask ARGS" on FILE timed for --threads 1 and 2
# (t_KEY_1, t_KEY_2); the two outputs are compared, stderr is checked for
# lines not understood; the output of --threads 1 is left in $dir/KEY.out.
mask() {
	mf=$2
	for mt in 1 2; do
		bench "$1_$mt" "$FAST" "" \
		    "\"\$LETHE\" mask $3 --threads $mt <\"\$mf\" >/dev/null"
		eval "\"\$LETHE\" mask $3 --threads $mt <\"\$mf\" \
		    >\"\$dir/$1.out$mt\" 2>\"\$dir/$1.err\""
		said=$(head -n 3 "$dir/$1.err" | tr '\n' ' ')
		[ -z "$said" ]
		check "mask says nothing (every line understood)" \
		    "$1:$mt${said:+ ($said)}" $?
	done
	cmp -s "$dir/$1.out1" "$dir/$1.out2"
	check "mask --threads 1 and 2 give the same output" "$1" $?
	mv "$dir/$1.out1" "$dir/$1.out"
	rm -f "$dir/$1.out2" "$dir/$1.err"
}
# perbyte KEY T BYTES: KEY's time per byte at T threads over combined's
perbyte_tb() {
	awk -v t="$(val "t_$1_$2")" -v b="$3" -v c="$(val "t_combined_$2")" \
	    -v cb="$bytes" 'BEGIN { print t / b * 1e9, c / cb * 1e9 }'
}
# maskrows KEY NAME BYTES LINES LIMIT [NOTE]: KEY's rows, per byte vs
# combined (LIMIT), NOTE after the ratio
maskrows() {
	for mt in 1 2; do
		pb=$(perbyte_tb "$1" $mt "$3")
		x=$(val "x_$1_$mt")
		row "$2" $mt "$(val "t_$1_$mt")" "$3" "$4" "combined" \
		    "$(ratio ${pb% *} ${pb#* } "<=" "$5" "per byte")${6:+ $6}${x:+ $x}"
	done
}
# gzrows KEY FILE: the gzip anchors on FILE (and FILE.gz): t_KEY_gzip,
# t_KEY_zgzip, with pigz t_KEY_pigz_N and t_KEY_zpigz_N; printed
gzrows() {
	gf=$2
	b=$(val "bytes_$1"); l=$(val "lines_$1")
	bench "$1_gzip" "$RUNS" "" 'gzip -6 -c "$gf" >/dev/null'
	bench "$1_zgzip" "$RUNS" "" 'zcat "$gf.gz" | gzip -6 >/dev/null'
	row "gzip -6 -c" 1 "$(val "t_$1_gzip")" "$b" "$l"
	row "zcat | gzip -6" "1+1" "$(val "t_$1_zgzip")" "$b" "$l"
	if [ -z "$HAVE_PIGZ" ]; then
		line "pigz -6: pigz not installed"
		return
	fi
	for p in 1 2; do
		bench "$1_pigz_$p" "$RUNS" "" \
		    'pigz -6 -p $p -c "$gf" >/dev/null'
		row "pigz -6 -c" $p "$(val "t_$1_pigz_$p")" "$b" "$l"
	done
	for p in 1 2; do
		bench "$1_zpigz_$p" "$RUNS" "" \
		    'zcat "$gf.gz" | pigz -6 -p $p >/dev/null'
		row "zcat | pigz -6" "1+$p" "$(val "t_$1_zpigz_$p")" "$b" "$l"
	done
}
# oncerows KEY FILE: lethe once on FILE (and FILE.gz) with KEY's format:
# plain -> masked, plain -> masked gzip, gzip -> masked gzip, for each
# thread count; the gzip output's size against gzip -6 of the masked log
# ($dir/KEY.out, from mask); the output unzipped is checked against it and
# the set is audited after.
oncerows() {
	of=$2; okey=$1		# bench evals CMD with its own $1
	b=$(val "bytes_$1"); l=$(val "lines_$1")
	gzip -6 -c "$dir/$1.out" >"$dir/$1.out.gz"
	msz=$(wc -c <"$dir/$1.out.gz")
	rm -f "$dir/$1.out.gz"
	line "(gzip -6 of the masked $1 log: $msz bytes)"
	for ot in $OT; do
		OF=""
		[ "$ot" != - ] && OF="--threads $ot"
		k=$1_$(echo "$ot" | tr - d)
		bench "once_$k" "$RUNS" 'fresh access.log.1 "$of"' \
		    '"$LETHE" -c "$dir/lethe-$okey-off.conf" --now $NOW once \
		    $OF >/dev/null'
		row "lethe once: plain -> masked" "$ot" "$(val "t_once_$k")" \
		    "$b" "$l" "" "$(val "x_once_$k")"
		[ -z "$(val "x_once_$k")" ]
		check "once exits 0" "$1:plain:$ot" $?
		for kind in oncegz gzgz; do
			if [ $kind = oncegz ]; then
				prep='fresh access.log.1 "$of"'
				name="lethe once: plain -> masked gzip"
				an=gzip; at=$(val "t_$1_gzip"); lim=0.55
				pn=pigz; atext="gzip -6"
			else
				prep='fresh access.log.1.gz "$of.gz"'
				name="lethe once: gzip -> masked gzip"
				an=zgzip; at=$(val "t_$1_zgzip"); lim=0.6
				pn=zpigz; atext="zcat | gzip -6"
			fi
			bench "${kind}_$k" "$RUNS" "$prep" \
			    '"$LETHE" -c "$dir/lethe-$okey-1h.conf" --now $NOW \
			    once $OF >/dev/null'
			t=$(val "t_${kind}_$k"); x=$(val "x_${kind}_$k")
			row "$name" "$ot" "$t" "$b" "$l" "$atext" \
			    "$(ratio "$t" "$at" "$(goal "$ot" "<=")" $lim \
			    time)${x:+ $x}"
			[ -z "$x" ]
			check "once exits 0" "$1:$kind:$ot" $?
			if [ -n "$HAVE_PIGZ" ] && [ "$ot" != - ]; then
				more "${atext%gzip -6}pigz -6 -p $ot" \
				    "$(ratio "$t" "$(val "t_$1_${pn}_$ot")" \
				    "" "" time)"
			fi
			gz=$w/logs/access.log.1.gz
			sz=$(wc -c <"$gz" 2>/dev/null || echo 0)
			more "gzip -6 (masked)" "$(ratio "$sz" "$msz" "<=" 1.02 \
			    size) ($sz bytes)"
			zcat "$gz" 2>/dev/null | cmp -s - "$dir/$1.out"
			check "once's gzip unzips to mask's output" \
			    "$1:$kind:$ot" $?
			"$LETHE" -c "$dir/lethe-$1-1h.conf" --now $NOW audit \
			    >/dev/null 2>&1
			check "after once, audit finds the set clean" \
			    "$1:$kind:$ot" $?
		done
	done
}

# ---- the combined log: the anchors, and every lethe row that has one
line "-- combined: $bytes bytes, $lines lines" \
    "(gzip -6: $(wc -c <"$src.gz") bytes)"
cat "$src" "$src.gz" >/dev/null		# warm the page cache
bench cat "$FAST" "" 'cat "$src" >/dev/null'
bench wc "$FAST" "" 'wc -l <"$src" >/dev/null'
SED='s/^([0-9]+\.[0-9]+)\.[0-9]+\.[0-9]+/\1.0.0/'
bench sed "$FAST" "" 'LC_ALL=C sed -E "$SED" "$src" >/dev/null'
bench zcat "$FAST" "" 'zcat "$src.gz" >/dev/null'
row "cat > /dev/null" 1 "$t_cat" "$bytes" "$lines"
row "wc -l" 1 "$t_wc" "$bytes" "$lines"
row "sed -E (IPv4 /16 only, LC_ALL=C)" 1 "$t_sed" "$bytes" "$lines"
row "zcat > /dev/null" 1 "$t_zcat" "$bytes" "$lines"
ANONIP="anonip --ipv4mask 16 --ipv6mask 96"
if [ -n "$HAVE_ANONIP" ]; then
	bench anonip "$RUNS" "" '$ANONIP <"$src" >/dev/null'
	row "$ANONIP" 1 "$t_anonip" "$bytes" "$lines" "" "$x_anonip"
else
	line "$ANONIP: anonip not installed (Debian package anonip)"
fi
gzrows combined "$src"

mask combined "$src" "--format combined"
for mt in 1 2; do
	t=$(val "t_combined_$mt")
	x=$(val "x_combined_$mt")
	row "lethe mask --format combined" $mt "$t" "$bytes" "$lines" \
	    "wc -l" "$(ratio "$t_wc" "$t" "$(goal $mt ">=")" 0.5 speed)${x:+ $x}"
	more "sed" "$(ratio "$t_sed" "$t" "$(goal $mt ">=")" 15 speed)"
	[ -n "$HAVE_ANONIP" ] && more "anonip" "$(ratio "$t_anonip" "$t" \
	    "" "" speed)"
done
# samecombined KEY: KEY's output is combined's
samecombined() {
	cmp -s "$dir/combined.out" "$dir/$1.out"
	check "mask gives --format combined's output" "$1" $?
	rm -f "$dir/$1.out"
}
mask logformat "$src" '--log-format "$LOGF"'
samecombined logformat
maskrows logformat "lethe mask --log-format (combined)" "$bytes" "$lines" 1.5
mask regex "$src" '--format regex --regex "$RE" --addresses addr'
samecombined regex
maskrows regex "lethe mask --format regex (PCRE2 JIT)" "$bytes" "$lines" 3
if [ -n "$HAVE_ANONIP" ]; then
	head -n 100000 "$src" | $ANONIP >"$dir/anonip.out"
	head -n 100000 "$dir/combined.out" | cmp -s - "$dir/anonip.out"
	check "anonip's output is lethe's (first 100000 lines)" combined $?
	rm -f "$dir/anonip.out"
fi
oncerows combined "$src"
rm -f "$dir/combined.out"

# audit of an unmasked gzip, and find over a month of gzip archives (the
# same lines as 30 daily files): they have no --threads
fresh access.log.1.gz "$src.gz"
# audit exits 1 here: it finds the full addresses, as it should
bench audit "$FAST" "" \
    '"$LETHE" -c "$dir/lethe-combined-1h.conf" --now $NOW audit >/dev/null'
row "lethe audit (gzip, unmasked)" - "$t_audit" "$bytes" "$lines" "zcat" \
    "$(ratio "$t_audit" "$t_zcat" "<=" 1.2 time)"
empty
(cd "$w/logs" && split -n l/30 -d -a 2 "$src" day. &&
    for f in day.*; do gzip -6 "$f" && mv "$f.gz" "access.log.${f#day.}.gz"
    done)
FINDADDR=$(head -n 1 "$src" | cut -d' ' -f1)
cat "$w"/logs/*.gz >/dev/null
bench mzcat "$FAST" "" 'zcat "$w"/logs/*.gz >/dev/null'
bench find "$FAST" "" '"$LETHE" -c "$dir/lethe-combined-1h.conf" \
    --now $NOW find "$FINDADDR" >/dev/null'
row "zcat (30 gzip files)" 1 "$t_mzcat" "$bytes" "$lines"
row "lethe find ADDR (30 gzip files)" - "$t_find" "$bytes" "$lines" "zcat" \
    "$(ratio "$t_find" "$t_mzcat" "<=" 1.2 time)${x_find:+ $x_find}"
rm -rf "$w" "$src.gz"

# ---- main: the other log with gzip rows
gen main "$msrc"
gzip -6 -c "$msrc" >"$msrc.gz" || exit 1
line "-- main: $bytes_main bytes, $lines_main lines" \
    "(gzip -6: $(wc -c <"$msrc.gz") bytes)"
gzrows main "$msrc"
mask main "$msrc" "--format main"
maskrows main "lethe mask --format main" "$bytes_main" "$lines_main" 1.5
oncerows main "$msrc"
rm -rf "$w" "$msrc" "$msrc.gz" "$dir/main.out"

# ---- every other format: its file, its mask rows, per byte vs combined
for f in common vhost_combined nginx_error apache_error json w3c; do
	gen $f "$dir/$f.log"
	b=$(val "bytes_$f"); l=$(val "lines_$f")
	line "-- $f: $b bytes, $l lines"
	case $f in
	json)	mask $f "$dir/$f.log" "--format json --addresses $JSONF"
		maskrows $f "lethe mask --format json" "$b" "$l" 2 ;;
	*)	mask $f "$dir/$f.log" "--format $f"
		maskrows $f "lethe mask --format $f" "$b" "$l" 1.5 ;;
	esac
	rm -f "$dir/$f.log" "$dir/$f.out"
done

echo "bench: load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
# the checks: the passed ones a line each, the warnings after
awk -F '\t' '$1 == "WARNING" { w[++nw] = $2; next }
	!($1 in items) { order[++n] = $1; items[$1] = "" }
	{ items[$1] = items[$1] " " $2 }
	END {
		for (i = 1; i <= n; i++)
			printf "bench: %s:%s\n", order[i], items[order[i]]
		for (i = 1; i <= nw; i++)
			printf "bench: WARNING: %s\n", w[i]
	}' "$notes"

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
