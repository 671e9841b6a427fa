-- tray.parallel: many calls in flight from one Lua state, on the libcurl multi loop.

local emu = require "spec.helpers.emulator"
local native = require "tray.native"
local tray = require "tray"

local arrivals = emu.arrivals

describe("tray.parallel", function()
  before_each(function()
    emu.reset()
    collectgarbage("collect")
  end)

  it("returns results in task order", function()
    local emb = emu.embedded()
    local tasks = {}
    for i = 1, 12 do
      tasks[i] = function()
        local u, err = emb:create_external_user{ name = "user " .. i, externalUserId = "par-" .. i }
        if not u then return nil, err end
        return i, nil
      end
    end
    local results, errs = tray.parallel(tasks, { concurrency = 4 })
    for i = 1, 12 do
      assert.equal(i, results[i])
      assert.is_nil(errs[i])
    end
    assert.equal(12, #assert(emb:all("users")))
  end)

  it("keeps errors per task: a failing task does not stop the others", function()
    local core = emu.core()
    local tasks = {
      function() return core:get_workspace("6f1c2a9e-3b4d-4e8f-9a01-2b3c4d5e6f70") end,
      function() return core:get_workspace("no-such-workspace") end,
      function() error("task three raised") end,
      function() return core:get_connector_version("twilio-output", 2.1) end, -- usage: not a string
      function() return core:list_users() end,
    }
    local results, errs = tray.parallel(tasks, { concurrency = 3 })
    assert.equal("Development", results[1].name)
    assert.is_nil(errs[1])
    assert.is_nil(results[2])
    assert.equal("not_found", errs[2].kind)
    assert.matches("task three raised", tostring(errs[3]))
    assert.equal("usage", errs[4].kind)
    assert.is_table(results[5].elements)
  end)

  it("has many requests in flight at once", function()
    emu.config{ latencyMs = 3000 }
    local core = emu.core()
    local tasks = {}
    for i = 1, 8 do tasks[i] = function() return core:list_users() end end
    local results = tray.parallel(tasks, { concurrency = 8 })
    for i = 1, 8 do assert.is_table(results[i]) end
    local last_arrival, first_answer, n, ports = -math.huge, math.huge, 0, {}
    for _, r in ipairs(emu.requests()) do
      if r.path == "/core/v1/users" then
        n = n + 1
        last_arrival = math.max(last_arrival, r.time)
        first_answer = math.min(first_answer, (assert(tonumber(r.answered), "every request was answered")))
        ports[r.remotePort] = true
      end
    end
    assert.equal(8, n)
    -- eight connections: none was free for reuse when the next request went out
    local n_ports = 0
    for _ in pairs(ports) do n_ports = n_ports + 1 end
    assert.equal(8, n_ports)
    -- an ordering on the server's own clock: all eight were in flight together, since
    -- the last one arrived before the server answered any (bench/ prints the spread)
    assert.is_true(last_arrival < first_answer, "a request arrived after the first answer")
  end)

  it("never has more than `concurrency` requests in flight", function()
    emu.config{ latencyMs = 200 }
    local core = emu.core()
    local tasks = {}
    for i = 1, 6 do tasks[i] = function() return core:list_users() end end
    tray.parallel(tasks, { concurrency = 2 })
    local t = arrivals("/core/v1/users")
    assert.equal(6, #t)
    -- requests 3 and 4 wait for 1 and 2 to come back
    assert.is_true(t[3] - t[1] >= 0.18, "third request came " .. (t[3] - t[1]) .. " s after the first")
  end)

  it("is governed by the rate limiter across tasks", function()
    local core = emu.core{ rate_limit = { rate = 20, burst = 2 }, token = emu.master_token }
    local tasks = {}
    for i = 1, 12 do tasks[i] = function() return core:list_triggers() end end
    local started = native.now()
    local results = tray.parallel(tasks, { concurrency = 12 })
    local elapsed = native.now() - started
    for i = 1, 12 do assert.is_table(results[i]) end
    assert.equal(12, #arrivals("/core/v1/triggers"))
    -- 2 at once, then 10 more at 20/s: the last leaves at least 0.5 s after the first slot.
    -- Measured by the client: the server's arrival times would not do, as a slow first
    -- connection (valgrind, a busy machine) delays the first arrival, not the last slot.
    assert.is_true(elapsed >= 0.45, "12 requests at 20/s burst 2 took only " .. elapsed .. " s")
  end)

  it("retries inside tasks without blocking the others", function()
    emu.fault{ match = { path = "/core/v1/users" }, mode = "status", status = 503, count = 2 }
    local core = emu.core{ max_retries = 3, retry_base = 0.05, retry_cap = 0.1 }
    local tasks = {
      function() return core:list_users() end,
      function() return core:list_workspaces() end,
    }
    local results, errs = tray.parallel(tasks)
    assert.is_table(results[1])
    assert.is_table(results[2])
    assert.is_nil(errs[1])
  end)

  it("runs a task's request from a coroutine of its own (blocking, but correct)", function()
    local core = emu.core()
    local results = tray.parallel({
      function()
        local co = coroutine.wrap(function() return core:list_users() end)
        return co()
      end,
    })
    assert.is_table(results[1].elements)
  end)

  it("handles no tasks, and refuses tasks that are not functions", function()
    local results, errs = tray.parallel({})
    assert.same({}, results)
    assert.same({}, errs)
    assert.has_error(function() tray.parallel({ 42 }) end)
  end)

  it("walks pages with each inside tasks", function()
    emu.seed_users(230, "pw-")
    local emb = emu.embedded()
    local tasks = {}
    for i = 1, 3 do
      tasks[i] = function()
        local n = 0
        for _ in emb:each("users", { first = 100 }) do n = n + 1 end
        return n
      end
    end
    local results = tray.parallel(tasks, { concurrency = 3 })
    assert.same({ 230, 230, 230 }, results)
  end)
end)
