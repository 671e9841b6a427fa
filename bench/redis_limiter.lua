--- The added cost per request of the Redis limiter: reserve() on the in-process
-- bucket vs on Redis (one EVALSHA round trip), through the C object and through
-- tray.redis's Lua wrapper, the fallback path while Redis is down, and the
-- round trips per second of several processes sharing one key. Measures and
-- prints a table; never asserts.
--
--    eval "$(make -s env)"; ./spec/with-redis lua5.4 bench/redis_limiter.lua
--
-- The Redis URL comes from BENCH_REDIS_URL or TRAY_TEST_REDIS_URL (spec/with-redis
-- sets it). BENCH_QUICK=1 makes every part smaller (a smoke run).
-- `lua5.4 bench/redis_limiter.lua worker URL KEY N` is one process of the
-- shared-key part: it prints "<reserves> <seconds>".

local native = require "tray.native"
local tray_redis = require "tray.redis"

local QUICK = os.getenv("BENCH_QUICK") == "1"
local BIG = 1e9 -- a rate and burst that never make anyone wait: only the cost is measured

local function per_call(n, f)
  f() -- warm: connect, load the script
  local t0 = native.now()
  for _ = 1, n do f() end
  local dt = native.now() - t0
  return dt / n * 1e6, n / dt
end

local mode = ...
if mode == "worker" then
  local _, url, key, n = ...
  n = tonumber(n)
  local lim = assert(native.redis_limiter{ url = url, key = key, rate = BIG, burst = BIG, timeout = 1 })
  assert(lim:reserve())
  local t0 = native.now()
  for _ = 1, n do assert(lim:reserve()) end
  io.write(string.format("%d %.6f\n", n, native.now() - t0))
  return
end

local url = os.getenv("BENCH_REDIS_URL") or os.getenv("TRAY_TEST_REDIS_URL")
if not url or url == "" then
  io.stderr:write("bench/redis_limiter.lua: set BENCH_REDIS_URL, or run it under spec/with-redis\n")
  os.exit(1)
end
local N = QUICK and 2000 or 50000
local key = "tray:rl:bench:" .. os.time() .. ":" .. math.floor(native.now() * 1e6 % 1e6)

local rows = {}
local function row(name, us, per_s, note)
  rows[#rows + 1] = string.format("| %s | %.2f | %s | %s |", name, us,
    per_s and string.format("%.0f", per_s) or "", note or "")
end

-- 1. the in-process bucket (what rate_limit = { rate =, burst = } uses)
local loc = assert(native.limiter("bench-local:" .. key, BIG, BIG))
local local_us, local_rate = per_call(N, function() return loc:reserve() end)
row("local bucket (native.limiter)", local_us, local_rate, "mutex + arithmetic")

-- 2. the Redis bucket, C object: one EVALSHA round trip per reserve
local rl = assert(native.redis_limiter{ url = url, key = key, rate = BIG, burst = BIG, timeout = 1 })
local redis_us, redis_rate = per_call(N, function() return assert(rl:reserve()) end)
row("Redis bucket (native.redis_limiter)", redis_us, redis_rate, "one EVALSHA round trip, loopback")

-- 3. the same through tray.redis (what a client with rate_limit = { redis = } calls)
local lim = assert(tray_redis.limiter({ redis = url, key = key .. ":lua", rate = BIG, burst = BIG, timeout = 1 },
  "bench-token", "bench.host"))
local lua_us, lua_rate = per_call(N, function() return lim:reserve() end)
row("Redis bucket (tray.redis limiter)", lua_us, lua_rate, "plus the Lua wrapper")

-- 4. Redis down: the fallback bucket, while the connection waits out its back-off
local down = assert(tray_redis.limiter({ redis = "redis://127.0.0.1:1/0", key = key .. ":down", rate = BIG,
  burst = BIG, backoff = 3600 }, "bench-token", "bench.host", function() end))
down:reserve()
local down_us, down_rate = per_call(N, function() return down:reserve() end)
row("Redis down: fallback bucket", down_us, down_rate, "no connection attempt during the back-off")

-- 5. several processes on one key: the server's throughput
local procs = QUICK and 2 or 4
local each = QUICK and 2000 or 25000
local interp = rawget(_G, "jit") and "luajit" or "lua5.4"
local script = arg and arg[0] or "bench/redis_limiter.lua"
local pipes = {}
local t0 = native.now()
for i = 1, procs do
  pipes[i] = assert(io.popen(string.format("%s %s worker '%s' '%s' %d", interp, script, url, key .. ":shared", each)))
end
local total, slowest = 0, 0
for _, p in ipairs(pipes) do
  local n, secs = p:read("*a"):match("(%d+) ([%d.]+)")
  p:close()
  total = total + (tonumber(n) or 0)
  if tonumber(secs) and tonumber(secs) > slowest then slowest = tonumber(secs) end
end
local wall = native.now() - t0
row(string.format("Redis bucket, %d processes on one key", procs), slowest / each * 1e6, total / slowest,
  string.format("µs: each process's; reserves/s: all together (%d in %.2fs wall)", total, wall))

print(string.format("Redis limiter: reserve() cost (%s, %d calls each; %s)", interp, N, url:gsub("//[^@]*@", "//")))
print("")
print("| limiter | µs per reserve | reserves/s | |")
print("|---|---:|---:|---|")
for _, r in ipairs(rows) do print(r) end
print("")
print(string.format("Added cost per request of the Redis limiter: %.1f µs (%.1f µs through tray.redis).",
  redis_us - local_us, lua_us - local_us))
