# nvpoll top-level Makefile.
#   make            build/libnvpoll.{a,so}, build/nvpoll, build/nvpoll-perf
#   make check      every test: unit tests (cmocka, sim), then guest tests (QEMU)
#   make unit       unit tests only;   make vmtest   guest tests only
#   make bench      the benchmark table (QEMU guest)
#   make asan       unit tests under ASan/UBSan;  make valgrind  under valgrind

CC      ?= cc
O       ?= build
CFLAGS  ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -fPIC -fvisibility=hidden -D_GNU_SOURCE -Iinclude -Ilib
# What libnvpoll itself links: kept in one place for the .pc file, sanitizer and fuzz builds.
DEP_LIBS := -lpthread -lnuma -lpci -luring -laio
LDLIBS  += $(DEP_LIBS)

LIB_SRCS   := $(sort $(wildcard lib/*.c lib/*/*.c))
LIB_OBJS   := $(LIB_SRCS:%.c=$(O)/%.o)
# nvpoll: tools/nvpoll/, main.c and one file per command family.
NVPOLL_SRCS := $(sort $(wildcard tools/nvpoll/*.c))
NVPOLL_OBJS := $(NVPOLL_SRCS:%.c=$(O)/%.o)
# The same files for test_cli: main() as nvpoll_main(), device open/close and writes through its hooks.
CLI_TEST_OBJS := $(NVPOLL_SRCS:tools/nvpoll/%.c=$(O)/test/cli/%.o)
# tools/common: what nvpoll, nvpoll-perf and the fio engine share (JSON strings, number parsing);
# one object linked into each of them (and test_cli), never into libnvpoll.
TOOLS_COMMON_OBJS := $(patsubst %.c,$(O)/%.o,$(sort $(wildcard tools/common/*.c)))
TOOLS_CFLAGS      := -Itools/common
PERF_SRCS  := $(sort $(wildcard bench/perf/*.c))
PERF_OBJS  := $(PERF_SRCS:%.c=$(O)/%.o)
UNIT_SRCS  := $(sort $(wildcard test/unit/test_*.c))
UNIT_BINS  := $(UNIT_SRCS:test/unit/%.c=$(O)/test/%)
VM_SRCS    := $(sort $(wildcard test/vm/*.c))
VM_BINS    := $(VM_SRCS:test/vm/%.c=$(O)/test-vm/%)

# Before 1.0 every minor version may change the ABI (struct nvp_opts grows, for one), so the
# soname carries it: a program linked against 0.2 is refused by 0.3's loader, never handed
# a library that reads past its smaller opts. From 1.0 on, the major version alone.
SONAME_MAJOR := $(shell sed -n 's/^\#define NVP_VERSION_MAJOR //p' include/nvpoll.h)
SONAME_MINOR := $(shell sed -n 's/^\#define NVP_VERSION_MINOR //p' include/nvpoll.h)
SONAME  := libnvpoll.so.$(SONAME_MAJOR)$(if $(filter 0,$(SONAME_MAJOR)),.$(SONAME_MINOR))

all: $(O)/libnvpoll.a $(O)/libnvpoll.so $(O)/nvpoll $(if $(PERF_SRCS),$(O)/nvpoll-perf)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# Every object of tools/ and bench/ finds tool.h by name, as the test of the CLI does.
$(O)/tools/%.o $(O)/bench/%.o: override CFLAGS += $(TOOLS_CFLAGS)

$(O)/libnvpoll.a: $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(O)/libnvpoll.so: $(LIB_OBJS) lib/libnvpoll.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=lib/libnvpoll.map -o $@ $(LIB_OBJS) $(LDLIBS)

$(O)/nvpoll: $(NVPOLL_OBJS) $(TOOLS_COMMON_OBJS) $(O)/libnvpoll.a
	$(CC) -o $@ $(filter %.o,$^) $(O)/libnvpoll.a $(LDLIBS)

$(O)/nvpoll-perf: $(PERF_OBJS) $(TOOLS_COMMON_OBJS) $(O)/libnvpoll.a
	$(CC) -o $@ $(filter %.o,$^) $(O)/libnvpoll.a $(LDLIBS) -lm

# Unit tests link the static library, so they can reach internal functions; -Itest: test/sync_io.h.
# A test that needs more objects names them as prerequisites (test_cli: the nvpoll objects, hooked).
$(O)/test/%: test/unit/%.c $(O)/libnvpoll.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itest $(TOOLS_CFLAGS) -MMD -MP -o $@ $< $(filter %.o,$^) $(O)/libnvpoll.a $(LDLIBS) -lcmocka

$(O)/test/test_cli: $(CLI_TEST_OBJS) $(TOOLS_COMMON_OBJS)
# test_sim_file runs the real CLI twice (write, then read in another process).
$(O)/test/test_sim_file: $(O)/nvpoll
$(O)/test/test_perf_dist: override LDLIBS += -lm

$(O)/test/cli/%.o: tools/nvpoll/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TOOLS_CFLAGS) -DNVPOLL_TEST_HOOKS -MMD -MP -c -o $@ $<

# Guest test programs also run against the sim in the unit suite.
$(O)/test-vm/%: test/vm/%.c $(O)/libnvpoll.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itest -MMD -MP -o $@ $< $(O)/libnvpoll.a $(LDLIBS) -lcmocka

unit: $(UNIT_BINS) $(VM_BINS)
	@test/run-unit.sh $(UNIT_BINS) $(O)/test-vm/vm_rw $(O)/test-vm/vm_unplug $(O)/test-vm/vm_datapath

vmtest: all $(VM_BINS)
	@test/vm/run.sh

deps:
	@scripts/install-deps.sh

# Everything the test targets run, built first in parallel (the tests themselves run one at a time).
BUILD_JOBS ?= $(shell nproc)

check: deps
	$(MAKE) -j$(BUILD_JOBS) test-build
	$(MAKE) all unit
	$(MAKE) abi
	$(MAKE) asan
	$(MAKE) valgrind
	$(MAKE) vmtest

# Sanitizers: a separate build tree so objects never mix.
ASAN_MAKE = $(MAKE) O=$(O)/asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	LDLIBS="$(DEP_LIBS) -fsanitize=address,undefined"
asan:
	$(ASAN_MAKE) -j$(BUILD_JOBS) test-build
	$(ASAN_MAKE) unit

valgrind: $(UNIT_BINS)
	@VALGRIND=1 test/run-unit.sh $(UNIT_BINS)

bench: deps
	$(MAKE) all
	@bench/run.sh

clean:
	rm -rf $(O)

.PHONY: all unit vmtest deps check asan valgrind bench clean
-include $(LIB_OBJS:.o=.d) $(NVPOLL_OBJS:.o=.d) $(CLI_TEST_OBJS:.o=.d) $(TOOLS_COMMON_OBJS:.o=.d) $(PERF_OBJS:.o=.d) $(UNIT_BINS:=.d) $(VM_BINS:=.d)

# ---- Ecosystem: fio ioengine, examples, install, ABI, man pages ----------
#   make fio         build/nvpoll-fio.so, built against the installed fio's own source
#   make examples    build/examples/{hello,async_reader}
#   make install     PREFIX=/usr/local DESTDIR=...;   make uninstall   undoes it
#   make abi         exports, headers (C, C++), man pages, install + out-of-tree examples
# make unit also runs the examples, fio (verify, trim, several jobs) and nvpoll-perf's signal
# handling against the sim.

NVP_MAJOR    := $(shell sed -n 's/^\#define NVP_VERSION_MAJOR //p' include/nvpoll.h)
NVP_MINOR    := $(shell sed -n 's/^\#define NVP_VERSION_MINOR //p' include/nvpoll.h)
PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
SBINDIR      ?= $(PREFIX)/sbin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
MANDIR       ?= $(PREFIX)/share/man
FIO_SRC      ?= $(O)/fio-src
EXAMPLES     := $(patsubst examples/%.c,$(O)/examples/%,$(sort $(wildcard examples/*.c)))
ABI_TESTS    := $(patsubst test/abi/%.sh,$(O)/test-abi/%,$(sort $(wildcard test/abi/*.sh)))
# An ASan build can't be dlopen()ed by fio, nor linked by a plain compiler.
SANITIZED    := $(findstring -fsanitize,$(CFLAGS))

# The fio source of the installed fio's version, configured; refetched when dpkg updates fio.
$(FIO_SRC)/.nvpoll-fio-version: bench/fio/get-fio-src.sh $(wildcard /var/lib/dpkg/info/fio.list)
	bench/fio/get-fio-src.sh $(FIO_SRC)

$(O)/bench/fio/nvpoll-fio.o: bench/fio/nvpoll-fio.c $(FIO_SRC)/.nvpoll-fio-version
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -D_LARGEFILE_SOURCE -D_FILE_OFFSET_BITS=64 -DBITS_PER_LONG=$$(getconf LONG_BIT) \
		-DNVP_FIO_VERSION="\"$$(sed -n 's/^FIO_VERSION = //p' $(FIO_SRC)/FIO-VERSION-FILE)\"" \
		-isystem $(FIO_SRC) -include $(FIO_SRC)/config-host.h -MMD -MP -c -o $@ $<

$(O)/nvpoll-fio.so: $(O)/bench/fio/nvpoll-fio.o $(TOOLS_COMMON_OBJS) $(O)/libnvpoll.a bench/fio/nvpoll-fio.map
	$(CC) -shared -Wl,--version-script=bench/fio/nvpoll-fio.map -o $@ $(filter %.o,$^) $(O)/libnvpoll.a $(LDLIBS)

fio: $(O)/nvpoll-fio.so

$(O)/examples/%: examples/%.c $(O)/libnvpoll.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -o $@ $< $(O)/libnvpoll.a $(LDLIBS)

examples: $(EXAMPLES)

# Each test/abi/NAME.sh runs through test/run-unit.sh as $(O)/test-abi/NAME BUILD-DIR.
$(O)/test-abi/%: test/abi/%.sh
	@mkdir -p $(dir $@)
	@printf '#!/bin/sh\nexec "%s" "%s" "$$@"\n' $(abspath $<) $(abspath $(O)) >$@
	@chmod +x $@

# test/bench/NAME.sh: the host half of make bench (no guest), as $(O)/test-bench/NAME BUILD-DIR.
$(O)/test-bench/%: test/bench/%.sh
	@mkdir -p $(dir $@)
	@printf '#!/bin/sh\nexec "%s" "%s" "$$@"\n' $(abspath $<) $(abspath $(O)) >$@
	@chmod +x $@

unit: unit-ecosystem
unit-ecosystem: $(EXAMPLES) $(O)/test-abi/examples $(if $(SANITIZED),,$(O)/nvpoll-fio.so $(O)/test-abi/fio-sim) \
		$(O)/nvpoll-perf $(O)/test-abi/perf-signals $(O)/test-abi/perf-options $(O)/test-bench/report \
		$(O)/test-bench/plot
	@test/run-unit.sh $(O)/test-abi/examples $(if $(SANITIZED),,$(O)/test-abi/fio-sim) $(O)/test-abi/perf-signals \
		$(O)/test-abi/perf-options $(O)/test-bench/report $(O)/test-bench/plot

abi: all fio $(EXAMPLES) $(ABI_TESTS)
	@test/run-unit.sh $(filter-out %/examples %/fio-sim %/perf-signals %/perf-options,$(ABI_TESTS))

vmtest: fio $(EXAMPLES)

install: all fio
	install -d $(DESTDIR)$(INCLUDEDIR)/nvpoll $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(LIBDIR)/nvpoll \
		$(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man8
	install -m 644 include/nvpoll.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 include/nvpoll/*.h $(DESTDIR)$(INCLUDEDIR)/nvpoll/
	install -m 755 $(O)/libnvpoll.so $(DESTDIR)$(LIBDIR)/libnvpoll.so.$(NVP_MAJOR).$(NVP_MINOR)
	$(if $(filter-out $(SONAME),libnvpoll.so.$(NVP_MAJOR).$(NVP_MINOR)),ln -sfn libnvpoll.so.$(NVP_MAJOR).$(NVP_MINOR) $(DESTDIR)$(LIBDIR)/$(SONAME))
	ln -sfn $(SONAME) $(DESTDIR)$(LIBDIR)/libnvpoll.so
	install -m 644 $(O)/libnvpoll.a $(DESTDIR)$(LIBDIR)/
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))' \
		'includedir=$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))' '' 'Name: nvpoll' \
		'Description: userspace polled-mode NVMe driver' 'Version: $(NVP_MAJOR).$(NVP_MINOR)' \
		'Libs: -L$${libdir} -lnvpoll' 'Libs.private: $(DEP_LIBS)' 'Cflags: -I$${includedir}' \
		>$(DESTDIR)$(LIBDIR)/pkgconfig/nvpoll.pc
	install -m 755 $(O)/nvpoll $(if $(wildcard $(O)/nvpoll-perf),$(O)/nvpoll-perf) $(DESTDIR)$(BINDIR)/
	install -m 755 $(O)/nvpoll-fio.so $(DESTDIR)$(LIBDIR)/nvpoll/
	if [ -f scripts/setup.sh ]; then install -D -m 755 scripts/setup.sh $(DESTDIR)$(SBINDIR)/nvpoll-setup; fi
	install -m 644 $(wildcard man/*.1) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(wildcard man/*.3) $(DESTDIR)$(MANDIR)/man3/
	install -m 644 $(wildcard man/*.8) $(DESTDIR)$(MANDIR)/man8/
	man/aliases.sh man/*.3 | while read -r alias page; do \
		printf '.so man3/%s\n' "$$page" >$(DESTDIR)$(MANDIR)/man3/$$alias; done
	if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then ldconfig; fi

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/nvpoll.h $(addprefix $(DESTDIR)$(INCLUDEDIR)/,$(patsubst include/%,%,$(wildcard include/nvpoll/*.h)))
	rm -f $(addprefix $(DESTDIR)$(LIBDIR)/,libnvpoll.so.$(NVP_MAJOR).$(NVP_MINOR) $(SONAME) libnvpoll.so \
		libnvpoll.a pkgconfig/nvpoll.pc nvpoll/nvpoll-fio.so)
	rm -f $(DESTDIR)$(BINDIR)/nvpoll $(DESTDIR)$(BINDIR)/nvpoll-perf $(DESTDIR)$(SBINDIR)/nvpoll-setup
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/,$(patsubst man/%,man1/%,$(wildcard man/*.1)) \
		$(patsubst man/%,man3/%,$(wildcard man/*.3)) $(patsubst man/%,man8/%,$(wildcard man/*.8)))
	man/aliases.sh man/*.3 | while read -r alias page; do rm -f $(DESTDIR)$(MANDIR)/man3/$$alias; done
	rmdir $(DESTDIR)$(INCLUDEDIR)/nvpoll $(DESTDIR)$(LIBDIR)/nvpoll 2>/dev/null || true
	if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then ldconfig; fi

.PHONY: fio examples unit-ecosystem abi install uninstall
-include $(O)/bench/fio/nvpoll-fio.d $(EXAMPLES:=.d)

# ---- Fuzzing: test/fuzz (libFuzzer) ---------------------------------------
#   make fuzz          each target built with clang -fsanitize=fuzzer,address,undefined over its own
#                      copy of the library, run FUZZ_SECONDS (60) each; inputs that add coverage join
#                      test/fuzz/corpus/<target>/ (FUZZ_MINIMIZE=1 re-minimizes it; see test/fuzz/run.sh)
#   make fuzz-regress  the committed corpora through each target with a plain main(), any compiler;
#                      make unit runs it (so make asan runs it under ASan/UBSan)

FUZZ_CC       ?= clang
FUZZ_SECONDS  ?= 60
FUZZ_NAMES    := $(patsubst test/fuzz/%.c,%,$(sort $(wildcard test/fuzz/fuzz_*.c)))
FUZZ_FLAGS    := -O1 -g -std=gnu11 -D_GNU_SOURCE -Iinclude -Ilib -fno-omit-frame-pointer -fno-sanitize-recover=all
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(O)/fuzz/%.o)
FUZZ_BINS     := $(FUZZ_NAMES:%=$(O)/fuzz/%)
FUZZ_REGRESS  := $(FUZZ_NAMES:%=$(O)/fuzz-regress/%)

$(O)/fuzz/lib/%.o: lib/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link,address,undefined -MMD -MP -c -o $@ $<

$(O)/fuzz/%: test/fuzz/%.c $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) $(FUZZ_FLAGS) -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined -MMD -MP \
		-o $@ $< $(FUZZ_LIB_OBJS) $(DEP_LIBS)

$(O)/fuzz-regress/standalone.o: test/fuzz/standalone.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(O)/fuzz-regress/%: test/fuzz/%.c $(O)/fuzz-regress/standalone.o $(O)/libnvpoll.a
	$(CC) $(CFLAGS) -DFUZZ_CORPUS='"$(abspath test/fuzz/corpus/$*)"' -MMD -MP -o $@ $< \
		$(O)/fuzz-regress/standalone.o $(O)/libnvpoll.a $(LDLIBS)

fuzz: fuzz-deps
	$(MAKE) fuzz-run

fuzz-deps:
	@scripts/install-deps.sh --fuzz

fuzz-run: $(FUZZ_BINS)
	@test/fuzz/run.sh $(O)/fuzz $(FUZZ_SECONDS) $(FUZZ_NAMES)

fuzz-regress: $(FUZZ_REGRESS)
	@test/run-unit.sh $(FUZZ_REGRESS)

unit: fuzz-regress

test-build: all $(UNIT_BINS) $(VM_BINS) $(EXAMPLES) $(FUZZ_REGRESS) $(O)/nvpoll-perf \
	$(if $(SANITIZED),,$(O)/nvpoll-fio.so)
.PHONY: test-build

.PHONY: fuzz fuzz-deps fuzz-run fuzz-regress
.SECONDARY: $(FUZZ_LIB_OBJS) $(O)/fuzz-regress/standalone.o
-include $(FUZZ_LIB_OBJS:.o=.d) $(FUZZ_BINS:=.d) $(FUZZ_REGRESS:=.d) $(O)/fuzz-regress/standalone.d
