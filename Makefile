# relayguard - GNU make
#
#   make              configure if needed, then build into build/
#   make run          install missing packages, build, run in the foreground
#   make check        install test packages, build, run every test (also
#                     under AddressSanitizer + UndefinedBehaviorSanitizer,
#                     and under ThreadSanitizer)
#   make check-unit | check-integration | check-asan | check-tsan
#   make check-valgrind  integration tests (VALGRIND_TESTS) with the daemon
#                     under valgrind memcheck: memory errors and definite
#                     leaks fail the test (not part of check)
#   make install      DESTDIR=... prefix=/usr/local
#                     (relayguard, relayguard-audit, their manual pages)
#   make lint         forbidden calls, cppcheck
#   make bench        build tests/bench/milterload, run the benchmark suite
#                     (not part of check; see BENCHMARKS.md); installs the
#                     peers it compares with first (make deps-bench)
#   make check-fuzz   replay the fuzz corpora and crash reproducers
#                     (tests/fuzz/; check does it for each build)
#   make fuzz         clang + libFuzzer: fuzz each target FUZZ_TIME seconds
#                     (default 600), FUZZ_TARGETS="address conf ..." to
#                     choose; new inputs go to build-fuzz/corpus/, crashes
#                     to tests/fuzz/regressions/<target>/ (and it fails)
#
# BUILD names the build directory; SAN=1 builds with ASan + UBSan,
# SAN=thread with ThreadSanitizer (make check uses build-asan, build-tsan).

BUILD ?= build
SAN ?=
V ?=
Q = $(if $(V),,@)
# config.mk is read only when it exists, so that a fresh clone does not
# try to run configure before `make deps` has installed autoconf.
ifneq ($(wildcard config.mk),)
include config.mk
endif

VERSION ?= 0.0
prefix ?= /usr/local
sbindir ?= $(prefix)/sbin
sysconfdir ?= /etc
mandir ?= $(prefix)/share/man

WARN = -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wvla
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=gnu11 $(CFLAGS) $(WARN) -D_GNU_SOURCE -pthread \
	-DRG_VERSION='"$(VERSION)"' -DRG_SYSCONFDIR='"$(sysconfdir)"' \
	-I/usr/include/libmilter -MMD -MP
# -DHAVE_SYSTEMD when configure found libsystemd (sd_notify)
ALL_CFLAGS += $(SYSTEMD_CFLAGS)
ifeq ($(SAN),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
# FUZZ=1 (make fuzz, with CC=clang): the library instrumented for libFuzzer
ifeq ($(FUZZ),1)
ALL_CFLAGS += -fsanitize=fuzzer-no-link,address,undefined \
	-fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif
# ThreadSanitizer cannot be combined with ASan; -O1 keeps the reports'
# stacks close to the source at a bearable speed
ifeq ($(SAN),thread)
ALL_CFLAGS += -fsanitize=thread -fno-omit-frame-pointer -O1
LDFLAGS += -fsanitize=thread
endif

POLICY_SRC = $(wildcard policy/*.c)
MILTER_SRC = $(wildcard milter/*.c)
UNIT_SRC = $(wildcard tests/unit/*_test.c)
AUDIT_SRC = $(wildcard tools/audit/*.c)
FUZZ_SRC = $(wildcard tests/fuzz/*_fuzz.c)

POLICY_OBJ = $(POLICY_SRC:%.c=$(BUILD)/%.o)
MILTER_OBJ = $(MILTER_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN = $(UNIT_SRC:%.c=$(BUILD)/%)
FUZZ_OBJ = $(FUZZ_SRC:%.c=$(BUILD)/%.o) $(BUILD)/tests/fuzz/replay.o
# each target linked with the replay driver (every build), or with
# libFuzzer (make fuzz)
REPLAY_BIN = $(FUZZ_SRC:tests/fuzz/%_fuzz.c=$(BUILD)/tests/fuzz/%_replay)
FUZZ_BIN = $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/tests/fuzz/%)
LIBPOLICY = $(BUILD)/libpolicy.a
# the relay-abuse list is compiled into relayguard-audit
AUDIT_GEN = $(BUILD)/gen/audit_battery.c
AUDIT_OBJ = $(AUDIT_SRC:%.c=$(BUILD)/%.o) $(AUDIT_GEN:.c=.o)
AUDIT_LIBS = $(SSL_LIBS) $(CRYPTO_LIBS)

LIBS_ALL = $(MILTER_LIBS) $(SPF2_LIBS) $(DKIM_LIBS) $(DMARC_LIBS) \
	$(HIREDIS_LIBS) $(UNBOUND_LIBS) $(PSL_LIBS) $(IDN2_LIBS) $(CRYPTO_LIBS) \
	$(MHD_LIBS) $(SYSTEMD_LIBS) \
	$(SYS_LIBS) -lpthread
POLICY_LIBS = $(SPF2_LIBS) $(DKIM_LIBS) $(DMARC_LIBS) $(HIREDIS_LIBS) \
	$(UNBOUND_LIBS) $(PSL_LIBS) $(IDN2_LIBS) $(CRYPTO_LIBS) $(SYS_LIBS) -lpthread

.PHONY: all conf deps deps-test deps-bench run check check-unit \
	check-integration check-asan check-tsan check-valgrind check-fuzz fuzz \
	fuzz-bins install lint clean distclean

ifeq ($(wildcard config.mk),)
all: config.mk
	$(MAKE) all
else
all: $(BUILD)/relayguard $(BUILD)/relayguard-audit $(BUILD)/relayguardctl \
	$(UNIT_BIN) $(REPLAY_BIN) $(BUILD)/tools/mkconf $(BUILD)/tests/bench/milterload \
	$(BUILD)/tests/bench/nullfilter
endif

# the shipped default configuration, generated from the parameter tables
conf: $(BUILD)/tools/mkconf
	$(BUILD)/tools/mkconf > contrib/relayguard.conf

$(BUILD)/tools/mkconf: tools/mkconf.c $(LIBPOLICY)
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBPOLICY) $(POLICY_LIBS)

config.mk: configure config.mk.in
	./configure --sysconfdir=/etc --prefix=/usr/local

configure: configure.ac
	autoconf

$(BUILD)/%.o: %.c config.mk
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBPOLICY): $(POLICY_OBJ)
	@rm -f $@
	@$(if $(V),,echo "  AR      $@")
	$(Q)ar rcs $@ $^

$(BUILD)/relayguard: $(MILTER_OBJ) $(LIBPOLICY)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(MILTER_OBJ) $(LIBPOLICY) $(LIBS_ALL)

# the admin tool: policy code only (the counter store and kvadmin.c)
$(BUILD)/relayguardctl: tools/relayguardctl.c $(LIBPOLICY)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBPOLICY) $(POLICY_LIBS)

$(BUILD)/tests/unit/%_test: tests/unit/%_test.c tests/unit/rgtest.h tests/unit/rgtest_conf.h $(LIBPOLICY)
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Ipolicy -o $@ $< $(LIBPOLICY) $(POLICY_LIBS)

# relayguard-audit: the tool, its parts, and the list it carries. The list
# becomes a byte array (od is in coreutils), parsed at run time by the same
# code that reads --battery FILE.
$(AUDIT_GEN): tests/data/relay-abuse.txt
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  GEN     $@")
	$(Q){ echo '/* generated from $< by the Makefile: do not edit */'; \
	  echo '#include <stddef.h>'; \
	  echo 'extern const unsigned char rg_audit_battery_data[];'; \
	  echo 'extern const size_t rg_audit_battery_size;'; \
	  echo 'const unsigned char rg_audit_battery_data[] = {'; \
	  od -An -v -tx1 $< | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '};'; \
	  echo 'const size_t rg_audit_battery_size = sizeof(rg_audit_battery_data);'; \
	} >$@.tmp && mv $@.tmp $@

$(AUDIT_GEN:.c=.o): $(AUDIT_GEN) config.mk
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/relayguard-audit: $(BUILD)/tools/relayguard-audit.o $(AUDIT_OBJ) $(LIBPOLICY)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(BUILD)/tools/relayguard-audit.o \
		$(AUDIT_OBJ) $(LIBPOLICY) $(POLICY_LIBS) $(AUDIT_LIBS)

$(BUILD)/tests/unit/audit_test: tests/unit/audit_test.c tests/unit/rgtest.h \
		$(AUDIT_OBJ) $(LIBPOLICY)
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Ipolicy -Itools/audit -o $@ $< \
		$(AUDIT_OBJ) $(LIBPOLICY) $(POLICY_LIBS) $(AUDIT_LIBS)

# the semantics both counter stores share are a header of their tests
$(BUILD)/tests/unit/kv_mem_test $(BUILD)/tests/unit/kv_redis_test: tests/unit/kv_suite.h
$(BUILD)/tests/unit/ratelimit_test $(BUILD)/tests/unit/greylist_test \
$(BUILD)/tests/unit/lockout_test $(BUILD)/tests/unit/kvadmin_test: \
	tests/unit/limits_fixture.h

# Fuzz targets: tests/fuzz/<name>_fuzz.c, seeds in tests/fuzz/corpus/<name>/
$(BUILD)/tests/fuzz/%.o: ALL_CFLAGS += -Ipolicy

$(BUILD)/tests/fuzz/%_replay: $(BUILD)/tests/fuzz/%_fuzz.o \
		$(BUILD)/tests/fuzz/replay.o $(LIBPOLICY)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(POLICY_LIBS)

$(BUILD)/tests/fuzz/%_fuzz: $(BUILD)/tests/fuzz/%_fuzz.o $(LIBPOLICY)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -fsanitize=fuzzer,address,undefined \
		-o $@ $^ $(POLICY_LIBS)

fuzz-bins: $(FUZZ_BIN)
.SECONDARY: $(FUZZ_OBJ)

# the replays alone (check runs them with the unit tests); a failure shows
# the end of the target's log, where the input and the problem are named
check-fuzz: all
	$(Q)rc=0; for t in $(REPLAY_BIN); do \
		if $$t >$$t.out 2>$$t.stderr; then \
			echo "$$(basename $$t): $$(tail -n 1 $$t.out)"; \
		else \
			cat $$t.out; tail -n 20 $$t.stderr; rc=1; \
		fi; \
	done; exit $$rc

# FUZZ_TIME seconds per target; FUZZ_TARGETS names some ("address conf")
FUZZ_TIME ?= 600
FUZZ_TARGETS ?=
fuzz: config.mk
	$(MAKE) BUILD=build-fuzz CC=clang FUZZ=1 fuzz-bins
	FUZZ_TIME=$(FUZZ_TIME) FUZZ_TARGETS="$(FUZZ_TARGETS)" \
		tests/fuzz/fuzz.sh build-fuzz

# Benchmarks: never part of check. BENCH_ARGS selects parts (e2e, load,
# memory, scaling); ROUNDS, MESSAGES, SESSIONS, SIZES tune them.
.PHONY: bench bench-tools
bench-tools: $(BUILD)/tests/bench/milterload $(BUILD)/tests/bench/nullfilter

$(BUILD)/tests/bench/milterload: tests/bench/milterload.c config.mk
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< -lpthread

# nullfilter asks for relayguard's own macro lists (milter/macro_lists.c)
$(BUILD)/tests/bench/nullfilter: tests/bench/nullfilter.c $(BUILD)/milter/macro_lists.o config.mk
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/milter/macro_lists.o $(MILTER_LIBS) -lpthread

bench: deps-bench
	$(MAKE) all bench-tools
	RG_BIN=$(CURDIR)/$(BUILD)/relayguard \
	MILTERLOAD=$(CURDIR)/$(BUILD)/tests/bench/milterload \
	NULLFILTER=$(CURDIR)/$(BUILD)/tests/bench/nullfilter \
		tests/bench/run.sh $(BENCH_ARGS)

deps:
	tools/install-deps.sh build

deps-test:
	tools/install-deps.sh test

# the peers make bench measures against (OpenDKIM, OpenDMARC, rspamd)
deps-bench:
	tools/install-deps.sh bench

run: deps
	$(MAKE) all
	$(BUILD)/relayguard -f -c contrib/relayguard.conf

# The whole suite: unit and integration tests on the normal build, then
# both again on each sanitizer build. The last line counts every test.
check: deps-test
	$(MAKE) all
	$(MAKE) BUILD=build-asan SAN=1 all
	$(MAKE) BUILD=build-tsan SAN=thread all
	tools/lint.sh
	tests/check.sh build build-asan build-tsan

check-unit: all
	tests/unit/run.sh $(BUILD)

check-integration: all
	RG_BIN=$(CURDIR)/$(BUILD)/relayguard tests/integration/run.sh

check-asan:
	$(MAKE) BUILD=build-asan SAN=1 all
	tests/check.sh build-asan

check-tsan:
	$(MAKE) BUILD=build-tsan SAN=thread all
	tests/check.sh build-tsan

# The daemon of the normal build under memcheck; lib.sh checks the log
# valgrind writes (errors, and definite leaks, fail the test). Suppressions
# in tests/valgrind.supp are for libraries we link only. RG_SLOW stretches
# the daemon's start and stop waits.
VALGRIND_TESTS ?= pass dkim spf dnsbl ratelimit_redis reload
VALGRIND ?= valgrind --leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite --error-exitcode=99 --num-callers=30 --vgdb=no \
	--suppressions=$(CURDIR)/tests/valgrind.supp
check-valgrind: deps-test
	$(MAKE) all
	RG_BIN=$(CURDIR)/$(BUILD)/relayguard RG_SLOW=4 \
	RG_WRAP='$(VALGRIND) --log-file=$$T/valgrind.%p.log' \
		tests/integration/run.sh $(VALGRIND_TESTS)

install: $(BUILD)/relayguard $(BUILD)/relayguard-audit $(BUILD)/relayguardctl
	install -d $(DESTDIR)$(sbindir) $(DESTDIR)$(mandir)/man8 \
		$(DESTDIR)$(mandir)/man5 $(DESTDIR)$(sysconfdir)/relayguard
	install -m 755 $(BUILD)/relayguard $(DESTDIR)$(sbindir)/relayguard
	install -m 755 $(BUILD)/relayguard-audit $(DESTDIR)$(sbindir)/relayguard-audit
	install -m 755 $(BUILD)/relayguardctl $(DESTDIR)$(sbindir)/relayguardctl
	install -m 644 man/relayguard.8 $(DESTDIR)$(mandir)/man8/
	install -m 644 man/relayguard-audit.8 $(DESTDIR)$(mandir)/man8/
	install -m 644 man/relayguardctl.8 $(DESTDIR)$(mandir)/man8/
	install -m 644 man/relayguard.conf.5 $(DESTDIR)$(mandir)/man5/
	test -e $(DESTDIR)$(sysconfdir)/relayguard/relayguard.conf || \
		install -m 640 contrib/relayguard.conf $(DESTDIR)$(sysconfdir)/relayguard/

lint:
	tools/lint.sh

clean:
	rm -rf build build-asan build-tsan build-fuzz

distclean: clean
	rm -rf config.mk config.log config.status configure autom4te.cache

-include $(POLICY_OBJ:.o=.d) $(MILTER_OBJ:.o=.d) $(UNIT_BIN:=.d) $(FUZZ_OBJ:.o=.d) \
	$(AUDIT_OBJ:.o=.d) $(BUILD)/tools/relayguard-audit.d $(BUILD)/relayguardctl.d \
	$(BUILD)/tests/bench/milterload.d $(BUILD)/tests/bench/nullfilter.d
