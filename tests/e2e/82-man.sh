#!/bin/sh
# 82-man: the manual pages.
#   - man/lethe.8 and man/lethe.conf.5 are clean under
#     "mandoc -Tlint -W warning" (no output at all);
#   - every key of the reference config conf/lethe.conf ("key = value" or
#     "# key = value") has its own entry (".It Cm key") in lethe.conf.5;
#   - every command of main.c's table has its own entry in lethe.8, and
#     every long option of main.c is in lethe.8.
# mandoc is installed with apt-get when missing (as root).  It reads
# sources only, no lethe binary: the sanitizer pass skips it.
#   sh tests/e2e/82-man.sh   (cwd: the repo root)
set -u
if [ -n "${E2E_SANITIZE:-}" ]; then
	echo "SKIP: sanitizer pass ($E2E_SANITIZE): reads man/, conf/ and" \
	    "daemon/main.c, runs no lethe; covered in the normal pass"
	exit 77
fi
bad=0
fail() { echo "FAIL: $*"; bad=1; }
cannot() { echo "82-man: cannot run: $*"; exit 1; }

[ -f daemon/main.c ] && [ -f conf/lethe.conf ] ||
	cannot "cwd must be the repo root"

if ! command -v mandoc >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "82-man: installing mandoc"
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y mandoc >/dev/null 2>&1 ||
			{ apt-get update >/dev/null 2>&1 &&
			apt-get install -y mandoc >/dev/null 2>&1; }
	fi
	command -v mandoc >/dev/null 2>&1 || cannot "mandoc missing"
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

m8=man/lethe.8
m5=man/lethe.conf.5
for p in "$m8" "$m5"; do
	if [ ! -f "$p" ]; then
		fail "$p is missing"
		continue
	fi
	mandoc -Tlint -W warning "$p" >"$tmp/lint" 2>&1
	if [ -s "$tmp/lint" ]; then
		sed 's/^/    /' "$tmp/lint"
		fail "mandoc -Tlint -W warning $p is not clean"
	else
		echo "ok: $p lints clean"
	fi
done
[ -f "$m8" ] && [ -f "$m5" ] || exit 1

# Keys of the reference config, commented out or not.
sed -n 's/^[#;]*[[:space:]]*\([a-z][a-z0-9_]*\)[[:space:]]*=.*/\1/p' \
    conf/lethe.conf | sort -u >"$tmp/keys"
[ -s "$tmp/keys" ] || fail "no keys found in conf/lethe.conf"
n=0
while read -r k; do
	n=$((n + 1))
	grep -Eq "^\.It Cm $k( |\$)" "$m5" ||
		fail "key \"$k\" of conf/lethe.conf has no entry in $m5"
done <"$tmp/keys"
echo "checked $n keys of conf/lethe.conf"

# Commands of main.c's table: { "check", cmd_check, 0 },
sed -n 's/^[[:space:]]*{[[:space:]]*"\([a-z][a-z0-9_-]*\)",[[:space:]]*cmd_[a-z0-9_]*[[:space:]]*[,}].*/\1/p' \
    daemon/main.c >"$tmp/cmds"
[ -s "$tmp/cmds" ] || fail "no command table found in daemon/main.c"
n=0
while read -r c; do
	n=$((n + 1))
	grep -Eq "^\.It Cm $c( |\$)" "$m8" ||
		fail "command \"$c\" of daemon/main.c has no entry in $m8"
	grep -Eq "^\.Cm ([a-z]+ \| )*$c( |\$)" "$m8" ||
		fail "command \"$c\" of daemon/main.c is not in the synopsis"
done <"$tmp/cmds"
echo "checked $n commands of daemon/main.c"

# Long options of main.c: { "dry-run", no_argument, ... }
sed -n 's/^[[:space:]]*{[[:space:]]*"\([a-z][a-z0-9-]*\)",[[:space:]]*[a-z_]*_argument,.*/\1/p' \
    daemon/main.c >"$tmp/opts"
[ -s "$tmp/opts" ] || fail "no long options found in daemon/main.c"
n=0
while read -r o; do
	n=$((n + 1))
	e=$(printf '%s\n' "$o" | sed 's/-/\\\\-/g')
	grep -Eq "Fl \\\\-$e( |\$)" "$m8" ||
		fail "option --$o of daemon/main.c is not in $m8"
done <"$tmp/opts"
echo "checked $n long options of daemon/main.c"

exit $bad
