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

PKGS		:= libevent libpcre2-8 zlib
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

$(O)/%.o: daemon/%.c | $(O)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LETHE): $(OBJS)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(OBJS) $(LIBS)
	@ln -sf $(O)/lethe lethe

$(O)/test_%: tests/unit/test_%.c tests/unit/t.h $(LIBOBJS)
	$(CC) $(ALL_CFLAGS) -Idaemon $(ALL_LDFLAGS) -o $@ $< $(LIBOBJS) $(LIBS)

$(O)/fuzz_%-replay: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(LIBOBJS)
	$(CC) $(ALL_CFLAGS) -Idaemon $(ALL_LDFLAGS) -o $@ $< tests/fuzz/replay.c $(LIBOBJS) $(LIBS)

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIBSRCS)
	@mkdir -p build-fuzz
	clang -std=c11 -D_GNU_SOURCE -g -O1 -Idaemon $(PKG_CFLAGS) \
	    -fsanitize=fuzzer,address,undefined -o $@ $< $(LIBSRCS) $(LIBS)

# Debian build dependencies: installed with apt-get when missing (as root).
deps:
	@sh tests/deps.sh

unit: $(UNIT_BINS)
	@sh tests/unit/run.sh $(UNIT_BINS)

fuzz-replay: $(FUZZ_REPLAY)
	@sh tests/fuzz/replay.sh $(O)

e2e: $(LETHE)
	@LETHE=$(abspath $(LETHE)) sh tests/e2e/run.sh

test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit fuzz-replay e2e

fuzz: $(FUZZ_BINS)
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS)

run: deps
	@$(MAKE) --no-print-directory all
	@LETHE=$(abspath $(LETHE)) sh tests/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@LETHE=$(abspath $(LETHE)) sh tests/bench/bench.sh

lint:
	clang-tidy $(SRCS) -- -std=c11 -D_GNU_SOURCE $(PKG_CFLAGS)
	cppcheck --quiet --enable=warning,portability --error-exitcode=1 daemon

clean:
	rm -rf build build-san build-fuzz lethe

-include $(OBJS:.o=.d) $(UNIT_BINS:=.d)
