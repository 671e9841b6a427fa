-- Fault injection: every fault mode of the emulator against both clients (REST and
-- GraphQL), blocking and inside tray.parallel. For each: the documented error kind, or
-- the transparent retry the policy promises (lua/tray/transport.lua); the process goes
-- on; no descriptor or memory is left behind across 10,000 faulty calls; and a body
-- larger than max_body is refused cleanly.

local emu = require "spec.helpers.emulator"
local proc = require "spec.helpers.proc"
local tray = require "tray"

local has_scan, scan = pcall(require, "spec.helpers.error_scan")

local WORKSPACE = "6f1c2a9e-3b4d-4e8f-9a01-2b3c4d5e6f70"
local MAX_BODY_MSG = "the response body is larger than max_body"

-- The four kinds of call, each with the emulator match that aims a fault at it.
local n_users = 0
local CALLS = {
  { name = "core GET", client = "core", idempotent = true, match = { path = "/core/v1/workspaces" },
    run = function(c) return c:list_workspaces() end },
  { name = "core POST", client = "core", idempotent = false, match = { path = "/core/v1/users/invite" },
    run = function(c) return c:invite_user{ email = "ada@example.com" } end },
  { name = "embedded query", client = "embedded", idempotent = true, match = { operation = "users" },
    run = function(c) return c:users{ first = 1 } end },
  { name = "embedded mutation", client = "embedded", idempotent = false, match = { operation = "createExternalUser" },
    run = function(c)
      n_users = n_users + 1
      return c:create_external_user{ name = "Ada", externalUserId = "ada-" .. n_users }
    end },
}

local function client_for(call, extra)
  if call.client == "core" then return emu.core(extra) end
  return emu.embedded(extra)
end

local function fault(call, spec)
  local f = { match = call.match }
  for k, v in pairs(spec) do f[k] = v end
  return emu.fault(f)
end

-- Requests that reached the emulator (its log holds no test-control calls).
local function main_requests()
  return emu.count(function(r) return r.listener == "main" end)
end

local function in_parallel(fn, n)
  local tasks = {}
  for i = 1, n do tasks[i] = fn end
  return tray.parallel(tasks, { concurrency = n })
end

describe("faults", function()
  before_each(function()
    emu.reset()
  end)

  -- Each mode, each call, no retries: the error kind the documentation gives.
  local EXPECT = {
    { mode = "refuse", kind = "network", spec = { count = -1 } },
    { mode = "reset", kind = "network" },
    { mode = "status 500", kind = "http", status = 500, spec = { mode = "status", status = 500 } },
    { mode = "status 502", kind = "http", status = 502, spec = { mode = "status", status = 502 } },
    { mode = "status 503", kind = "http", status = 503, spec = { mode = "status", status = 503 } },
    { mode = "status 504", kind = "http", status = 504, spec = { mode = "status", status = 504 } },
    { mode = "429 without Retry-After", kind = "rate_limited", status = 429, spec = { mode = "429" } },
    { mode = "429 with Retry-After", kind = "rate_limited", status = 429, retry_after = 7,
      spec = { mode = "429", retryAfter = 7 } },
    { mode = "malformed_json", kind = "decode", status = 200 },
    { mode = "html", kind = "http", status = 502 },
    { mode = "empty", kind = "decode", status = 200 },
    { mode = "redirect", kind = "http", status = 307 },
    -- timeout 1 s: the same client's next call (milliseconds) must fit in it on a loaded machine
    -- and under valgrind; the delay stays well past it
    { mode = "stall", kind = "timeout", opts = { timeout = 1 }, spec = { delayMs = 5000 } },
    { mode = "delay past the timeout", kind = "timeout", opts = { timeout = 1 },
      spec = { mode = "delay", delayMs = 5000 } },
  }

  for _, call in ipairs(CALLS) do
    describe(call.name, function()
      for _, e in ipairs(EXPECT) do
        it(e.mode .. " -> kind " .. e.kind, function()
          local spec = { mode = e.mode }
          for k, v in pairs(e.spec or {}) do spec[k] = v end
          fault(call, spec)
          local c = client_for(call, e.opts)
          local v, err = call.run(c)
          assert.is_nil(v)
          assert.equal(e.kind, err.kind)
          assert.is_true(tray.errors.is(err))
          if e.status then assert.equal(e.status, err.status) end
          if e.retry_after then assert.equal(e.retry_after, err.retry_after) end
          assert.is_string(err.message)
          assert.equal(0, c:stats().retries)
          -- the same client still works once the fault is gone
          emu.clear_faults()
          assert.truthy(call.run(c))
        end)
      end
    end)
  end

  describe("GraphQL only", function()
    it("the documented rate-limit error (HTTP 200) is kind rate_limited, with the errors kept", function()
      for _, call in ipairs({ CALLS[3], CALLS[4] }) do
        fault(call, { mode = "graphql_rate_limit" })
        local v, err = call.run(emu.embedded())
        assert.is_nil(v)
        assert.equal("rate_limited", err.kind)
        assert.equal(200, err.status)
        assert.equal("access_not_allowed", err.errors[1].extensions.code)
      end
    end)
  end)

  describe("answers that are slow but complete", function()
    it("a body trickled one byte per millisecond arrives whole", function()
      local core, emb = emu.core(), emu.embedded()
      emu.fault{ match = { path = "/core/v1/workspaces/" }, mode = "trickle", delayMs = 1 }
      local w = assert(core:get_workspace(WORKSPACE))
      assert.equal(WORKSPACE, w.id)
      emu.fault{ match = { operation = "users" }, mode = "trickle", delayMs = 1 }
      assert.is_table(assert(emb:users{ first = 1 }).nodes)
      local log = emu.requests()
      assert.equal("trickle", log[1].fault)
      assert.equal("trickle", log[2].fault)
    end)

    it("a trickle longer than the timeout is kind timeout", function()
      emu.fault{ match = { path = "/core/v1/workspaces" }, mode = "trickle", delayMs = 20 }
      local v, err = emu.core{ timeout = 0.5 }:list_workspaces()
      assert.is_nil(v)
      assert.equal("timeout", err.kind)
    end)

    it("a delayed answer inside the timeout succeeds", function()
      emu.fault{ match = { path = "/core/v1/workspaces" }, mode = "delay", delayMs = 200 }
      assert.is_table(assert(emu.core{ timeout = 5 }:list_workspaces()).elements)
    end)
  end)

  describe("retries", function()
    local fast = { max_retries = 3, retry_base = 0.01, retry_cap = 0.05 }

    for _, mode in ipairs({ { mode = "status", status = 502 }, { mode = "status", status = 503 },
                            { mode = "status", status = 504 }, { mode = "refuse" }, { mode = "reset" },
                            { mode = "429" }, { mode = "html", status = 503 } }) do
      it(string.format("a GET answered %s%s twice then OK succeeds transparently", mode.mode,
        mode.status and (" " .. mode.status) or ""), function()
        local f = { match = { path = "/core/v1/workspaces" }, count = 2 }
        for k, v in pairs(mode) do f[k] = v end
        emu.fault(f)
        local logged = {}
        local opts = { log = function(level, message) logged[#logged + 1] = level .. " " .. message end }
        for k, v in pairs(fast) do opts[k] = v end
        local core = emu.core(opts)
        local list = assert(core:list_workspaces())
        assert.equal(2, #list.elements)
        assert.equal(3, main_requests())
        assert.equal(2, core:stats().retries)
        assert.equal(2, #logged)
        assert.matches("^retry GET list_workspaces: [%w_]+; retry 1 of 3", logged[1])
      end)
    end

    it("a query stalled once is retried after the timeout and succeeds", function()
      emu.fault{ match = { operation = "users" }, mode = "stall", delayMs = 5000 }
      local opts = { timeout = 1 } -- the retry (milliseconds) must fit in it
      for k, v in pairs(fast) do opts[k] = v end
      local emb = emu.embedded(opts)
      assert.is_table(assert(emb:users{ first = 1 }).nodes)
      assert.equal(2, main_requests())
      assert.equal(1, emb:stats().retries)
    end)

    it("the GraphQL rate-limit answer twice then OK: a mutation succeeds (it was not applied)", function()
      emu.fault{ match = { operation = "createExternalUser" }, mode = "graphql_rate_limit", count = 2 }
      local emb = emu.embedded(fast)
      local created = assert(emb:create_external_user{ name = "Ada", externalUserId = "ada-rl" })
      assert.is_string(created.userId)
      assert.equal(3, main_requests())
      assert.equal(2, emb:stats().retries)
    end)

    it("a POST answered 429 is retried (a rate-limited request was not applied)", function()
      emu.fault{ match = { path = "/core/v1/users/invite" }, mode = "429", retryAfter = 0, count = 1 }
      local core = emu.core(fast)
      assert.equal("invited", assert(core:invite_user{ email = "ada@example.com" }).status)
      assert.equal(2, main_requests())
    end)

    for _, status in ipairs({ 500, 502, 503, 504 }) do
      it("a mutation answered " .. status .. " is not retried (it may have been applied)", function()
        emu.fault{ match = { operation = "createExternalUser" }, mode = "status", status = status, count = -1 }
        emu.fault{ match = { path = "/core/v1/users/invite" }, mode = "status", status = status, count = -1 }
        local emb, core = emu.embedded(fast), emu.core(fast)
        local v, err = emb:create_external_user{ name = "Ada", externalUserId = "ada-" .. status }
        assert.is_nil(v)
        assert.equal("http", err.kind)
        assert.equal(status, err.status)
        assert.equal(1, main_requests())
        v, err = core:invite_user{ email = "ada@example.com" }
        assert.is_nil(v)
        assert.equal(status, err.status)
        assert.equal(2, main_requests())
        assert.equal(0, emb:stats().retries + core:stats().retries)
      end)
    end

    it("a POST whose connection dies after sending is not retried by the SDK", function()
      emu.fault{ match = { path = "/core/v1/users/invite" }, mode = "reset", count = -1 }
      local core = emu.core(fast)
      local v, err = core:invite_user{ email = "ada@example.com" }
      assert.is_nil(v)
      assert.equal("network", err.kind)
      assert.equal(0, core:stats().retries)
      assert.equal(1, main_requests())
    end)

    it("a POST that could not connect at all is retried (nothing was sent)", function()
      local core = emu.core{ base_url = emu.dead_url(), max_retries = 2, retry_base = 0.01 }
      local v, err = core:invite_user{ email = "ada@example.com" }
      assert.is_nil(v)
      assert.equal("network", err.kind)
      assert.equal(2, core:stats().retries)
    end)

    it("retries run out: the last error comes back, after max_retries + 1 requests", function()
      emu.fault{ match = { path = "/core/v1/workspaces" }, mode = "status", status = 503, count = -1 }
      local core = emu.core{ max_retries = 2, retry_base = 0.01 }
      local v, err = core:list_workspaces()
      assert.is_nil(v)
      assert.equal("http", err.kind)
      assert.equal(503, err.status)
      assert.equal(3, main_requests())
      assert.equal(1, core:stats().failures)
    end)

    it("a Retry-After longer than max_retry_wait is not waited for", function()
      emu.fault{ match = { path = "/core/v1/workspaces" }, mode = "429", retryAfter = 120, count = -1 }
      local backend, waits = emu.recording_backend()
      local core = emu.core{ max_retries = 3, max_retry_wait = 60, backend = backend }
      local v, err = core:list_workspaces()
      assert.is_nil(v)
      assert.equal("rate_limited", err.kind)
      assert.equal(120, err.retry_after)
      assert.equal(1, main_requests())
      -- nothing was waited for: neither the Retry-After nor max_retry_wait
      assert.same({}, waits)
    end)

    it("inside tray.parallel, faulty calls retry without holding up the others", function()
      emu.fault{ match = { path = "/core/v1/workspaces" }, mode = "status", status = 503, count = 4 }
      local core = emu.core(fast)
      local values, errs = in_parallel(function() return core:list_workspaces() end, 8)
      for i = 1, 8 do
        assert.is_nil(errs[i])
        assert.equal(2, #values[i].elements)
      end
      assert.equal(12, main_requests())
      assert.equal(4, core:stats().retries)
    end)
  end)

  describe("max_body", function()
    it("a 50 MB body passes under the default cap (64 MiB)", function()
      emu.fault{ match = { path = "/core/v1/workspaces" }, mode = "huge" }
      local core = emu.core()
      local body = assert(core:list_workspaces())
      assert.equal(50 * 1024 * 1024 - 11, #body.data)
    end)

    it("a body over a small cap is refused with kind decode, announced or chunked, blocking or parallel", function()
      for _, chunked in ipairs({ false, true }) do
        for _, call in ipairs(CALLS) do
          fault(call, { mode = "huge", bytes = 1024 * 1024, chunked = chunked })
          local c = client_for(call, { max_body = 64 * 1024 })
          local v, err = call.run(c)
          assert.is_nil(v)
          assert.equal("decode", err.kind)
          assert.equal(MAX_BODY_MSG, err.message)
          -- the client goes on working
          assert.truthy(call.run(c))
        end
        emu.fault{ match = { path = "/core/v1/workspaces" }, mode = "huge", bytes = 1024 * 1024,
                   chunked = chunked, count = 3 }
        local core = emu.core{ max_body = 64 * 1024 }
        local values, errs = in_parallel(function() return core:list_workspaces() end, 4)
        local refused, ok = 0, 0
        for i = 1, 4 do
          if values[i] then ok = ok + 1 else
            assert.equal(MAX_BODY_MSG, errs[i].message)
            refused = refused + 1
          end
        end
        assert.equal(3, refused)
        assert.equal(1, ok)
      end
    end)

    it("an ordinary answer bigger than max_body is refused too", function()
      local v, err = emu.core{ max_body = 200 }:list_connectors()
      assert.is_nil(v)
      assert.equal("decode", err.kind)
      assert.equal(MAX_BODY_MSG, err.message)
    end)
  end)

  -- Leaks: 10,000 calls that each meet a fault (the fast modes), blocking and in
  -- tray.parallel, from both clients, after a warm-up of the same work (so pools,
  -- caches and allocator arenas have reached their size). Each phase runs on its
  -- own pair of clients and closes them, so the descriptor count does not depend
  -- on how many kept-alive connections a connection cache happened to hold.
  -- A full collection runs every 1024 calls: garbage is not a leak, and Lua
  -- 5.4.4's collector, once a large string has been freed (the 50 MB test),
  -- lets garbage grow to about twice that size before its next cycle.
  --
  -- Tolerances: descriptors +1 (the emulator helper's control connection may
  -- have been reopened); while the clients live, at most 128 more descriptors
  -- (libcurl keeps up to 4 connections per transfer of a multi handle: two
  -- clients, 16 transfers each; about 50 are seen); Lua heap
  -- +512 KiB; RSS +3 MiB, i.e. less than 320 bytes a call (a leaked easy handle
  -- is several KiB, a leaked response buffer at least 1 KiB, a leaked header
  -- list with the token about 300 bytes). Under AddressSanitizer (TRAY_SANITIZER,
  -- set by `make check`) RSS is not compared: ASan keeps freed memory in
  -- quarantine, and LeakSanitizer checks for leaks at exit instead.
  describe("no leak across 10,000 faulty calls #leak", function()
    it("keeps descriptors, Lua heap and RSS flat", function()
      -- one fault per route, until cleared: each call below meets one
      local plan = {
        { path = "/core/v1/users", mode = "status", status = 500, kind = "http",
          run = function(c) return c:list_users() end },
        { path = "/core/v1/workspaces", mode = "refuse", kind = "network",
          run = function(c) return c:list_workspaces() end },
        { path = "/core/v1/triggers", mode = "malformed_json", kind = "decode",
          run = function(c) return c:list_triggers() end },
        { path = "/core/v1/connectors", mode = "html", kind = "http",
          run = function(c) return c:list_connectors() end },
        { path = "/core/v1/authentications", mode = "empty", kind = "decode",
          run = function(c) return c:list_authentications() end },
        { path = "/core/v1/services", mode = "429", kind = "rate_limited",
          run = function(c) return c:list_service_environments("slack", "4") end },
        { path = "/core/v1/projects", mode = "redirect", kind = "http",
          run = function(c) return c:export_project("p1") end },
        { path = "/core/v1/subscriptions", mode = "reset", kind = "network",
          run = function(c) return c:delete_subscription("s1") end },
        { operation = "users", mode = "graphql_rate_limit", kind = "rate_limited", graphql = true,
          run = function(_, e) return e:users{ first = 1 } end },
        { operation = "viewer", mode = "status", status = 503, kind = "http", graphql = true,
          run = function(_, e) return e:authentications() end },
        { operation = "createExternalUser", mode = "refuse", kind = "network", graphql = true,
          run = function(_, e) return e:create_external_user{ name = "x", externalUserId = "x" } end },
        { operation = "authorize", mode = "malformed_json", kind = "decode", graphql = true,
          run = function(_, e) return e:authorize{ userId = "u" } end },
      }
      for _, p in ipairs(plan) do
        emu.fault{ match = { path = p.path, operation = p.operation }, mode = p.mode, status = p.status,
                   count = -1 }
      end
      local wrong, peak_fds, samples = 0, 0, {}

      -- n calls on a new pair of clients, blocking and in batches of 16 in
      -- tray.parallel alternately; the clients are closed at the end
      local function work(n)
        local core, emb = emu.core(), emu.embedded()
        local done = 0
        while done < n do
          local batch = math.min(16, n - done)
          if (done / 16) % 2 == 0 then
            for i = 1, batch do
              local p = plan[(done + i) % #plan + 1]
              local v, err = p.run(core, emb)
              if v ~= nil or err.kind ~= p.kind then wrong = wrong + 1 end
            end
          else
            local tasks = {}
            for i = 1, batch do
              local p = plan[(done + i) % #plan + 1]
              tasks[i] = function()
                local v, err = p.run(core, emb)
                if v ~= nil or err.kind ~= p.kind then wrong = wrong + 1 end
                return true
              end
            end
            local _, errs = tray.parallel(tasks, { concurrency = 16 })
            for i = 1, batch do if errs[i] then wrong = wrong + 1 end end
          end
          done = done + batch
          if done % 1024 == 0 then
            local fds = proc.fds()
            samples[#samples + 1] = fds
            peak_fds = math.max(peak_fds, fds)
            -- the suite's error scan keeps every error: scan and drop them as we go
            if has_scan then scan.flush() end
            proc.collect()
          end
        end
        core:close()
        emb:close()
      end

      local function measure()
        if has_scan then scan.flush() end
        proc.collect()
        return proc.fds(), collectgarbage("count"), proc.rss_kib()
      end

      work(1024)
      emu.clear_requests()
      local fds0, heap0, rss0 = measure()
      work(10000)
      local fds1, heap1, rss1 = measure()

      assert.equal(0, wrong)
      assert.is_true(emu.stats().requests >= 10000)
      local report = string.format("fds %d -> %d (in use: %s), Lua heap %.0f -> %.0f KiB, RSS %d -> %d KiB",
        fds0, fds1, table.concat(samples, " "), heap0, heap1, rss0, rss1)
      assert.is_true(fds1 <= fds0 + 1, report)
      assert.is_true(peak_fds <= fds0 + 128, report)
      assert.is_true(heap1 <= heap0 + 512, report)
      if not os.getenv("TRAY_SANITIZER") then
        assert.is_true(rss1 <= rss0 + 3 * 1024, report)
      end
      if os.getenv("TRAY_SPEC_VERBOSE") then io.stderr:write("leak check: " .. report .. "\n") end
    end)
  end)
end)
