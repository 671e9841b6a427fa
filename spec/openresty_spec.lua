-- tray inside nginx: examples/openresty run by a real nginx (Debian's nginx +
-- libnginx-mod-http-lua, LuaJIT build of tray.native) against the emulator.
--
-- Each describe block starts its own nginx (spec/helpers/nginx.lua: own prefix in
-- a temp dir, loopback, a free high port) and stops it in teardown, whatever the tests did.

local emu = require "spec.helpers.emulator"
local native = require "tray.native"
local json = require "tray.json"

local unpack = table.unpack or unpack -- luacheck: ignore 143

local SOLUTION = "b3422397-XXXX-XXXX-XXXX-57e7e66771b3" -- seeded, tagged "onboarding"

local nginx = require "spec.helpers.nginx"
local fire, get = nginx.fire, nginx.get

local function start_nginx(workers)
  return nginx.start(workers, { TRAY_SOLUTION_ID = SOLUTION, TRAY_PARTNER_ID = "acme" })
end

local why_not = nginx.missing()

-- ---------------------------------------------------------------------------
-- tray.ngx on its own, with a stand-in for the `ngx` API: the limiter's
-- arithmetic and locking, the transport's mapping (the thread-pool call runs
-- tray.ngx_worker in this process, against the emulator).

local function stand_in()
  local clock = { t = 1000, sleeps = {} }
  local logs = {}
  local function dict()
    local d = { data = {}, adds = 0 }
    function d.add(self, k, v)
      self.adds = self.adds + 1
      if self.data[k] ~= nil then return false, "exists" end
      self.data[k] = v
      return true
    end
    function d.get(self, k) return self.data[k] end
    function d.set(self, k, v) self.data[k] = v return true end
    function d.delete(self, k) self.data[k] = nil end
    return d
  end
  local fake = {
    WARN = 5,
    shared = { tray_limits = dict(), other = dict() },
    log = function(_, ...) logs[#logs + 1] = table.concat({ ... }) end,
    now = function() return clock.t end,
    update_time = function() end,
    sleep = function(sec)
      clock.sleeps[#clock.sleeps + 1] = sec
      clock.t = clock.t + sec
      if clock.on_sleep then clock.on_sleep() end
    end,
    threads = 0,
  }
  fake.run_worker_thread = function(pool, mod, fn, ...)
    if fake.busy and fake.busy > 0 then
      fake.busy = fake.busy - 1
      return false, "no available Lua vm"
    end
    if pool ~= "tray" then return false, "thread_pool not found" end
    fake.threads = fake.threads + 1
    return true, require(mod)[fn](...)
  end
  return fake, clock, logs
end

describe("tray.ngx (with a stand-in ngx API)", function()
  local fake, clock, logs, tngx

  before_each(function()
    emu.reset()
    fake, clock, logs = stand_in()
    rawset(_G, "ngx", fake)
    package.loaded["tray.ngx"] = nil -- a fresh module: its warn-once memory too
    tngx = require "tray.ngx"
  end)

  after_each(function()
    rawset(_G, "ngx", nil)
    package.loaded["tray.ngx"] = nil
  end)

  describe("limiter", function()
    it("is a token bucket: burst at once, then one slot per 1/rate, and refills with time", function()
      local lim = tngx.limiter({ rate = 10, burst = 3 }, "token-a", "api.example")
      assert.equal(0, lim:reserve())
      assert.equal(0, lim:reserve())
      assert.equal(0, lim:reserve())
      assert.near(0.1, lim:reserve(), 1e-9)
      assert.near(0.2, lim:reserve(), 1e-9)
      clock.t = clock.t + 10 -- idle: the bucket is full again
      for _ = 1, 3 do assert.equal(0, lim:reserve()) end
      assert.near(0.1, lim:reserve(), 1e-9)
    end)

    it("keeps its state in the shared dictionary, so every worker draws from one bucket", function()
      -- two limiter objects = two workers (each has its own Lua VM, the dictionary is shared)
      local w1 = tngx.limiter({ rate = 10, burst = 2 }, "token-a", "api.example")
      package.loaded["tray.ngx"] = nil
      local w2 = require("tray.ngx").limiter({ rate = 10, burst = 2 }, "token-a", "api.example")
      assert.equal(0, w1:reserve())
      assert.equal(0, w2:reserve())
      assert.near(0.1, w1:reserve(), 1e-9)
      assert.near(0.2, w2:reserve(), 1e-9)
      -- another token (another account) has its own bucket; keys hold a digest, not the token
      local other = tngx.limiter({ rate = 10, burst = 2 }, "token-b", "api.example")
      assert.equal(0, other:reserve())
      for k in pairs(fake.shared.tray_limits.data) do
        assert.not_matches("token", k, 1, true)
        assert.matches("@api.example", k, 1, true)
      end
      -- no lock is left behind
      for k in pairs(fake.shared.tray_limits.data) do assert.not_matches(":lock$", k) end
    end)

    it("waits while another worker holds the lock, then takes its slot", function()
      local lim = tngx.limiter({ rate = 10, burst = 1 }, "token-a", "api.example")
      assert.equal(0, lim:reserve())
      local lock
      for k in pairs(fake.shared.tray_limits.data) do if not k:find(":lock$") then lock = k .. ":lock" end end
      fake.shared.tray_limits.data[lock] = true -- "another worker" holds it
      clock.on_sleep = function() fake.shared.tray_limits.data[lock] = nil end
      local wait = lim:reserve()
      assert.is_true(#clock.sleeps >= 1, "it yielded while the lock was held")
      assert.is_true(fake.shared.tray_limits.adds > 100, "it retried the lock")
      -- the 1 ms it slept counts: the second slot was due 0.1 s after the first
      assert.near(0.1 - clock.sleeps[1], wait, 1e-9)
      assert.is_nil(fake.shared.tray_limits.data[lock])
    end)

    it("uses the dictionary named by rate_limit.shared_dict", function()
      local lim = tngx.limiter({ rate = 10, burst = 1, shared_dict = "other" }, "token-a", "api.example")
      lim:reserve()
      assert.is_not_nil(next(fake.shared.other.data))
      assert.is_nil(next(fake.shared.tray_limits.data))
    end)

    it("without the dictionary, falls back to the per-worker limiter and warns once, without the token", function()
      fake.shared.tray_limits = nil
      local lim = tngx.limiter({ rate = 10, burst = 2 }, "secret-token-xyz", "fallback.example")
      local lim2 = tngx.limiter({ rate = 10, burst = 2 }, "secret-token-xyz", "fallback.example")
      assert.equal(0, lim:reserve())
      assert.equal(0, lim2:reserve()) -- one process-wide C bucket per key
      assert.is_true(lim:reserve() > 0)
      assert.equal(1, #logs)
      assert.matches("lua_shared_dict tray_limits", logs[1], 1, true)
      assert.not_matches("secret-token-xyz", logs[1], 1, true)
    end)
  end)

  describe("transport", function()
    it("sends through the thread pool with the client's headers, token and User-Agent", function()
      local emb = emu.embedded{ user_agent = "my-app/2" }
      local page, err = emb:users{ first = 1 }
      assert.is_nil(err)
      assert.is_table(page.nodes)
      assert.equal(1, fake.threads)
      local req = emu.last_request("/graphql")
      assert.equal("Bearer " .. emu.master_token, req.headers.authorization)
      assert.equal("application/json", req.headers["content-type"])
      assert.equal("application/json", req.headers.accept)
      assert.matches("^my%-app/2 tray%-lua/", req.headers["user-agent"])
    end)

    it("waits for a free thread VM when all are busy", function()
      fake.busy = 3
      local emb = emu.embedded()
      assert(emb:users{ first = 1 })
      assert.equal(3, #clock.sleeps)
      assert.equal(1, fake.threads)
    end)

    it("maps HTTP and network failures like the native transport, without the token", function()
      emu.fault{ match = { operation = "users" }, mode = "status", status = 401 }
      local emb = emu.embedded()
      local page, err = emb:users{ first = 1 }
      assert.is_nil(page)
      assert.equal("auth", err.kind)
      assert.equal(401, err.status)
      local core = emu.core{ base_url = emu.dead_url() }
      local v, err2 = core:list_users()
      assert.is_nil(v)
      assert.equal("network", err2.kind)
      emu.assert_no_secret(err)
      emu.assert_no_secret(err2)
    end)

    it("names the missing thread pool and the directive", function()
      emu.clear_requests()
      local emb = emu.embedded{ thread_pool = "nope" }
      local page, err = emb:users{ first = 1 }
      assert.is_nil(page)
      assert.equal("usage", err.kind)
      assert.matches("thread_pool nope threads=32;", err.message, 1, true)
      assert.same({}, emu.requests())
    end)
  end)
end)

-- ---------------------------------------------------------------------------
-- The real thing. nginx itself runs tray on LuaJIT, so these run once, in the
-- Lua 5.4 pass of spec/run (the LuaJIT pass would start the same nginx again).

describe("tray in nginx (examples/openresty)", function()
  if jit then return end
  if why_not then
    pending("nginx cannot run here (" .. why_not .. "); `make deps` installs nginx and libnginx-mod-http-lua")
    return
  end

  describe("with one worker", function()
    local ngx_proc

    setup(function() ngx_proc = start_nginx(1) end)
    teardown(function() if ngx_proc then ngx_proc:stop() end end)
    before_each(function() emu.reset() end)

    it("/onboard creates the user and an instance, and answers the config wizard URL", function()
      local status, body = get(ngx_proc.url .. "/onboard?externalUserId=ngx-ada&name=Ada%20Lovelace")
      assert.equal(200, status, body)
      local r = assert(json.decode(body))
      assert.is_true(r.created)
      assert.is_string(r.userId)
      assert.is_string(r.solutionInstanceId)
      local prefix = emu.url .. "/external/solutions/acme/configure/" .. r.solutionInstanceId .. "?code="
      assert.equal(prefix, r.configWizardUrl:sub(1, #prefix))
      assert.matches("^%w+$", r.configWizardUrl:sub(#prefix + 1))
      emu.assert_no_secret(body)

      -- what the emulator saw: the user and the user's instance exist
      local admin = emu.embedded()
      local users = assert(admin:users{ criteria = { externalUserId = "ngx-ada" } })
      assert.equal(1, #users.nodes)
      assert.equal(r.userId, users.nodes[1].id)
      assert.equal("Ada Lovelace", users.nodes[1].name)
      local auth = assert(admin:authorize{ userId = r.userId })
      local mine = assert(admin:as_user(auth.accessToken):solution_instances())
      assert.equal(1, #mine.nodes)
      assert.equal(r.solutionInstanceId, mine.nodes[1].id)
      assert.equal(SOLUTION, mine.nodes[1].solution.id)
      -- every SDK request went out with the SDK's User-Agent, the token only in Authorization
      local log = emu.requests()
      local sdk = 0
      for _, req in ipairs(log) do
        if req.path == "/graphql" and (req.headers["user-agent"] or ""):find("^tray%-lua/") then sdk = sdk + 1 end
        assert.not_matches(emu.master_token, req.url, 1, true)
      end
      assert.is_true(sdk >= 4, "the SDK's requests reached the emulator")

      -- the same externalUserId again: the user is found, not created twice
      local status2, body2 = get(ngx_proc.url .. "/onboard?externalUserId=ngx-ada&name=Ada%20Lovelace")
      assert.equal(200, status2, body2)
      local r2 = assert(json.decode(body2))
      assert.is_false(r2.created)
      assert.equal(r.userId, r2.userId)
      assert.not_equal(r.solutionInstanceId, r2.solutionInstanceId)
    end)

    it("/onboard answers 400 without externalUserId or name, before any SDK call", function()
      emu.clear_requests()
      local status, body = get(ngx_proc.url .. "/onboard?externalUserId=x")
      assert.equal(400, status)
      assert.equal("usage", assert(json.decode(body)).error.kind)
      assert.same({}, emu.requests())
    end)

    it("an SDK error becomes a JSON error answer without the token", function()
      emu.fault{ match = { operation = "createExternalUser" }, mode = "status", status = 401 }
      local status, body = get(ngx_proc.url .. "/onboard?externalUserId=ngx-bob&name=Bob")
      assert.equal(502, status)
      local r = assert(json.decode(body))
      assert.equal("auth", r.error.kind)
      emu.assert_no_secret(body)
      local log = ngx_proc:log()
      assert.matches("create_external_user: tray: auth:", log, 1, true)
      emu.assert_no_secret(log)
    end)

    it("tray.parallel runs its tasks at once in nginx light threads, results in task order", function()
      emu.seed_users(3, "ov")
      emu.config{ latencyMs = 3000 }
      local status, body = get(ngx_proc.url .. "/overview")
      assert.equal(200, status, body)
      local r = assert(json.decode(body))
      assert.equal(3, #r.users)
      assert.matches("^ov", r.users[1].name)
      assert.equal(4, #r.solutions)
      assert.is_string(r.solutions[1].title)
      local arrived = {}
      for _, req in ipairs(emu.requests()) do
        if req.path == "/graphql" then arrived[#arrived + 1] = req.time / 1000 end
      end
      assert.equal(2, #arrived)
      -- sequential calls would arrive >= 3 s apart (the latency of the first answer)
      assert.is_true(math.abs(arrived[2] - arrived[1]) < 2.5,
        string.format("the second call arrived %.0f ms after the first", (arrived[2] - arrived[1]) * 1000))
    end)

    it("a plain location answers while 20 slow SDK calls are in flight in the worker", function()
      emu.config{ latencyMs = 3000 }
      local urls = {}
      for i = 1, 20 do urls[i] = ngx_proc.url .. "/users?first=1&i=" .. i end
      local health, in_flight_seen = {}, 0
      local results, took = fire(urls, 60, function(done, n)
        if #health >= 5 then return end
        -- wait until the emulator holds all 20 SDK requests, then time /health
        local held = 0
        for _, req in ipairs(emu.requests()) do
          if req.path == "/graphql" then held = held + 1 end
        end
        if held < 20 then return end
        in_flight_seen = 20 - n
        for k = 1, 5 do
          local status, body, _, t = get(ngx_proc.url .. "/health")
          assert.equal(200, status)
          assert.equal("ok\n", body)
          health[k] = t
        end
        assert.same({}, (function() local d = {} for id in pairs(done) do d[#d + 1] = id end return d end)(),
          "no slow call had finished while /health was timed")
      end)
      assert.equal(5, #health, "the 20 SDK calls never were in flight together")
      assert.equal(20, in_flight_seen)
      for i = 1, 20 do
        assert.equal(200, results[i].status, results[i].body or results[i].message)
        assert.is_table(assert(json.decode(results[i].body)).users)
        assert.is_true(took[i] >= 1, "the emulator's latency applied")
      end
      local worst = math.max(unpack(health))
      io.write(string.format("# /health during 20 slow SDK calls: %s ms (worst %.1f ms)\n",
        table.concat((function() local t = {} for k, v in ipairs(health) do t[k] = string.format("%.1f", v * 1000) end
          return t end)(), ", "), worst * 1000))
    end)
  end)

  describe("with two workers", function()
    local ngx_proc

    setup(function() ngx_proc = start_nginx(2) end)
    teardown(function() if ngx_proc then ngx_proc:stop() end end)
    before_each(function() emu.reset() end)

    it("a burst of 200 onboardings stays within the account's rate limit (shared by the workers)", function()
      emu.config{ rateLimit = { rate = 30, burst = 50 } }
      local urls = {}
      for i = 1, 200 do
        urls[i] = ngx_proc.url .. "/onboard?externalUserId=burst-" .. i .. "&name=User%20" .. i
      end
      local t0 = native.now()
      local results = fire(urls, 300) -- 800 requests at 30/s: 25 s at the least
      local wall = native.now() - t0
      local workers = {}
      for i = 1, 200 do
        local r = results[i]
        assert.equal(200, r.status, r.body or r.message)
        local v = assert(json.decode(r.body))
        assert.is_true(v.created, r.body)
        assert.is_string(v.configWizardUrl)
        workers[r.headers["x-tray-worker"] or "?"] = true
      end
      local stats = emu.stats()
      io.write(string.format("# 200 onboardings through 2 workers: %.1f s, %d emulator requests, %d rate-limited\n",
        wall, stats.requests, stats.rateLimited))
      assert.equal(0, stats.rateLimited)
      assert.is_true(stats.requests >= 800, "4 SDK calls per onboarding")
      assert.is_true(workers["0"] and workers["1"], "both workers served onboardings")
    end)
  end)
end)
