#!/bin/sh
# make run: show lethe at work on a demo directory it fills itself: a few
# minutes of old logs, a writer standing in for nginx, and the daemon in
# the foreground with durations in minutes.  DEMO_SECONDS (default 150)
# says how long it runs; Ctrl-C stops it earlier.
set -eu
top=$(pwd)
demo=$top/demo
LETHE=${LETHE:-$top/build/lethe}
secs=${DEMO_SECONDS:-150}
now=$(date -u +%s)

rm -rf "$demo"
mkdir -p "$demo/logs" "$demo/state"
chmod 755 "$demo" "$demo/logs"
python3 "$top/tests/demo_gen.py" "$demo/logs" "$now" 7
sed "s|@DEMO@|$demo|g" "$top/conf/demo.conf" > "$demo/lethe.conf"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "seven minutes of nginx logs in $demo/logs (window 2m, retain 5m)"
ls -l "$demo/logs"
step "lethe check"
"$LETHE" -c "$demo/lethe.conf" check
step "lethe audit (before: full addresses past the 2-minute window)"
"$LETHE" -c "$demo/lethe.conf" audit || true
step "lethe run for ${secs}s: a writer appends 10 lines/s; watch rotation every minute, compression, masking, deletion"
python3 "$top/tests/demo_writer.py" "$demo/logs/access.log" \
    "$demo/writer.pid" "$secs" &
writer=$!
i=0
while [ ! -s "$demo/writer.pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
"$LETHE" -c "$demo/lethe.conf" run &
daemon=$!
trap 'kill $writer $daemon 2>/dev/null || true' INT TERM EXIT
wait $writer || true
kill -TERM $daemon 2>/dev/null || true
wait $daemon || true
trap - INT TERM EXIT
step "the files now"
ls -l "$demo/logs"
step "the first line of the oldest file: masked (203.0.113.77 -> 203.0.0.0, /16)"
oldest=$(ls "$demo"/logs/access.log-* 2>/dev/null | head -n 1)
[ -n "$oldest" ] && zcat -f "$oldest" | head -n 1
step "lethe audit: nothing full is left past the window"
"$LETHE" -c "$demo/lethe.conf" audit || true
who=$(head -n 1 "$demo/logs/access.log" | cut -d' ' -f1)
step "lethe find $who: one person's lines, in every file (find never prints the address)"
"$LETHE" -c "$demo/lethe.conf" find "$who" || true
step "lethe report --html $demo/report.html: what is kept, and when it goes"
"$LETHE" -c "$demo/lethe.conf" report --html "$demo/report.html" &&
    "$LETHE" -c "$demo/lethe.conf" report | head -n 12
printf '\nThe demo stays in %s; run "make run" again to start over.\n' "$demo"
