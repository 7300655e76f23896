# hcsshim for Lua.  `make` builds build/hcsshim/core.so and the Linux
# monitor; `make demo` and `make test` also set up the host (root).
# LuaRocks (build.type "make") passes CFLAGS, LIBFLAG, LUA_INCDIR and, for
# install, LIBDIR and LUADIR; plain make picks sensible defaults.

LUA        ?= lua5.4
PKG_CONFIG ?= pkg-config
LUA_INCDIR ?= $(patsubst -I%,%,$(firstword $(shell $(PKG_CONFIG) --cflags-only-I lua5.4 2>/dev/null))) 
ifeq ($(strip $(LUA_INCDIR)),)
LUA_INCDIR  = /usr/include/lua5.4
endif
CFLAGS     ?= -O2 -g
LIBFLAG    ?= -shared
LIBDIR     ?= /usr/local/lib/lua/5.4
LUADIR     ?= /usr/local/share/lua/5.4
BINDIR     ?= /usr/local/bin
BUILD      ?= build

WARN = -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
       -Wpointer-arith -Wcast-qual -Wformat=2 -Wundef -Wvla -Wwrite-strings \
       -Wold-style-definition -Wnested-externs -Wredundant-decls
ALL_CFLAGS = $(CFLAGS) -fPIC -std=c11 -D_GNU_SOURCE $(WARN) -I$(LUA_INCDIR) -Isrc
LINUX_LIBS = -ljansson -larchive -lcrypto -lpthread -lsqlite3

# src/linux has rooms (see src/linux/README.md): the entry files at its top
# level, then compute/, network/, layers/ and common/; monitor/, helper/
# and extract/ are programs.
ROOMS     = common compute network layers
LIB_SRC   = $(foreach r,$(ROOMS),$(wildcard src/linux/$(r)/*.c))
CORE_SRC  = $(wildcard src/*.c) $(wildcard src/linux/*.c) $(LIB_SRC)
CORE_OBJ  = $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
LIB_OBJ   = $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
# the monitor links libc only: common/ as an archive, minus its JSON file
CMN_OBJ   = $(patsubst %.c,$(BUILD)/obj/%.o,$(filter-out %/json.c,$(wildcard src/linux/common/*.c)))
CMN_LIB   = $(BUILD)/obj/libcommon.a
MON_OBJ   = $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard src/linux/monitor/*.c))
HELPER_OBJ = $(BUILD)/obj/src/linux/helper/main.o
EXTRACT_OBJ = $(BUILD)/obj/src/linux/extract/main.o
LAYER_OBJ = $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard src/linux/layers/*.c) $(wildcard src/linux/common/*.c))
HEADERS   = $(wildcard src/*.h src/linux/*.h src/linux/*/*.h)

CORE_SO   = $(BUILD)/hcsshim/core.so
MONITOR   = $(BUILD)/hcsshim/monitor
HELPER    = $(BUILD)/hcsshim/helper
EXTRACT   = $(BUILD)/hcsshim/extract
TTY       = $(BUILD)/hcsshim/tty

# `make test WIN32_TESTS=0` leaves out the Wine suite (the test VM does)
WIN32_TESTS ?= 1

RUN_ENV = LUA_PATH="./lua/?.lua;./lua/?/init.lua;./spec/?.lua;;" \
          LUA_CPATH="./$(BUILD)/?.so;;"

.PHONY: all setup demo test test-lua test-leaks test-vm rock bench clean install install-lib install-bin \
        doc sanitize valgrind test-unit check-rooms

all: $(CORE_SO) $(MONITOR) $(HELPER) $(EXTRACT) $(TTY)

$(BUILD)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(CORE_SO): $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LIBFLAG) $(LDFLAGS) -o $@ $(CORE_OBJ) $(LINUX_LIBS)

$(CMN_LIB): $(CMN_OBJ)
	rm -f $@ && $(AR) rcs $@ $(CMN_OBJ)

$(MONITOR): $(MON_OBJ) $(CMN_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(MON_OBJ) $(CMN_LIB)

$(HELPER): $(HELPER_OBJ) $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(HELPER_OBJ) $(LIB_OBJ) $(LINUX_LIBS)

$(EXTRACT): $(EXTRACT_OBJ) $(LAYER_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(EXTRACT_OBJ) $(LAYER_OBJ) $(LINUX_LIBS)

# static, and never sanitized: it runs inside containers, whatever libc
# their image has (src/linux/tty/main.c)
$(TTY): src/linux/tty/main.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -std=c11 -D_GNU_SOURCE $(WARN) -static -s -o $@ $<

# include and cycle rules between the rooms of src/
check-rooms:
	@$(LUA) scripts/check-rooms.lua src

setup:
	@sh scripts/setup-host.sh

demo: setup
	@$(MAKE) --no-print-directory all
	$(RUN_ENV) $(LUA) examples/run_container.lua $(ROOTFS)
	$(RUN_ENV) $(LUA) examples/run_image.lua $(DEMO_IMAGE)
	$(RUN_ENV) $(LUA) examples/commit.lua $(ROOTFS)

test: setup
	@$(MAKE) --no-print-directory all $(BUILD)/hcs_linux_test $(BUILD)/spec/layer_test
	BUILD=$(BUILD) HCSSHIM_WIN32_TESTS=$(WIN32_TESTS) $(RUN_ENV) sh scripts/run-tests.sh $(LUA)

# The suite, the demo, a systemd stop scenario and the README's LuaRocks
# commands inside a Debian 12 VM (systemd, cgroup v2) under QEMU, TCG when
# there is no KVM.  The image is built once and cached in
# /var/cache/hcsshim/vm (scripts/vm/build-image.sh); VM_TIMEOUT bounds a run.
test-vm:
	@sh scripts/vm/run.sh

# LuaRocks on Debian 12: `luarocks make` for Lua 5.4 with Debian's lua-cjson
# package declared as the lua-cjson rock (works offline)
# ROCK_ARGS go to `luarocks make` (e.g. ROCK_ARGS="--tree ./tree")
rock:
	@BUILD=$(BUILD) sh scripts/luarocks-make.sh $(ROCK_ARGS)

# The specs that need no root and no container (the `unit` run of .busted):
# builds the core only, never sets up the host.
BUSTED ?= /usr/bin/busted
test-unit: $(CORE_SO)
	$(RUN_ENV) $(LUA) $(BUSTED) --run=unit

bench: setup
	@$(MAKE) --no-print-directory all
	$(RUN_ENV) $(LUA) bench/lifecycle.lua
	$(RUN_ENV) $(LUA) bench/hns_endpoint.lua
	$(RUN_ENV) $(LUA) bench/image_import.lua
	$(RUN_ENV) $(LUA) bench/layer_export.lua
	$(RUN_ENV) $(LUA) bench/monitor_memory.lua

# `make install` = the library (core, monitor, Lua modules) and the
# `hcsshim` command; LuaRocks runs install-lib and installs the command
# itself (build.install.bin), with its own wrapper.
install: install-lib install-bin

install-lib: all
	install -d $(DESTDIR)$(LIBDIR)/hcsshim $(DESTDIR)$(LUADIR)/hcsshim/cli
	install -m 0755 $(CORE_SO) $(DESTDIR)$(LIBDIR)/hcsshim/core.so
	install -m 0755 $(MONITOR) $(DESTDIR)$(LIBDIR)/hcsshim/monitor
	install -m 0755 $(HELPER) $(DESTDIR)$(LIBDIR)/hcsshim/helper
	install -m 0755 $(EXTRACT) $(DESTDIR)$(LIBDIR)/hcsshim/extract
	install -m 0755 $(TTY) $(DESTDIR)$(LIBDIR)/hcsshim/tty
	install -m 0644 lua/hcsshim/*.lua $(DESTDIR)$(LUADIR)/hcsshim/
	install -m 0644 lua/hcsshim/cli/*.lua $(DESTDIR)$(LUADIR)/hcsshim/cli/

install-bin:
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 bin/hcsshim $(DESTDIR)$(BINDIR)/hcsshim

# The LDoc reference as HTML in $(BUILD)/doc (config.ld; Debian lua-ldoc).
LDOC ?= ldoc
doc:
	$(LDOC) -d $(BUILD)/doc .

clean:
	rm -rf $(BUILD)/obj $(BUILD)/hcsshim

# The reference bytes of the HCS/HNS documents (spec/fixtures/golden), from
# Go's encoding/json and hcsshim's structs (tools/golden).  Needs Go (Debian
# golang-go, standard library only); `make test` only reads the committed files.
GO ?= go
.PHONY: goldens
goldens:
	cd tools/golden && GOFLAGS=-mod=mod GOPROXY=off $(GO) run . $(CURDIR)/spec/fixtures/golden

# C tests of the Linux layer store (root: overlay mounts, chown, mknod)
$(BUILD)/spec/layer_test: spec/c/layer_test.c $(LAYER_OBJ) $(BUILD)/obj/src/linux/plat_layer.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LINUX_LIBS)

.PHONY: check-layer
check-layer: $(BUILD)/spec/layer_test $(EXTRACT)
	HCSSHIM_EXTRACT=$(EXTRACT) $(BUILD)/spec/layer_test

# The suite again on a build with AddressSanitizer and UBSan (the core is
# loaded by the system lua, so the sanitizer runtimes are preloaded).
# Every process of the suite runs that build: the Lua children the specs
# start take paths and preload from spec/support/env.lua (env.lua), the
# monitor, helper and extract programs come from HCSSHIM_MONITOR,
# HCSSHIM_HELPER and HCSSHIM_EXTRACT; spec/child_build_spec.lua checks it.
SAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
.PHONY: sanitize valgrind
sanitize: setup
	@$(MAKE) --no-print-directory BUILD=build/asan CFLAGS="$(SAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" all
	rm -rf build/asan/reports && mkdir -p build/asan/reports
	LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:log_path=$(CURDIR)/build/asan/reports/asan \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$(CURDIR)/build/asan/reports/ubsan \
	BUSTED_ARGS="--cpath=./build/asan/?.so" C_TESTS="" HCSSHIM_MONITOR=$(CURDIR)/build/asan/hcsshim/monitor \
	HCSSHIM_HELPER=$(CURDIR)/build/asan/hcsshim/helper HCSSHIM_EXTRACT=$(CURDIR)/build/asan/hcsshim/extract \
	$(RUN_ENV) LUA_CPATH="./build/asan/?.so;;" HCSSHIM_TEST_SANITIZED=1 sh scripts/run-tests.sh $(LUA)
	@if ls build/asan/reports/* >/dev/null 2>&1; then cat build/asan/reports/*; echo "sanitizer reports above"; exit 1; fi
	@echo "sanitize: no AddressSanitizer or UBSan reports (core and monitor)"

# The suite under valgrind (memcheck) on the normal build; the monitor is
# checked by its own C tests.
valgrind: setup all
	rm -rf build/valgrind && mkdir -p build/valgrind
	TEST_WRAPPER="valgrind --leak-check=full --errors-for-leak-kinds=definite \
	  --log-file=$(CURDIR)/build/valgrind/vg.%p.log --suppressions=spec/valgrind.supp" \
	  C_TESTS="" $(RUN_ENV) sh scripts/run-tests.sh $(LUA)
	sh scripts/valgrind-check.sh build/valgrind

# C test driver of the Linux host compute service (root; real containers).
HCS_TEST = $(BUILD)/hcs_linux_test
HCS_LINUX_OBJ = $(LIB_OBJ) $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard src/linux/*.c))
$(HCS_TEST): spec/c/hcs_linux_test.c $(HCS_LINUX_OBJ) $(HEADERS)
	$(CC) $(CFLAGS) -std=c11 -D_GNU_SOURCE $(WARN) -Isrc -o $@ spec/c/hcs_linux_test.c $(HCS_LINUX_OBJ) $(LINUX_LIBS) -ldl
.PHONY: check-c
check-c: setup $(MONITOR) $(HCS_TEST)
	HCSSHIM_MONITOR=$(MONITOR) HCSSHIM_HELPER=$(HELPER) HCSSHIM_EXTRACT=$(EXTRACT) $(HCS_TEST)

# ---- Windows: the vmcompute.dll backend, cross-built with mingw-w64 ----
# `make win32` builds $(BUILD)/win32/hcsshim/core.dll from src/*.c and
# src/win32/*.c (never src/linux) against an import library for lua54.dll;
# `make test-win32` runs the Wine suite (spec/win32/) against the test
# double of vmcompute.dll.  scripts/setup-win32.sh installs what is missing.
MINGW_CC   ?= x86_64-w64-mingw32-gcc
W32        = $(BUILD)/win32
W32_SRC    = $(wildcard src/*.c) $(wildcard src/win32/*.c)
W32_OBJ    = $(W32_SRC:%.c=$(W32)/obj/%.o)
W32_HDR    = $(wildcard src/*.h) $(wildcard src/win32/*.h)
W32_CORE   = $(W32)/hcsshim/core.dll
W32_CFLAGS = -O2 -std=c11 -D_WIN32_WINNT=0x0A00 -DWINVER=0x0A00 $(WARN) -I$(LUA_INCDIR) -Isrc
W32_DOUBLE = $(W32)/spec/vmcompute.dll
W32_CTL    = $(W32)/spec/doublectl.dll
W32_IPHLP  = $(W32)/spec/iphlpapi.dll
W32_HARN   = $(W32)/spec/harness.exe

.PHONY: win32 win32-setup test-win32 check-win32-strict
win32: win32-setup
	@$(MAKE) --no-print-directory $(W32_CORE)

win32-setup:
	@sh scripts/setup-win32.sh

$(W32)/obj/%.o: %.c $(W32_HDR)
	@mkdir -p $(dir $@)
	$(MINGW_CC) $(W32_CFLAGS) -c $< -o $@

$(W32_CORE): $(W32_OBJ) $(W32)/liblua54.dll.a
	@mkdir -p $(dir $@)
	$(MINGW_CC) -shared -static-libgcc -o $@ $(W32_OBJ) -L$(W32) -llua54 -lbcrypt -ladvapi32

# test code only: the vmcompute.dll double and its Lua control module
$(W32_DOUBLE): spec/win32/vmcompute_double.c
	@mkdir -p $(dir $@)
	$(MINGW_CC) -O2 -Wall -Wextra -Werror -shared -o $@ $< -lole32 -luuid -ladvapi32

$(W32_IPHLP): spec/win32/iphlpapi_double.c
	@mkdir -p $(dir $@)
	$(MINGW_CC) -O2 -Wall -Wextra -Werror -shared -o $@ $<

$(W32_HARN): spec/win32/harness.c $(W32)/liblua54.dll.a
	@mkdir -p $(dir $@)
	$(MINGW_CC) -O2 -Wall -Wextra -Werror -I$(LUA_INCDIR) -o $@ $< -L$(W32) -llua54

$(W32_CTL): spec/win32/doublectl.c $(W32)/liblua54.dll.a
	@mkdir -p $(dir $@)
	$(MINGW_CC) -O2 -Wall -Wextra -Werror -shared -I$(LUA_INCDIR) -o $@ $< -L$(W32) -llua54

# The rockspec's win32 sources again in strict C99 (MSVC stand-in).
check-win32-strict: win32-setup
	@sh scripts/check-win32-strict.sh $(W32) $(LUA_INCDIR) "$(WARN)"

test-win32:
	@sh scripts/setup-win32.sh --wine
	@sh scripts/check-win32-strict.sh $(W32) $(LUA_INCDIR) "$(WARN)"
	@$(MAKE) --no-print-directory $(W32_CORE) $(W32_DOUBLE) $(W32_CTL) $(W32_IPHLP) $(W32_HARN)
	@BUILD=$(BUILD) sh scripts/run-win32-tests.sh

# ---- lint, as CI runs it (.ci/run: `make lint`, then `make test`) ----
# Every part runs (-k) and says "ok" or what it found; `make lint` fails if
# any part did.  The tools are Debian's clang-format 14, lua-check and
# shellcheck, installed by setup-lint (root, once).  `make format` applies
# .clang-format to the same C files.  lint-rooms runs the rooms' dependency
# check once the Makefile has a check-rooms target, and says so until then.
C_STYLE_FILES = $(sort $(shell find src spec/c spec/fuzz -name '*.[ch]') $(wildcard spec/win32/*.c))
LUA_LINT_DIRS = lua spec bench examples
SH_LINT_FILES = $(wildcard scripts/*.sh scripts/vm/*.sh) .ci/run

.PHONY: lint setup-lint lint-c lint-lua lint-sh lint-rooms format
lint: setup-lint
	@$(MAKE) --no-print-directory -k lint-c lint-lua lint-sh lint-rooms

setup-lint:
	@sh scripts/apt-install.sh setup-lint clang-format lua-check shellcheck

lint-c:
	@sh scripts/check-format.sh $(C_STYLE_FILES)

lint-lua:
	@luacheck -q --no-color $(LUA_LINT_DIRS) && echo "lint-lua: ok"

lint-sh:
	@shellcheck $(SH_LINT_FILES) && echo "lint-sh: ok ($(words $(SH_LINT_FILES)) files)"

lint-rooms:
	@if grep -qs '^check-rooms:' $(MAKEFILE_LIST); then $(MAKE) --no-print-directory check-rooms; \
	else echo "lint-rooms: no check-rooms target yet (skipped)"; fi

format: setup-lint
	clang-format -i $(C_STYLE_FILES)

# ---- fuzzing: libFuzzer harnesses (spec/fuzz/fuzz_*.c) ----
# `make fuzz FUZZ_SECONDS=N` builds every harness with clang's
# -fsanitize=fuzzer,address,undefined against an instrumented copy of the
# core (src/ and the Linux rooms, as core.so links them) and runs each for N
# seconds, one at a time; it prints executions and crashes per harness and
# fails on a crash (artifacts under $(FUZZ)/crashes/).  The tar import and
# HNS harnesses need root: they confine themselves to a mount (and
# network) namespace of their own (spec/fuzz/support.c).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ         = $(BUILD)/fuzz
FUZZ_SAN     = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  = $(FUZZ_SAN) -fsanitize=fuzzer-no-link -std=c11 -D_GNU_SOURCE $(filter-out -Werror,$(WARN)) \
               -I$(LUA_INCDIR) -Isrc -Ispec/fuzz
FUZZ_LIB_SRC = $(CORE_SRC)
FUZZ_LIB_OBJ = $(FUZZ_LIB_SRC:%.c=$(FUZZ)/obj/%.o)
FUZZ_HDRS    = $(shell find src spec/fuzz -name '*.h')
FUZZ_NAMES   = $(patsubst spec/fuzz/fuzz_%.c,%,$(wildcard spec/fuzz/fuzz_*.c))
FUZZ_BINS    = $(FUZZ_NAMES:%=$(FUZZ)/fuzz_%)

.PHONY: fuzz fuzz-build setup-fuzz
fuzz: setup-fuzz
	@$(MAKE) --no-print-directory fuzz-build
	sh scripts/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ) $(FUZZ_BINS)

fuzz-build: $(FUZZ_BINS)

setup-fuzz:
	@sh scripts/apt-install.sh setup-fuzz clang libclang-rt-14-dev

# the product's warnings are gcc's (clang is only the fuzzing compiler);
# the harnesses themselves are warning-free under both
$(FUZZ)/obj/%.o: %.c $(FUZZ_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ)/obj/spec/fuzz/%.o: spec/fuzz/%.c $(FUZZ_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Werror -c $< -o $@

$(FUZZ)/libcore.a: $(FUZZ_LIB_OBJ) $(FUZZ)/obj/spec/fuzz/support.o
	rm -f $@
	ar rcs $@ $^

$(FUZZ)/fuzz_%: $(FUZZ)/obj/spec/fuzz/fuzz_%.o $(FUZZ)/libcore.a
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ -llua5.4 $(LINUX_LIBS) -ldl
