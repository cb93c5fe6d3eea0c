#!/bin/sh
# Install the Debian packages lethe's build and tests need, when missing.
# Runs apt-get only as root and only for what is absent; says what it does.
# LETHE_EXTRA_DEPS: more packages (make test: fail2ban; check-long: clang).
set -u
need=""
pkg-config --exists libevent 2>/dev/null || need="$need libevent-dev"
pkg-config --exists libpcre2-8 2>/dev/null || need="$need libpcre2-dev"
pkg-config --exists zlib 2>/dev/null || need="$need zlib1g-dev"
pkg-config --exists nettle 2>/dev/null || need="$need nettle-dev"
pkg-config --exists relp 2>/dev/null || need="$need librelp-dev"
# the receiver of tests/e2e/56-sender.py (rsysloglib.py): imrelp, imtcp, imptcp
command -v rsyslogd >/dev/null 2>&1 || need="$need rsyslog"
dpkg -s rsyslog-relp >/dev/null 2>&1 || need="$need rsyslog-relp"
# GoAccess reads the mirror in 57-mirror (84-goaccess would install it
# later, too late for 57 on a fresh machine)
command -v goaccess >/dev/null 2>&1 || need="$need goaccess"
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
command -v cc >/dev/null 2>&1 || need="$need gcc"
command -v python3 >/dev/null 2>&1 || need="$need python3"
command -v gzip >/dev/null 2>&1 || need="$need gzip"
[ -d /usr/share/zoneinfo ] || need="$need tzdata"
for extra in ${LETHE_EXTRA_DEPS:-}; do
	dpkg -s "$extra" >/dev/null 2>&1 || need="$need $extra"
done
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing:$need; install them (apt-get install$need) or run as root" >&2
	exit 1
fi
echo "deps: installing$need"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q $need >/tmp/lethe-apt.log 2>&1; then
	apt-get update -q >>/tmp/lethe-apt.log 2>&1
	apt-get install -y -q $need >>/tmp/lethe-apt.log 2>&1 || {
		echo "deps: apt-get install$need failed; see /tmp/lethe-apt.log" >&2
		tail -5 /tmp/lethe-apt.log >&2
		exit 1
	}
fi
