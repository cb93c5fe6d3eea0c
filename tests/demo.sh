#!/bin/sh
# make run: show lethe at work on a demo directory it fills itself.
set -eu
top=$(pwd)
demo=$top/demo
LETHE=${LETHE:-$top/build/lethe}
now=$(date -u +%s)
stamp=$(date -u -d "@$now" +%Y-%m-%dT%H:%M:%SZ)

rm -rf "$demo"
mkdir -p "$demo/logs" "$demo/state"
chmod 755 "$demo" "$demo/logs"
python3 "$top/tests/demo_gen.py" "$demo/logs" "$now"
sed "s|@DEMO@|$demo|g" "$top/conf/demo.conf" > "$demo/lethe.conf"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "a month of nginx logs (main format, with X-Forwarded-For) in $demo/logs"
ls -l "$demo/logs"
step "the oldest line of access.log.13.gz: full addresses, 13 days old"
zcat "$demo/logs/access.log.13.gz" | head -n 1
step "lethe check"
"$LETHE" -c "$demo/lethe.conf" check
step "lethe audit --now $stamp  (before: full addresses past the 7-day window)"
"$LETHE" -c "$demo/lethe.conf" --now "$stamp" audit || true
step "lethe once --dry-run"
"$LETHE" -c "$demo/lethe.conf" --now "$stamp" once --dry-run
step "lethe once"
"$LETHE" -c "$demo/lethe.conf" --now "$stamp" once
step "after: the same line, masked (203.0.113.77 -> 203.0.0.0, /16; IPv6 /32)"
zcat "$demo/logs/access.log.13.gz" | head -n 1
step "access.log.1 was compressed (newest line older than compress_after)"
ls -l "$demo/logs"
step "lethe audit: nothing full is left past the window"
"$LETHE" -c "$demo/lethe.conf" --now "$stamp" audit
printf '\nThe demo stays in %s; run "make run" again to start over.\n' "$demo"
