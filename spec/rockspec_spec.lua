-- The package: the rockspec lists every Lua module, builds through the Makefile into
-- a tree of its own (with and without hiredis) leaving nothing in the source tree,
-- `make dist` makes a release tarball and rockspec that luarocks accepts, the
-- license and the version are each written once.

local tray = require "tray"
local native = require "tray.native"
local proc = require "spec.helpers.proc"

local read, list, quote = proc.read, proc.lines, proc.quote

-- PATH without the ASan interpreter shims `make check` puts first (spec/check,
-- build/asan/bin): the package is built, installed and run the ordinary way.
local function plain_path()
  local parts = {}
  for p in (os.getenv("PATH") or ""):gmatch("[^:]+") do
    if not p:find("/build/asan/bin/?$") then parts[#parts + 1] = p end
  end
  return table.concat(parts, ":")
end

-- Runs a shell command with that PATH; returns whether it succeeded and its output.
local function sh(cmd)
  return proc.sh("PATH=" .. quote(plain_path()) .. "; export PATH; " .. cmd)
end

local function tmpdir()
  local p = os.tmpname()
  os.remove(p)
  assert(os.execute("mkdir -p " .. quote(p)))
  return p
end

local has_luarocks = sh("command -v luarocks")

-- What git sees in the tree, ignored files included (build/ aside: it holds the suite's own build).
local function tree_state()
  return table.concat(list("git status --porcelain --ignored --untracked-files=all | grep -v ' build/' | sort"), "\n")
end

describe("tray-scm-1.rockspec", function()
  local rockspec = read("tray-scm-1.rockspec")

  it("names every module in lua/tray (subdirectories too)", function()
    local files = list("find lua/tray -name '*.lua' | sort")
    assert.is_true(#files > 10)
    for _, file in ipairs(files) do
      local name = file:match("lua/tray/(.-)%.lua$"):gsub("/", ".")
      local module = name == "init" and "tray" or ("tray." .. name):gsub("%.init$", "")
      assert.is_truthy(rockspec:find('["' .. module .. '"] = "' .. file .. '"', 1, true), module .. " is missing")
    end
  end)

  it("has no machine path: the repository is declared once, and is the homepage", function()
    assert.is_nil(rockspec:find("file://", 1, true))
    assert.is_nil(rockspec:find("/work/", 1, true))
    local repo = rockspec:match('local REPOSITORY = "(https://[^"]+)"')
    assert.is_string(repo)
    assert.equal(1, select(2, rockspec:gsub(repo:gsub("%p", "%%%0"), "")))
    assert.matches("homepage = REPOSITORY", rockspec, 1, true)
  end)

  it("says the license that LICENSE holds", function()
    assert.matches('license = "MIT"', rockspec, 1, true)
    assert.matches("^MIT License\n", read("LICENSE"))
  end)

  it("has one version: the C module's is the Lua one, CHANGELOG.md exists", function()
    assert.equal(tray.VERSION, native.VERSION)
    assert.is_nil(read("csrc/tray.h"):find('"' .. tray.VERSION .. '"', 1, true))
    assert.matches("# Changelog", read("CHANGELOG.md"), 1, true)
  end)

  describe("with luarocks", function()
    if not has_luarocks then
      it("needs luarocks (make deps installs it)", function()
        error("luarocks is missing: make deps installs it")
      end)
      return
    end

    it("passes luarocks lint", function()
      local ok, out = sh("luarocks lint tray-scm-1.rockspec")
      assert(ok, out)
    end)

    for _, hiredis in ipairs({ "yes", "no" }) do
      it("builds into a tree of its own (hiredis: " .. hiredis .. "), linking like make, leaving nothing behind",
        function()
          if hiredis == "yes" and not sh("pkg-config --exists hiredis") then
            error("libhiredis-dev is missing: make deps installs it")
          end
          local before = tree_state()
          local dir = tmpdir()
          local ok, out = sh(string.format("HIREDIS=%s luarocks --lua-version=5.4 make --deps-mode=none --tree %s " ..
            "tray-scm-1.rockspec", hiredis, quote(dir)))
          local after = tree_state()
          local so = dir .. "/lib/lua/5.4/tray/native.so"
          local linked = ok and select(2, sh("readelf -d " .. quote(so))) or ""
          local ran, answer = false, ""
          if ok then
            -- the installed module, on its own: without hiredis a Redis limiter is a usage error naming it
            local share = dir .. "/share/lua/5.4/"
            ran, answer = sh(string.format("LUA_PATH=%s LUA_CPATH=%s lua5.4 -e %s",
              quote(share .. "?.lua;" .. share .. "?/init.lua;;"), quote(dir .. "/lib/lua/5.4/?.so;;"), quote([[
              local tray = require "tray"
              local native = require "tray.native"
              local c, err = tray.core.new{ token = "t", base_url = "http://127.0.0.1:9",
                rate_limit = { redis = "redis://127.0.0.1:9" } }
              print(native.VERSION, c and "client" or (err.kind .. ": " .. err.message))]])))
          end
          local bin = read(dir .. "/bin/tray")
          os.execute("rm -rf " .. quote(dir))
          assert(ok, out)
          assert.equal(before, after)
          assert.matches("FLAGS_1[^\n]*NODELETE", linked)
          assert(ran, answer)
          assert.matches("^" .. tray.VERSION:gsub("%p", "%%%0") .. "\t", answer)
          if hiredis == "no" then
            assert.matches("usage: Redis support is not built in[^\n]*hiredis", answer)
            assert.is_nil(linked:find("hiredis", 1, true))
          else
            assert.matches("client", answer)
            assert.matches("hiredis", linked)
          end
          assert.is_string(bin)
        end)
    end

    it("make dist: a tarball, and a versioned rockspec of it that lints and builds", function()
      local ok, out = sh("make -s dist")
      assert(ok, out)
      local v = tray.VERSION
      local tarball = "build/dist/tray-" .. v .. ".tar.gz"
      local spec = "build/dist/tray-" .. v .. "-1.rockspec"
      local text = read(spec)
      assert.matches('version = "' .. v .. '-1"', text, 1, true)
      assert.matches('/tray-' .. v .. '.tar.gz",', text, 1, true)
      assert.matches('dir = "tray-' .. v .. '"', text, 1, true)
      ok, out = sh("luarocks lint " .. quote(spec))
      assert(ok, out)
      -- the release rockspec builds from the unpacked tarball
      local dir = tmpdir()
      ok, out = sh(string.format("tar xzf %s -C %s && cd %s/tray-%s && luarocks --lua-version=5.4 make " ..
        "--deps-mode=none --tree %s/tree %s/%s", quote(tarball), quote(dir), quote(dir), v, quote(dir),
        quote(os.getenv("PWD")), spec))
      local installed = io.open(dir .. "/tree/lib/lua/5.4/tray/native.so")
      if installed then installed:close() end
      os.execute("rm -rf " .. quote(dir))
      assert(ok, out)
      assert.is_truthy(installed)
    end)
  end)
end)

describe("the Makefile", function()
  it("installs only what the demo needs for make demo: no nginx, redis-server, clang", function()
    local ok, out = sh("make -n demo")
    assert(ok, out)
    local apt = out:match("tools/apt%-install([^\n]*)")
    assert.is_string(apt, out)
    assert.matches(" lua5.4 ", apt .. " ", 1, true)
    for _, p in ipairs({ "nginx", "redis-server", "clang", "libnginx-mod-http-lua", "lua-busted" }) do
      assert.is_nil((apt .. " "):find(" " .. p .. " ", 1, true), p .. " is in make demo's packages")
    end
    ok, out = sh("make -n deps")
    assert(ok, out)
    for _, p in ipairs({ "nginx", "redis-server", "libhiredis-dev", "luarocks", "lua-dkjson" }) do
      assert.is_truthy((out .. " "):find(" " .. p:gsub("%p", "%%%0") .. "[ \n]"), p .. " is not in make deps' packages")
    end
  end)

  it("make env and make install follow LUA=luajit", function()
    local ok, out = sh("make -s env LUA=luajit")
    assert(ok, out)
    assert.matches("LUA_CPATH='[^']*/build/luajit/%?%.so;;'", out)
    ok, out = sh("make -s env")
    assert(ok, out)
    assert.matches("LUA_CPATH='[^']*/build/lua5.4/%?%.so;;'", out)
    if not sh("command -v luajit") then error("luajit is missing: make deps installs it") end
    local prefix = tmpdir()
    -- (-o: install the module the suite runs on; never rebuild it under the running specs)
    ok, out = sh(string.format("make -s -o all -o build/luajit/tray/native.so install LUA=luajit PREFIX=%s",
      quote(prefix)))
    local ran, answer = false, ""
    if ok then
      ran, answer = sh(string.format("LUA_PATH=%s LUA_CPATH=%s %s/bin/tray --version",
        quote(prefix .. "/share/lua/5.1/?.lua;" .. prefix .. "/share/lua/5.1/?/init.lua;;"),
        quote(prefix .. "/lib/lua/5.1/?.so;;"), prefix))
    end
    local shebang = ok and read(prefix .. "/bin/tray"):match("^[^\n]*") or ""
    os.execute("rm -rf " .. quote(prefix))
    assert(ok, out)
    assert.equal("#!/usr/bin/env luajit", shebang)
    assert(ran, answer)
    assert.equal("tray " .. tray.VERSION .. "\n", answer)
  end)
end)
