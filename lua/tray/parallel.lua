--- Many calls in flight from one Lua state.
--
--    local values, errs = tray.parallel({
--      function() return emb:create_external_user{ name = "A", externalUserId = "a" } end,
--      function() return emb:create_external_user{ name = "B", externalUserId = "b" } end,
--    }, { concurrency = 8 })
--
-- Each task runs in a coroutine. When it makes a request with an ordinary client
-- method, the transfer joins one libcurl multi handle and the coroutine yields;
-- the loop here resumes it when the answer is in. Rate-limiter waits and retry
-- backoffs also yield, so one slow call never holds up the others. A request
-- made from a coroutine the task created itself runs blocking (it cannot yield
-- to this loop). Inside nginx the tasks run as nginx light threads instead
-- (ngx.thread.spawn), so the worker's event loop never blocks (see tray.ngx).
-- @module tray.parallel

local native = require "tray.native"

local _M = {}

local YIELD = {}                                   -- marks our own yields
local by_coroutine = setmetatable({}, { __mode = "k" })

--- The scheduler driving the running coroutine, or nil outside `run`.
-- @treturn ?table
function _M.current()
  local co = coroutine.running()
  return co and by_coroutine[co] or nil
end

local Scheduler = {}
Scheduler.__index = Scheduler

--- Starts a transfer and yields until it ends (used by the transport).
-- Returns what `session:request` returns.
function Scheduler:request(session, method, url, headers, body, token)
  self.seq = self.seq + 1
  local id = self.seq
  local ok, kind, msg = self.multi:add(session, id, method, url, headers, body, token)
  if not ok then return nil, kind, msg end
  local r = coroutine.yield(YIELD, "io", id)
  if r.kind then return nil, r.kind, r.message, r.detail, r.status end
  return r.status, r.body, r.headers
end

--- Yields for `seconds` without blocking the other tasks.
-- @param _ the scheduler
-- @tparam number seconds
function Scheduler.sleep(_, seconds)
  if seconds > 0 then coroutine.yield(YIELD, "sleep", native.now() + seconds) end
end

-- Inside nginx the libcurl multi loop would block the worker: the tasks run in
-- nginx light threads instead (ngx.thread.spawn), `concurrency` of them pulling
-- the next task in turn; each request yields to nginx (see tray.backend.ngx). Returns
-- false when this phase cannot spawn light threads (then the loop below runs).
local function run_light_threads(tasks, n, concurrency, results, errs)
  if not require("tray.backend.ngx").in_nginx() then return false end
  local ngx = ngx -- luacheck: ignore 113
  if type(ngx.thread) ~= "table" then return false end
  local next_task = 1
  local function worker()
    while next_task <= n do
      local i = next_task
      next_task = i + 1
      local ok, a, b = pcall(tasks[i])
      if ok then results[i], errs[i] = a, b else errs[i] = a end
    end
  end
  local threads = {}
  for k = 1, math.min(concurrency, n) do
    local ok, th = pcall(ngx.thread.spawn, worker)
    if not ok then
      if k == 1 then return false end
      break
    end
    threads[k] = th
  end
  for k = 1, #threads do ngx.thread.wait(threads[k]) end
  return true
end

--- Runs the tasks, at most `concurrency` at a time, and waits for all of them.
-- A task that fails (returns `nil, err` or raises) does not stop the others.
-- @tparam {function,...} tasks
-- @tparam[opt] table opts `{ concurrency = 8 }`
-- @treturn table results: `results[i]` is task i's first return value
-- @treturn table errors: `errors[i]` is task i's second return value, or what it raised
function _M.run(tasks, opts)
  assert(type(tasks) == "table", "tray.parallel: tasks must be an array of functions")
  local n = #tasks
  for i = 1, n do
    assert(type(tasks[i]) == "function", "tray.parallel: task " .. i .. " is not a function")
  end
  local concurrency = opts and opts.concurrency or 8
  assert(type(concurrency) == "number" and concurrency >= 1, "tray.parallel: concurrency must be >= 1")

  local results, errs = {}, {}
  if n == 0 then return results, errs end
  if run_light_threads(tasks, n, concurrency, results, errs) then return results, errs end
  local multi = assert(native.multi())
  local sched = setmetatable({ multi = multi, seq = 0 }, Scheduler)
  local slot, io_wait, sleepers = {}, {}, {}
  local next_task, active = 1, 0

  local function step(co, ...)
    local ok, a, b, c = coroutine.resume(co, ...)
    local i = slot[co]
    if ok and coroutine.status(co) == "suspended" and a == YIELD then
      if b == "io" then io_wait[c] = co else sleepers[#sleepers + 1] = { at = c, co = co } end
      return
    end
    if not ok then
      errs[i] = a
    elseif coroutine.status(co) == "dead" then
      results[i], errs[i] = a, b
    else
      errs[i] = "tray.parallel: task " .. i .. " yielded outside the SDK"
    end
    slot[co], by_coroutine[co] = nil, nil
    active = active - 1
  end

  local function start_more()
    while active < concurrency and next_task <= n do
      local i = next_task
      next_task = i + 1
      local co = coroutine.create(tasks[i])
      slot[co], by_coroutine[co] = i, sched
      active = active + 1
      step(co)
    end
  end

  start_more()
  while active > 0 do
    local now, soonest = native.now(), nil
    local k = 1
    while k <= #sleepers do
      local s = sleepers[k]
      if s.at <= now then
        table.remove(sleepers, k)
        step(s.co)
      else
        if not soonest or s.at < soonest then soonest = s.at end
        k = k + 1
      end
    end
    start_more()
    if active == 0 then break end
    local timeout = 1
    if soonest then timeout = math.max(0, math.min(1, soonest - native.now())) end
    local done, kind, msg = multi:poll(timeout)
    if not done then
      multi:close()
      error("tray.parallel: " .. tostring(kind) .. ": " .. tostring(msg))
    end
    for j = 1, #done do
      local r = done[j]
      local co = io_wait[r.id]
      io_wait[r.id] = nil
      if co then step(co, r) end
    end
    start_more()
  end
  multi:close()
  return results, errs
end

return _M
