--- Choosing the backend of a client, once, when it is made; and the one place
-- that turns a `rate_limit` option into a limiter.
--
-- A backend moves the bytes of a request and gives the transport what depends on
-- the runtime; every backend has:
--
--    backend:request(method, url, header_lines, body, token)
--        -> status, body, headers (lower-case names) | nil, kind, message, detail
--        (`detail == "unsent"`: no byte of the request reached the wire; the
--        Authorization line is built from `token` by the C core, never passed in
--        `header_lines`)
--    backend:sleep(seconds)         backend:now() -> monotonic seconds
--    backend:jitter() -> [0, 1)     (the C core's seeded generator)
--    backend:once(key, fn) -> fn's results (single flight: callers arriving while
--        fn runs wait, without blocking the runtime, and get the same results)
--    backend:limiter(rate_limit, token, host, log) -> limiter (`:reserve()`) | nil, err
--    backend:close()                backend.name ("curl" | "ngx")
--
-- Selection: an explicit `backend` option (a name or an object) wins; inside nginx
-- (an `ngx` global with `ngx.socket`) the cosocket backend; else libcurl.
-- A `transport` function option (a caller's own sender) becomes a small backend
-- that sends with it and takes the rest from the runtime's backend.
-- @module tray.backend

local errors = require "tray.errors"
local native = require "tray.native"

local _M = {}

--- Are we inside nginx (OpenResty), where cosockets exist?
-- @treturn boolean
function _M.in_nginx()
  local ngx = ngx -- luacheck: ignore 113
  -- (`run_worker_thread`: the thread-pool fallback's stand-in in spec/openresty_spec.lua; goes with it)
  return type(ngx) == "table" and (type(ngx.socket) == "table" or type(ngx.run_worker_thread) == "function")
end

-- ---------------------------------------------------------------------------
-- Until tray.backend.ngx (cosockets) exists: nginx's thread pool (tray.ngx)
-- wrapped as a backend. To be deleted when tray.backend.ngx is merged.

local function lower_keys(t)
  local out = {}
  if type(t) == "table" then
    for k, v in pairs(t) do
      if type(k) == "string" then out[k:lower()] = v end
    end
  end
  return out
end

local maps = setmetatable({}, { __mode = "k" }) -- header lines (the transport's constant lists) -> map

local function headers_map(lines, token)
  local map = maps[lines]
  if not map then
    map = {}
    for i = 1, #lines do
      local name, value = lines[i]:match("^([^:]+):%s*(.*)$")
      if name then map[name] = value end
    end
    maps[lines] = map
  end
  local h = {}
  for k, v in pairs(map) do h[k] = v end
  if token then h.Authorization = "Bearer " .. token end
  return h
end

local function thread_pool_backend(settings)
  local ngx = ngx -- luacheck: ignore 113
  local tray_ngx = require "tray.ngx"
  local own_ua = settings.user_agent:gsub("%s*tray%-lua/%S+$", "")
  local send = tray_ngx.transport{
    timeout = settings.timeout, connect_timeout = settings.connect_timeout, max_body = settings.max_body,
    ca_file = settings.ca_file, thread_pool = settings.thread_pool, user_agent = own_ua ~= "" and own_ua or nil,
  }
  local function now()
    ngx.update_time()
    return ngx.now()
  end
  local b = { name = "ngx" }
  function b.request(_, method, url, lines, body, token)
    local res, kind, msg, detail = send{ method = method, url = url, headers = headers_map(lines, token),
      body = body, timeout = settings.timeout, connect_timeout = settings.connect_timeout }
    if not res then return nil, kind, msg, detail end
    return res.status, res.body, lower_keys(res.headers)
  end
  function b.sleep(_, seconds) tray_ngx.sleep(seconds) end
  function b.now() return now() end
  function b.jitter() return native.jitter() end
  local YIELDING = { rewrite = true, access = true, content = true, timer = true, ssl_cert = true,
                     ssl_session_fetch = true }
  b.once = require("tray.backend.once").new(tray_ngx.sleep, now, 300, function()
    return type(ngx.get_phase) == "function" and YIELDING[ngx.get_phase()] and "ngx" or nil
  end)
  function b.limiter(_, rl, token, host) return tray_ngx.limiter(rl, token, host) end
  function b.close() end
  return b
end

local function ngx_backend(settings)
  local ok, mod = pcall(require, "tray.backend.ngx")
  if ok and type(mod) == "table" and mod.new then return mod.new(settings) end
  return thread_pool_backend(settings)
end

-- ---------------------------------------------------------------------------
-- A caller's own sender: `transport = function(req) -> { status =, body =, headers = } | nil, kind, message`

local function function_backend(fn, base)
  local b = setmetatable({ name = base.name }, { __index = base })
  function b.request(_, method, url, lines, body, token)
    local ok, res, kind, msg, detail = pcall(fn, {
      method = method, url = url, headers = headers_map(lines, token), body = body,
      timeout = base.settings and base.settings.timeout, connect_timeout = base.settings and
        base.settings.connect_timeout,
    })
    if not ok then return nil, "network", "the transport function raised: " .. tostring(res) end
    if type(res) ~= "table" then
      if errors.KINDS[kind] then return nil, kind, tostring(msg), detail end
      return nil, "network", tostring(kind or "the transport function failed")
    end
    return tonumber(res.status) or 0, res.body or "", lower_keys(res.headers)
  end
  -- every method of the base is called on the base itself
  for _, m in ipairs({ "sleep", "now", "jitter", "once", "limiter", "close" }) do
    b[m] = function(_, ...) return base[m](base, ...) end
  end
  return b
end

--- Chooses and makes the backend of a client.
-- @tparam table settings `{ timeout =, connect_timeout =, max_body =, user_agent =, ca_file =, proxy =, log = }`
-- @param choice the `backend` option: nil, "curl", "ngx" or a backend object
-- @tparam[opt] function fn the `transport` option (a caller's own sender)
-- @treturn ?table the backend
-- @treturn ?table the error
function _M.select(settings, choice, fn)
  local b, err
  if type(choice) == "table" then
    b = choice
  elseif choice == "ngx" or (choice == nil and _M.in_nginx()) then
    b, err = ngx_backend(settings)
  else
    b, err = require("tray.backend.curl").new(settings)
  end
  if not b then return nil, err end
  if fn then return function_backend(fn, b) end
  return b
end

--- The limiter of a client, from its `rate_limit` option: false -> none; an object
-- with `reserve` -> itself; `{ redis = }` -> `tray.redis`; `{ shared_dict = }` ->
-- `tray.ngx`; else the backend's own (`{ rate =, burst = }`).
-- @tparam table backend
-- @param rl the `rate_limit` option
-- @tparam string token (only its digest keys a bucket)
-- @tparam string host
-- @tparam ?function log
-- @treturn ?table the limiter (nil when off)
-- @treturn ?table the error
function _M.limiter(backend, rl, token, host, log)
  if rl == false or rl == nil then return nil end
  if rl.reserve then return rl end
  if rl.redis then return require("tray.redis").limiter(rl, token, host, log) end
  if rl.shared_dict then return require("tray.ngx").limiter(rl, token, host) end
  return backend:limiter(rl, token, host, log)
end

return _M
