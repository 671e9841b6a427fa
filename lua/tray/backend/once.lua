--- Single flight for backends: `once(key, fn)` runs `fn` for the first caller;
-- callers with the same key arriving while it runs wait (with the backend's
-- non-blocking sleep) and get the same results. The wait is bounded: after
-- `limit` seconds a waiter runs `fn` itself.
-- @internal tray.backend.once

local unpack = table.unpack or unpack -- luacheck: ignore 143

local _M = {}

--- The longest a caller waits for another's single flight, in seconds (every backend's).
_M.LIMIT = 300

local function pack(...) return { n = select("#", ...), ... } end

--- Makes a `once` method.
-- @tparam function sleep `sleep(seconds)`, yielding to the runtime
-- @tparam function now monotonic seconds
-- @tparam number limit the longest wait, seconds
-- @tparam function context returns what a caller runs in (e.g. its scheduler), or nil when it
--   cannot wait (a caller that blocks the runtime: the first caller could never finish)
-- @treturn function `once(backend, key, fn)`
function _M.new(sleep, now, limit, context)
  local flights = {}
  return function(_, key, fn)
    local ctx = context()
    local f = flights[key]
    if f and ctx ~= nil and f.ctx == ctx then
      local deadline = now() + limit
      while not f.done and now() < deadline do sleep(0.002) end
      if f.done then
        if f.raised then error(f.results[1], 0) end
        return unpack(f.results, 1, f.results.n)
      end
    end
    f = { done = false, ctx = ctx }
    flights[key] = f
    local res = pack(pcall(fn))
    f.raised = not res[1]
    f.results = pack(unpack(res, 2, res.n))
    f.done = true
    if flights[key] == f then flights[key] = nil end
    if f.raised then error(f.results[1], 0) end
    return unpack(f.results, 1, f.results.n)
  end
end

return _M
