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

BUILD     := build/$(LUA)
MODULE    := $(BUILD)/tray/native.so
CSRC      := $(wildcard csrc/*.c)
CHDR      := $(wildcard csrc/*.h)

CC        ?= cc
WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CSTD      := -std=c99 -D_POSIX_C_SOURCE=200809L
OPT       ?= -O2 -g
CFLAGS_ALL = $(CSTD) $(WARN) $(OPT) -fPIC -fvisibility=hidden \
             $(shell pkg-config --cflags $(LUA_PC) libcurl) $(CFLAGS)
# The interpreter has Lua built in: link libcurl only, never liblua.
LIBS_ALL   = $(shell pkg-config --libs libcurl) -lpthread $(LDFLAGS)

LUA_SHARE := $(PREFIX)/share/lua/$(LUA_ABI)
LUA_LIB   := $(PREFIX)/lib/lua/$(LUA_ABI)

# Every Debian package the project needs (build, specs, emulator, OpenResty, Redis, checks).
DEB_PACKAGES := lua5.4 liblua5.4-dev libcurl4-openssl-dev lua-cjson lua-busted lua-check \
                lua-ldoc pkg-config gcc make openssl curl ca-certificates \
                luajit2 libluajit2-5.1-dev lua-socket

BUSTED    := busted --lua=lua5.4
LUA_PATH_TREE  := $(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua
LUA_CPATH_TREE := $(CURDIR)/build/lua5.4/?.so

.PHONY: all deps deps-deb deps-node test demo emulator install uninstall env lint doc clean luajit reference

all: $(MODULE)

$(MODULE): $(CSRC) $(CHDR) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -shared -o $@ $(CSRC) $(LIBS_ALL)

luajit:
	@$(MAKE) --no-print-directory LUA=luajit

## deps: every Debian package and the emulator's npm packages (idempotent, quiet when present)
deps: deps-deb deps-node

deps-deb:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing $$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	    || { echo "deps: apt-get install failed" >&2; exit 1; }; \
	fi

deps-node: emulator/node_modules/.installed

emulator/node_modules/.installed: emulator/package.json emulator/package-lock.json
	@command -v node >/dev/null || { echo "deps: Node.js is required for the emulator" >&2; exit 1; }
	@echo "deps: installing the emulator's npm packages"
	@cd emulator && npm ci --silent --no-audit --no-fund >/dev/null
	@touch $@

## test: build, start the emulator, run every spec; the last line is "N passed, N failed"
test: deps all luajit
	@./spec/run

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
	install -m 0755 $(MODULE) $(DESTDIR)$(LUA_LIB)/tray/native.so
	@if [ -d bin ]; then for f in bin/*; do install -m 0755 $$f $(DESTDIR)$(PREFIX)/bin/; done; fi

uninstall:
	rm -rf $(DESTDIR)$(LUA_SHARE)/tray $(DESTDIR)$(LUA_LIB)/tray
	@if [ -d bin ]; then for f in bin/*; do rm -f $(DESTDIR)$(PREFIX)/bin/$$(basename $$f); done; fi

lint:
	luacheck -q lua spec examples bench
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
