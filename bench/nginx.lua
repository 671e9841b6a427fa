--- The nginx rows of `make bench`: N concurrent SDK calls vs N plain cosocket
-- requests, in one nginx worker with no thread_pool, to the emulator answering
-- after 1 s; /health latency while they are in flight.
--
--    lua5.4 bench/nginx.lua [N]     (from the checkout, with TRAY_EMULATOR_URL set)
--
-- Prints one line `BENCHRESULT {json}`. nginx runs spec/fixtures/nginx/nginx.conf:
-- GET /sdk is one `emb:users{ first = 1 }` on a client the worker keeps; GET /plain
-- sends the same POST (same body, same token) with hand-written cosocket code
-- (keep-alive pool, Content-Length framing) and nothing else.

package.path = "./?.lua;" .. package.path

local native = require "tray.native"
local json = require "tray.json"

local N = tonumber(arg[1]) or 1000

local function result(t)
  io.write("BENCHRESULT ", assert(json.encode(t)), "\n")
end

local nginx = require "spec.helpers.nginx"
local why = nginx.missing()
if why then return result{ skipped = why } end
local emu = require "spec.helpers.emulator"

local proc = nginx.start(1, {}, { conf = nginx.PROBE_CONF })

local function run(path)
  emu.reset()
  emu.config{ latencyMs = 1000 }
  -- one request first: the worker's client and code are loaded, a connection is open
  assert(nginx.get(proc.url .. path) == 200, "bench: " .. path .. " does not answer 200")
  emu.reset()
  emu.config{ latencyMs = 1000 }
  local urls = {}
  for i = 1, N do urls[i] = proc.url .. path .. "?i=" .. i end
  local health = {}
  local t0 = native.now()
  local results = nginx.fire(urls, 300, function(_, done)
    -- while at least a quarter of the calls are at the emulator, not answered yet
    if #health < 5 and emu.stats().requests - done >= N / 4 then
      local status, _, _, took = nginx.get(proc.url .. "/health")
      if status == 200 then health[#health + 1] = took end
    end
  end)
  local wall = native.now() - t0
  local errors = 0
  for i = 1, N do
    if results[i].status ~= 200 then errors = errors + 1 end
  end
  table.sort(health)
  return { wall = wall, errors = errors, health_ms = health[#health] and health[#health] * 1000 or nil,
           health_n = #health, upstream = emu.stats().requests }
end

local ok, res = pcall(function()
  local out = { n = N, runs = {} }
  -- alternated twice: plain, sdk, plain, sdk
  for round = 1, 2 do
    for _, path in ipairs({ "/plain", "/sdk" }) do
      local r = run(path)
      r.path, r.round = path, round
      out.runs[#out.runs + 1] = r
    end
  end
  return out
end)
proc:stop()
if not ok then error(res, 0) end
result(res)
