# SPDX-License-Identifier: GPL-2.0
# vdifs top-level build.  `make help` lists the targets.

KVER_SCRIPT := scripts/kver.sh
KVER ?= $(shell $(KVER_SCRIPT) 2>/dev/null)
RUNNING_KDIR := /lib/modules/$(shell uname -r)/build
KDIR ?= $(if $(wildcard $(RUNNING_KDIR)/Makefile),$(RUNNING_KDIR),/usr/src/linux-headers-$(KVER))

CC ?= gcc
PKG_CONFIG ?= pkg-config

ifeq ($(SANITIZE),1)
B := build/asan
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
B := build/out
SAN :=
endif

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
	  -Wshadow -Wformat=2 -Wvla -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 \
	  -Iuapi -Iwire -Iservers/common $(SAN) -MMD -MP
LDFLAGS += $(SAN)

JSONC_CFLAGS := $(shell $(PKG_CONFIG) --cflags json-c 2>/dev/null)
JSONC_LIBS := $(shell $(PKG_CONFIG) --libs json-c 2>/dev/null || echo -ljson-c)
CHECK_CFLAGS := $(shell $(PKG_CONFIG) --cflags check 2>/dev/null)
CHECK_LIBS := $(shell $(PKG_CONFIG) --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt -lpthread)
CFLAGS += $(JSONC_CFLAGS)

# ---- userspace ----

# the shared codec, built from the same source as the module's
COMMON_SRCS := wire/wire.c $(wildcard servers/common/*.c)
MDS_SRCS := $(wildcard servers/mds/*.c)
DS_SRCS := $(wildcard servers/ds/*.c)
TOOL_SRCS := tools/vdifs-tool.c tools/tool_keys.c
HOST_TESTS := $(patsubst tests/host/%.c,$(B)/tests/%,$(wildcard tests/host/test_*.c))

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

PROGS := $(B)/vdifs-mds $(B)/vdifs-ds $(B)/vdifs-tool

.PHONY: all userspace module tests help
all: userspace module
userspace: $(PROGS) tests

$(B)/libvdifs.a: $(call obj,$(COMMON_SRCS))
	@mkdir -p $(@D)
	@rm -f $@
	$(AR) rcs $@ $^

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

LIBS := -llmdb $(JSONC_LIBS) -lcrypto -lxxhash -lpthread

$(B)/vdifs-mds: $(call obj,$(MDS_SRCS)) $(B)/libvdifs.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/vdifs-ds: $(call obj,$(DS_SRCS)) $(B)/libvdifs.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/vdifs-tool: $(call obj,$(TOOL_SRCS)) $(B)/libvdifs.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# test programs that run against a mounted file system (in the guest)
FS_TOOLS := $(patsubst tests/tools/%.c,$(B)/%,$(wildcard tests/tools/*.c))

BENCH := $(patsubst bench/%.c,$(B)/bench-%,$(wildcard bench/*.c))

tests: $(HOST_TESTS) $(FS_TOOLS) $(BENCH)

$(B)/bench-%: bench/%.c $(wildcard bench/*.h) $(B)/libvdifs.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(B)/libvdifs.a $(LIBS) $(LDFLAGS)

$(B)/%: tests/tools/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) -lpthread

$(B)/tests/%: tests/host/%.c $(wildcard tests/host/*.h wire/*.h uapi/*.h servers/common/*.h) $(B)/libvdifs.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(CHECK_CFLAGS) -o $@ $< $(B)/libvdifs.a $(LIBS) $(CHECK_LIBS) $(LDFLAGS)

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

# ---- fuzzing: clang's libFuzzer over the codec (tests/fuzz) ----
FUZZ_DIR := build/fuzz
FUZZ_CC ?= clang
FUZZ_CFLAGS := -O1 -g -std=gnu11 -D_GNU_SOURCE -Iuapi -Iwire \
	       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZERS := $(patsubst tests/fuzz/fuzz_%.c,$(FUZZ_DIR)/fuzz_%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_DEPS := wire/wire.c $(wildcard wire/*.h uapi/*.h)

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DEPS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< wire/wire.c -lxxhash

$(FUZZ_DIR)/seed: tests/fuzz/seed.c $(FUZZ_DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< wire/wire.c -lxxhash

fuzz-build: $(FUZZERS) $(FUZZ_DIR)/seed

# each fuzzer for FUZZ_SECONDS (default 60); `make check` runs them briefly
fuzz: fuzz-build
	@scripts/fuzz.sh $(or $(FUZZ_SECONDS),60)

# ---- kernel module ----
# Built in a shadow tree of links (build/mod) so that kmod/ never holds
# objects: the KUnit build links kmod/ into a kernel tree, where stray
# out-of-tree objects would be picked up through VPATH.
MOD_DIR := $(CURDIR)/build/mod
KMOD_SRCS := $(wildcard kmod/*.c kmod/*.h) kmod/Makefile kmod/Kconfig
WIRE_SRCS := $(wildcard wire/*.c wire/*.h)

module: $(MOD_DIR)/kmod/vdifs.ko
$(MOD_DIR)/kmod/vdifs.ko: $(KMOD_SRCS) $(WIRE_SRCS) uapi/vdifs_proto.h Kbuild
	@test -f $(KDIR)/Makefile || { echo "no kernel build dir at $(KDIR): run 'make deps' (or set KDIR)"; exit 1; }
	@mkdir -p $(MOD_DIR)/kmod
	@ln -sfn $(CURDIR)/Kbuild $(MOD_DIR)/Kbuild
	@ln -sfn $(CURDIR)/uapi $(MOD_DIR)/uapi
	@ln -sfn $(CURDIR)/wire $(MOD_DIR)/wire
	@for f in $(KMOD_SRCS); do ln -sfn $(CURDIR)/$$f $(MOD_DIR)/$$f; done
	$(MAKE) -C $(KDIR) M=$(MOD_DIR) W=1 modules
	@echo "built $@ against $(KDIR)"

# ---- set-up, tests ----

.PHONY: deps check check-host kunit check-guest checkpatch clean install demo bench fuzz fuzz-build
deps:
	@if [ "$$(id -u)" = 0 ]; then scripts/deps.sh; else sudo scripts/deps.sh; fi

check:
	@scripts/check.sh all

demo: deps
	@scripts/demo.sh

# the side-by-side benchmark against QCOW2 on NFS (not a test, not in
# `make check`); BENCH_ARGS='--quick' for a short run, see bench/vdi.sh --help
bench:
	@bench/vdi.sh $(BENCH_ARGS)

check-host: userspace
	@scripts/check.sh host

kunit:
	@scripts/check.sh kunit

check-guest: module userspace
	@scripts/check.sh guest

checkpatch:
	@scripts/checkpatch.sh

install: all
	install -D -m 755 $(B)/vdifs-mds $(DESTDIR)/usr/sbin/vdifs-mds
	install -D -m 755 $(B)/vdifs-ds $(DESTDIR)/usr/sbin/vdifs-ds
	install -D -m 755 $(B)/vdifs-tool $(DESTDIR)/usr/bin/vdifs-tool
	install -D -m 755 tools/vdifs-cluster $(DESTDIR)/usr/bin/vdifs-cluster
	install -D -m 755 tools/mount.vdifs $(DESTDIR)/sbin/mount.vdifs
	$(MAKE) -C $(KDIR) M=$(MOD_DIR) modules_install

clean:
	rm -rf build

help:
	@echo "make            userspace programs ($(B)/) and vdifs.ko (build/mod/kmod/)"
	@echo "make deps       install build and test dependencies (Debian 12, root)"
	@echo "make demo       a cluster in a qemu guest: clones, snapshot, revert, verified"
	@echo "make check      deps, build, host tests, KUnit, guest tests; 'N passed, M failed'"
	@echo "make check-host | kunit | check-guest   one layer"
	@echo "make bench      benchmark: vdifs clones vs QCOW2 overlays on NFS in a guest (BENCH_ARGS=--quick)"
	@echo "make SANITIZE=1 build userspace with ASan/UBSan into build/asan/"
	@echo "KDIR=...        kernel build dir (default: running kernel's, else Debian 6.12 headers)"
