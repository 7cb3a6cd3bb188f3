# Engineering Log Intelligence -- build, run and test.
#
# Every target works on a fresh Debian 12 machine: `deps` installs what is missing.
# Routes are discovered from endpoints/*.c, unit tests from tests/unit/test_*.c,
# tools from tools/*.c, so adding one is adding a file.

CC        ?= cc
SANITIZE  ?= 0
BUILD     ?= build
VERSION   := 1.0.0

CFLAGS    ?= -O2 -g
CFLAGS    += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Icommon -I/usr/include/postgresql \
             -DAPP_VERSION='"$(VERSION)"' -MMD -MP
# libpq is linked statically, with the PostgreSQL and OpenSSL archives it needs, into
# executables that are not position-independent. The shared libpq maps Kerberos, LDAP and
# GnuTLS into every worker, and a PIE applies every relocation of the static OpenSSL at start.
# Each of these cost about 1-3 MB of a worker's resident memory; a worker now needs about
# 3 MB. common/pq_static.c answers libpq's Kerberos and LDAP calls with "not available".
PG_LIBDIR := /usr/lib/postgresql/15/lib
PQ_STATIC  = $(BUILD)/common/pq_static.o
LDFLAGS   += -no-pie -L$(PG_LIBDIR)
LDLIBS    := -Wl,-Bstatic -lpq -lpgcommon_shlib -lpgport_shlib -lssl -lcrypto -Wl,-Bdynamic \
             -lfcgi -lcjson -lm

ifeq ($(SANITIZE),1)
CFLAGS    += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS   += -fsanitize=address,undefined
BUILD     := build-san
endif

COMMON_SRC := $(filter-out common/pq_static.c,$(wildcard common/*.c))
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
LIBCOMMON  := $(BUILD)/libcommon.a

ROUTES     := $(basename $(notdir $(wildcard endpoints/*.c)))
ENDPOINTS  := $(ROUTES:%=$(BUILD)/endpoints/%)
TOOLS      := $(patsubst tools/%.c,$(BUILD)/tools/%,$(wildcard tools/*.c))
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))

export BUILD ROUTES

.PHONY: all deps run stop status restart psql test bench bench-seed bench-pool fuzz clean format lint

all: $(ENDPOINTS) $(TOOLS) $(UNIT_TESTS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	@echo "CC $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(LIBCOMMON): $(COMMON_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/endpoints/%: $(BUILD)/endpoints/%.o $(LIBCOMMON) $(PQ_STATIC)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tools/%: $(BUILD)/tools/%.o $(LIBCOMMON) $(PQ_STATIC)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIBCOMMON) $(PQ_STATIC)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -lcmocka -o $@

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- set-up, run and operate -------------------------------------------------------

deps:
	@scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run.sh

stop status restart psql:
	@scripts/stack.sh $@

# ---- tests and benchmarks ----------------------------------------------------------

test: deps
	@$(MAKE) --no-print-directory all
	@tests/run.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@rc=0; tests/bench/bench.sh || rc=1; tests/bench/bench_logs.sh || rc=1; exit $$rc

bench-seed: deps
	@$(MAKE) --no-print-directory all
	@ROWS=$(or $(ROWS),10000000) tests/bench/bench_seed.sh

bench-pool: deps
	@$(MAKE) --no-print-directory all
	@tests/bench/bench_pool.sh

fuzz: deps
	@tests/fuzz/run.sh $(or $(FUZZ_SECONDS),60)

format:
	clang-format -i common/*.[ch] endpoints/*.c tools/*.c tests/unit/*.c

lint:
	cppcheck --quiet --enable=warning,performance --error-exitcode=1 -I common common endpoints tools

clean:
	rm -rf build build-san
