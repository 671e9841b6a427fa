--- The worker-thread side of `tray.ngx` (nginx only; never required by hand).
--
-- `ngx.run_worker_thread(pool, "tray.ngx_worker", "request", ...)` runs
-- `request` in one of nginx's thread-pool threads, in a separate Lua VM that
-- nginx keeps for later tasks (`lua_worker_thread_vm_pool_size`). That VM has
-- no `ngx` API, so this module only uses the C core: it keeps one native
-- session per distinct setting (timeout, connect timeout, CA file, User-Agent,
-- body cap), so the connections (TLS sessions, HTTP/2) of a VM are reused by
-- the next task it runs. A VM runs one task at a time, so a session is never
-- used by two threads at once.
--
-- Everything crossing `run_worker_thread` is a plain value: strings, numbers,
-- booleans, nil and tables of those (no userdata, no functions).
-- @module tray.ngx_worker

local native = require "tray.native"

local _M = {}

local MAX_SESSIONS = 16   -- distinct settings kept per VM; beyond that, start over
local sessions, count = {}, 0

local function session_for(o)
  local key = table.concat({
    tostring(o.timeout), tostring(o.connect_timeout), tostring(o.max_body),
    o.ca_file or "", o.user_agent or "",
  }, "\0")
  local s = sessions[key]
  if s then return s end
  if count >= MAX_SESSIONS then
    for _, old in pairs(sessions) do old:close() end
    sessions, count = {}, 0
  end
  local kind, msg
  s, kind, msg = native.session{
    timeout = o.timeout, connect_timeout = o.connect_timeout, user_agent = o.user_agent,
    ca_file = o.ca_file, max_body = o.max_body,
  }
  if not s then return nil, kind, msg end
  sessions[key] = s
  count = count + 1
  return s
end

--- Sends one request with this VM's session for the settings `o` (runs in a
-- thread-pool thread; blocking there is the point).
-- @tparam table o `{ timeout =, connect_timeout =, user_agent =, ca_file =, max_body = }`
-- @tparam string method
-- @tparam string url
-- @tparam table headers array of `"Name: value"` lines (no Authorization)
-- @tparam ?string body
-- @tparam ?string token becomes `Authorization: Bearer <token>` inside the C core
-- @return status, body, headers (lowercase names) | nil, kind, message, detail
function _M.request(o, method, url, headers, body, token)
  local s, kind, msg = session_for(o)
  if not s then return nil, kind, msg end
  local status, rbody, rheaders, detail = s:request(method, url, headers, body, token)
  if not status then return nil, rbody, rheaders, detail end
  return status, rbody, rheaders
end

--- How many sessions this VM holds (for tests and debugging).
-- @treturn number
function _M.sessions()
  return count
end

return _M
