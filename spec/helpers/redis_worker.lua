-- One process of a fleet for spec/redis_spec.lua: makes `count` REST calls
-- through a client whose rate limit lives in Redis, then prints one summary line.
--
--   lua5.4 spec/helpers/redis_worker.lua CORE_URL REDIS_URL COUNT KEY RATE BURST FLEET_SIZE MAX_RETRIES TIMEOUT
--
-- Output: one "LOG <level> <message>" line per log callback, one "ERR <error>"
-- line per failed call, and last
-- "DONE ok=<n> failed=<n> remote=<n> fallback=<n> seconds=<s>".
-- The token comes from TRAY_EMULATOR_MASTER_TOKEN (or the emulator's default).

local tray = require "tray"
local native = require "tray.native"

local core_url, redis_url, count, key, rate, burst, fleet, retries, timeout = ...
count, rate, burst = tonumber(count), tonumber(rate), tonumber(burst)
fleet, retries, timeout = tonumber(fleet), tonumber(retries), tonumber(timeout)

local function out(line)
  io.write(line, "\n")
  io.flush()
end

local core = assert(tray.core.new{
  token = os.getenv("TRAY_EMULATOR_MASTER_TOKEN") or "emulator-master-token",
  base_url = core_url,
  max_retries = retries,
  log = function(level, message)
    out("LOG " .. level .. " " .. tostring(message):gsub("[\r\n]", " "))
  end,
  rate_limit = { redis = redis_url, key = key, rate = rate, burst = burst, fleet_size = fleet,
                 timeout = timeout },
})

local t0 = native.now()
local ok, failed = 0, 0
for _ = 1, count do
  local v, err = core:list_workspaces()
  if v then
    ok = ok + 1
  else
    failed = failed + 1
    out("ERR " .. tostring(err))
  end
end
local stats = core.transport.limiter.stats
out(string.format("DONE ok=%d failed=%d remote=%d fallback=%d seconds=%.3f",
  ok, failed, stats.remote, stats.fallback, native.now() - t0))
