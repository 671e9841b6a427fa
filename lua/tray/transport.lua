--- One request, start to finish: the rate limiter, sending through the client's
-- backend, decoding, retries and the observation hooks. Both clients sit on top
-- of this; it is handed a backend (`tray.backend`) and never asks where it runs.
--
-- Retry policy: HTTP 429, the GraphQL rate-limit answer, 502/503/504, network
-- failures and timeouts are retried with exponential backoff and full jitter
-- (`Retry-After` wins when the server sends it), at most `max_retries` times.
-- A request that is not idempotent (a POST, a GraphQL mutation) is retried only
-- when it cannot have been applied: a rate-limit answer, or a failure before
-- any byte of it was sent. A limiter wait longer than the call's `timeout` is
-- not waited for: the call ends as `rate_limited` with the wait in `retry_after`.
--
-- Hooks (client options): `on_request(info)` before each attempt and
-- `on_response(info)` after it, with `method`, `host`, `path` (no query),
-- `operation`, `attempt` (1 for the first), `retry_reason` (the kind that caused
-- this attempt) and, after, `status`, `duration` (seconds), `error` (a kind) and
-- `request_id`. Never a header value, a body or a token.
-- @internal tray.transport

local native = require "tray.native"
local errors = require "tray.errors"

local _M = {}

local TRANSIENT = { [502] = true, [503] = true, [504] = true }

--- Response headers that carry the server's request id, in the order looked at.
_M.REQUEST_ID_HEADERS = { "x-request-id", "x-tray-request-id", "x-amzn-requestid", "x-correlation-id",
                          "request-id" }

local Transport = {}
Transport.__index = Transport

--- Creates a transport for one token.
-- @tparam table o the client's checked options
-- @tparam string token the bearer token
-- @tparam table backend see `tray.backend`
-- @tparam ?table limiter an object with `:reserve()` (nil: no limiting)
-- @tparam ?boolean own_limiter true when the limiter was made for this client (it is
--   closed with it; a caller's own limiter object is left alone)
-- @treturn table the transport
function _M.new(o, token, backend, limiter, own_limiter)
  return setmetatable({
    opts = o,
    token = token,
    secrets = { token },
    stats = { requests = 0, retries = 0, failures = 0 },
    backend = backend,
    limiter = limiter,
    state = { closed = false, own_limiter = own_limiter },
  }, Transport)
end

--- A transport for another token of the same account: it shares the backend
-- (the connections), the rate limiter, the statistics and the closed state.
-- @tparam string token
-- @treturn table the transport
function Transport:with_token(token)
  local t = setmetatable({}, Transport)
  for k, v in pairs(self) do t[k] = v end
  t.token = token
  t.secrets = { token }
  for _, s in ipairs(self.secrets) do t.secrets[#t.secrets + 1] = s end
  return t
end

--- Waits without blocking the runtime (the backend's sleep).
-- @tparam number seconds
function Transport:wait(seconds)
  if seconds > 0 then self.backend:sleep(seconds) end
end

--- Full-jitter backoff: a random wait in [0, min(retry_cap, retry_base * 2^attempt)].
-- @tparam number attempt 0 for the first retry
-- @treturn number seconds
function Transport:backoff(attempt)
  local o = self.opts
  return self.backend:jitter() * math.min(o.retry_cap, o.retry_base * 2 ^ attempt)
end

local HEADER_LISTS = {
  [false] = { "Accept: application/json" },
  [true] = { "Accept: application/json", "Content-Type: application/json" },
}

local function retryable(err, unsent, idempotent)
  if err.kind == "rate_limited" or unsent then return true end
  if not idempotent then return false end
  return err.kind == "network" or err.kind == "timeout"
    or (err.kind == "http" and TRANSIENT[err.status] == true)
end

local function request_id(headers)
  if type(headers) ~= "table" then return nil end
  for _, name in ipairs(_M.REQUEST_ID_HEADERS) do
    local v = headers[name]
    if type(v) == "string" and v ~= "" and #v <= 200 and native.header_safe(v) then return v end
  end
  return nil
end

-- Calls a hook; one that raises is reported to the log, never to the caller.
local function hook(o, name, info)
  local ok, why = pcall(o[name], info)
  if not ok and o.log then pcall(o.log, "warn", name .. " raised: " .. tostring(why)) end
end

local function split_url(url)
  local host, path = url:match("^%a[%w+.-]*://([^/?#]+)([^?#]*)")
  return host, (path == nil or path == "") and "/" or path
end

--- Sends a request and decodes the answer, retrying as the policy says.
-- @tparam table req `{ method =, url =, body =, idempotent =, operation = }`
-- @tparam function decode `decode(status, body, headers, operation)` returns the value or `nil, err`
-- @return the decoded value, or nil
-- @treturn ?table the error (with `attempts`, and `request_id` when the server sent one)
function Transport:call(req, decode)
  if self.state.closed then
    return errors.fail("usage", "the client is closed", { operation = req.operation })
  end
  local o = self.opts
  local stats = self.stats
  local backend = self.backend
  local observe = o.on_request or o.on_response
  local has_body = req.body ~= nil -- (a comparison written inside [] misbehaves on some Lua 5.4 releases)
  local lines = HEADER_LISTS[has_body]
  local host, path
  if observe then host, path = split_url(req.url) end
  local err, reason
  local attempts = 0
  for attempt = 0, o.max_retries do
    if self.limiter then
      local wait = self.limiter:reserve()
      if wait and wait > o.timeout then
        err = errors.new("rate_limited", string.format(
          "the rate limiter would wait %.3g s, longer than the timeout (%.3g s); nothing was sent", wait, o.timeout),
          { retry_after = wait, operation = req.operation })
        break
      end
      if wait and wait > 0 then self:wait(wait) end
    end
    attempts = attempt + 1
    stats.requests = stats.requests + 1
    local started
    if observe then
      started = backend:now()
      if o.on_request then
        hook(o, "on_request", { method = req.method, host = host, path = path, operation = req.operation,
          attempt = attempts, retry_reason = reason })
      end
    end
    local status, body, headers, detail = backend:request(req.method, req.url, lines, req.body, self.token)
    local unsent = false
    if status == nil then
      -- body is the kind, headers the message here
      err = errors.new(errors.KINDS[body] and body or "network", headers or "request failed")
      unsent = detail == "unsent"
      headers = nil
    else
      local value
      value, err = decode(status, body, headers, req.operation)
      if not err and o.on_response then
        hook(o, "on_response", { method = req.method, host = host, path = path, operation = req.operation,
          attempt = attempts, retry_reason = reason, status = status, duration = backend:now() - started,
          request_id = request_id(headers) })
      end
      if not err then return value end
      if err.kind == "rate_limited" and err.retry_after == nil and type(headers) == "table" then
        local ra = headers["retry-after"]
        err.retry_after = ra and native.retry_after(ra) or nil
      end
    end
    err.operation = err.operation or req.operation
    err.attempts = attempts
    err.request_id = err.request_id or request_id(headers)
    -- scrubbed at once, not only the one returned: no error object ever holds a token
    errors.redact(err, self.secrets)
    if o.on_response then
      hook(o, "on_response", { method = req.method, host = host, path = path, operation = req.operation,
        attempt = attempts, retry_reason = reason, status = status or 0, duration = backend:now() - started,
        error = err.kind, request_id = err.request_id })
    end
    if attempt == o.max_retries or not retryable(err, unsent, req.idempotent) then break end
    local delay = err.retry_after or self:backoff(attempt)
    if delay > o.max_retry_wait then break end
    stats.retries = stats.retries + 1
    reason = err.kind
    if o.log then -- a log callback that raises never fails the call
      pcall(o.log, "retry", string.format("%s %s: %s; retry %d of %d in %.2fs", req.method,
        req.operation or "request", err.kind, attempt + 1, o.max_retries, delay))
    end
    self:wait(delay)
  end
  err.attempts = attempts
  stats.failures = stats.failures + 1
  return nil, err
end

--- Is the client closed?
-- @treturn boolean
function Transport:closed()
  return self.state.closed
end

--- Frees the connections now rather than at garbage collection. Idempotent; later
-- calls return `nil, err` (`usage`, "the client is closed").
function Transport:close()
  if self.state.closed then return end
  self.state.closed = true
  self.backend:close()
  local lim = self.limiter
  if self.state.own_limiter and lim and lim.close then pcall(lim.close, lim) end
end

return _M
