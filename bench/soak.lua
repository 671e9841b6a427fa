-- Soak: many requests through tray.parallel against the emulator with injected
-- faults, to show that nothing is lost and nothing grows.
--
--   make soak                      (50,000 requests, concurrency 16, 1% faults)
--   emulator/with-emulator lua5.4 bench/soak.lua [requests] [concurrency] [fault rate]
--
-- Every request is one task: a REST GET, a REST POST, a GraphQL query or a
-- GraphQL mutation, in rotation, from one client of each API. The emulator gets
-- one fault per mode (every mode of the emulator that ends within the timeout),
-- each with probability rate / modes, until the end. Reported: completed (the
-- task returned a value), failed (it returned an error: counted by kind), lost
-- (neither: must be 0), the clients' own counters (requests sent, retries), and
-- RSS, the Lua heap and open descriptors at the start, every tenth of the run,
-- the end, and after the clients are closed. (The `huge` fault sends 64 KiB: a
-- pooled transfer keeps a response buffer of up to 256 KiB for its next use, so
-- bodies of that size make RSS climb by a few MiB until every pooled transfer
-- has one, then stay there.)
-- Exits non-zero if a call was lost or a task raised.

local tray = require "tray"
local emu = require "spec.helpers.emulator"
local proc = require "spec.helpers.proc"
local native = require "tray.native"

local total = tonumber(arg[1]) or 50000
local concurrency = tonumber(arg[2]) or 16
local rate = tonumber(arg[3]) or 0.01

local MODES = {
  { mode = "status", status = 500 }, { mode = "status", status = 502 }, { mode = "status", status = 503 },
  { mode = "429", retryAfter = 0 }, { mode = "429" }, { mode = "graphql_rate_limit" },
  { mode = "refuse" }, { mode = "reset" }, { mode = "stall", delayMs = 5000 },
  { mode = "malformed_json" }, { mode = "html" }, { mode = "empty" },
  { mode = "huge", bytes = 64 * 1024 }, { mode = "redirect" },
  { mode = "trickle", delayMs = 1 }, { mode = "delay", delayMs = 50 },
}

emu.reset()
for _, f in ipairs(MODES) do
  f.count = -1
  f.probability = rate / #MODES
  emu.fault(f)
end

local opts = { rate_limit = false, max_retries = 3, retry_base = 0.02, retry_cap = 0.2, timeout = 1 }
local core = emu.core(opts)
local emb = emu.embedded(opts)

local WORKSPACE = "6f1c2a9e-3b4d-4e8f-9a01-2b3c4d5e6f70"
local n_users = 0
local CALLS = {
  function() return core:list_workspaces() end,
  function() return core:get_workspace(WORKSPACE) end,
  function() return emb:users{ first = 5 } end,
  function() return core:invite_user{ email = "soak@example.com" } end,
  function() return emb:authentications() end,
  function()
    n_users = n_users + 1
    return emb:create_external_user{ name = "Soak", externalUserId = "soak-" .. n_users }
  end,
}

local function snapshot()
  proc.collect()
  return { rss = proc.rss_kib(), fds = proc.fds(), heap = collectgarbage("count") }
end

local start = snapshot()
local samples = { start }
local completed, failed, raised = 0, 0, 0
local kinds = {}
local t0 = native.now()

-- One run of every task (no batches: `concurrency` calls are always in flight).
-- A task counts its own outcome and returns nothing, so the run keeps no
-- results (memory stays flat); the task that finishes each tenth takes a sample.
local step = math.max(1, math.floor(total / 10))
local finished, neither = 0, 0
local wrapped = {}
for j, call in ipairs(CALLS) do
  wrapped[j] = function()
    local v, e = call()
    if v ~= nil and e == nil then
      completed = completed + 1
    elseif tray.errors.is(e) then
      failed = failed + 1
      kinds[e.kind] = (kinds[e.kind] or 0) + 1
    else
      neither = neither + 1
    end
    finished = finished + 1
    if finished % step == 0 then samples[#samples + 1] = snapshot() end
  end
end
local tasks = {}
for i = 1, total do tasks[i] = wrapped[i % #CALLS + 1] end
local _, errs = tray.parallel(tasks, { concurrency = concurrency })
for i = 1, total do
  if errs[i] ~= nil then
    raised = raised + 1
    io.stderr:write("soak: a task raised: " .. tostring(errs[i]) .. "\n")
  end
end
tasks, errs = nil, nil -- luacheck: ignore 311
samples[#samples + 1] = snapshot()

local seconds = native.now() - t0
local finish = samples[#samples]
-- a call that returned neither a value nor an error, or whose task never ended
local lost = neither + (total - finished - raised)
local cs, es = core:stats(), emb:stats()
local stats = emu.stats()

local kind_list = {}
for k, v in pairs(kinds) do kind_list[#kind_list + 1] = k .. " " .. v end
table.sort(kind_list)
local rss_series, heap_series, fd_series = {}, {}, {}
for i, s in ipairs(samples) do
  rss_series[i] = string.format("%.1f", s.rss / 1024)
  heap_series[i] = string.format("%.1f", s.heap / 1024)
  fd_series[i] = tostring(s.fds)
end

print(string.format("soak: %s, %d requests, concurrency %d, %.1f%% injected faults (%d modes), %.1f s (%.0f calls/s)",
  jit and jit.version or _VERSION, total, concurrency, rate * 100, #MODES, seconds, total / seconds))
print(string.format("  completed %d, failed %d (%s), raised %d, lost %d", completed, failed,
  table.concat(kind_list, ", "), raised, lost))
print(string.format("  sent %d requests (%d retries), the emulator saw %d",
  cs.requests + es.requests, cs.retries + es.retries, stats.requests))
print(string.format("  RSS %.1f MiB at start, %.1f MiB at the end; open descriptors %d at start, %d at the end",
  start.rss / 1024, finish.rss / 1024, start.fds, finish.fds))
print("  RSS (MiB) each tenth: " .. table.concat(rss_series, " "))
print("  Lua heap (MiB) each tenth: " .. table.concat(heap_series, " "))
print("  descriptors each tenth: " .. table.concat(fd_series, " "))

core:close()
emb:close()
local closed = snapshot()
print(string.format("  after closing the clients: RSS %.1f MiB, %d open descriptors (%d before the first request)",
  closed.rss / 1024, closed.fds, start.fds))
emu.reset()
if closed.fds > start.fds then io.stderr:write("soak: descriptors left open after closing the clients\n") end
os.exit((lost == 0 and raised == 0 and closed.fds <= start.fds) and 0 or 1)
