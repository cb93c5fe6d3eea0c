# lethe: plain GNU make.  User CFLAGS/LDFLAGS are appended, never replaced.
#   make                 build ./lethe (in $(O))
#   make test            install missing build deps (root), build, run every test
#   make run             build, then show lethe at work on a demo directory
#   make SANITIZE=address,undefined test
#   make CC=clang

PREFIX		?= /usr/local
SBINDIR		?= $(PREFIX)/sbin
SYSCONFDIR	?= /etc
MANDIR		?= $(PREFIX)/share/man
UNITDIR		?= /lib/systemd/system

PKGS		:= libevent libpcre2-8 zlib nettle relp
SANITIZE	?=
ifeq ($(SANITIZE),)
O		?= build
else
O		?= build-san
endif

PKG_CFLAGS	:= $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS	:= $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN		:= -Wall -Wextra -Wformat=2 -Wshadow -Wcast-qual -Wpointer-arith \
		   -Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations \
		   -Wwrite-strings -Wvla -Wdeclaration-after-statement -fno-common \
		   -Werror
HARDEN		:= -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
LDHARDEN	:= -pie -Wl,-z,relro,-z,now
ALL_CFLAGS	:= -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) $(HARDEN) \
		   -DLETHE_CONF='"$(SYSCONFDIR)/lethe/lethe.conf"' \
		   $(PKG_CFLAGS) -MMD -MP $(CFLAGS)
ALL_LDFLAGS	:= $(LDHARDEN) $(LDFLAGS)
ifneq ($(SANITIZE),)
ALL_CFLAGS	+= -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
ALL_LDFLAGS	+= -fsanitize=$(SANITIZE)
endif
LIBS		:= $(PKG_LIBS) -lm -pthread

SRCS		:= $(wildcard daemon/*.c)
LIBSRCS		:= $(filter-out daemon/main.c,$(SRCS))
OBJS		:= $(SRCS:daemon/%.c=$(O)/%.o)
LIBOBJS		:= $(LIBSRCS:daemon/%.c=$(O)/%.o)
UNIT_SRCS	:= $(wildcard tests/unit/test_*.c)
UNIT_BINS	:= $(UNIT_SRCS:tests/unit/%.c=$(O)/%)
FUZZ_SRCS	:= $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY	:= $(FUZZ_SRCS:tests/fuzz/%.c=$(O)/%-replay)
FUZZ_BINS	:= $(FUZZ_SRCS:tests/fuzz/%.c=build-fuzz/%)

LETHE		:= $(O)/lethe

.PHONY: all deps test unit e2e fuzz-replay fuzz run bench clean lint install uninstall

all: $(LETHE)

$(O):
	@mkdir -p $(O)

# V=1 shows the full commands.
ifeq ($(V),1)
Q :=
else
Q := @
endif

$(O)/%.o: daemon/%.c | $(O)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LETHE): $(OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(OBJS) $(LIBS)

$(O)/test_%: tests/unit/test_%.c tests/unit/t.h $(LIBOBJS)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -Idaemon $(ALL_LDFLAGS) -o $@ $< $(LIBOBJS) $(LIBS)

# sender-drive: daemon/sender.c driven from stdin (tests/e2e/56-sender.py).
DRIVE		:= $(O)/sender-drive

$(DRIVE): tests/e2e/sender_drive.c $(LIBOBJS)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -Idaemon $(ALL_LDFLAGS) -o $@ $< $(LIBOBJS) $(LIBS)

$(O)/fuzz_%-replay: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(LIBOBJS)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -Idaemon $(ALL_LDFLAGS) -o $@ $< tests/fuzz/replay.c $(LIBOBJS) $(LIBS)

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIBSRCS)
	@mkdir -p build-fuzz
	clang -std=c11 -D_GNU_SOURCE -g -O1 -Idaemon $(PKG_CFLAGS) \
	    -fsanitize=fuzzer,address,undefined -o $@ $< $(LIBSRCS) $(LIBS)

# Debian build dependencies: installed with apt-get when missing (as root).
deps:
	@sh tests/deps.sh

unit: $(UNIT_BINS)
	@sh tests/unit/run.sh $(UNIT_BINS)
	@python3 tests/unit/addr_equiv.py $(O)/test_addr --cases tests/unit/addr_cases.txt
	@python3 tests/unit/tz_equiv.py $(O)/test_tz

fuzz-replay: $(FUZZ_REPLAY)
	@sh tests/fuzz/replay.sh $(O)

# E2E_SANITIZE: the sanitizer pass (tests/e2e/passlib.py) runs the same
# checks with fewer repetitions; the normal pass runs the full figures.
e2e: $(LETHE) $(DRIVE)
	@LETHE=$(abspath $(LETHE)) E2E_SANITIZE='$(SANITIZE)' sh tests/e2e/run.sh

# fail2ban: the package 47-fail2ban drives (a fail2ban-server with its own
# config), as root only: the test needs root and skips without it.
test: deps
	@[ "$$(id -u)" != 0 ] || LETHE_EXTRA_DEPS=fail2ban sh tests/deps.sh
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit fuzz-replay e2e

fuzz: $(FUZZ_BINS)
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS)

# fault: lethe with the fault seam of daemon/fsio.c (LETHE_FAULT, never in
# a normal build) as build-fault/lethe, for tests/e2e/78-faults.py and the
# seam tests; with SANITIZE, a sanitizer build of it as build-fault-san/
# (objects of one kind per directory: make cannot see a change of flags).
.PHONY: fault
fault:
	@$(MAKE) --no-print-directory O=build-fault$(if $(SANITIZE),-san) \
	    CFLAGS='$(CFLAGS) -DLETHE_FAULT_SEAM' all

# check-long: the long runs (.ci/run calls it after make test): every
# libFuzzer target for FUZZ_SECONDS (default 60) each, the masking
# equivalence over 200,000 random addresses, and the daemon's soak over
# 2,000 simulated hours (tests/long/soak.py).  About 8 minutes.
.PHONY: check-long
check-long: deps
	@LETHE_EXTRA_DEPS=clang sh tests/deps.sh
	@$(MAKE) --no-print-directory all $(O)/test_addr
	@$(MAKE) --no-print-directory fuzz
	@python3 tests/unit/addr_equiv.py $(O)/test_addr -n 200000
	@LETHE=$(abspath $(LETHE)) python3 tests/long/soak.py

run: deps
	@$(MAKE) --no-print-directory all
	@LETHE=$(abspath $(LETHE)) sh tests/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all $(DRIVE)
	@LETHE=$(abspath $(LETHE)) sh tests/bench/bench.sh

lint:
	clang-tidy $(SRCS) -- -std=c11 -D_GNU_SOURCE $(PKG_CFLAGS)
	cppcheck --quiet --enable=warning,portability --error-exitcode=1 daemon

# install/uninstall: DESTDIR for staging (packages), the directories above.
# The config goes in once: over an existing one only lethe.conf.example.
INSTALL		?= install
MANS		:= $(wildcard man/*.[1-8])
UNIT_SED	= -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'
CONFDIR		= $(DESTDIR)$(SYSCONFDIR)/lethe
# fail2ban's action (banaction = lethe-hold): fail2ban looks only in its
# action.d; local changes go in lethe-hold.local, so it is replaced freely.
F2BDIR		= $(DESTDIR)$(SYSCONFDIR)/fail2ban/action.d
F2B_SED		= -e 's|^lethe = .*|lethe = $(SBINDIR)/lethe|' \
		  -e 's|^config = .*|config = $(SYSCONFDIR)/lethe/lethe.conf|'

install: all
	$(INSTALL) -D -m 755 $(LETHE) "$(DESTDIR)$(SBINDIR)/lethe"
	$(INSTALL) -d -m 755 "$(DESTDIR)$(UNITDIR)"
	sed $(UNIT_SED) systemd/lethe.service.in >"$(DESTDIR)$(UNITDIR)/lethe.service.tmp"
	chmod 644 "$(DESTDIR)$(UNITDIR)/lethe.service.tmp"
	mv -f "$(DESTDIR)$(UNITDIR)/lethe.service.tmp" "$(DESTDIR)$(UNITDIR)/lethe.service"
	@[ -d "$(CONFDIR)" ] || { echo "$(INSTALL) -d -m 755 $(CONFDIR)"; \
	    $(INSTALL) -d -m 755 "$(CONFDIR)"; }
	@if [ -e "$(CONFDIR)/lethe.conf" ] || [ -L "$(CONFDIR)/lethe.conf" ]; then \
		echo "$(CONFDIR)/lethe.conf exists: left alone, new one as lethe.conf.example"; \
		echo "$(INSTALL) -m 644 conf/lethe.conf $(CONFDIR)/lethe.conf.example"; \
		$(INSTALL) -m 644 conf/lethe.conf "$(CONFDIR)/lethe.conf.example"; \
	else \
		echo "$(INSTALL) -m 640 conf/lethe.conf $(CONFDIR)/lethe.conf"; \
		$(INSTALL) -m 640 conf/lethe.conf "$(CONFDIR)/lethe.conf"; \
	fi
	$(INSTALL) -d -m 755 "$(F2BDIR)"
	sed $(F2B_SED) conf/fail2ban/lethe-hold.conf >"$(F2BDIR)/lethe-hold.conf.tmp"
	chmod 644 "$(F2BDIR)/lethe-hold.conf.tmp"
	mv -f "$(F2BDIR)/lethe-hold.conf.tmp" "$(F2BDIR)/lethe-hold.conf"
	@for m in $(MANS); do \
		d="$(DESTDIR)$(MANDIR)/man$${m##*.}"; \
		echo "$(INSTALL) -D -m 644 $$m $$d/$${m##*/}"; \
		$(INSTALL) -D -m 644 "$$m" "$$d/$${m##*/}" || exit 1; \
	done

# Removes what install put there; a config that differs from conf/ stays.
uninstall:
	rm -f "$(DESTDIR)$(SBINDIR)/lethe" "$(DESTDIR)$(UNITDIR)/lethe.service" \
	    "$(CONFDIR)/lethe.conf.example"
	@if [ -f "$(CONFDIR)/lethe.conf" ]; then \
		if cmp -s conf/lethe.conf "$(CONFDIR)/lethe.conf"; then \
			echo "rm -f $(CONFDIR)/lethe.conf"; \
			rm -f "$(CONFDIR)/lethe.conf"; \
		else \
			echo "$(CONFDIR)/lethe.conf was changed: left alone"; \
		fi; \
	fi
	@rmdir "$(CONFDIR)" 2>/dev/null || true
	rm -f "$(F2BDIR)/lethe-hold.conf"
	@rmdir "$(F2BDIR)" "$(DESTDIR)$(SYSCONFDIR)/fail2ban" 2>/dev/null || true
	@for m in $(MANS); do \
		f="$(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/}"; \
		echo "rm -f $$f"; rm -f "$$f"; \
	done

clean:
	rm -rf build build-san build-fuzz build-fault build-fault-san build-clang

# deb: the Debian package (debian/), built by dpkg-buildpackage -us -uc -b in
# a temporary copy of the tree (dpkg-buildpackage writes its results beside
# the tree it builds, and "debian/rules clean" runs "make clean"): the files
# git tracks or would track (the whole tree but build dirs without .git).
# The .deb files go in $(O)/, and their paths are printed; then lintian (when
# installed) checks them and fails the target on errors (with TMPDIR in the
# temporary directory: lintian leaves files behind in it).  Installs missing
# build dependencies with apt-get (as root).
.PHONY: deb
deb:
	@if ! command -v dpkg-buildpackage >/dev/null 2>&1 || \
	    ! dpkg-checkbuilddeps debian/control >/dev/null 2>&1; then \
		need="build-essential dpkg-dev debhelper libevent-dev libpcre2-dev librelp-dev nettle-dev zlib1g-dev pkg-config"; \
		if [ "$$(id -u)" != 0 ]; then \
			echo "deb: missing build dependencies: apt-get install $$need (as root)" >&2; \
			exit 1; \
		fi; \
		echo "deb: apt-get install $$need"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get -o DPkg::Lock::Timeout=300 install -y -q $$need || \
		{ apt-get -o DPkg::Lock::Timeout=300 update -q && \
		  apt-get -o DPkg::Lock::Timeout=300 install -y -q $$need; } || exit 1; \
	fi
	@set -e; t=$$(mktemp -d); trap 'rm -rf "$$t"' EXIT; trap 'exit 1' INT TERM; \
	mkdir "$$t/lethe"; \
	if [ -d .git ] && command -v git >/dev/null 2>&1; then \
		git ls-files --cached --others --exclude-standard | \
		while IFS= read -r f; do [ -e "$$f" ] && printf '%s\n' "$$f"; done | \
		tar -cf - --verbatim-files-from -T - | tar -xf - -C "$$t/lethe"; \
	else \
		tar -cf - --exclude=./.git --exclude='./build*' --exclude=./demo \
		    --exclude=./lethe --exclude='*.o' --exclude='*.d' \
		    --exclude=__pycache__ . | tar -xf - -C "$$t/lethe"; \
	fi; \
	echo "deb: dpkg-buildpackage -us -uc -b in $$t/lethe"; \
	(cd "$$t/lethe" && dpkg-buildpackage -us -uc -b); \
	mkdir -p "$(O)"; \
	for f in "$$t"/*.deb; do \
		cp "$$f" "$(O)/"; echo "deb: $(O)/$${f##*/}"; \
	done; \
	if command -v lintian >/dev/null 2>&1; then \
		echo "deb: lintian"; TMPDIR="$$t" lintian "$$t"/lethe_*.changes; \
	fi

-include $(OBJS:.o=.d) $(UNIT_BINS:=.d) $(DRIVE).d
