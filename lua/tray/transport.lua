--- One request, start to finish: headers, rate limiter, sending (libcurl, the
-- concurrent scheduler, or a caller's own transport function), decoding and
-- retries. Both clients sit on top of this; neither knows how bytes move.
--
-- Retry policy: HTTP 429, the GraphQL rate-limit answer, 502/503/504, network
-- failures and timeouts are retried with exponential backoff and full jitter
-- (`Retry-After` wins when the server sends it), at most `max_retries` times.
-- A request that is not idempotent (a POST, a GraphQL mutation) is retried only
-- when it cannot have been applied: a rate-limit answer, or a failure before
-- any byte of it was sent.
-- @module tray.transport

local native = require "tray.native"
local errors = require "tray.errors"
local parallel = require "tray.parallel"

local VERSION = require("tray").VERSION

local _M = {}

--- Defaults of the options every client takes.
_M.DEFAULTS = {
  timeout = 30,            -- seconds for a whole request
  connect_timeout = 10,    -- seconds to connect
  max_retries = 3,
  retry_base = 0.5,        -- first backoff ceiling, seconds
  retry_cap = 8,           -- largest backoff ceiling, seconds
  max_retry_wait = 60,     -- a Retry-After longer than this is not waited for
  max_body = 64 * 1024 * 1024,
  rate_limit = { rate = 30, burst = 30 },
}

local TRANSIENT = { [502] = true, [503] = true, [504] = true }

local function usage(message)
  return errors.fail("usage", message)
end

local NUMBER_OPTS = { "timeout", "connect_timeout", "max_retries", "retry_base", "retry_cap",
                      "max_retry_wait", "max_body" }

--- Checks the options every client shares and fills in the defaults.
-- @tparam table o the caller's options
-- @treturn ?table the options, complete
-- @treturn ?table a `usage` error
function _M.options(o)
  local out = {}
  for k, v in pairs(o) do out[k] = v end
  for _, k in ipairs(NUMBER_OPTS) do
    local v = o[k]
    if v == nil then
      out[k] = _M.DEFAULTS[k]
    elseif type(v) ~= "number" or v ~= v or v < 0 then
      return usage(k .. " must be a non-negative number")
    end
  end
  if out.timeout <= 0 or out.connect_timeout <= 0 or out.max_body <= 0 then
    return usage("timeout, connect_timeout and max_body must be positive")
  end
  out.max_retries = math.floor(out.max_retries)
  local rl = o.rate_limit
  if rl == nil then
    out.rate_limit = _M.DEFAULTS.rate_limit
  elseif rl ~= false and type(rl) ~= "table" then
    return usage("rate_limit must be a table ({ rate =, burst = }) or false")
  elseif type(rl) == "table" and rl.reserve == nil then
    local rate, burst = rl.rate or 30, rl.burst or rl.rate or 30
    if type(rate) ~= "number" or rate <= 0 or type(burst) ~= "number" or burst < 1 then
      return usage("rate_limit needs rate > 0 and burst >= 1")
    end
  end
  if o.user_agent ~= nil and (type(o.user_agent) ~= "string" or not native.header_safe(o.user_agent)) then
    return usage("user_agent must be a string without control characters")
  end
  if o.transport ~= nil and type(o.transport) ~= "function" then
    return usage("transport must be a function")
  end
  if o.ca_file ~= nil and type(o.ca_file) ~= "string" then
    return usage("ca_file must be a path")
  end
  if o.log ~= nil and type(o.log) ~= "function" then
    return usage("log must be a function(level, message)")
  end
  return out
end

--- Checks a bearer token: a non-empty string that can live in a header.
-- @param token any value
-- @tparam string what the option's name, for the message
-- @treturn ?string the token
-- @treturn ?table a `usage` error (which never holds the token)
function _M.check_token(token, what)
  if type(token) ~= "string" or token == "" then
    return usage(what .. " is required (a non-empty string)")
  end
  if not native.header_safe(token) then
    return usage(what .. " holds a control character (CR, LF, NUL ...)")
  end
  return token
end

--- Splits a base URL, refusing what cannot be one.
-- @tparam string url
-- @tparam string what the option's name, for the message
-- @treturn ?string the URL without a trailing slash
-- @treturn ?string|table the host (with port), or a `usage` error
function _M.check_base_url(url, what)
  if type(url) ~= "string" then return usage(what .. " must be a string") end
  local scheme, host = url:match("^(%a[%w+.-]*)://([^/?#@]+)")
  if not scheme or (scheme:lower() ~= "https" and scheme:lower() ~= "http")
    or not native.header_safe(url) or url:find("[%s]") then
    return usage(what .. " must be an http(s) URL")
  end
  -- credentials in the URL would travel as Basic auth beside the token, and
  -- could reach a message; the authority is up to the first / ? or #
  if url:match("^%a[%w+.-]*://([^/?#]*)"):find("@", 1, true) then
    return usage(what .. " must not hold a user name or password")
  end
  return (url:gsub("/+$", "")), host:lower()
end

local Transport = {}
Transport.__index = Transport

-- Inside nginx (OpenResty), `tray.ngx` supplies a non-blocking transport, sleep
-- and a limiter shared by the workers; elsewhere this is false.
local function in_nginx()
  return type(ngx) == "table" and type(ngx.run_worker_thread) == "function" -- luacheck: ignore 113
end

local function make_limiter(rl, token, host, log)
  if rl == false then return nil end
  if type(rl) == "table" and rl.reserve then return rl end -- a limiter object of the caller's
  if rl.redis then return require("tray.redis").limiter(rl, token, host, log) end
  if rl.shared_dict or in_nginx() then return require("tray.ngx").limiter(rl, token, host) end
  local rate, burst = rl.rate or 30, rl.burst or rl.rate or 30
  local key = native.digest(token) .. "@" .. host
  local lim, kind, msg = native.limiter(key, rate, burst)
  if not lim then return errors.fail(kind, msg) end
  return lim
end

--- Creates a transport for one token and one API host.
-- @tparam table o options, as returned by `options`
-- @tparam string token the bearer token
-- @tparam string host the API host (keys the shared rate limiter)
-- @treturn ?table the transport
-- @treturn ?table an error
function _M.new(o, token, host)
  local self = setmetatable({
    opts = o,
    token = token,
    secrets = { token },
    stats = { requests = 0, retries = 0, failures = 0 },
    sleep = native.sleep,
  }, Transport)
  if not o.transport and in_nginx() then
    local ngx_mod = require "tray.ngx"
    o.transport = ngx_mod.transport(o)
    self.sleep = ngx_mod.sleep
  end
  if not o.transport then
    local ua = "tray-lua/" .. VERSION
    if o.user_agent then ua = o.user_agent .. " " .. ua end
    local session, kind, msg = native.session{
      timeout = o.timeout, connect_timeout = o.connect_timeout, user_agent = ua,
      ca_file = o.ca_file, max_body = o.max_body,
    }
    if not session then return errors.fail(kind, msg) end
    self.session = session
  end
  local lim, err = make_limiter(o.rate_limit, token, host, o.log)
  if err then return nil, err end
  self.limiter = lim
  return self
end

--- A transport for another token of the same account: it shares the
-- connections, the rate limiter and the statistics.
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

--- Waits: yields to the scheduler inside `tray.parallel`, `ngx.sleep`s inside
-- nginx, sleeps otherwise.
-- @tparam number seconds
function Transport:wait(seconds)
  if seconds <= 0 then return end
  local sched = parallel.current()
  if sched then
    sched:sleep(seconds)
  else
    self.sleep(seconds)
  end
end

local HEADER_LISTS = {
  [false] = { "Accept: application/json" },
  [true] = { "Accept: application/json", "Content-Type: application/json" },
}

local function lower_keys(t)
  local out = {}
  if type(t) == "table" then
    for k, v in pairs(t) do
      if type(k) == "string" then out[k:lower()] = v end
    end
  end
  return out
end

-- Sends once. Returns status, body, headers | nil, kind, message, detail.
function Transport:send(method, url, body)
  local has_body = body ~= nil
  local custom = self.opts.transport
  if custom then
    local headers = { Accept = "application/json", Authorization = "Bearer " .. self.token }
    if has_body then headers["Content-Type"] = "application/json" end
    local ok, res, kind, msg, detail = pcall(custom, {
      method = method, url = url, headers = headers, body = body,
      timeout = self.opts.timeout, connect_timeout = self.opts.connect_timeout,
    })
    if not ok then return nil, "network", "the transport function raised: " .. tostring(res) end
    if type(res) ~= "table" then
      if errors.KINDS[kind] then return nil, kind, tostring(msg), detail end
      return nil, "network", tostring(kind or "the transport function failed")
    end
    return tonumber(res.status) or 0, res.body or "", lower_keys(res.headers)
  end
  local sched = parallel.current()
  if sched then
    return sched:request(self.session, method, url, HEADER_LISTS[has_body], body, self.token)
  end
  return self.session:request(method, url, HEADER_LISTS[has_body], body, self.token)
end

--- Full-jitter backoff: a random wait in [0, min(retry_cap, retry_base * 2^attempt)].
-- @tparam number attempt 0 for the first retry
-- @treturn number seconds
function Transport:backoff(attempt)
  local o = self.opts
  if self.session then return self.session:backoff(attempt, o.retry_base, o.retry_cap) end
  return math.random() * math.min(o.retry_cap, o.retry_base * 2 ^ attempt)
end

local function retryable(err, unsent, idempotent)
  if err.kind == "rate_limited" or unsent then return true end
  if not idempotent then return false end
  return err.kind == "network" or err.kind == "timeout"
    or (err.kind == "http" and TRANSIENT[err.status] == true)
end

--- Sends a request and decodes the answer, retrying as the policy says.
-- @tparam table req `{ method =, url =, body =, idempotent =, operation = }`
-- @tparam function decode `decode(status, body, headers, operation)` returns the value or `nil, err`
-- @return the decoded value, or nil
-- @treturn ?table the error
function Transport:call(req, decode)
  local o = self.opts
  local stats = self.stats
  local err
  for attempt = 0, o.max_retries do
    if self.limiter then
      local wait = self.limiter:reserve()
      if wait and wait > 0 then self:wait(wait) end
    end
    stats.requests = stats.requests + 1
    local status, body, headers, detail = self:send(req.method, req.url, req.body)
    local unsent = false
    if status == nil then
      -- body is the kind, headers the message here
      err = errors.new(body, headers or "request failed")
      unsent = detail == "unsent"
    else
      local value
      value, err = decode(status, body, headers, req.operation)
      if not err then return value end
      if err.kind == "rate_limited" and err.retry_after == nil and type(headers) == "table" then
        local ra = headers["retry-after"]
        err.retry_after = ra and native.retry_after(ra) or nil
      end
    end
    err.operation = err.operation or req.operation
    -- scrubbed at once, not only the one returned: no error object ever holds a token
    errors.redact(err, self.secrets)
    if attempt == o.max_retries or not retryable(err, unsent, req.idempotent) then break end
    local delay = err.retry_after or self:backoff(attempt)
    if delay > o.max_retry_wait then break end
    stats.retries = stats.retries + 1
    if o.log then -- a log callback that raises never fails the call
      pcall(o.log, "retry", string.format("%s %s: %s; retry %d of %d in %.2fs", req.method,
        req.operation or "request", err.kind, attempt + 1, o.max_retries, delay))
    end
    self:wait(delay)
  end
  stats.failures = stats.failures + 1
  return nil, err
end

--- Frees the connections now rather than at garbage collection. Idempotent.
function Transport:close()
  if self.session then self.session:close() end
end

return _M
