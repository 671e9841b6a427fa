# tray: Lua SDK for the Tray.io platform APIs.
#
#   make demo   installs what the demo needs, builds, starts the emulator, runs the onboarding demo
#   make test   installs every dependency, builds, starts the emulator, runs every spec
#   make dist   the release tarball and its versioned rockspec (build/dist/)
#
# `make LUA=luajit` builds (and `make install LUA=luajit` installs, `make -s env LUA=luajit`
# points at) the native module for LuaJIT (OpenResty) instead of Lua 5.4.
# hiredis is optional: without it (pkg-config hiredis), the build has no Redis support
# and `rate_limit = { redis = ... }` is a `usage` error saying so (HIREDIS=no forces that).

LUA       ?= lua5.4
PREFIX    ?= /usr/local
DESTDIR   ?=
# The version is written once, in Lua (lua/tray/version.lua); C gets it from here
# (-DTRAY_VERSION), the release rockspec from `make dist`.
VERSION   := $(shell sed -n 's/^local VERSION = "\(.*\)"/\1/p' lua/tray/version.lua)

ifeq ($(LUA),luajit)
  LUA_PC     := luajit
  LUA_ABI    := 5.1
  LUA_BIN    := luajit
else
  LUA_PC     := lua5.4
  LUA_ABI    := 5.4
  LUA_BIN    := lua5.4
endif

# Lua's headers: LUA_INCDIR when given (luarocks passes it), else pkg-config.
ifdef LUA_INCDIR
  LUA_CFLAGS := -I$(LUA_INCDIR)
else
  LUA_CFLAGS  = $(shell pkg-config --cflags $(LUA_PC))
endif

HIREDIS ?= $(shell pkg-config --exists hiredis 2>/dev/null && echo yes || echo no)
ifeq ($(HIREDIS),yes)
  HIREDIS_CFLAGS := -DTRAY_HAVE_HIREDIS $(shell pkg-config --cflags hiredis)
  HIREDIS_LIBS   := $(shell pkg-config --libs hiredis)
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
CFLAGS_ALL = $(CSTD) $(WARN) $(OPT) -fPIC -fvisibility=hidden -DTRAY_VERSION=\"$(VERSION)\" \
             $(LUA_CFLAGS) $(shell pkg-config --cflags libcurl) $(HIREDIS_CFLAGS) $(CFLAGS)
# The interpreter has Lua built in: link libcurl (and hiredis) only, never liblua.
# -z nodelete: once loaded, the module (and libcurl with it) stays for the life of
# the process even when the Lua state that loaded it is closed: libcurl's global
# init runs once per process and is never undone (see module.c), and the
# process-wide limiter registry is never left dangling.
LIBS_ALL   = $(shell pkg-config --libs libcurl) $(HIREDIS_LIBS) -lpthread -Wl,-z,nodelete $(LDFLAGS)

LUA_SHARE := $(PREFIX)/share/lua/$(LUA_ABI)
LUA_LIB   := $(PREFIX)/lib/lua/$(LUA_ABI)

# Debian packages. The demo's: build the module, run the emulator's clients and the
# `tray` command (lua-dkjson: it prints the server's JSON with its arrays).
DEMO_PACKAGES := lua5.4 liblua5.4-dev libcurl4-openssl-dev lua-cjson lua-dkjson \
                 pkg-config gcc make ca-certificates
# The specs' on top: busted, luacheck, LDoc, LuaJIT, hiredis and a Redis server, nginx
# with the Lua module (OpenResty specs), TLS tools, luarocks (the rockspec spec).
TEST_PACKAGES := $(DEMO_PACKAGES) lua-busted lua-check lua-ldoc lua-socket openssl curl \
                 luajit2 libluajit2-5.1-dev libhiredis-dev redis-server \
                 nginx libnginx-mod-http-lua luarocks
DEB_PACKAGES  ?= $(TEST_PACKAGES)

BUSTED    := busted --lua=lua5.4
LUA_PATH_TREE  := $(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua
LUA_CPATH_TREE := $(CURDIR)/$(BUILD)/?.so

.PHONY: all deps deps-demo deps-deb deps-node test demo emulator install install-rock uninstall env lint doc \
        clean luajit reference types bench bench-bin dist

all: $(MODULE)

$(MODULE): $(CSRC) $(CHDR) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -shared -o $@ $(CSRC) $(LIBS_ALL)

luajit:
	@$(MAKE) --no-print-directory LUA=luajit

## deps: every Debian package and the emulator's npm packages (idempotent, quiet when present)
deps: deps-deb deps-node

## deps-demo: only what `make demo` needs (no nginx, redis-server, clang ...)
deps-demo: deps-node
	@./tools/apt-install $(DEMO_PACKAGES)

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
	  --std=c99 --force -Icsrc -DTRAY_VERSION='"$(VERSION)"'  $(shell pkg-config --cflags-only-I $(LUA_PC) libcurl) csrc fuzz

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
demo: deps-demo all
	@./emulator/with-emulator ./examples/demo.sh

## emulator: run the emulator in the foreground (PORT=8729 by default)
emulator: deps-node
	@node emulator/server.js --port $${PORT:-$${TRAY_EMULATOR_PORT:-8729}}

## env: eval "$(make -s env)" to use the in-tree build (LUA=luajit: the LuaJIT build)
env:
	@echo "export LUA_PATH='$(LUA_PATH_TREE);;'"
	@echo "export LUA_CPATH='$(LUA_CPATH_TREE);;'"
	@echo "export PATH='$(CURDIR)/bin':\"\$$PATH\""

## install: the modules, the native module and the tray command under PREFIX, for LUA
## (lua5.4, or luajit: share/lua/5.1, lib/lua/5.1, and `tray` runs on luajit)
install: all
	install -d $(DESTDIR)$(LUA_SHARE)/tray $(DESTDIR)$(LUA_LIB)/tray $(DESTDIR)$(PREFIX)/bin
	cd lua && for f in $$(find tray -name '*.lua' | sort); do \
	  install -D -m 0644 $$f $(DESTDIR)$(LUA_SHARE)/$$f || exit 1; done
	install -m 0755 $(MODULE) $(DESTDIR)$(LUA_LIB)/tray/native.so
	sed '1s|.*|#!/usr/bin/env $(LUA_BIN)|' bin/tray > $(DESTDIR)$(PREFIX)/bin/tray
	chmod 0755 $(DESTDIR)$(PREFIX)/bin/tray

# install-rock: what the rockspec's build runs (luarocks passes LIBDIR, LUA_INCDIR, CC,
# CFLAGS): compiles straight into LIBDIR, so no object is left in the source tree; the
# Lua modules and bin/tray are copied by luarocks itself (build.install).
install-rock:
	@test -n "$(LIBDIR)" || { echo "install-rock: LIBDIR is required" >&2; exit 1; }
	install -d $(LIBDIR)/tray
	$(CC) $(CFLAGS_ALL) -shared -o $(LIBDIR)/tray/native.so $(CSRC) $(LIBS_ALL)

uninstall:
	rm -rf $(DESTDIR)$(LUA_SHARE)/tray $(DESTDIR)$(LUA_LIB)/tray $(DESTDIR)$(PREFIX)/bin/tray

## dist: build/dist/tray-VERSION.tar.gz (the committed tree, git archive) and
## build/dist/tray-VERSION-1.rockspec (tray-scm-1.rockspec with that version and, as its
## source, the release tarball's URL); `luarocks lint` checks both rockspecs
DIST := build/dist
dist:
	@test -n "$(VERSION)" || { echo "dist: no version in lua/tray" >&2; exit 1; }
	@mkdir -p $(DIST)
	git archive --format=tar.gz --prefix=tray-$(VERSION)/ -o $(DIST)/tray-$(VERSION).tar.gz HEAD
	sed -e 's/^version = "scm-1"/version = "$(VERSION)-1"/' \
	    -e 's|^  url = "git+" .. REPOSITORY .. ".git",|  url = REPOSITORY .. "/releases/download/v$(VERSION)/tray-$(VERSION).tar.gz",\n  dir = "tray-$(VERSION)",|' \
	    tray-scm-1.rockspec > $(DIST)/tray-$(VERSION)-1.rockspec
	@grep -q 'version = "$(VERSION)-1"' $(DIST)/tray-$(VERSION)-1.rockspec && \
	  grep -q 'tray-$(VERSION).tar.gz' $(DIST)/tray-$(VERSION)-1.rockspec || \
	  { echo "dist: tray-scm-1.rockspec does not have the expected version/source lines" >&2; exit 1; }
	@if command -v luarocks >/dev/null; then \
	  luarocks lint tray-scm-1.rockspec && luarocks lint $(DIST)/tray-$(VERSION)-1.rockspec; \
	else echo "dist: luarocks is missing: the rockspecs were not linted" >&2; fi
	@echo "$(DIST)/tray-$(VERSION).tar.gz"
	@echo "$(DIST)/tray-$(VERSION)-1.rockspec"

lint:
	luacheck -q lua spec examples bench bin/tray
	@if command -v cppcheck >/dev/null; then \
	  cppcheck -q --error-exitcode=1 --enable=warning,style,performance,portability \
	    --inline-suppr --std=c99 --force -DTRAY_VERSION='"$(VERSION)"' $(shell pkg-config --cflags-only-I lua5.4 libcurl) csrc; fi

doc:
	ldoc -q .

clean:
	rm -rf build doc/ldoc .run

## types: regenerate lua/tray/embedded/types.lua from emulator/graphql/schema.graphql
## (spec/graphql_schema_spec.lua fails when it is stale)
types: deps-node
	@node tools/gen-types.js > lua/tray/embedded/types.lua.tmp && mv lua/tray/embedded/types.lua.tmp lua/tray/embedded/types.lua

## reference: regenerate docs/REFERENCE.md from the operation tables
reference: all
	@LUA_PATH='$(LUA_PATH_TREE);;' LUA_CPATH='$(LUA_CPATH_TREE);;' lua5.4 tools/reference.lua > docs/REFERENCE.md
