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
-- (`ngx.config.ngx_lua_version` is set) the cosocket backend (`tray.backend.ngx`);
-- else libcurl.
-- A `transport` function option (a caller's own sender) becomes a small backend
-- that sends with it and takes the rest from the runtime's backend.
-- @internal tray.backend

local errors = require "tray.errors"
local ngx_backend = require "tray.backend.ngx"

local _M = {}

--- Are we inside nginx (OpenResty's lua-nginx-module)? The one definition, also
-- used by `tray.parallel`: see `tray.backend.ngx.in_nginx`.
-- @function in_nginx
-- @treturn boolean
_M.in_nginx = ngx_backend.in_nginx

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
    b, err = ngx_backend.new(settings)
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
