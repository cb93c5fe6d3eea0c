#!/bin/sh
# 87-valgrind: valgrind memcheck on the end-to-end runs of once, audit,
# mask and check (and a short run of the daemon), each under
#   valgrind --error-exitcode=99 --leak-check=full
#            --errors-for-leak-kinds=definite,indirect
# so that any invalid read or write, use of an uninitialised value, bad
# free or definite/indirect leak fails the test (exit 99), whatever lethe's
# own exit status.  The data: two sets, a small mixed directory of nginx
# logs (a live file due for rotation, plain and gzip segments past the
# window to mask, a young segment to compress, old ones to delete, a
# logrotate-style .1) and an nginx error log; `audit` before (finds
# addresses) and after (clean), `mask` over combined, main, json,
# vhost_combined and nginx_error input, `check` on a good and a broken
# config.
# Never skips: without valgrind it installs it (as root) or fails.
# Under an AddressSanitizer build ($LETHE linked with ASan, where valgrind
# cannot run) the same commands run under ASan and LeakSanitizer instead,
# which report the same classes of errors; the test says so.
#   LETHE=/abs/build/lethe sh tests/e2e/87-valgrind.sh
set -u
bad=0
fail() { echo "FAIL: $*"; bad=1; }

if [ -z "${LETHE:-}" ] || [ ! -x "$LETHE" ]; then
	echo "87-valgrind: cannot run: LETHE must name the lethe binary"
	exit 1
fi
asan=0
if nm -D "$LETHE" 2>/dev/null | grep -q __asan_init ||
    grep -q AddressSanitizer "$LETHE" 2>/dev/null; then
	asan=1
fi
if [ $asan -eq 0 ] && ! command -v valgrind >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ]; then
		echo "87-valgrind: apt-get install valgrind"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q valgrind \
		    >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null 2>&1 &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		    valgrind >/dev/null 2>&1; }
	fi
	if ! command -v valgrind >/dev/null 2>&1; then
		echo "87-valgrind: cannot run: valgrind is missing (apt-get install valgrind)"
		exit 1
	fi
fi

tmp=$(mktemp -d) || exit 1
chmod 700 "$tmp"
dpid=
cleanup() {
	[ -n "$dpid" ] && kill -9 "$dpid" 2>/dev/null
	if [ -n "${E2E_KEEP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ $asan -eq 1 ]; then
	echo "87-valgrind: $LETHE is an AddressSanitizer build: valgrind" \
	    "cannot run it; the same runs under ASan + LeakSanitizer"
	ASAN_OPTIONS="detect_leaks=1:exitcode=99:${ASAN_OPTIONS:-}"
	UBSAN_OPTIONS="halt_on_error=1:exitcode=99:print_stacktrace=1:${UBSAN_OPTIONS:-}"
	export ASAN_OPTIONS UBSAN_OPTIONS
	VG=
	tool=asan
else
	valgrind --version
	VG="valgrind -q --error-exitcode=99 --leak-check=full
	    --errors-for-leak-kinds=definite,indirect
	    --show-leak-kinds=definite,indirect --track-origins=yes
	    --child-silent-after-fork=yes"
	tool=valgrind
fi

NOW=2026-06-01T12:00:00Z
logs=$tmp/logs
mkdir -m 755 "$logs" "$logs/err"
mkdir -m 700 "$tmp/state"
cat >"$tmp/lethe.conf" <<EOF
[global]
state_dir = $tmp/state
sweep = 10s

[web]
logs = $logs/access.log
format = combined
window = 7d
rotate = 1h
reopen = command /bin/true
settle = 1s
compress_after = 1h
mask_early = 1h
retain = 90d

[err]
logs = $logs/err/error.log
format = nginx_error
window = 7d
rotate = off
compress_after = 1h
retain = 90d
EOF

# The files: T minus so many hours for each, 40 lines each.
python3 - "$logs" <<'EOF' || { echo "FAIL: data generation"; exit 1; }
import calendar, gzip, os, sys, time
logs = sys.argv[1]
now = calendar.timegm(time.strptime("2026-06-01T12:00:00Z",
                                    "%Y-%m-%dT%H:%M:%SZ"))
M = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
     "Nov", "Dec"]
def clf(t):
    g = time.gmtime(t)
    return "%02d/%s/%04d:%02d:%02d:%02d +0000" % (
        g.tm_mday, M[g.tm_mon - 1], g.tm_year, g.tm_hour, g.tm_min, g.tm_sec)
def acc(t0, n=40):
    out = []
    for i in range(n):
        a = ("203.0.113.%d" % (i + 1) if i % 3 else
             "2001:db8:%x::%x" % (i, i + 1))
        out.append('%s - - [%s] "GET /x?ip=198.51.100.%d HTTP/1.1" 200 %d '
                   '"-" "Mozilla/5.0 Chrome/120.0.0.0"\n' % (
                       a, clf(t0 + 60 * i), i, 100 + i))
    return "".join(out).encode()
def err(t0, n=40):
    out = []
    for i in range(n):
        g = time.gmtime(t0 + 60 * i)
        out.append("%04d/%02d/%02d %02d:%02d:%02d [error] 77#77: *%d open() "
                   "failed, client: 192.0.2.%d, server: _, request: "
                   "\"GET /a HTTP/1.1\", host: \"example.com\"\n" % (
                       g.tm_year, g.tm_mon, g.tm_mday, g.tm_hour, g.tm_min,
                       g.tm_sec, i, i + 1))
    return "".join(out).encode()
H = 3600
files = {
    "access.log": (acc(now - 2 * H), False),             # rotate
    "access.log-20260520T1000Z": (acc(now - 12 * 24 * H), False),  # mask
    "access.log-20260521T1000Z.gz": (acc(now - 11 * 24 * H), True),
    "access.log.1": (acc(now - 10 * 24 * H), False),     # mask
    "access.log-20260531T1000Z": (acc(now - 26 * H), False),  # compress
    "access.log-20260201T1000Z.gz": (acc(now - 120 * 24 * H), True),  # del
    "access.log-20260202T1000Z": (acc(now - 119 * 24 * H), False),     # del
    "err/error.log": (err(now - 3 * H), False),
    "err/error.log.1": (err(now - 9 * 24 * H), False),   # mask
    "err/error.log.2.gz": (err(now - 10 * 24 * H), True),
}
for name, (data, gz) in files.items():
    p = os.path.join(logs, name)
    with open(p, "wb") as f:
        f.write(gzip.compress(data) if gz else data)
    os.chmod(p, 0o640)
EOF

C="-c $tmp/lethe.conf --now $NOW"
# run NAME WANT_RC CMD...: the command under the tool; rc 99 is the tool.
run() {
	name=$1; want=$2; shift 2
	$VG "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" <"${STDIN:-/dev/null}"
	rc=$?
	if [ $rc -eq 99 ]; then
		fail "$name: $tool found errors:"
		sed 's/^/    | /' "$tmp/$name.err" | head -n 80
	elif [ "$want" != any ] && [ $rc -ne "$want" ]; then
		fail "$name: exit $rc, want $want"
		sed 's/^/    | /' "$tmp/$name.err" | head -n 20
	else
		echo "  $name: exit $rc, $tool clean"
	fi
}

run check-good 0 "$LETHE" -c "$tmp/lethe.conf" check
printf '[global]\nstate_dir = /nonexistent\nbogus = 1\n\n[x]\nlogs = /tmp/*.log\nformat = nope\nwindow = 100d\nretain = 1d\nrotate = sometimes\n' \
    >"$tmp/bad.conf"
run check-bad 1 "$LETHE" -c "$tmp/bad.conf" check
run audit-before 1 "$LETHE" $C audit
run once-dry 0 "$LETHE" $C once --dry-run
run once 0 "$LETHE" $C once
run audit-after 0 "$LETHE" $C audit
run once-again 0 "$LETHE" $C once

ls "$logs" "$logs/err" | tr '\n' ' ' | sed 's/^/  files: /'; echo
[ -e "$logs/access.log-20260201T1000Z.gz" ] && fail "once did not delete the segment past retain"
[ -e "$logs/access.log-20260531T1000Z.gz" ] || fail "once did not compress the young segment"
[ -e "$logs/access.log-20260520T1000Z.gz" ] &&
    gzip -dc "$logs/access.log-20260520T1000Z.gz" | grep -q '^203\.0\.113\.[1-9]' &&
    fail "once did not mask the plain segment past the window"
n=$(ls "$logs" | grep -c '^access\.log-20260601T1[12]')
[ "$n" -ge 1 ] || fail "once did not rotate the live file"

# mask: several formats on stdin.
python3 - "$tmp" <<'EOF' || { echo "FAIL: mask input generation"; exit 1; }
import sys
d = sys.argv[1]
t = "01/Jun/2026:11:00:00 +0000"
open(d + "/in.combined", "w").write("".join(
    '203.0.113.%d - u [%s] "GET /a HTTP/1.1" 200 5 "http://192.0.2.1/" '
    '"ua/1.2.3.4"\n' % (i, t) for i in range(1, 200)) +
    "garbage line without anything\n" + "x" * 70000 + "\n" +
    '[2001:db8::1]:443 - - [%s] "GET / HTTP/1.1" 200 1 "-" "-"\n' % t +
    "no newline at the end 203.0.113.5")
open(d + "/in.main", "w").write("".join(
    '2001:db8:%x::1 - - [%s] "GET / HTTP/1.1" 200 5 "-" "ua" '
    '"203.0.113.%d, ::ffff:198.51.100.7, unknown"\n' % (i, t, i)
    for i in range(1, 200)))
open(d + "/in.json", "w").write("".join(
    '{"time":"2026-06-01T11:00:00+00:00","remote_addr":"203.0.113.%d",'
    '"xff":"2001:db8::%x","req":"GET / \\"q\\" \\u0041"}\n' % (i, i)
    for i in range(1, 200)) + '{"broken": \n')
open(d + "/in.vhost", "w").write("".join(
    'www.example.com:443 203.0.113.%d - - [%s] "GET / HTTP/1.1" 200 5 '
    '"-" "ua"\n' % (i, t) for i in range(1, 200)))
open(d + "/in.error", "w").write("".join(
    '2026/06/01 11:00:00 [error] 1#1: *%d open() failed, client: '
    '203.0.113.%d, server: _, request: "GET / HTTP/1.1"\n' % (i, i)
    for i in range(1, 200)))
EOF
STDIN=$tmp/in.combined run mask-combined 0 "$LETHE" mask --format combined
STDIN=$tmp/in.combined run mask-default 0 "$LETHE" mask --ipv4-prefix 24 --ipv6-prefix 48
STDIN=$tmp/in.main run mask-main 0 "$LETHE" mask --format main
STDIN=$tmp/in.json run mask-json 0 "$LETHE" mask --format json --addresses remote_addr,xff
STDIN=$tmp/in.vhost run mask-vhost 0 "$LETHE" mask --format vhost_combined
STDIN=$tmp/in.error run mask-error 0 "$LETHE" mask --format nginx_error
STDIN=$tmp/in.combined run mask-output 0 "$LETHE" mask --format combined --output "$tmp/masked.log"
grep -q '^203\.0\.113\.[1-9]' "$tmp/mask-combined.out" &&
    fail "mask --format combined left a full address"
[ -s "$tmp/masked.log" ] || fail "mask --output wrote nothing"

# The daemon: start (reads the catalog and every file), wait for
# "running:", then TERM; valgrind reports at exit.
$VG "$LETHE" $C run >"$tmp/run.out" 2>"$tmp/run.err" </dev/null &
dpid=$!
i=0
while ! grep -q 'running: ' "$tmp/run.err" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 600 ] || ! kill -0 "$dpid" 2>/dev/null; then
		fail "run: no \"running:\" line within 60 s"
		sed 's/^/    | /' "$tmp/run.err" | head -n 40
		break
	fi
	sleep 0.1
done
kill -TERM "$dpid" 2>/dev/null
wait "$dpid"
rc=$?
dpid=
if [ $rc -eq 99 ]; then
	fail "run: $tool found errors:"
	sed 's/^/    | /' "$tmp/run.err" | head -n 80
elif [ $rc -ne 0 ]; then
	fail "run: exit $rc after TERM"
	sed 's/^/    | /' "$tmp/run.err" | tail -n 20
else
	echo "  run: started, stopped on TERM, exit 0, $tool clean"
fi

if [ $bad -ne 0 ]; then
	echo "87-valgrind: FAILED"
	exit 1
fi
echo "87-valgrind: all checks passed"
exit 0
