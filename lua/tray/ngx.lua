--- nginx (OpenResty, lua-nginx-module) support: a non-blocking transport, a
-- sleep that yields, and a rate limiter shared by every worker.
--
-- The SDK uses this module by itself when it runs inside nginx (when
-- `ngx.run_worker_thread` exists); nothing changes in the calling code:
--
--    -- nginx.conf (main context):  thread_pool tray threads=32;
--    -- nginx.conf (http context):  lua_shared_dict tray_limits 1m;
--    local emb = assert(tray.embedded.new{ master_token = os.getenv("TRAY_MASTER_TOKEN") })
--    local users, err = emb:users{ first = 10 }   -- the worker keeps serving other requests
--
-- **Transport.** Each request runs the libcurl core (the same C code as
-- everywhere else: TLS verification, HTTP/2, body caps, error mapping) in a
-- thread of nginx's thread pool through `ngx.run_worker_thread`; the request
-- handler's coroutine yields until the thread is done, so the worker's event
-- loop never blocks. The thread side is `tray.ngx_worker`, which keeps its
-- connections between tasks. Only plain values cross between the two VMs.
--
-- **Limiter.** See `limiter`: a GCRA token bucket whose state lives in a
-- `lua_shared_dict`, so all workers together keep to the rate.
--
-- Settings: the thread pool is the client option `thread_pool` (default
-- `"tray"`), the dictionary `rate_limit = { shared_dict = "name" }` (default
-- `"tray_limits"`); `tray.ngx.configure{ thread_pool =, shared_dict = }`
-- changes the defaults.
-- @module tray.ngx

local native = require "tray.native"
local errors = require "tray.errors"

local _M = {}

--- Defaults for the settings a client does not give.
_M.defaults = {
  thread_pool = "tray",        -- `thread_pool tray threads=32;` (nginx main context)
  shared_dict = "tray_limits", -- `lua_shared_dict tray_limits 1m;` (http context)
}

local WORKER_MODULE = "tray.ngx_worker"
local VM_WAIT = 0.005   -- seconds between tries when every thread VM is busy
local LOCK_TTL = 1      -- seconds: a lock left by a crashed worker frees itself after this
local LOCK_SPINS = 100  -- tries before yielding while another worker holds the lock

local warned = {}

-- Logs a warning once per distinct text (never a token: callers pass none).
local function warn_once(text)
  if warned[text] then return end
  warned[text] = true
  if type(ngx) == "table" and ngx.log then ngx.log(ngx.WARN, "tray: ", text) end
end

--- Changes the defaults (`thread_pool`, `shared_dict`) for clients created afterwards.
-- @tparam table o `{ thread_pool = "name", shared_dict = "name" }`
-- @treturn table the defaults now in force
function _M.configure(o)
  if type(o) == "table" then
    if type(o.thread_pool) == "string" then _M.defaults.thread_pool = o.thread_pool end
    if type(o.shared_dict) == "string" then _M.defaults.shared_dict = o.shared_dict end
  end
  return _M.defaults
end

--- Waits without blocking the worker: `ngx.sleep`, or a plain sleep where
-- nginx does not allow yielding (init_worker, header/body filters ...).
-- @tparam number seconds
function _M.sleep(seconds)
  if seconds <= 0 then return end
  if not pcall(ngx.sleep, seconds) then native.sleep(seconds) end
end

-- Splits the contract's header map into "Name: value" lines and the bearer token,
-- which travels apart so the C core writes the Authorization header itself.
local function header_lines(headers)
  local names, lines, token = {}, {}, nil
  for name in pairs(headers or {}) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local value = tostring(headers[name])
    local bearer = name:lower() == "authorization" and value:match("^Bearer (.+)$")
    if bearer then
      token = bearer
    else
      lines[#lines + 1] = name .. ": " .. value
    end
  end
  return lines, token
end

-- Sends on a session of this (the worker's) VM, blocking: only where nginx
-- does not allow run_worker_thread.
local blocking_sessions = {}
local function send_blocking(settings, method, url, lines, body, token)
  local key = table.concat({ tostring(settings.timeout), tostring(settings.connect_timeout),
    tostring(settings.max_body), settings.ca_file or "", settings.user_agent }, "\0")
  local s = blocking_sessions[key]
  if not s then
    local kind, msg
    s, kind, msg = native.session(settings)
    if not s then return nil, kind, msg end
    blocking_sessions[key] = s
  end
  local status, body_or_kind, headers_or_msg, detail = s:request(method, url, lines, body, token)
  if not status then return nil, body_or_kind, headers_or_msg, detail end
  return { status = status, body = body_or_kind, headers = headers_or_msg }
end

-- Waiting for a thread-pool Lua VM: nginx lends each worker at most
-- lua_worker_thread_vm_pool_size VMs, one per request in flight. A request
-- that finds none waits on a semaphore that each finished request posts
-- (first come, first served; no polling), or sleeps a little where
-- ngx.semaphore is missing.
local vm_free            -- nil: not made yet; false: no ngx.semaphore
local vm_waiters = 0

local function wait_for_vm(deadline)
  if vm_free == nil then
    vm_free = false
    if type(ngx.config) == "table" and ngx.config.ngx_lua_version then
      local ok, sema = pcall(require, "ngx.semaphore")
      if ok and type(sema) == "table" then vm_free = sema.new(0) or false end
    end
  end
  if not vm_free then return ngx.sleep(VM_WAIT) end
  vm_waiters = vm_waiters + 1
  vm_free:wait(math.max(0.001, math.min(0.1, deadline - ngx.now())))
  vm_waiters = vm_waiters - 1
end

local function vm_released()
  if vm_free and vm_waiters > 0 then vm_free:post(1) end
end

-- Failures of run_worker_thread itself (the task never ran) and what they mean.
local function thread_failure(pool, why)
  if why:find("thread_pool not found", 1, true) or why:find("thread pool", 1, true) then
    return "usage", string.format("nginx has no thread pool %q: add `thread_pool %s threads=32;` to the main " ..
      "context of nginx.conf, or give the client option thread_pool", pool, pool), nil
  end
  if why:find(WORKER_MODULE, 1, true) or why:find("invalid lua module", 1, true)
    or why:find("invalid function", 1, true) then
    return "usage", "the thread-pool Lua VM cannot load " .. WORKER_MODULE ..
      ": lua_package_path and lua_package_cpath must reach tray's Lua files and tray/native.so (" .. why .. ")", nil
  end
  if why:find("unsupported", 1, true) or why:find("no memory", 1, true) or why:find("task_post", 1, true) then
    return "network", "nginx could not start the request in its thread pool: " .. why, "unsent"
  end
  return "network", "the request failed in the thread pool: " .. why, nil
end

--- A transport function (the contract of the `transport` option) that runs
-- each request in nginx's thread pool.
-- @tparam table o the client's options (`thread_pool`, `timeout`, `connect_timeout`,
-- `ca_file`, `max_body`, `user_agent`)
-- @treturn function `function(req) -> res | nil, kind, message, detail`
function _M.transport(o)
  local pool = o.thread_pool or _M.defaults.thread_pool
  local ua = "tray-lua/" .. require("tray").VERSION
  if o.user_agent then ua = o.user_agent .. " " .. ua end
  return function(req)
    if type(pool) ~= "string" then return nil, "usage", "thread_pool must be the name of an nginx thread pool" end
    local lines, token = header_lines(req.headers)
    local settings = {
      timeout = req.timeout or o.timeout, connect_timeout = req.connect_timeout or o.connect_timeout,
      user_agent = ua, ca_file = o.ca_file, max_body = o.max_body,
    }
    local deadline = ngx.now() + (settings.timeout or 30)
    while true do
      local called, ok, status, body, headers, detail = pcall(ngx.run_worker_thread, pool, WORKER_MODULE,
        "request", settings, req.method, req.url, lines, req.body, token)
      if not called then
        -- this phase cannot yield (init_worker, a filter, a log handler): block, but work
        warn_once("ngx.run_worker_thread is not allowed here; this request blocks the worker")
        return send_blocking(settings, req.method, req.url, lines, req.body, token)
      end
      local no_vm = not ok and tostring(status):find("no available Lua vm", 1, true)
      if not no_vm then vm_released() end
      if ok then
        if status == nil then return nil, body, headers, detail end -- kind, message, detail
        return { status = status, body = body, headers = headers }
      end
      if no_vm and ngx.now() < deadline then
        wait_for_vm(deadline)
      elseif no_vm then
        return nil, "timeout", "no thread-pool Lua VM became free in time (raise lua_worker_thread_vm_pool_size)",
          "unsent"
      else
        return nil, thread_failure(pool, tostring(status))
      end
    end
  end
end

-- ---------------------------------------------------------------------------
-- The limiter shared by the workers.
--
-- A token bucket (rate r per second, burst b) kept as GCRA: one number per key,
-- the "theoretical arrival time" tat. Reserving a slot at time now:
--   tat  = max(tat, now) + 1/r
--   wait = max(0, tat - b/r - now)        -- 0 while the bucket holds a token
-- and tat is stored back. The slot is taken whether the caller waits or not,
-- so reservations made by any worker queue up behind each other: over any
-- interval of length L at most b + r*L requests are let through, all workers
-- together.
--
-- ngx.shared.DICT has atomic add and incr but no compare-and-set, and the
-- max() above cannot be written with incr alone. So the read-modify-write runs
-- under a short lock: `dict:add(lock_key, ...)` succeeds for exactly one caller
-- (add fails when the key exists), the holder reads, computes, writes and
-- deletes the lock without yielding in between (a few microseconds), and the
-- others retry (spinning a little, then yielding 1 ms at a time). The lock has
-- an expiry (LOCK_TTL) so a worker that dies while holding it cannot block the
-- others for longer than that. Keys expire once their bucket is full again, so
-- the dictionary only holds active accounts (1m is plenty); when it is full,
-- nginx evicts the least recently used keys.

local Shared = {}
Shared.__index = Shared

local function try_sleep(seconds)
  -- yields when nginx allows it; where it does not, spin on
  pcall(ngx.sleep, seconds)
end

local function now()
  ngx.update_time()
  return ngx.now()
end

--- Takes a slot in the shared bucket.
-- @treturn number seconds to wait before sending (0 when a token was free)
function Shared:reserve()
  local dict, lock = self.dict, self.lock_key
  local spins = 0
  while true do
    local ok, err = dict:add(lock, true, LOCK_TTL)
    if ok then break end
    if err ~= "exists" then
      warn_once("lua_shared_dict " .. self.dict_name .. " failed (" .. tostring(err) ..
        "); rate limiting per worker meanwhile")
      return self:local_fallback():reserve()
    end
    spins = spins + 1
    if spins >= LOCK_SPINS then try_sleep(0.001) end
  end
  local t = now()
  local tat = dict:get(self.key)
  if type(tat) ~= "number" or tat < t then tat = t end
  tat = tat + self.interval
  local wait = tat - self.burst * self.interval - t
  -- keep the key only while the bucket is not full again
  dict:set(self.key, tat, tat - t + 1)
  dict:delete(lock)
  if wait > 1e-6 then return wait end -- below that: rounding of the sums above
  return 0
end

-- The per-process C bucket, for when the dictionary fails (no limiting if even that fails).
local NO_LIMIT = { reserve = function() return 0 end }
function Shared:local_fallback()
  if not self.fallback then
    self.fallback = native.limiter(self.local_key, self.rate, self.burst) or NO_LIMIT
  end
  return self.fallback
end

--- A limiter for one account and host: shared by the workers through the
-- `lua_shared_dict` named by `rl.shared_dict` (default `tray_limits`). Without
-- that dictionary (or outside nginx) it is the per-process C limiter, and a
-- warning is logged once.
-- @tparam table rl `{ rate =, burst =, shared_dict = }`
-- @tparam string token the bearer token (only its digest is kept)
-- @tparam string host the API host
-- @treturn ?table an object with `:reserve()` -> seconds to wait
-- @treturn ?table a `usage` error
function _M.limiter(rl, token, host)
  local rate, burst = rl.rate or 30, rl.burst or rl.rate or 30
  local key = native.digest(token) .. "@" .. host
  local name = rl.shared_dict or _M.defaults.shared_dict
  if type(name) ~= "string" then
    return errors.fail("usage", "rate_limit.shared_dict must be the name of a lua_shared_dict")
  end
  local dict = type(ngx) == "table" and type(ngx.shared) == "table" and ngx.shared[name] or nil
  if not dict then
    if type(ngx) == "table" then
      warn_once("no lua_shared_dict " .. name .. " (add `lua_shared_dict " .. name ..
        " 1m;` to the http context): each worker limits the rate on its own")
    end
    local lim, kind, msg = native.limiter(key, rate, burst)
    if not lim then return errors.fail(kind, msg) end
    return lim
  end
  return setmetatable({
    dict = dict, dict_name = name, key = "tray:" .. key, lock_key = "tray:" .. key .. ":lock",
    local_key = key, rate = rate, burst = burst, interval = 1 / rate,
  }, Shared)
end

return _M
