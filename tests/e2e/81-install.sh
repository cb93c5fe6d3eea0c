#!/bin/sh
# 81-install: "make install" and "make uninstall" into a DESTDIR.
#   - the binary (755, the one "all" built), the unit with the install's
#     paths (644), the config (640), man pages when the repo has them,
#     fail2ban's lethe-hold action naming the installed binary (644);
#   - a second install leaves an existing config alone and puts the new one
#     beside it as lethe.conf.example;
#   - uninstall removes what install put there, but not a changed config;
#   - SBINDIR/SYSCONFDIR/UNITDIR/MANDIR are honoured.
#   LETHE=/abs/build/lethe sh tests/e2e/81-install.sh   (cwd: the repo root)
set -u
bad=0
fail() { echo "FAIL: $*"; bad=1; }
if [ ! -f Makefile ] || [ ! -f systemd/lethe.service.in ]; then
	echo "81-install: cannot run: cwd must be the repo root"
	exit 1
fi
command -v make >/dev/null 2>&1 || { echo "81-install: cannot run: no make"; exit 1; }

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
d=$tmp/root

mk() {
	echo "--- make $*"
	if ! make --no-print-directory "$@" >"$tmp/make.out" 2>&1; then
		sed 's/^/    /' "$tmp/make.out"
		fail "make $* failed"
		return 1
	fi
	sed 's/^/    /' "$tmp/make.out"
}
mode() { stat -c %a "$1" 2>/dev/null; }
has() {		# has FILE MODE: a regular file with that mode
	if [ ! -f "$1" ]; then
		fail "${1#"$d"} is missing"
	elif [ "$(mode "$1")" != "$2" ]; then
		fail "${1#"$d"} has mode $(mode "$1"), not $2"
	fi
}
gone() {
	{ [ -e "$1" ] || [ -L "$1" ]; } && fail "${1#"$d"} is still there"
}

# --- first install -------------------------------------------------------
mk install DESTDIR="$d" PREFIX=/usr || exit 1
has "$d/usr/sbin/lethe" 755
# The binary under test: build/lethe, or build-san/lethe when make test
# runs with SANITIZE (the sub-make installs that build too).
[ -f "$LETHE" ] && ! cmp -s "$LETHE" "$d/usr/sbin/lethe" &&
    fail "the installed binary is not $LETHE"
"$d/usr/sbin/lethe" mask </dev/null >/dev/null 2>&1 ||
    fail "the installed binary does not run (lethe mask </dev/null)"
u=$d/lib/systemd/system/lethe.service
has "$u" 644
grep -qxF 'ExecStart=/usr/sbin/lethe -c /etc/lethe/lethe.conf run' "$u" ||
    fail "the unit's ExecStart is not /usr/sbin/lethe -c /etc/lethe/lethe.conf run"
grep -qxF 'ExecReload=/usr/sbin/lethe -c /etc/lethe/lethe.conf check' "$u" ||
    fail "the unit's ExecReload does not check /etc/lethe/lethe.conf"
grep -n '@[A-Z_]*@' "$u" && fail "the unit has placeholders left"
[ -e "$u.tmp" ] && fail "the unit's temp file was left behind"
c=$d/etc/lethe/lethe.conf
has "$c" 640
cmp -s conf/lethe.conf "$c" || fail "the installed config is not conf/lethe.conf"
gone "$c.example"
a=$d/etc/fail2ban/action.d/lethe-hold.conf
has "$a" 644
grep -qxF 'lethe = /usr/sbin/lethe' "$a" || fail "lethe-hold.conf does not name /usr/sbin/lethe"
mans=
for m in man/*.[1-8]; do
	[ -f "$m" ] || continue
	f=$d/usr/share/man/man${m##*.}/${m##*/}
	mans="$mans $f"
	has "$f" 644
done
[ -n "$mans" ] || echo "note: no man pages in man/ yet"

# --- second install over a changed config ----------------------------------
echo "# changed by the admin" >>"$c"
chmod 600 "$c"
cp "$c" "$tmp/changed"
mk install DESTDIR="$d" PREFIX=/usr || exit 1
cmp -s "$tmp/changed" "$c" || fail "the second install changed lethe.conf"
[ "$(mode "$c")" = 600 ] || fail "the second install changed lethe.conf's mode"
has "$c.example" 644
cmp -s conf/lethe.conf "$c.example" ||
    fail "lethe.conf.example is not conf/lethe.conf"
has "$d/usr/sbin/lethe" 755
has "$u" 644

# --- uninstall: the changed config stays -----------------------------------
mk uninstall DESTDIR="$d" PREFIX=/usr || exit 1
gone "$d/usr/sbin/lethe"
gone "$u"
gone "$c.example"
for f in $mans; do gone "$f"; done
if [ ! -f "$c" ]; then
	fail "uninstall removed a changed lethe.conf"
else
	cmp -s "$tmp/changed" "$c" || fail "uninstall changed lethe.conf"
fi
# Once it is the shipped text again, it goes, and so does /etc/lethe.
cp conf/lethe.conf "$c"
mk uninstall DESTDIR="$d" PREFIX=/usr || exit 1
gone "$c"
gone "$d/etc/lethe"
left=$(find "$d" ! -type d)
[ -z "$left" ] || fail "left after uninstall: $left"

# --- the directory variables ---------------------------------------------
d=$tmp/root2
mk install DESTDIR="$d" PREFIX=/opt/lethe SYSCONFDIR=/opt/lethe/etc \
    UNITDIR=/usr/lib/systemd/system MANDIR=/opt/lethe/man || exit 1
has "$d/opt/lethe/sbin/lethe" 755
u=$d/usr/lib/systemd/system/lethe.service
has "$u" 644
grep -qxF 'ExecStart=/opt/lethe/sbin/lethe -c /opt/lethe/etc/lethe/lethe.conf run' "$u" ||
    fail "ExecStart does not follow PREFIX and SYSCONFDIR"
has "$d/opt/lethe/etc/lethe/lethe.conf" 640
grep -qxF 'config = /opt/lethe/etc/lethe/lethe.conf' "$d/opt/lethe/etc/fail2ban/action.d/lethe-hold.conf" ||
    fail "lethe-hold.conf does not follow SYSCONFDIR"
for m in man/*.[1-8]; do
	[ -f "$m" ] && has "$d/opt/lethe/man/man${m##*.}/${m##*/}" 644
done
mk uninstall DESTDIR="$d" PREFIX=/opt/lethe SYSCONFDIR=/opt/lethe/etc \
    UNITDIR=/usr/lib/systemd/system MANDIR=/opt/lethe/man || exit 1
left=$(find "$d" ! -type d)
[ -z "$left" ] || fail "left after uninstall: $left"

[ $bad -eq 0 ] || exit 1
echo "81-install: ok"
