# tray: Lua SDK for the Tray.io platform APIs.
#
#   make demo   installs deps, builds, starts the emulator, runs the onboarding demo
#   make test   installs deps, builds, starts the emulator, runs every spec
#
# `make LUA=luajit` builds the native module for LuaJIT (OpenResty) instead of Lua 5.4.

LUA       ?= lua5.4
PREFIX    ?= /usr/local
DESTDIR   ?=
VERSION   := $(shell sed -n 's/^local VERSION = "\(.*\)"/\1/p' lua/tray/init.lua)

ifeq ($(LUA),luajit)
  LUA_PC     := luajit
  LUA_ABI    := 5.1
else
  LUA_PC     := lua5.4
  LUA_ABI    := 5.4
endif

BUILD_ROOT ?= build
BUILD     := $(BUILD_ROOT)/$(LUA)
MODULE    := $(BUILD)/tray/native.so
CSRC      := $(wildcard csrc/*.c)
CHDR      := $(wildcard csrc/*.h)

CC        ?= cc
WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CSTD      := -std=c99 -D_POSIX_C_SOURCE=200809L
OPT       ?= -O2 -g
CFLAGS_ALL = $(CSTD) $(WARN) $(OPT) -fPIC -fvisibility=hidden \
             $(shell pkg-config --cflags $(LUA_PC) libcurl hiredis) $(CFLAGS)
# The interpreter has Lua built in: link libcurl and hiredis only, never liblua.
# -z nodelete: once loaded, the module (and libcurl with it) stays for the life of
# the process even when the Lua state that loaded it is closed: libcurl's global
# init runs once per process and is never undone (see module.c), and the
# process-wide limiter registry is never left dangling.
LIBS_ALL   = $(shell pkg-config --libs libcurl hiredis) -lpthread -Wl,-z,nodelete $(LDFLAGS)

LUA_SHARE := $(PREFIX)/share/lua/$(LUA_ABI)
LUA_LIB   := $(PREFIX)/lib/lua/$(LUA_ABI)

# Every Debian package the project needs (build, specs, emulator, OpenResty, Redis, checks).
DEB_PACKAGES := lua5.4 liblua5.4-dev libcurl4-openssl-dev lua-cjson lua-busted lua-check \
                lua-ldoc pkg-config gcc make openssl curl ca-certificates \
                luajit2 libluajit2-5.1-dev lua-socket libhiredis-dev redis-server \
                nginx libnginx-mod-http-lua

BUSTED    := busted --lua=lua5.4
LUA_PATH_TREE  := $(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua
LUA_CPATH_TREE := $(CURDIR)/build/lua5.4/?.so

.PHONY: all deps deps-deb deps-node test demo emulator install uninstall env lint doc clean luajit reference bench bench-bin

all: $(MODULE)

$(MODULE): $(CSRC) $(CHDR) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -shared -o $@ $(CSRC) $(LIBS_ALL)

luajit:
	@$(MAKE) --no-print-directory LUA=luajit

## deps: every Debian package and the emulator's npm packages (idempotent, quiet when present)
deps: deps-deb deps-node

deps-deb:
	@./tools/apt-install $(DEB_PACKAGES)

deps-node: emulator/node_modules/.installed

emulator/node_modules/.installed: emulator/package.json emulator/package-lock.json
	@command -v node >/dev/null || { echo "deps: Node.js is required for the emulator" >&2; exit 1; }
	@echo "deps: installing the emulator's npm packages"
	@cd emulator && npm ci --silent --no-audit --no-fund >/dev/null
	@touch $@

## test: build, start the emulator, run every spec, then a short run of every fuzz target
## (FUZZ_SECONDS=5 each); the last line is "N passed, N failed"
test: deps deps-fuzz all luajit
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-5} ./spec/run

# Reliability and security tools (docs/reliability.md). Installed on demand, not by
# `make deps`: clang and its libFuzzer runtime for the fuzz targets (also needed by
# `make test`), and valgrind, clang-tidy and cppcheck for `make check` / `make tidy`.
# gcc's ASan/UBSan runtimes come with gcc.
FUZZ_PACKAGES  := clang libclang-rt-14-dev
CHECK_PACKAGES := $(FUZZ_PACKAGES) clang-tidy cppcheck valgrind
FUZZ_SECONDS   ?= 60

.PHONY: deps-fuzz deps-check check fuzz tidy soak

deps-fuzz:
	@$(MAKE) --no-print-directory deps-deb DEB_PACKAGES="$(FUZZ_PACKAGES)"

deps-check:
	@$(MAKE) --no-print-directory deps-deb DEB_PACKAGES="$(CHECK_PACKAGES)"

## check: tidy, then the whole suite on an ASan+UBSan build (build/asan), then a spec
## subset under valgrind memcheck (spec/check); fails on any finding
check: deps deps-check all luajit tidy
	@./spec/check

## fuzz: build every libFuzzer harness (fuzz/*.c) and run each for FUZZ_SECONDS (default 60)
fuzz: deps-fuzz
	@./fuzz/run $(FUZZ_SECONDS)

## tidy: clang-tidy (.clang-tidy) and cppcheck on csrc/ and fuzz/; any finding fails
tidy: deps-check
	@echo "clang-tidy csrc/*.c fuzz/*.c"
	@bash -c 'set -o pipefail; clang-tidy --quiet $(wildcard csrc/*.c) $(wildcard fuzz/*.c) -- $(CFLAGS_ALL) -Icsrc \
	  2>&1 | sed "/warnings generated\./d"'
	cppcheck -q --error-exitcode=1 --enable=warning,style,performance,portability --inline-suppr \
	  --std=c99 --force -Icsrc $(shell pkg-config --cflags-only-I $(LUA_PC) libcurl) csrc fuzz

## soak: 50,000 requests, concurrency 16, 1% injected faults (bench/soak.lua; SOAK_ARGS to change)
soak: deps all
	@LUA_PATH="$(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;$(CURDIR)/?.lua;;" \
	  LUA_CPATH="$(CURDIR)/build/lua5.4/?.so;;" \
	  ./emulator/with-emulator lua5.4 bench/soak.lua $(SOAK_ARGS)

## bench: build, start the emulator and bench/fixed_server, print the table (also bench/results.md)
bench: deps all luajit bench-bin
	@./emulator/with-emulator ./spec/with-redis ./bench/run

BENCH_BIN    := build/bench
BENCH_CFLAGS := -std=c99 $(WARN) -O2

bench-bin: $(BENCH_BIN)/curl_loop $(BENCH_BIN)/spawn_loop $(BENCH_BIN)/fixed_server

$(BENCH_BIN)/curl_loop: bench/curl_loop.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $(shell pkg-config --cflags libcurl) -o $@ $< $(shell pkg-config --libs libcurl)

$(BENCH_BIN)/%: bench/%.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $<

## demo: build, start the emulator, onboard examples/users.csv twice
demo: deps all
	@./emulator/with-emulator ./examples/demo.sh

## emulator: run the emulator in the foreground (PORT=8729 by default)
emulator: deps-node
	@node emulator/server.js --port $${PORT:-$${TRAY_EMULATOR_PORT:-8729}}

## env: eval "$(make -s env)" to use the in-tree build
env:
	@echo "export LUA_PATH='$(LUA_PATH_TREE);;'"
	@echo "export LUA_CPATH='$(LUA_CPATH_TREE);;'"
	@echo "export PATH='$(CURDIR)/bin':\"\$$PATH\""

install: all
	install -d $(DESTDIR)$(LUA_SHARE)/tray $(DESTDIR)$(LUA_LIB)/tray $(DESTDIR)$(PREFIX)/bin
	install -m 0644 lua/tray/*.lua $(DESTDIR)$(LUA_SHARE)/tray/
	install -d $(DESTDIR)$(LUA_SHARE)/tray/backend
	install -m 0644 lua/tray/backend/*.lua $(DESTDIR)$(LUA_SHARE)/tray/backend/
	install -m 0755 $(MODULE) $(DESTDIR)$(LUA_LIB)/tray/native.so
	@if [ -d bin ]; then for f in bin/*; do install -m 0755 $$f $(DESTDIR)$(PREFIX)/bin/; done; fi

uninstall:
	rm -rf $(DESTDIR)$(LUA_SHARE)/tray $(DESTDIR)$(LUA_LIB)/tray
	@if [ -d bin ]; then for f in bin/*; do rm -f $(DESTDIR)$(PREFIX)/bin/$$(basename $$f); done; fi

lint:
	luacheck -q lua spec examples bench bin/tray
	@if command -v cppcheck >/dev/null; then \
	  cppcheck -q --error-exitcode=1 --enable=warning,style,performance,portability \
	    --inline-suppr --std=c99 $(shell pkg-config --cflags-only-I lua5.4 libcurl) csrc; fi

doc:
	ldoc -q .

clean:
	rm -rf build doc/ldoc .run

## reference: regenerate docs/REFERENCE.md from the operation tables
reference: all
	@LUA_PATH='$(LUA_PATH_TREE);;' LUA_CPATH='$(LUA_CPATH_TREE);;' lua5.4 tools/reference.lua > docs/REFERENCE.md
