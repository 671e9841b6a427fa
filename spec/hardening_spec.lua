-- Hostile input and hostile servers (issue 14): every case below once raised,
-- hung, read freed memory or gave the wrong kind of error. Items: 4 (the
-- native request reader; the whole suite runs under ASan in `make check`),
-- 5 (cycles in tray.json), 6 (endless pagination), 14 (a raising log
-- callback, raising metamethods, a 1 MiB id or token, garbage after
-- "100 Continue"). Items 1-3 are in spec/hostile_spec.lua, 11-12 in
-- spec/csv_spec.lua and spec/onboard_example_spec.lua.

local emu = require "spec.helpers.emulator"
local tray = require "tray"
local native = require "tray.native"
local json = require "tray.json"
local pager = require "tray.pager"

describe("hardening", function()
  before_each(function() emu.reset() end)
  after_each(function() emu.clear_faults() end)

  describe("the native request reader (item 4)", function()
    it("refuses a header that is not a string instead of reading a freed temporary", function()
      local s = assert(native.session{ timeout = 10 })
      local m = assert(native.multi())
      -- a collector that runs all the time: a temporary string would be freed at once
      collectgarbage("setpause", 0)
      local ok, err = pcall(function()
        for _, bad in ipairs({ 42, 1.5, true, {}, function() end }) do
          local headers = {}
          for i = 1, 63 do headers[i] = "X-H" .. i .. ": v" end
          headers[#headers + 1] = bad
          local v, kind, msg = s:request("GET", emu.core_url .. "/workspaces", headers, nil, emu.master_token)
          assert.is_nil(v)
          assert.equal("usage", kind)
          assert.matches("a header must be a string", msg)
          v, kind = m:add(s, 1, "GET", emu.core_url .. "/workspaces", headers, nil, emu.master_token)
          assert.is_nil(v)
          assert.equal("usage", kind)
          -- numbers were converted before: refused too in every position
          v, kind = s:request("GET", emu.core_url .. "/workspaces", {}, 42, emu.master_token)
          assert.is_nil(v)
          assert.equal("usage", kind)
          v, kind = s:request("GET", emu.core_url .. "/workspaces", {}, nil, 12345)
          assert.is_nil(v)
          assert.equal("usage", kind)
        end
      end)
      collectgarbage("setpause", 200)
      assert(ok, err)
      assert.equal(0, m:count())
      m:close()
      s:close()
    end)

    it("answers a URL, a header or a token too long for HTTP as usage, before sending", function()
      local s = assert(native.session{ timeout = 10 })
      local big = string.rep("a", 1024 * 1024)
      local cases = {
        { emu.core_url .. "/workspaces/" .. big, {}, emu.master_token },
        { emu.core_url .. "/workspaces", { "X-Big: " .. big }, emu.master_token },
        { emu.core_url .. "/workspaces", {}, big },
      }
      emu.clear_requests()
      for _, c in ipairs(cases) do
        local v, kind, msg = s:request("GET", c[1], c[2], nil, c[3])
        assert.is_nil(v)
        assert.equal("usage", kind)
        assert.matches("longer than", msg)
      end
      assert.equal(0, #emu.requests())
      s:close()
    end)
  end)

  describe("tray.json (item 5)", function()
    it("refuses a table that refers to itself, in linear time, as one usage error", function()
      local t = {}
      t.a, t.b = t, t
      local text, why = json.encode(t)
      assert.is_nil(text)
      assert.matches("cycle", why)
      -- deeper: 500 tables each referring twice to the next, the last to the first
      local first = {}
      local node = first
      for _ = 1, 500 do
        local nxt = {}
        node.a, node.b = nxt, nxt
        node = nxt
      end
      node.back = first
      text, why = json.encode({ x = first, marker = json.array() })
      assert.is_nil(text)
      assert.matches("cycle", why)
      -- a table reached by many paths stands for an exponential JSON text: refused
      local dag = { leaf = json.array() }
      for _ = 1, 40 do dag = { a = dag, b = dag } end
      text, why = json.encode(dag)
      assert.is_nil(text)
      assert.matches("2%^24", why)
      -- a shared table reached twice is fine (written twice)
      local shared = { json.array() }
      local text2 = assert(json.encode({ p = shared, q = shared }))
      assert.matches('"p":%[%[%]%]', text2)
      assert.matches('"q":%[%[%]%]', text2)
    end)

    it("create_authentication and call_connector with a self-referring input answer usage", function()
      local t = {}
      t.a, t.b = t, t
      local core = emu.core()
      local v, err = core:create_authentication{ name = "n", serviceEnvironmentId = "e", data = t }
      assert.is_nil(v)
      assert.equal("usage", err.kind)
      assert.matches("cycle", err.message)
      local emb = emu.embedded()
      v, err = emb:call_connector{ connector = "c", version = "1", operation = "o", authId = "a", input = t }
      assert.is_nil(v)
      assert.equal("usage", err.kind)
      assert.matches("cycle", err.message)
    end)
  end)

  describe("pagination (item 6)", function()
    it("stops with a decode error when the server repeats a cursor", function()
      emu.fault{ mode = "same_cursor", count = -1 }
      local core, emb = emu.core(), emu.embedded()
      local v, err = core:all("list_workspaces")
      assert.is_nil(v)
      assert.equal("decode", err.kind)
      assert.matches("same page cursor", err.message)
      v, err = emb:all("users")
      assert.is_nil(v)
      assert.equal("decode", err.kind)
      local ok, raised = pcall(function() for _ in core:each("list_workspaces") do end end)
      assert.is_false(ok)
      assert.equal("decode", raised.kind)
      assert.is_true(#emu.requests() <= 6)
    end)

    it("stops with a decode error when hasNextPage comes without a cursor", function()
      emu.fault{ mode = "same_cursor", cursor = "", count = -1 }
      local v, err = emu.embedded():all("users")
      assert.is_nil(v)
      assert.equal("decode", err.kind)
      assert.matches("no cursor", err.message)
      v, err = emu.core():all("list_workspaces")
      assert.is_nil(v)
      assert.equal("decode", err.kind)
    end)

    it("finds a longer cycle of cursors within twice its length, holding two cursors", function()
      for _, len in ipairs({ 1, 2, 3, 7, 50 }) do
        -- five distinct cursors, then a cycle of `len` cursors
        local fetches = 0
        local it = pager.iterate(function()
          fetches = fetches + 1
          return { fetches }, fetches <= 5 and ("t" .. fetches) or ("c" .. ((fetches - 6) % len))
        end)
        local ok, err = pcall(function() for _ in it do end end)
        assert.is_false(ok)
        assert.equal("decode", err.kind)
        assert.is_true(fetches <= 2 * (5 + len) + len + 2, len .. ": " .. fetches)
      end
    end)
  end)

  describe("the caller's mistakes and the server's garbage (item 14)", function()
    it("a log callback that raises does not fail or escape the call", function()
      emu.fault{ mode = "status", status = 503, count = 1 }
      local core = emu.core{ max_retries = 2, retry_base = 0.001, log = function() error("log boom") end }
      local ok, v, err = pcall(core.list_workspaces, core)
      assert.is_true(ok, tostring(v))
      assert(v, err)
    end)

    it("argument tables whose metamethods raise give usage errors, never a raise", function()
      local function hostile()
        local boom = function() error("metamethod boom") end
        return setmetatable({}, { __index = boom, __pairs = boom, __len = boom, __tostring = boom, __newindex = boom })
      end
      local core, emb = emu.core(), emu.embedded()
      local calls = {
        function() return tray.core.new(hostile()) end,
        function() return tray.embedded.new(hostile()) end,
        function() return core:get_workspace(hostile()) end,
        function() return core:call_connector(hostile()) end,
        function() return emb:users(hostile()) end,
        function() return emb:call_connector(hostile()) end,
        function() return emb:create_external_user(hostile()) end,
        function() return emb:for_user("u", hostile()) end,
        function() return assert(tray.csv.writer(function() return true end)):write(hostile()) end,
      }
      local failed = 0
      for i, f in ipairs(calls) do
        local ok, v, err = pcall(f)
        assert.is_true(ok, "call " .. i .. " raised: " .. tostring(v))
        -- (LuaJIT runs no __pairs or __len: a call may then go through)
        if v == nil then
          assert.equal("usage", err.kind, "call " .. i)
          failed = failed + 1
        end
      end
      assert.is_true(failed >= 5)
    end)

    it("a 1 MiB id or token is a usage error, not retried", function()
      local big = string.rep("a", 1024 * 1024)
      emu.clear_requests()
      local v, err = emu.core{ max_retries = 3, retry_base = 0.001 }:get_workspace(big)
      assert.is_nil(v)
      assert.equal("usage", err.kind)
      v, err = emu.core{ token = big, max_retries = 3, retry_base = 0.001 }:list_workspaces()
      assert.is_nil(v)
      assert.equal("usage", err.kind)
      assert.equal(0, #emu.requests())
    end)

    it("garbage after 100 Continue is the server's fault (decode), not the caller's", function()
      emu.fault{ mode = "continue_garbage", count = 1 }
      local v, err = emu.core():list_workspaces()
      assert.is_nil(v)
      assert.equal("decode", err.kind)
      emu.fault{ mode = "continue_garbage", count = 1 }
      v, err = emu.embedded():users{ first = 1 }
      assert.is_nil(v)
      assert.equal("decode", err.kind)
    end)
  end)
end)
