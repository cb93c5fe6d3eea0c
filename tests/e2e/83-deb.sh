#!/bin/sh
# 83-deb: the Debian package.  In a temp dir, from a copy of the files git
# tracks or would track (the whole tree but build dirs without .git):
#   - dpkg-buildpackage -us -uc -b builds lethe_*.deb (installs the packaging
#     tools and build dependencies with apt-get when missing);
#   - lintian reports no error (E:) on it;
#   - the .deb holds the binary (755), the unit with /usr/sbin and /etc paths
#     (644), the config (640, a conffile), both man pages and the state dir
#     (700); its Depends name the libraries;
#   - its postinst enables lethe.service (run with stub deb-systemd-helper,
#     deb-systemd-invoke and systemctl), its prerm stops it on removal, and
#     every maintainer script passes sh -n;
#   - extracted into a scratch root (dpkg-deb -x: installing for real would
#     change this machine), the installed lethe runs "check": on the shipped
#     config (any error only about a missing log directory) and on a config
#     written into the scratch root, which must say "configuration OK".
#   LETHE=/abs/build/lethe sh tests/e2e/83-deb.sh   (cwd: the repo root)
# Everything it writes (the build, lintian's temp files) stays in its temp
# dir; apt-get is the only thing it may change on the machine.  The
# package is debian/rules' own build, never the sanitizer build: the
# sanitizer pass skips it.
set -u
if [ -n "${E2E_SANITIZE:-}" ]; then
	echo "SKIP: sanitizer pass ($E2E_SANITIZE): builds and checks its own" \
	    "package (dpkg-buildpackage), not this build; covered in the" \
	    "normal pass"
	exit 77
fi
bad=0
fail() { echo "FAIL: $*"; bad=1; }
cannot() { echo "83-deb: cannot run: $*"; exit 1; }
if [ ! -f Makefile ] || [ ! -f debian/control ] || [ ! -f debian/rules ]; then
	cannot "cwd must be the repo root, with debian/"
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
TMPDIR=$tmp
export TMPDIR

# --- the tools ---------------------------------------------------------------
tools="build-essential dpkg-dev debhelper lintian libevent-dev libpcre2-dev zlib1g-dev pkg-config"
have_tools() {
	command -v dpkg-buildpackage >/dev/null 2>&1 &&
	    command -v lintian >/dev/null 2>&1 &&
	    dpkg-checkbuilddeps debian/control >/dev/null 2>&1
}
if ! have_tools; then
	[ "$(id -u)" = 0 ] || cannot "packaging tools missing and not root (apt-get install $tools)"
	command -v apt-get >/dev/null 2>&1 || cannot "packaging tools missing and no apt-get"
	echo "--- apt-get install $tools"
	export DEBIAN_FRONTEND=noninteractive
	apt="apt-get -o DPkg::Lock::Timeout=120 -y -q"
	if ! $apt install $tools >"$tmp/apt.log" 2>&1; then
		$apt update >>"$tmp/apt.log" 2>&1
		$apt install $tools >>"$tmp/apt.log" 2>&1
	fi
	have_tools || { tail -n 5 "$tmp/apt.log"; cannot "apt-get install $tools failed"; }
fi

# --- a copy of the tree -----------------------------------------------------
src=$tmp/src/lethe
mkdir -p "$src" || exit 1
if [ -d .git ] && command -v git >/dev/null 2>&1; then
	git ls-files --cached --others --exclude-standard |
	    while IFS= read -r f; do [ -e "$f" ] && printf '%s\n' "$f"; done |
	    tar -cf - --verbatim-files-from -T - | tar -xf - -C "$src" ||
	    cannot "copying the tree failed"
else
	tar -cf - --exclude=./.git --exclude='./build*' --exclude=./demo \
	    --exclude=./lethe --exclude='*.o' --exclude='*.d' \
	    --exclude=__pycache__ . | tar -xf - -C "$src" ||
	    cannot "copying the tree failed"
fi
[ -x "$src/debian/rules" ] || fail "debian/rules is not executable"

# --- build -------------------------------------------------------------------
echo "--- dpkg-buildpackage -us -uc -b"
t0=$(date +%s)
if ! (cd "$src" && dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
	tail -n 60 "$tmp/build.log" | sed 's/^/    /'
	fail "dpkg-buildpackage failed"
	exit 1
fi
echo "    built in $(($(date +%s) - t0)) s"
grep '^unit: [0-9]* passed' "$tmp/build.log" | sed 's/^/    /'
grep -q -- '-D_FORTIFY_SOURCE=2.*-Werror=format-security\|-Werror=format-security.*-D_FORTIFY_SOURCE=2' \
    "$tmp/build.log" || fail "the build did not use dpkg-buildflags' hardening flags"
deb=$(ls "$tmp"/src/lethe_*.deb 2>/dev/null | head -n 1)
changes=$(ls "$tmp"/src/lethe_*.changes 2>/dev/null | head -n 1)
[ -n "$deb" ] || { fail "no lethe_*.deb"; exit 1; }
[ -n "$changes" ] || fail "no lethe_*.changes"
echo "    ${deb#"$tmp"/src/}"

# --- lintian -----------------------------------------------------------------
echo "--- lintian"
# Warnings and notes are printed, errors fail; lintian exits 1 on errors
# and on failures of its own (which print no E: line).
lintian --pedantic --show-overrides "${changes:-$deb}" >"$tmp/lintian.out" 2>&1
rc=$?
grep -v 'running with root privileges' "$tmp/lintian.out" | sed 's/^/    /'
if grep -q '^E:' "$tmp/lintian.out"; then
	fail "lintian reports errors"
elif [ $rc -ne 0 ]; then
	fail "lintian failed (exit $rc)"
fi

# --- contents ---------------------------------------------------------------
dpkg-deb -c "$deb" >"$tmp/contents" || fail "dpkg-deb -c failed"
sed 's/^/    /' "$tmp/contents"
entry() {	# entry PATH MODE: the .deb holds PATH with that ls-style mode
	m=$(awk -v p="./$1" '$NF == p || $NF == p "/" { print $1 }' "$tmp/contents")
	if [ -z "$m" ]; then
		fail "the .deb has no $1"
	elif [ "$m" != "$2" ]; then
		fail "$1 has mode $m in the .deb, not $2"
	fi
}
entry usr/sbin/lethe -rwxr-xr-x
entry lib/systemd/system/lethe.service -rw-r--r--
entry etc/lethe/lethe.conf -rw-r-----
entry etc/fail2ban/action.d/lethe-hold.conf -rw-r--r--
entry usr/share/man/man8/lethe.8.gz -rw-r--r--
entry usr/share/man/man5/lethe.conf.5.gz -rw-r--r--
entry usr/share/doc/lethe/copyright -rw-r--r--
entry var/lib/lethe drwx------
grep -q 'lethe.conf.example' "$tmp/contents" && fail "the .deb has lethe.conf.example"
awk '$2 != "root/root" { print }' "$tmp/contents" | grep . &&
    fail "files not owned by root/root"

dpkg-deb -I "$deb" conffiles >"$tmp/conffiles" 2>&1 || fail "the .deb has no conffiles"
grep -qxF /etc/lethe/lethe.conf "$tmp/conffiles" ||
    fail "/etc/lethe/lethe.conf is not a conffile: $(cat "$tmp/conffiles")"
grep -qxF /etc/fail2ban/action.d/lethe-hold.conf "$tmp/conffiles" ||
    fail "lethe-hold.conf is not a conffile"
dep=$(dpkg-deb -f "$deb" Depends)
echo "    Depends: $dep"
for lib in libevent libpcre2-8 zlib1g libc6; do
	case $dep in *"$lib"*) ;; *) fail "Depends does not name $lib" ;; esac
done

# --- maintainer scripts -------------------------------------------------------
ctl=$tmp/control
dpkg-deb -e "$deb" "$ctl" || fail "dpkg-deb -e failed"
for s in preinst postinst prerm postrm; do
	[ -f "$ctl/$s" ] || continue
	sh -n "$ctl/$s" || fail "$s fails sh -n"
done
grep -q "deb-systemd-helper enable 'lethe.service'" "$ctl/postinst" 2>/dev/null ||
    fail "the postinst does not enable lethe.service"
grep -q 'deb-systemd-invoke stop lethe.service' "$ctl/prerm" 2>/dev/null ||
    fail "the prerm does not stop lethe.service"
# Run the postinst with stubs that log their arguments: a first install
# ("configure" with no old version) must enable the unit and never fail.
# As on a machine that never had lethe, "deb-systemd-helper debian-installed"
# is false ("was-enabled" is true for a unit it has no state of).
mkdir "$tmp/stub"
for c in deb-systemd-helper deb-systemd-invoke systemctl; do
	{
		echo '#!/bin/sh'
		echo "echo \"$c \$*\" >>\"$tmp/stub.log\""
		if [ $c = deb-systemd-helper ]; then
			echo '[ "$1" != debian-installed ]'
		else
			echo 'exit 0'
		fi
	} >"$tmp/stub/$c"
	chmod 755 "$tmp/stub/$c"
done
if ! PATH=$tmp/stub:$PATH DPKG_MAINTSCRIPT_PACKAGE=lethe sh "$ctl/postinst" configure \
    >"$tmp/postinst.out" 2>&1; then
	sed 's/^/    /' "$tmp/postinst.out"
	fail "the postinst failed (configure, first install)"
fi
echo "--- postinst configure (stubs)"
sed 's/^/    /' "$tmp/postinst.out" "$tmp/stub.log" 2>/dev/null
grep -qxF 'deb-systemd-helper enable lethe.service' "$tmp/stub.log" 2>/dev/null ||
    fail "the postinst did not run deb-systemd-helper enable lethe.service: $(cat "$tmp/stub.log" 2>/dev/null)"

# --- the scratch root ---------------------------------------------------------
root=$tmp/root
dpkg-deb -x "$deb" "$root" || { fail "dpkg-deb -x failed"; exit 1; }
bin=$root/usr/sbin/lethe
[ -x "$bin" ] || { fail "no executable usr/sbin/lethe in the scratch root"; exit 1; }
u=$root/lib/systemd/system/lethe.service
grep -qxF 'ExecStart=/usr/sbin/lethe -c /etc/lethe/lethe.conf run' "$u" ||
    fail "the unit's ExecStart is not /usr/sbin/lethe -c /etc/lethe/lethe.conf run"
grep -n '@[A-Z_]*@' "$u" && fail "the unit has placeholders left"
grep -qxF 'StateDirectory=lethe' "$u" || fail "the unit has no StateDirectory=lethe"
grep -q '/etc/lethe/lethe.conf' "$bin" || fail "the binary's default config is not /etc/lethe/lethe.conf"
cmp -s conf/lethe.conf "$root/etc/lethe/lethe.conf" ||
    fail "the packaged config is not conf/lethe.conf"

echo "--- lethe -c etc/lethe/lethe.conf check (the shipped config)"
"$bin" -c "$root/etc/lethe/lethe.conf" check >"$tmp/check1" 2>&1
rc=$?
sed 's/^/    /' "$tmp/check1"
if [ $rc -ne 0 ]; then
	# /var/log/nginx may not exist here: that, and only that, is allowed.
	if grep -v 'refusing directory "/var/log/nginx": cannot open' "$tmp/check1" |
	    grep -q .; then
		fail "lethe check on the shipped config: errors other than a missing /var/log/nginx"
	fi
fi

echo "--- lethe -c etc/lethe/test.conf check (logs and state in the scratch root)"
mkdir -p "$root/var/log/web" && chmod 755 "$root/var/log/web"
cat >"$root/etc/lethe/test.conf" <<EOF
[global]
state_dir = $root/var/lib/lethe

[web]
logs = $root/var/log/web/*access.log
format = combined
rotate = off
window = 7d
retain = 90d
EOF
"$bin" -c "$root/etc/lethe/test.conf" check >"$tmp/check2" 2>&1
rc=$?
sed 's/^/    /' "$tmp/check2"
[ $rc -eq 0 ] || fail "lethe check on the test config exited $rc"
grep -qxF 'configuration OK' "$tmp/check2" || fail "lethe check did not say configuration OK"
# The packaged binary masks like the one under test.
line='203.0.113.77 - - [29/Nov/2026:12:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "t"'
got=$(printf '%s\n' "$line" | "$bin" mask --format combined 2>&1)
case $got in
203.0.0.0\ *) ;;
*) fail "the packaged lethe mask printed: $got" ;;
esac
if [ -n "${LETHE:-}" ] && [ -x "$LETHE" ]; then
	want=$(printf '%s\n' "$line" | "$LETHE" mask --format combined 2>&1)
	[ "$got" = "$want" ] || fail "the packaged lethe masks differently from \$LETHE"
fi

[ $bad -eq 0 ] || exit 1
echo "83-deb: ok"
