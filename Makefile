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
LDLIBS  += -lpthread -lnuma -lpci

LIB_SRCS   := $(sort $(wildcard lib/*.c lib/*/*.c))
LIB_OBJS   := $(LIB_SRCS:%.c=$(O)/%.o)
TOOL_SRCS  := $(wildcard tools/*.c)
UNIT_SRCS  := $(sort $(wildcard test/unit/test_*.c))
UNIT_BINS  := $(UNIT_SRCS:test/unit/%.c=$(O)/test/%)
VM_SRCS    := $(sort $(wildcard test/vm/*.c))
VM_BINS    := $(VM_SRCS:test/vm/%.c=$(O)/test-vm/%)

SONAME  := libnvpoll.so.$(shell sed -n 's/^\#define NVP_VERSION_MAJOR //p' include/nvpoll.h)

all: $(O)/libnvpoll.a $(O)/libnvpoll.so $(O)/nvpoll $(if $(wildcard bench/perf.c),$(O)/nvpoll-perf)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(O)/libnvpoll.a: $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(O)/libnvpoll.so: $(LIB_OBJS) lib/libnvpoll.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=lib/libnvpoll.map -o $@ $(LIB_OBJS) $(LDLIBS)

$(O)/nvpoll: $(O)/tools/nvpoll.o $(O)/libnvpoll.a
	$(CC) -o $@ $< $(O)/libnvpoll.a $(LDLIBS)

$(O)/nvpoll-perf: $(O)/bench/perf.o $(O)/libnvpoll.a
	$(CC) -o $@ $< $(O)/libnvpoll.a $(LDLIBS) -lm

# Unit tests link the static library, so they can reach internal functions.
$(O)/test/%: test/unit/%.c $(O)/libnvpoll.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -o $@ $< $(O)/libnvpoll.a $(LDLIBS) -lcmocka

# Guest test programs also run against the sim in the unit suite.
$(O)/test-vm/%: test/vm/%.c $(O)/libnvpoll.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -o $@ $< $(O)/libnvpoll.a $(LDLIBS) -lcmocka

unit: $(UNIT_BINS) $(VM_BINS)
	@test/run-unit.sh $(UNIT_BINS) $(O)/test-vm/vm_rw

vmtest: all $(VM_BINS)
	@test/vm/run.sh

deps:
	@scripts/install-deps.sh

check: deps
	$(MAKE) all unit
	$(MAKE) asan
	$(MAKE) vmtest

# Sanitizers: a separate build tree so objects never mix.
asan:
	$(MAKE) O=$(O)/asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		LDLIBS="-lpthread -lnuma -lpci -fsanitize=address,undefined" unit

valgrind: $(UNIT_BINS)
	@VALGRIND=1 test/run-unit.sh $(UNIT_BINS)

bench: all
	@bench/run.sh

clean:
	rm -rf $(O)

.PHONY: all unit vmtest deps check asan valgrind bench clean
-include $(LIB_OBJS:.o=.d) $(O)/tools/nvpoll.d $(UNIT_BINS:=.d) $(VM_BINS:=.d)
