#!/bin/sh
# 80-systemd: the unit file.  Fill in systemd/lethe.service.in as "make
# install" does (ExecStart pointing at $LETHE through a temp sbin dir), then
#   - systemd-analyze verify: exit 0 and nothing said about lethe.service;
#   - systemd-analyze security --offline=true: exposure at most 1.5;
#   - the directives the daemon's contract depends on are there.
# Never skips: a host without systemd-analyze fails the test.
#   LETHE=/abs/build/lethe sh tests/e2e/80-systemd.sh   (cwd: the repo root)
set -u
MAX=1.5		# the highest exposure we accept (systemd-analyze's 0..10)
MAX10=15	# the same for --threshold (0..100)
bad=0
fail() { echo "FAIL: $*"; bad=1; }

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "80-systemd: cannot run: systemd-analyze missing"
	exit 1
fi
if [ -z "${LETHE:-}" ] || [ ! -x "$LETHE" ]; then
	echo "80-systemd: cannot run: LETHE must name the lethe binary"
	exit 1
fi
in=systemd/lethe.service.in
if [ ! -f "$in" ]; then
	echo "80-systemd: cannot run: no $in (cwd must be the repo root)"
	exit 1
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
mkdir "$tmp/sbin" "$tmp/unit"
ln -s "$LETHE" "$tmp/sbin/lethe"
unit=$tmp/unit/lethe.service
sed -e "s|@SBINDIR@|$tmp/sbin|g" -e 's|@SYSCONFDIR@|/etc|g' "$in" >"$unit" ||
    exit 1
systemd-analyze --version | head -n 1

# --- the contract ------------------------------------------------------
grep -n '@[A-Z_]*@' "$unit" && fail "placeholders left after sed"
# Effective lines only (comments dropped), in file order.
grep -v '^[[:space:]]*[#;]' "$unit" | grep -v '^[[:space:]]*$' >"$tmp/lines"
want() {
	grep -qxF "$1" "$tmp/lines" || fail "no line \"$1\""
}
want "Type=notify"
want "ExecStart=$tmp/sbin/lethe -c /etc/lethe/lethe.conf run"
want "Restart=on-failure"
want "StateDirectory=lethe"
want "NoNewPrivileges=yes"
want "ProtectSystem=strict"
want "PrivateTmp=yes"
want "PrivateNetwork=yes"
want "ProtectProc=default"
# Two ExecReload lines: the check first, then the signal.
grep '^ExecReload=' "$tmp/lines" >"$tmp/reload"
printf '%s\n' "ExecReload=$tmp/sbin/lethe -c /etc/lethe/lethe.conf check" \
    'ExecReload=/bin/kill -HUP $MAINPID' >"$tmp/reload.want"
if ! cmp -s "$tmp/reload" "$tmp/reload.want"; then
	fail "ExecReload lines are not \"check\" then \"kill -HUP\":"
	sed 's/^/    /' "$tmp/reload"
fi
# The log directories, each optional ("-"), writable.
grep -q '^ReadWritePaths=.*-/var/log/nginx' "$tmp/lines" ||
    fail "/var/log/nginx is not in ReadWritePaths= (with -)"
grep -q '^ReadWritePaths=.*-/var/log/apache2' "$tmp/lines" ||
    fail "/var/log/apache2 is not in ReadWritePaths= (with -)"
# Capabilities the daemon needs; ptrace must stay out.
caps=$(grep '^CapabilityBoundingSet=' "$tmp/lines")
for c in CAP_CHOWN CAP_FOWNER CAP_KILL CAP_LEASE; do
	case " $caps " in *"$c"[\ ]*) ;; *) fail "no $c in CapabilityBoundingSet" ;; esac
done
case $caps in *CAP_SYS_PTRACE*|*CAP_SYS_ADMIN*) fail "too much: $caps" ;; esac

# --- systemd-analyze verify ---------------------------------------------
# Documentation=man:... pages are checked with man(1) when the repo has
# them (installed into a temp MANPATH); until then, --man=no.
man=--man=no
if ls man/*.[1-8] >/dev/null 2>&1 && command -v man >/dev/null 2>&1; then
	for m in man/*.[1-8]; do
		mkdir -p "$tmp/man/man${m##*.}"
		cp "$m" "$tmp/man/man${m##*.}/"
	done
	MANPATH=$tmp/man; export MANPATH
	man=--man=yes
else
	echo "note: no man pages in man/ yet: verify runs with --man=no"
fi
echo "--- systemd-analyze verify $man lethe.service"
(cd "$tmp/unit" && systemd-analyze verify "$man" ./lethe.service) \
    >"$tmp/verify" 2>&1
rc=$?
sed 's/^/    /' "$tmp/verify"
[ $rc -eq 0 ] || fail "systemd-analyze verify exit $rc"
if grep -q 'lethe' "$tmp/verify"; then
	fail "systemd-analyze verify has something to say about lethe.service"
elif [ -s "$tmp/verify" ]; then
	echo "note: verify output above does not name lethe.service (host noise)"
else
	echo "    (clean)"
fi

# --- systemd-analyze security -------------------------------------------
systemd-analyze security --offline=true --threshold=$MAX10 "$unit" \
    >"$tmp/security" 2>&1
rc=$?
score=$(sed -n 's/.*Overall exposure level for lethe\.service: \([0-9][0-9]*\.[0-9]\).*/\1/p' \
    "$tmp/security")
echo "--- systemd-analyze security --offline=true: what counts against it"
grep '✗' "$tmp/security" | sed 's/  */ /g; s/^/    /'
if [ -z "$score" ]; then
	sed 's/^/    /' "$tmp/security"
	fail "no exposure score in the output of systemd-analyze security"
else
	echo "exposure: $score (at most $MAX)"
	if awk -v s="$score" -v m="$MAX" 'BEGIN { exit !(s > m) }'; then
		fail "exposure $score is above $MAX"
	elif [ $rc -ne 0 ]; then
		fail "systemd-analyze security --threshold=$MAX10 exit $rc"
	fi
fi

[ $bad -eq 0 ] || exit 1
echo "80-systemd: ok"
