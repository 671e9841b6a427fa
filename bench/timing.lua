--- Timing figures the specs do not assert (issue 16). A spec checks what the code
-- does: counts (requests the emulator saw, rate-limit answers), orderings, and the
-- lower bounds a rate limit implies; it never fails because the machine is busy.
-- How fast things go on this machine is measured here, printed as a table, and
-- never asserted: a part that cannot run (no nginx, no Redis) says why in its row.
--
--    make bench                      (bench/run runs this last; `bench/run timing` runs only this)
--    eval "$(make -s env)"; ./emulator/with-emulator ./spec/with-redis lua5.4 bench/timing.lua
--
-- It uses the spec helpers (spec/helpers/emulator.lua, redis.lua, nginx.lua) to
-- reach the emulator, Redis and nginx the same way the specs do.
-- `lua5.4 bench/timing.lua worker REDIS_URL KEY COUNT` is one process of the fleet
-- part: it prints "<ok> <fallback>".

local native = require "tray.native"

local ROUNDS = os.getenv("BENCH_QUICK") == "1" and 2 or 5

-- The fleet of spec/redis_spec.lua: 600 requests from 4 processes (or 2 nginx x 2
-- workers) sharing one Redis bucket at 30/s, against the emulator limiting at 30/s
-- burst 50. Here with a client burst of 35 (0.5 s of jitter before a 429: how close
-- to the minimum a fleet can get); the spec uses 5 (1.5 s of jitter, so that a busy
-- machine cannot make it see a 429) and asserts its lower bound.
local FLEET = { n = 600, procs = 4, rate = 30, server_burst = 50, client_burst = 35, spec_client_burst = 5,
                redis_timeout = 1 }
FLEET.minimum = (FLEET.n - FLEET.server_burst) / FLEET.rate      -- the emulator's floor
FLEET.spec_floor = (FLEET.n - FLEET.spec_client_burst) / FLEET.rate * 0.98 -- the spec's lower bound
local FLEET_SPEC = string.format("spec/redis_spec.lua (client burst %d): 600 requests, 0 rate-limited, "
  .. "wall >= %.2f s", FLEET.spec_client_burst, FLEET.spec_floor)

local mode = ...
if mode == "worker" then
  local _, redis_url, key, count = ...
  local emu = require "spec.helpers.emulator"
  local core = emu.core{ rate_limit = { redis = redis_url, key = key, rate = FLEET.rate, burst = FLEET.client_burst,
                                        fleet_size = FLEET.procs, timeout = FLEET.redis_timeout } }
  local ok = 0
  for _ = 1, tonumber(count) do
    if core:list_workspaces() then ok = ok + 1 end
  end
  io.write(string.format("%d %d\n", ok, core.transport.limiter.stats.fallback))
  return
end

local emu = require "spec.helpers.emulator"

local function sorted(t)
  local s = {}
  for i, v in ipairs(t) do s[i] = v end
  table.sort(s)
  return s
end

local function median(t)
  local s = sorted(t)
  if #s == 0 then return 0 / 0 end
  return #s % 2 == 1 and s[(#s + 1) / 2] or (s[#s / 2] + s[#s / 2 + 1]) / 2
end

local function max(t) return sorted(t)[#t] or 0 / 0 end

local function ms(x) return string.format("%.1f ms", x * 1000) end

local function arrivals(path)
  local t = {}
  for _, r in ipairs(emu.requests()) do
    if r.path == path then t[#t + 1] = r.time / 1000 end
  end
  table.sort(t)
  return t
end

local rows = {}
local function row(figure, measured, spec)
  rows[#rows + 1] = string.format("| %s | %s | %s |", figure, measured, spec)
end

-- Runs one part; a part that raises becomes a row saying so (the bench never fails).
local function part(figure, spec, f)
  io.stderr:write("bench timing: ", figure, " ...\n")
  local ok, measured = pcall(f)
  if not ok then measured = "not measured: " .. tostring(measured):gsub("[\r\n|]+", " ") end
  row(figure, measured, spec)
  pcall(emu.reset)
end

-- 1. tray.parallel: how close together 8 concurrent requests reach the server
part("tray.parallel, 8 requests at concurrency 8 (emulator latency 300 ms): spread of their arrivals, first to last",
  "spec/parallel_spec.lua: 8 connections, spread < 2.5 s at latency 3 s",
  function()
    local tray = require "tray"
    local spread = {}
    for r = 1, ROUNDS do
      emu.reset()
      emu.config{ latencyMs = 300 }
      local core = emu.core()
      local tasks = {}
      for i = 1, 8 do tasks[i] = function() return core:list_users() end end
      local results = tray.parallel(tasks, { concurrency = 8 })
      for i = 1, 8 do assert(type(results[i]) == "table", "a request failed") end
      local t = arrivals("/core/v1/users")
      spread[r] = t[8] - t[1]
    end
    return string.format("median %s, worst %s (%d rounds)", ms(median(spread)), ms(max(spread)), ROUNDS)
  end)

-- 2. the Lua fleet on one Redis bucket: wall time vs the theoretical minimum
local redis_url = os.getenv("TRAY_TEST_REDIS_URL")
part(string.format("%d processes sharing one Redis bucket: %d requests at %d/s (client burst %d, server burst %d): "
  .. "wall time vs the minimum (%d - %d) / %d = %.2f s", FLEET.procs, FLEET.n, FLEET.rate, FLEET.client_burst,
  FLEET.server_burst, FLEET.n, FLEET.server_burst, FLEET.rate, FLEET.minimum),
  FLEET_SPEC,
  function()
    assert(redis_url and redis_url ~= "", "no Redis (run under spec/with-redis)")
    local rh = require "spec.helpers.redis"
    emu.config{ rateLimit = { rate = FLEET.rate, burst = FLEET.server_burst } }
    local key = rh.unique("tray:rl:bench-fleet")
    local lua = rawget(_G, "jit") and "luajit" or "lua5.4"
    local script = arg and arg[0] or "bench/timing.lua"
    local pipes = {}
    local t0 = native.now()
    for i = 1, FLEET.procs do
      pipes[i] = assert(io.popen(string.format("%s %s worker '%s' '%s' %d", lua, script, redis_url, key,
        math.floor(FLEET.n / FLEET.procs))))
    end
    local ok, fallback = 0, 0
    for _, p in ipairs(pipes) do
      local o, f = p:read("*a"):match("(%d+) (%d+)")
      p:close()
      ok, fallback = ok + (tonumber(o) or 0), fallback + (tonumber(f) or 0)
    end
    local wall = native.now() - t0
    local stats = emu.stats()
    return string.format("%.2f s, %.3fx the minimum (+%.1f%%); %d ok, %d rate-limited, %d on the fallback",
      wall, wall / FLEET.minimum, (wall / FLEET.minimum - 1) * 100, ok, stats.rateLimited, fallback)
  end)

-- 3-5. nginx (examples/openresty)
local nginx_ok, nginx = pcall(require, "spec.helpers.nginx")
local why_not = not nginx_ok and tostring(nginx) or nginx.missing()

local function with_nginx(workers, env, f)
  assert(not why_not, why_not)
  local n = nginx.start(workers, env)
  local ok, res = pcall(f, n)
  n:stop()
  assert(ok, res)
  return res
end

local APP = { TRAY_SOLUTION_ID = "b3422397-XXXX-XXXX-XXXX-57e7e66771b3", TRAY_PARTNER_ID = "acme" }

part("nginx /overview, 2 SDK calls in light threads (emulator latency 300 ms): gap between their arrivals",
  "spec/openresty_spec.lua: both calls are held at the emulator before /overview answers",
  function()
    return with_nginx(1, APP, function(n)
      local gap = {}
      for r = 1, ROUNDS do
        emu.reset()
        emu.config{ latencyMs = 300 }
        local status = nginx.get(n.url .. "/overview")
        assert(status == 200, "/overview answered " .. tostring(status))
        local t = arrivals("/graphql")
        assert(#t == 2, #t .. " GraphQL requests")
        gap[r] = t[2] - t[1]
      end
      return string.format("median %s, worst %s (%d rounds)", ms(median(gap)), ms(max(gap)), ROUNDS)
    end)
  end)

part("nginx /health (a plain location) while 20 slow SDK calls (emulator latency 1 s) are in flight in its one "
  .. "worker: time per request",
  "spec/openresty_spec.lua: /health answers while all 200 slow SDK calls (latency 1 s) are held",
  function()
    return with_nginx(1, APP, function(n)
      local idle = {}
      for k = 1, 20 do idle[k] = select(4, nginx.get(n.url .. "/health")) end
      emu.reset()
      emu.config{ latencyMs = 1000 }
      local urls, busy, early = {}, {}, nil
      for i = 1, 20 do urls[i] = n.url .. "/users?first=1&i=" .. i end
      nginx.fire(urls, 60, function(done)
        if #busy > 0 then return end
        if #arrivals("/graphql") < 20 then return end
        for k = 1, 20 do
          local status, _, _, t = nginx.get(n.url .. "/health")
          assert(status == 200, "/health answered " .. tostring(status))
          busy[k] = t
        end
        early = next(done) == nil
      end)
      assert(#busy == 20, "the 20 SDK calls never were in flight together")
      return string.format("median %s, worst %s (idle: median %s, worst %s); %s", ms(median(busy)), ms(max(busy)),
        ms(median(idle)), ms(max(idle)), early and "all before the first slow call ended"
        or "**a slow call ended first**")
    end)
  end)

part(string.format("2 nginx instances x 2 workers sharing one Redis bucket: %d requests at %d/s (client burst %d, "
  .. "server burst %d): wall time vs the minimum %.2f s", FLEET.n, FLEET.rate, FLEET.client_burst, FLEET.server_burst,
  FLEET.minimum),
  FLEET_SPEC,
  function()
    assert(redis_url and redis_url ~= "", "no Redis (run under spec/with-redis)")
    assert(not why_not, why_not)
    local rh = require "spec.helpers.redis"
    local env = { TRAY_REDIS_URL = redis_url, TRAY_RATE_KEY = rh.unique("tray:rl:bench-nginx"),
                  TRAY_RATE = FLEET.rate, TRAY_RATE_BURST = FLEET.client_burst, TRAY_FLEET_SIZE = FLEET.procs,
                  TRAY_REDIS_TIMEOUT = FLEET.redis_timeout }
    local hosts = {}
    local ok, res = pcall(function()
      for i = 1, 2 do hosts[i] = nginx.start(2, env) end
      emu.reset()
      emu.config{ rateLimit = { rate = FLEET.rate, burst = FLEET.server_burst } }
      local urls = {}
      for i = 1, FLEET.n do urls[i] = hosts[i % 2 + 1].url .. "/users?first=1&i=" .. i end
      local t0 = native.now()
      local results = nginx.fire(urls, 240)
      local wall = native.now() - t0
      local good = 0
      for i = 1, FLEET.n do
        if results[i].status == 200 then good = good + 1 end
      end
      local stats = emu.stats()
      return string.format("%.2f s, %.3fx the minimum (+%.1f%%); %d ok, %d rate-limited",
        wall, wall / FLEET.minimum, (wall / FLEET.minimum - 1) * 100, good, stats.rateLimited)
    end)
    for _, h in ipairs(hosts) do h:stop() end
    assert(ok, res)
    return res
  end)

print("## Timing (printed, not asserted)")
print("")
print(string.format("Figures the specs leave out so that a busy machine cannot fail them (issue 16); each spec "
  .. "asserts what the last column says instead. %s; %d rounds where rounds are given.",
  rawget(_G, "jit") and "LuaJIT" or _VERSION, ROUNDS))
print("")
print("| figure | measured | the spec asserts |")
print("|---|---|---|")
for _, r in ipairs(rows) do print(r) end
