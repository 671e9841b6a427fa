-- tray.redis: one rate limit for a fleet of processes (Lua processes, and two
-- nginx instances running examples/openresty), its fallback when Redis is down,
-- and the shared token store, against a real redis-server and the emulator.

local emu = require "spec.helpers.emulator"
local rh = require "spec.helpers.redis"
local nginx = require "spec.helpers.nginx"
local tray = require "tray"
local native = require "tray.native"
local tray_redis = require "tray.redis"
local json = require "tray.json"

local LUA = rawget(_G, "jit") and "luajit" or "lua5.4"

-- The client-side burst of the fleet test. Every request leaves at or after
-- the slot Redis gave it (the wait comes from Redis's own clock; the client
-- only adds delays), so in any window the emulator can see at most
-- CLIENT_BURST + 30 * (window + D) requests, D being the longest delay between
-- a slot and its arrival, while it accepts 50 + 30 * window. With 5 the fleet
-- absorbs D up to (50 - 5) / 30 = 1.5 s of scheduling or network jitter (a few
-- ms on a quiet machine; with 35, i.e. 0.5 s, two nginx instances got 429s once
-- on a 2-core machine running the sanitizer suites of several checkouts), and
-- 600 requests take at least (600 - 5) / 30 = 19.8 s. The specs check the counts
-- and that lower bound; how close to the theoretical minimum (600 - 50) / 30 =
-- 18.3 s a fleet gets (with a client burst of 35) is a figure of `make bench`
-- (bench/timing.lua), not a pass/fail of the suite.
local CLIENT_BURST = 5

-- The workers' Redis timeout. Killing Redis gives "connection refused" at once,
-- whatever the timeout; a generous one keeps a loaded 2-core machine from
-- expiring the default 0.1 s spuriously (which would rightly switch a worker to
-- its fallback, and spoil the counts below).
local REDIS_TIMEOUT = 1

local function sh_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- Starts n worker processes; returns a function that waits for them all and
-- returns their parsed outputs { done = {ok=,failed=,remote=,fallback=}, logs = {...}, errs = {...}, raw = }.
local function spawn_fleet(o)
  local procs = {}
  for i = 1, o.n do
    local args = { LUA, "spec/helpers/redis_worker.lua", emu.core_url, o.redis, o.count, o.key,
                   o.rate or 30, o.burst, o.fleet or o.n, o.retries or 0, o.timeout or 0.5 }
    for j, a in ipairs(args) do args[j] = sh_quote(a) end
    procs[i] = assert(io.popen(table.concat(args, " ") .. " 2>&1", "r"))
  end
  return function()
    local results = {}
    for i, p in ipairs(procs) do
      local raw = p:read("*a")
      p:close()
      local r = { logs = {}, errs = {}, raw = raw }
      for line in raw:gmatch("[^\n]+") do
        local level, msg = line:match("^LOG (%S+) (.*)$")
        if level then r.logs[#r.logs + 1] = { level = level, message = msg } end
        local e = line:match("^ERR (.*)$")
        if e then r.errs[#r.errs + 1] = e end
        local ok, failed, remote, fallback = line:match("^DONE ok=(%d+) failed=(%d+) remote=(%d+) fallback=(%d+)")
        if ok then
          r.done = { ok = tonumber(ok), failed = tonumber(failed), remote = tonumber(remote),
                     fallback = tonumber(fallback) }
        end
      end
      assert(r.done, "worker " .. i .. " did not finish:\n" .. raw)
      results[i] = r
    end
    return results
  end
end

local function count_logs(r, pattern)
  local n = 0
  for _, l in ipairs(r.logs) do
    if l.message:find(pattern) then n = n + 1 end
  end
  return n
end

describe("tray.redis", function()
  local url

  before_each(function()
    emu.reset()
    url = rh.url()
  end)

  describe("a fleet of processes", function()
    it("four processes sharing one key send 600 requests at 30/s burst 50: no 429, spaced by the shared bucket",
      function()
        emu.config{ rateLimit = { rate = 30, burst = 50 } }
        local key = rh.unique("tray:rl:spec-fleet")
        local t0 = native.now()
        local results = spawn_fleet{ n = 4, count = 150, key = key, redis = url, burst = CLIENT_BURST,
                                     retries = 0, timeout = REDIS_TIMEOUT }()
        local wall = native.now() - t0
        local ok, remote, fallback = 0, 0, 0
        for _, r in ipairs(results) do
          assert.same({}, r.errs)
          assert.equal(0, count_logs(r, "falling back"), r.raw)
          ok, remote, fallback = ok + r.done.ok, remote + r.done.remote, fallback + r.done.fallback
        end
        assert.equal(600, ok)
        assert.equal(600, remote)
        assert.equal(0, fallback)
        local stats = emu.stats()
        assert.equal(0, stats.rateLimited)
        assert.equal(600, stats.requests)
        -- and they really were spaced by the shared bucket (not sent at once)
        assert.is_true(wall >= (600 - CLIENT_BURST) / 30 * 0.98, string.format("only %.2fs", wall))
      end)

    it("Redis stopped mid-run: every call still completes, on the local fallback, and the log says so once",
      function()
        emu.config{ rateLimit = { rate = 30, burst = 50 } }
        local r = rh.start()
        finally(function() r.stop() end)
        local key = rh.unique("tray:rl:spec-outage")
        local wait = spawn_fleet{ n = 4, count = 40, key = key, redis = r.url, burst = CLIENT_BURST,
                                  retries = 3, timeout = REDIS_TIMEOUT }
        -- kill Redis (as a crash would) once half of the 160 requests went through it
        local deadline = native.now() + 60
        while emu.stats().requests < 80 and native.now() < deadline do native.sleep(0.05) end
        r.kill()
        local results = wait()
        local ok, fallback, remote = 0, 0, 0
        for _, res in ipairs(results) do
          assert.same({}, res.errs)
          ok, fallback, remote = ok + res.done.ok, fallback + res.done.fallback, remote + res.done.remote
          -- said once by every process that fell back, and never "back"
          assert.equal(res.done.fallback > 0 and 1 or 0,
            count_logs(res, "Redis unavailable.*falling back to a local bucket at 7%.5/s"), res.raw)
          assert.equal(0, count_logs(res, "reachable again"), res.raw)
        end
        assert.equal(160, ok)
        assert.is_true(remote > 0, "no request went through Redis")
        assert.is_true(fallback > 0, "no request went through the fallback")
        assert.is_true(remote + fallback >= 160) -- a retried request reserves again
      end)
  end)

  describe("two nginx instances", function()
    -- nginx runs tray on LuaJIT itself: this runs once, in the Lua 5.4 pass of
    -- spec/run (the LuaJIT pass would start the same nginx again)
    if rawget(_G, "jit") then return end
    local why_not = nginx.missing()
    if not why_not and not os.getenv("TRAY_TEST_REDIS_URL")
      and not os.execute("command -v redis-server >/dev/null 2>&1") then
      why_not = "redis-server is not installed"
    end
    if why_not then
      pending("nginx with Redis cannot run here (" .. why_not .. "); `make deps` installs nginx, "
        .. "libnginx-mod-http-lua and redis-server")
      return
    end

    it("(2 workers each, examples/openresty) sharing one key send 600 requests at 30/s burst 50: "
      .. "no 429, spaced by the shared bucket", function()
      emu.config{ rateLimit = { rate = 30, burst = 50 } }
      local key = rh.unique("tray:rl:spec-nginx")
      -- examples/openresty puts its rate limit in Redis when TRAY_REDIS_URL is set
      local env = { TRAY_REDIS_URL = url, TRAY_RATE_KEY = key, TRAY_RATE = 30, TRAY_RATE_BURST = CLIENT_BURST,
                    TRAY_FLEET_SIZE = 4, TRAY_REDIS_TIMEOUT = REDIS_TIMEOUT }
      local hosts = {}
      finally(function() for _, h in ipairs(hosts) do h:stop() end end)
      for i = 1, 2 do hosts[i] = nginx.start(2, env) end
      -- 300 cheap SDK calls (one GraphQL `users` each) through each instance, all in flight at once
      local urls = {}
      for i = 1, 600 do urls[i] = hosts[i % 2 + 1].url .. "/users?first=1&i=" .. i end
      local t0 = native.now()
      local results = nginx.fire(urls, 240) -- 19.8 s at the least: a deadline of 10x that and more
      local wall = native.now() - t0
      local workers = {}
      for i = 1, 600 do
        local r = results[i]
        assert.equal(200, r.status, r.body or r.message)
        assert.is_table(assert(json.decode(r.body)).users, r.body)
        workers[(i % 2 + 1) .. ":" .. (r.headers["x-tray-worker"] or "?")] = true
      end
      for _, h in ipairs(hosts) do
        local log = h:log()
        assert.not_matches("falling back", log, 1, true)
        assert.not_matches("[error]", log, 1, true)
      end
      local n_workers = 0
      for _ in pairs(workers) do n_workers = n_workers + 1 end
      assert.is_true(n_workers >= 2, "workers that answered: " .. n_workers)
      local stats = emu.stats()
      assert.equal(0, stats.rateLimited)
      assert.equal(600, stats.requests)
      -- and they really were spaced by a 30/s bucket, not sent at once (two separate buckets, one per
      -- instance, show up above as rate-limited answers: the emulator's bucket is the one that counts)
      assert.is_true(wall >= (600 - CLIENT_BURST) / 30 * 0.98, string.format("only %.2fs", wall))
    end)
  end)

  describe("limiter", function()
    local function limiter(extra, log)
      local rl = { redis = url, key = rh.unique("tray:rl:spec"), rate = 10, burst = 3, timeout = REDIS_TIMEOUT }
      for k, v in pairs(extra or {}) do rl[k] = v end
      return assert(tray_redis.limiter(rl, "a-token", "api.example:443", log))
    end

    -- Makes the calls (each returns its reserve's wait) and checks their slots against the
    -- schedule of a fresh bucket (seconds after the first call). A slot is the time of the
    -- call plus its wait, bracketed by the clock read before and after the call. A pause of
    -- the machine (or of Redis) between calls only refills the bucket: it can shorten a wait,
    -- never lengthen one past the schedule, and never move a slot earlier than it. So: no
    -- wait longer than the schedule's, and no slot before it (10 ms: Redis counts in ms).
    local function assert_slots(calls, expected)
      local t1
      for i, f in ipairs(calls) do
        local before = native.now()
        local wait = f()
        local after = native.now()
        t1 = t1 or before
        assert.is_true(wait <= expected[i] + 0.01,
          string.format("call %d waits %.3fs, the schedule %.3fs at most", i, wait, expected[i]))
        assert.is_true(after + wait - t1 >= expected[i] - 0.01,
          string.format("call %d's slot at %.3fs, before %.3fs", i, after + wait - t1, expected[i]))
      end
    end

    it("keeps one bucket in Redis for every holder of the key, over separate connections", function()
      local a = limiter{ rate = 2, burst = 3 }
      -- another timeout: another connection, as another process would have
      local b = limiter{ key = a.key, rate = 2, burst = 3, timeout = 2 * REDIS_TIMEOUT }
      local ra = function() return a:reserve() end
      local rb = function() return b:reserve() end
      assert_slots({ ra, rb, ra, rb, ra }, { 0, 0, 0, 0.5, 1.0 })
      assert.same({ 5, 0 }, { a.stats.remote + b.stats.remote, a.stats.fallback + b.stats.fallback })
      a:close()
      b:close()
    end)

    it("keys the bucket tray:rl:<digest of the token>@<api host> by default, and a client uses it", function()
      local c = emu.core{ rate_limit = { redis = url, rate = 30, burst = 30, timeout = REDIS_TIMEOUT } }
      assert(c:list_workspaces())
      local host = emu.core_url:match("^https?://([^/]+)")
      local key = "tray:rl:" .. native.digest(emu.master_token) .. "@" .. host
      local tat = rh.cli(url, "GET", key)
      assert.matches("^%d+$", tat)
      assert.is_true(tonumber(rh.cli(url, "PTTL", key)) > 0) -- it expires once refilled
    end)

    it("falls back at fallback_share of the rate when Redis is unreachable, says so once, never fails the call",
      function()
        local logs = {}
        local c = emu.core{
          log = function(level, message) logs[#logs + 1] = { level = level, message = message } end,
          rate_limit = { redis = "redis://127.0.0.1:1/0", rate = 30, burst = 30, fleet_size = 3 },
        }
        for _ = 1, 3 do assert(c:list_workspaces()) end
        assert.equal(1, #logs)
        assert.equal("warn", logs[1].level)
        assert.matches("falling back to a local bucket at 10/s", logs[1].message)
        assert.matches("127.0.0.1:1", logs[1].message)
        assert.equal(3, c.transport.limiter.stats.fallback)
        emu.assert_no_secret(logs)
      end)

    it("runs the fallback bucket at the share given, without a burst by default", function()
      local lim = limiter{ redis = "redis://127.0.0.1:1/0", rate = 8, burst = 8, fallback_share = 0.25 }
      local r = function() return lim:reserve() end
      assert_slots({ r, r, r }, { 0, 0.5, 1.0 })
      assert.is_true(lim:degraded_mode())
    end)

    it("tries Redis again after a back-off and says once that it is back", function()
      local r = rh.start()
      finally(function() r.stop() end)
      local logs = {}
      local lim = limiter({ redis = r.url, rate = 1000, burst = 1000, backoff = 0.2, fleet_size = 2 },
        function(level, message) logs[#logs + 1] = { level = level, message = message } end)
      assert.equal(0, lim:reserve())
      assert.is_false(lim:degraded_mode())
      r.kill()
      for _ = 1, 20 do assert.is_number(lim:reserve()) end
      assert.is_true(lim:degraded_mode())
      assert.equal(1, #logs)
      assert.matches("falling back to a local bucket at 500/s", logs[1].message)

      local r2 = rh.start(r.port)
      finally(function() r2.stop() end)
      local deadline = native.now() + 30
      while lim:degraded_mode() and native.now() < deadline do
        lim:reserve()
        native.sleep(0.02)
      end
      assert.is_false(lim:degraded_mode())
      assert.equal(2, #logs)
      assert.equal("info", logs[2].level)
      assert.matches("reachable again", logs[2].message)
      assert.matches("^%d+$", rh.cli(r2.url, "GET", lim.key)) -- the bucket is in Redis again
    end)

    it("refuses bad options with a usage error that never shows the password", function()
      local bad = {
        { redis = "redis://u:s3cret@host:99999/0" },
        { redis = "rediss://u:s3cret@host/0" },
        { redis = "http://host" },
        { redis = "redis://host", fallback_share = 2 },
        { redis = "redis://host", fleet_size = 0 },
        { redis = "redis://host", fleet_size = 2.5 },
        { redis = "redis://host", timeout = 0 },
        { redis = "redis://host", key = "" },
        { redis = "redis://host", rate = -1 },
      }
      for _, rl in ipairs(bad) do
        local c, err = tray.core.new{ token = "t", base_url = emu.core_url, rate_limit = rl }
        assert.is_nil(c)
        assert.equal("usage", err.kind)
        assert.not_matches("s3cret", tostring(err))
      end
    end)

    it("parses redis:// URLs: host, port, db, user, password", function()
      local u = assert(native.redis_url("redis://ops:p%40ss@cache.internal:6380/4"))
      assert.same({ host = "cache.internal", port = 6380, db = 4, user = "ops", password = true }, u)
      assert.same({ host = "::1", port = 6379, db = 0, user = "", password = false },
        assert(native.redis_url("redis://[::1]")))
      assert.same({ host = "h", port = 6379, db = 0, user = "", password = true },
        assert(native.redis_url("redis://:pw@h/")))
      for _, bad in ipairs({ "redis://", "redis://h:0", "redis://h:65536", "redis://h/65536", "redis://h/x",
                             "redis://h?db=1", "redis://h#x", "redis://u@h", "redis://h h", "redis://[::1",
                             "redis://a%zz:b@h", "unix:///tmp/r.sock", "" }) do
        local v, kind = native.redis_url(bad)
        assert.is_nil(v, bad)
        assert.equal("usage", kind)
      end
    end)

    it("authenticates with the URL's password and selects its database", function()
      local r = rh.start()
      finally(function() r.stop() end)
      assert.equal("OK", rh.cli(r.url, "CONFIG", "SET", "requirepass", "pw:1@x"))
      local authed = r.url:gsub("^redis://", "redis://:pw%%3A1%%40x@"):gsub("/0$", "/5")
      local lim = assert(tray_redis.limiter({ redis = authed, key = "k", rate = 5 }, "t", "h"))
      assert.equal(0, lim:reserve())
      assert.is_false(lim:degraded_mode())
      assert.matches("^%d+$", rh.run("redis-cli", "-p", r.port, "-a", "pw:1@x", "--no-auth-warning", "-n", "5",
        "GET", "k"))
      assert.equal("", rh.run("redis-cli", "-p", r.port, "-a", "pw:1@x", "--no-auth-warning", "-n", "0",
        "GET", "k"))
      -- without the password: the fallback, not a failure
      local lim2 = assert(tray_redis.limiter({ redis = r.url, key = "k2", rate = 5, timeout = 0.3 }, "t", "h"))
      assert.is_number(lim2:reserve())
      assert.is_true(lim2:degraded_mode())
    end)
  end)

  describe("store", function()
    local store, prefix

    before_each(function()
      prefix = rh.unique("spec-store") .. ":"
      store = assert(tray.store.redis{ url = url, prefix = prefix })
    end)

    it("is reachable as tray.store.redis and tray.redis.store", function()
      assert.equal("function", type(require("tray").store.redis))
      assert(tray_redis.store{ url = url }):close()
    end)

    it("round-trips a value with the TTL given (SET ... PX)", function()
      assert.is_true(store:set("user-1", "token\0with bytes\255", 120))
      assert.equal("token\0with bytes\255", store:get("user-1"))
      local pttl = tonumber(rh.cli(url, "PTTL", prefix .. "user-1"))
      assert.is_true(pttl > 115000 and pttl <= 120000, tostring(pttl))
      assert.is_true(store:delete("user-1"))
      assert.is_nil(store:get("user-1"))
      assert.is_true(store:delete("user-1")) -- deleting a missing key is fine
    end)

    it("lets a value expire with its TTL, and drops a value whose TTL is already over", function()
      assert.is_true(store:set("short", "v", 0.3))
      assert.equal("v", store:get("short"))
      native.sleep(0.45)
      assert.is_nil(store:get("short"))
      assert.is_true(store:set("gone", "v", 100))
      assert.is_true(store:set("gone", "v2", 0))
      assert.is_nil(store:get("gone"))
    end)

    it("fails with nil, err when Redis is unreachable, never naming the value", function()
      local dead = assert(tray.store.redis{ url = "redis://127.0.0.1:1/0" })
      local v, err = dead:get("k")
      assert.is_nil(v)
      assert.equal("network", err.kind)
      local ok, err2 = dead:set("k", "very-secret-value", 10)
      assert.is_nil(ok)
      assert.equal("network", err2.kind)
      assert.not_matches("very%-secret%-value", tostring(err2))
      local s, err3 = tray.store.redis{ url = "nope" }
      assert.is_nil(s)
      assert.equal("usage", err3.kind)
    end)

    it("lets two workers' token caches share one user token (one authorize for both)", function()
      local master = emu.embedded()
      if not master.for_user then
        pending("emb:for_user is not available")
        return
      end
      local created = assert(master:create_external_user{ name = "Fleet User", externalUserId = rh.unique("ext") })
      local worker1, worker2 = emu.embedded(), emu.embedded()
      local u1 = assert(worker1:for_user(created.userId, { store = store }))
      local u2 = assert(worker2:for_user(created.userId, { store = store }))
      assert(u1:authentications{})
      assert(u2:authentications{})
      assert.equal(1, emu.stats().byRoute["POST /graphql authorize"])
    end)
  end)
end)
