# relayguard - GNU make
#
#   make              configure if needed, then build into build/
#   make run          install missing packages, build, run in the foreground
#   make check        install test packages, build, run every test (also
#                     under AddressSanitizer + UndefinedBehaviorSanitizer)
#   make check-unit | check-integration | check-asan
#   make install      DESTDIR=... prefix=/usr/local
#   make lint         forbidden calls, cppcheck
#
# BUILD names the build directory; SAN=1 builds with ASan + UBSan.

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
ifeq ($(SAN),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

POLICY_SRC = $(wildcard policy/*.c)
MILTER_SRC = $(wildcard milter/*.c)
UNIT_SRC = $(wildcard tests/unit/*_test.c)

POLICY_OBJ = $(POLICY_SRC:%.c=$(BUILD)/%.o)
MILTER_OBJ = $(MILTER_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN = $(UNIT_SRC:%.c=$(BUILD)/%)
LIBPOLICY = $(BUILD)/libpolicy.a

LIBS_ALL = $(MILTER_LIBS) $(SPF2_LIBS) $(DKIM_LIBS) $(DMARC_LIBS) \
	$(HIREDIS_LIBS) $(UNBOUND_LIBS) $(PSL_LIBS) $(SYS_LIBS) -lpthread
POLICY_LIBS = $(SPF2_LIBS) $(DKIM_LIBS) $(DMARC_LIBS) $(HIREDIS_LIBS) \
	$(UNBOUND_LIBS) $(PSL_LIBS) $(SYS_LIBS) -lpthread

.PHONY: all conf deps deps-test run check check-unit check-integration check-asan \
	install lint clean distclean

ifeq ($(wildcard config.mk),)
all: config.mk
	$(MAKE) all
else
all: $(BUILD)/relayguard $(BUILD)/relayguardctl $(UNIT_BIN) $(BUILD)/tools/mkconf
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

$(BUILD)/tests/unit/%_test: tests/unit/%_test.c tests/unit/rgtest.h $(LIBPOLICY)
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Ipolicy -o $@ $< $(LIBPOLICY) $(POLICY_LIBS)

# the semantics both counter stores share are a header of their tests
$(BUILD)/tests/unit/kv_mem_test $(BUILD)/tests/unit/kv_redis_test: tests/unit/kv_suite.h
$(BUILD)/tests/unit/ratelimit_test $(BUILD)/tests/unit/greylist_test \
$(BUILD)/tests/unit/lockout_test $(BUILD)/tests/unit/kvadmin_test: \
	tests/unit/limits_fixture.h

deps:
	tools/install-deps.sh build

deps-test:
	tools/install-deps.sh test

run: deps
	$(MAKE) all
	$(BUILD)/relayguard -f -c contrib/relayguard.conf

# The whole suite: unit and integration tests on the normal build, then
# both again on a sanitizer build. The last line counts every test.
check: deps-test
	$(MAKE) all
	$(MAKE) BUILD=build-asan SAN=1 all
	tests/check.sh build build-asan

check-unit: all
	tests/unit/run.sh $(BUILD)

check-integration: all
	RG_BIN=$(CURDIR)/$(BUILD)/relayguard tests/integration/run.sh

check-asan:
	$(MAKE) BUILD=build-asan SAN=1 all
	tests/check.sh build-asan

install: $(BUILD)/relayguard $(BUILD)/relayguardctl
	install -d $(DESTDIR)$(sbindir) $(DESTDIR)$(mandir)/man8 \
		$(DESTDIR)$(mandir)/man5 $(DESTDIR)$(sysconfdir)/relayguard
	install -m 755 $(BUILD)/relayguard $(DESTDIR)$(sbindir)/relayguard
	install -m 755 $(BUILD)/relayguardctl $(DESTDIR)$(sbindir)/relayguardctl
	install -m 644 man/relayguard.8 $(DESTDIR)$(mandir)/man8/
	install -m 644 man/relayguardctl.8 $(DESTDIR)$(mandir)/man8/
	install -m 644 man/relayguard.conf.5 $(DESTDIR)$(mandir)/man5/
	test -e $(DESTDIR)$(sysconfdir)/relayguard/relayguard.conf || \
		install -m 640 contrib/relayguard.conf $(DESTDIR)$(sysconfdir)/relayguard/

lint:
	tools/lint.sh

clean:
	rm -rf build build-asan

distclean: clean
	rm -rf config.mk config.log config.status configure autom4te.cache

-include $(POLICY_OBJ:.o=.d) $(MILTER_OBJ:.o=.d) $(BUILD)/relayguardctl.d
