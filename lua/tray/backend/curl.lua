--- The libcurl backend: a native session (a pool of reused easy handles sharing
-- one connection cache) for blocking calls, and the `tray.parallel` scheduler's
-- multi loop when the call is made inside a task: then the request, the sleeps
-- and the single-flight waits yield to the scheduler, so one slow call never
-- holds up the others. See `tray.backend` for the interface.
-- @internal tray.backend.curl

local native = require "tray.native"
local errors = require "tray.errors"
local parallel = require "tray.parallel"
local once = require "tray.backend.once"

local _M = {}

--- The longest a caller waits for another's single flight, in seconds.
_M.ONCE_LIMIT = once.LIMIT

local Curl = {}
Curl.__index = Curl
Curl.name = "curl"

local function sleep(seconds)
  if seconds <= 0 then return end
  local sched = parallel.current()
  if sched then sched:sleep(seconds) else native.sleep(seconds) end
end

--- Makes a libcurl backend.
-- @tparam table settings `{ timeout =, connect_timeout =, max_body =, user_agent =, ca_file =, proxy = }`
-- @treturn ?table the backend
-- @treturn ?table the error
function _M.new(settings)
  local session, kind, msg = native.session{
    timeout = settings.timeout, connect_timeout = settings.connect_timeout, user_agent = settings.user_agent,
    ca_file = settings.ca_file, proxy = settings.proxy, max_body = settings.max_body,
  }
  if not session then return errors.fail(kind, msg) end
  return setmetatable({
    session = session, settings = settings,
    once = once.new(sleep, native.now, _M.ONCE_LIMIT, parallel.current),
  }, Curl)
end

--- Sends one request: on the scheduler's multi loop inside a `tray.parallel`
-- task, blocking otherwise.
-- @tparam string method
-- @tparam string url
-- @tparam {string,...} lines "Name: value" header lines
-- @tparam ?string body
-- @tparam ?string token the bearer token
-- @return status, body, headers | nil, kind, message, detail
function Curl:request(method, url, lines, body, token)
  local sched = parallel.current()
  if sched then return sched:request(self.session, method, url, lines, body, token) end
  return self.session:request(method, url, lines, body, token)
end

--- Waits without holding up the other tasks of a `tray.parallel` run.
-- @tparam number seconds
function Curl.sleep(_, seconds)
  sleep(seconds)
end

--- Monotonic seconds.
-- @treturn number
function Curl.now()
  return native.now()
end

--- A float in [0, 1) from the C core's generator (seeded per process).
-- @treturn number
function Curl.jitter()
  return native.jitter()
end

--- The process's GCRA bucket for this token and host (shared by every client of both).
-- @tparam table rl `{ rate =, burst = }` (both filled in by `tray.client`)
-- @tparam string token
-- @tparam string host
-- @treturn ?userdata the limiter
-- @treturn ?table the error
function Curl.limiter(_, rl, token, host)
  local lim, kind, msg = native.limiter(native.digest(token) .. "@" .. host, rl.rate, rl.burst)
  if not lim then return errors.fail(kind, msg) end
  return lim
end

--- Frees the connections. Idempotent.
function Curl:close()
  self.session:close()
end

return _M
